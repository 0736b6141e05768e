"""What Tracepane takes for a credential, and how it masks one. Pure functions on text; no I/O.

Values that look like credentials are masked when they are received, before anything is
decoded or stored (`receiver.otlp.credential_masking` applies these rules to each export
request), so no API key or token reaches a column, the full-text index or a derived field.
`--keep-credentials` (env `TRACEPANE_MASK_CREDENTIALS=false`) stores values as received.

A masked value keeps a hint of which credential it was, never enough to use it: a secret of
16 characters or more keeps its first 4 (`sk-p…[masked]`), a shorter one none (`[masked]`),
and an authorization scheme is kept before it (`Bearer eyJh…[masked]`).

What is masked:

1. **Credential keys.** The string values (also inside arrays and key-value lists) of an
   attribute, or a nested key, whose name says it holds a credential. The name is the key's
   last dot-separated part, lowercased, `-` read as `_`: `authorization`,
   `proxy_authorization`, `cookie`, `set_cookie`, and any name ending in `token`, `secret`,
   `password`, `passwd`, `api_key`, `apikey`, `credential(s)`, `private_key`, `secret_key`,
   `access_key` or `subscription_key` — e.g. `http.request.header.authorization`,
   `http.request.header.x-api-key`, `openai.api_key`, `access_token`, `client_secret`,
   `db.password`. Counts are never masked: only strings are, and not a string of digits
   (`gen_ai.usage.input_tokens`, `llm.token_count.prompt` end in other words anyway), nor
   the values of a model's special tokens (`eos_token`, `pad_token`, ...).
2. **Headers.** In a value whose key ends in `headers` (OpenLLMetry's `llm.headers`): the
   entries of a key-value list by rule 1, and in text (JSON, a Python dict's repr, `Name:
   value` lines) every field whose name rule 1 takes for a credential.
3. **URLs.** In any text, in each URL (`scheme://...`): the password of its userinfo
   (`https://user:[masked]@host`), and the values of query parameters named `key`, `sig`,
   `signature`, `code`, `auth`, `pass`, `pwd`, or by rule 1 (`api_key`, `access_token`,
   `X-Amz-Signature`, ...). The name stays. The value of `url.query` is read as a query string.
4. **Known formats, anywhere in text** (attribute and event values, span and event names,
   status messages, log bodies: a prompt can hold a pasted key): OpenAI and Anthropic keys
   (`sk-…`, `sk-proj-…`, `sk-ant-…`), AWS access key ids (`AKIA` + 16), GitHub tokens
   (`ghp_ gho_ ghu_ ghs_ ghr_`, `github_pat_`), Google API keys (`AIza` + 35), Slack tokens
   (`xoxb- xoxa- xoxp- xoxr- xoxs-`), Hugging Face tokens (`hf_`), JSON Web Tokens
   (`eyJ….eyJ….…`) and `Bearer <token>`. Each needs its full length, and a key or bearer
   token must look random (a digit or mixed case, and a run of 12 letters and digits), so
   words such as `sk-learn`, `task-1` or `disk-usage-report` stay as they are.
"""

from __future__ import annotations

import enum
import re

__all__ = ["KeyKind", "MASK", "key_kind", "masked", "masked_secret", "masked_text", "masked_header_text",
           "masked_query_string"]

MASK = "[masked]"
HINT_CHARS = 4  # shown of a long secret: which key it was, never enough to use it
MIN_HINTED_CHARS = 16  # a shorter secret shows nothing


class KeyKind(enum.Enum):
    PLAIN = "plain"
    SECRET = "secret"  # rule 1: every string under it is masked
    HEADERS = "headers"  # rule 2
    QUERY = "query"  # a query string without its `?` (url.query)


SECRET_NAMES = frozenset({"authorization", "proxy_authorization", "cookie", "set_cookie"})
SECRET_SUFFIXES = ("token", "secret", "password", "passwd", "api_key", "apikey", "credential", "credentials",
                   "private_key", "secret_key", "access_key", "subscription_key", "authorization", "cookie")
# a model's special tokens are vocabulary, not secrets
NOT_SECRET_NAMES = frozenset({*(f"{word}_token" for word in (
    "eos", "bos", "pad", "unk", "sep", "cls", "mask", "stop", "start", "end", "max", "num")),
    "time_to_first_token", "time_per_output_token"})  # OpenLIT's latencies
QUERY_NAMES = frozenset({"key", "sig", "signature", "code", "auth", "pass", "pwd"})
QUERY_SUFFIXES = ("_key", "_signature", "_sig")
QUERY_KEYS = frozenset({"url.query"})

_KINDS: dict[str, KeyKind] = {}
_MAX_CACHED_KEYS = 8192  # keys are a small vocabulary; a sender inventing keys must not grow memory


def key_kind(key: str) -> KeyKind:
    kind = _KINDS.get(key)
    if kind is None:
        kind = _key_kind(key)
        if len(_KINDS) < _MAX_CACHED_KEYS:
            _KINDS[key] = kind
    return kind


def _key_kind(key: str) -> KeyKind:
    if key.lower() in QUERY_KEYS:
        return KeyKind.QUERY
    name = _name(key)
    if name == "headers" or name.endswith("_headers"):
        return KeyKind.HEADERS
    return KeyKind.SECRET if _is_secret_name(name) else KeyKind.PLAIN


def _name(key: str) -> str:
    return key.rsplit(".", 1)[-1].lower().replace("-", "_")


def _is_secret_name(name: str) -> bool:
    return name in SECRET_NAMES or (name.endswith(SECRET_SUFFIXES) and name not in NOT_SECRET_NAMES)


def _is_secret_query_name(name: str) -> bool:
    name = _name(name)
    return name in QUERY_NAMES or name.endswith(QUERY_SUFFIXES) or _is_secret_name(name)


def masked(secret: str) -> str:
    """The hint that stands for `secret`."""
    return f"{secret[:HINT_CHARS]}…{MASK}" if len(secret) >= MIN_HINTED_CHARS else MASK


_SCHEME = re.compile(r"(?i)(bearer|basic|digest|token|bot|apikey|key|negotiate|aws4-hmac-sha256)([ \t]+)(\S.*)",
                     re.DOTALL)


def masked_secret(value: str) -> str:
    """A whole value its key says is a credential; its authorization scheme stays."""
    if not value or value.isdigit() or MASK in value:
        return value
    scheme = _SCHEME.fullmatch(value)
    if scheme:
        return scheme[1] + scheme[2] + masked(scheme[3])
    return masked(value)


_FORMATS = re.compile(r"""
    (?<![A-Za-z0-9_-])(?P<token>
        sk-[A-Za-z0-9_-]{20,}
      | gh[pousr]_[A-Za-z0-9]{30,}
      | github_pat_[A-Za-z0-9_]{20,}
      | hf_[A-Za-z0-9]{30,}
      | xox[baprs]-[A-Za-z0-9-]{10,}
      | AIza[A-Za-z0-9_-]{35,}
      | AKIA[A-Z0-9]{16}
      | eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*
    )(?![A-Za-z0-9])
  | (?<![A-Za-z0-9])(?P<scheme>Bearer|BEARER)[ \t](?P<bearer>[A-Za-z0-9._~+/-]{16,}=*)
""", re.VERBOSE)
_NEEDS_RANDOM = ("sk-",)  # the other prefixes are specific enough
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]{12,}")


def _looks_random(token: str) -> bool:
    """A key or token, not words joined by hyphens: a long run of letters and digits, with
    a digit or both cases in it."""
    run = _ALNUM_RUN.search(token)
    return run is not None and (any(c.isdigit() for c in token) or (not token.islower() and not token.isupper()))


def _mask_format(match: re.Match[str]) -> str:
    token = match["token"]
    if token is not None:
        if token.startswith(_NEEDS_RANDOM) and not _looks_random(token[3:]):
            return token
        return masked(token)
    bearer = match["bearer"]
    return f"{match['scheme']} {masked(bearer)}" if _looks_random(bearer) else match[0]


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\x00-\x20\s\"'<>\\]+")
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/@?#:]*:)([^/@?#]+)(@)")
_QUERY_PARAM = re.compile(r"([?&;])([^=&#]+)=([^&#;]*)")


def _mask_param(match: re.Match[str]) -> str:
    value = match[3]
    if not value or MASK in value or not _is_secret_query_name(match[2]):
        return match[0]
    return f"{match[1]}{match[2]}={masked(value)}"


def _mask_url(match: re.Match[str]) -> str:
    url = _USERINFO.sub(lambda m: m[1] + MASK + m[3] if m[2] != MASK else m[0], match[0], count=1)
    path, question, query = url.partition("?")
    return path + question + _QUERY_PARAM.sub(_mask_param, question + query)[1:] if question else url


def masked_text(text: str) -> str:
    """Known formats (rule 4) and URL secrets (rule 3) in any text masked; the rest as it was."""
    if "://" in text:
        text = _URL.sub(_mask_url, text)
    return _FORMATS.sub(_mask_format, text)


def masked_query_string(query: str) -> str:
    """A query string without its `?` (the value of `url.query`)."""
    return _QUERY_PARAM.sub(_mask_param, "?" + query)[1:]


_HEADER_FIELD = re.compile(r"""
    (?P<q>\\?["']?)(?P<name>[A-Za-z0-9_.-]+)(?P=q)[ \t]*[:=][ \t]*
    (?: (?P<vq>\\?["'])(?P<quoted>.*?)(?P=vq) | (?P<bare>[^,;}\]\r\n]+) )
""", re.VERBOSE)


def _mask_field(match: re.Match[str]) -> str:
    if not _is_secret_name(_name(match["name"])):
        return match[0]
    group = "quoted" if match["quoted"] is not None else "bare"
    value = match[group]
    start, end = match.span(group)
    first = match.start()
    return match[0][:start - first] + masked_secret(value.strip()) + match[0][end - first:]


def masked_header_text(text: str) -> str:
    """Headers as text (JSON, a dict's repr, `Name: value` lines): credential fields masked."""
    return masked_text(_HEADER_FIELD.sub(_mask_field, text))
