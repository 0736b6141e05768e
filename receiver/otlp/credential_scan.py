"""Could this protobuf hold anything `receiver.otlp.credentials` would mask? A yes/no over
raw bytes, run on every export request before it is decoded. Pure; no I/O.

Almost no request holds a credential, so the question must cost little next to decoding
(~25 µs a span): a "yes" walks the request, a false "yes" only costs time (the walk changes
nothing), a false "no" would store a credential, so each rule of `credentials` has its
trigger here, at most as strict (tests/receiver/test_credential_masking.py checks it).

CPython's `re` has no fast search for many patterns at once; it finds a byte, or a pair of
bytes, quickly, but each place where it must try a pattern costs ~40 ns. So:

* The bytes are first translated (one C pass) so that every key format holds the pair YX:
  X for the separators and anchors (`-` `_`, the `J` of `eyJ`, `K` of `AKIA`, `z` of `AIza`,
  `h` of `gh`), Y for a rare letter just before them (`k` of `sk-`, `f` of `hf_`, `y` of
  `eyJ`, `g` of `gh`, `b` of `github_`, `A`, `I`). One regex stops only at YX, not at each
  separator of an ordinary key (`gen_ai.usage`, `input_tokens`) or each protobuf field tag,
  checks the token that follows, then (by lookbehinds) the rest of the prefix and that it
  starts a word.
* W stands for `B` (`Bearer `), `/` (`://`) and `x` (`xoxb-`): a second regex, rarely stopped.
* Credential keys (`credentials.key_kind`): in protobuf a key is followed by its value's tag,
  byte 0x12; read backwards, each key starts with 0x12, and a regex checks its ending
  (`token`, `api_key`, `headers`, ...) against a trie. Spans skip this scan: their keys are
  checked once decoded (`credential_masking.mask_credential_keys`), for a fraction of the cost.

Keys are recognised by protobuf's field order (key, then value), which every encoder we know
writes; a request parsed from OTLP/JSON is checked as its protobuf serialization.
"""

from __future__ import annotations

import re

from receiver.otlp import credentials

__all__ = ["may_hold_credential_keys", "may_hold_credentials", "may_hold_known_formats"]

_X, _Y, _W, _OTHER = 0xFF, 0xFC, 0xFD, 0xFB
# X: the separators of sk- ghp_ hf_ github_pat_ eyJ AKIA AIza (the h of gh); Y: the letter
# just before (rare ones only: ghp's p and pat's t would make YX common); W: Bearer, ://, xoxb-.
_SEPARATORS = b"-_JKzh"
_PREFIX_ENDS = b"kfygbAI"
_FORWARD = b"B/x"
_table = bytearray(range(256))
for _byte in range(_OTHER, 256):  # the request's own bytes must not pass for the markers
    _table[_byte] = _OTHER
for _bytes, _marker in ((_SEPARATORS, _X), (_PREFIX_ENDS, _Y), (_FORWARD, _W)):
    for _byte in _bytes:
        _table[_byte] = _marker
_TRANSLATION = bytes(_table)


def _t(text: str, *, either_case: bool = False) -> bytes:
    """`text` as a regex over the translated bytes."""
    out = b""
    for char in text:
        forms = sorted({re.escape(bytes([_TRANSLATION[ord(form)]])) for form in
                        ({char.lower(), char.upper()} if either_case else {char})})
        out += forms[0] if len(forms) == 1 else b"[" + b"".join(forms) + b"]"
    return out


_TOKEN = rb"[A-Za-z0-9\xfc\xfd\xff]"  # a token's characters, translated (- and _ are X)
_UPPER_TOKEN = rb"[A-Z0-9\xfc\xfd\xff]"


# A format starts a word (`credentials` masks `sk-…`, not `ask-…`): before it comes no token
# character (W may be a /), or the start of a string (its tag, then its length, a varint).
_WORD_STARTS = [rb"[^A-Za-z0-9\xfc\xff]"] + [
    rb"[\x0a\x12*]" + rb"[\x80-\xff]" * extra + rb"[\x00-\x7f\xfc\xfd\xff]" for extra in range(4)]


def _then(before: str, width: int) -> bytes:
    """After the `YX` of a format and `width` more bytes: `before` (the part of its prefix
    that precedes the YX) just before them, at the start of a word."""
    seen = _t(before) + b".{%d}" % (width + 2)
    return b"(?<=" + seen + b")(?:" + b"|".join(b"(?<=" + start + seen + b")" for start in _WORD_STARTS) + b")"


def _then_word(width: int) -> bytes:
    """After a W and `width` more bytes: the W starts a word."""
    return b"(?:" + b"|".join(b"(?<=" + start + b".{%d})" % (width + 1) for start in _WORD_STARTS) + b")"


# Each format, after its YX: the rest of its prefix and its token, longest first where they share.
_FORMATS = re.compile(rb"\xfc\xff(?:" + b"|".join([
    _TOKEN + rb"{8}(?:" + _then("e", 8)  # e|yJ
    + rb"|" + _TOKEN + rb"{12}(?:" + _then("s", 20)  # s|k-
    + rb"|" + _TOKEN + rb"{10}" + _then("h", 30) + rb"))",  # h|f_
    rb"[pousr]\xff" + _TOKEN + rb"{30}" + _then("", 32),  # |gh p_ o_ u_ s_ r_
    _t("pat_") + _TOKEN + rb"{20}" + _then("githu", 24),  # githu|b_ pat_
    rb"\xfc\xfc" + _UPPER_TOKEN + rb"{16}" + _then("", 18),  # |AK IA
    rb"a" + _TOKEN + rb"{35}" + _then("A", 36),  # A|Iz a
]) + rb")", re.DOTALL)

_NOT_URL = rb"\x00-\x20\"'<>\\\\"
_QUERY_NAME_ENDINGS = sorted({*credentials.QUERY_NAMES, *credentials.SECRET_SUFFIXES, *credentials.SECRET_NAMES,
                              "signature", "key", "sig"}, key=len, reverse=True)
_WORDS_AND_URLS = re.compile(rb"\xfd(?:" + b"|".join([
    _t("earer") + rb"[ \t]" + rb"[A-Za-z0-9.~+=\xfc\xfd\xff]{16}",  # B|earer
    _t("EARER") + rb"[ \t]" + rb"[A-Za-z0-9.~+=\xfc\xfd\xff]{16}",
    _t("ox") + rb"[\xfcaprs]\xff" + _TOKEN + rb"{10}" + _then_word(14),  # x|oxb- xoxa- xoxp- xoxr- xoxs-
    rb"\xfd(?<=:\xfd\xfd)(?:"  # the second / of ://
    rb"[^" + _NOT_URL + rb"@?#:]*+:[^" + _NOT_URL + rb"@?#]*+@"  # user:password@
    rb"|[^" + _NOT_URL + rb"?]*+\?[^" + _NOT_URL + rb"]*?(?:"
    + b"|".join(_t(name, either_case=True) for name in _QUERY_NAME_ENDINGS) + rb")=)",  # ?...name=
]) + rb")", re.DOTALL)


# Read backwards, a string, array or map value ends just before its key: its tag (0x0a, 0x2a,
# 0x32), then its length (a varint of up to 4 bytes, backwards), then 0x12. A number's tag
# differs, so `time_to_first_token` (a double) is no reason to walk a request.
_VALUE_BEFORE = [rb"[\x0a*2][\x00-\x7f]" + rb"[\x80-\xff]" * extra + rb"\x12" for extra in range(4)]


def _reversed_trie(words: list[str]) -> bytes:
    """A regex matching any of `words` spelt backwards (either case, `-` or `_` alike) right
    after a value: one branch per distinct next character, so a key is dismissed on its
    first differing byte."""
    trie: dict = {}
    for word in words:
        node = trie
        for char in reversed(word.lower()):
            node = node.setdefault(char, {})
        node[""] = {}

    def regex(node: dict, depth: int) -> bytes:
        if "" in node:  # a word ends here; the value check is a lookbehind of known width
            return b"(?:" + b"|".join(b"(?<=" + before + b".{%d})" % depth for before in _VALUE_BEFORE) + b")"
        branches = []
        for char, child in sorted(node.items()):
            rest = regex(child, depth + 1)
            if char in "-_":
                branches += [b"-" + rest, b"_" + rest]
            elif depth == 0 and char.isalpha():  # plain bytes first: `re` skips a branch on one comparison
                branches += [char.encode() + rest, char.upper().encode() + rest]
            else:
                branches.append((b"[" + char.encode() + char.upper().encode() + b"]" if char.isalpha()
                                 else re.escape(char.encode())) + rest)
        return branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"

    return rb"\x12" + regex(trie, 0)


_KEY_ENDINGS = sorted({*credentials.SECRET_NAMES, *credentials.SECRET_SUFFIXES, "headers", "query"})
_KEYS_BACKWARDS = re.compile(_reversed_trie(_KEY_ENDINGS), re.DOTALL)


def may_hold_known_formats(data: bytes) -> bool:
    """False only if no text in these protobuf bytes would change by `credentials.masked_text`."""
    translated = data.translate(_TRANSLATION)
    return _FORMATS.search(translated) is not None or _WORDS_AND_URLS.search(translated) is not None


def may_hold_credential_keys(data: bytes) -> bool:
    """False only if no key in these protobuf bytes names a credential, headers or a query."""
    return _KEYS_BACKWARDS.search(data[::-1]) is not None


def may_hold_credentials(data: bytes) -> bool:
    return may_hold_known_formats(data) or may_hold_credential_keys(data)
