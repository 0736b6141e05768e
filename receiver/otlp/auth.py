"""The optional bearer token of both OTLP transports (`--auth-token`, `TRACEPANE_AUTH_TOKEN`):
when set, a request must carry `Authorization: Bearer <token>` (the HTTP header, or the gRPC
`authorization` metadata), which is what an exporter sends when its environment has
`OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>`. No I/O; the transports call
`BearerAuth.check` and translate `Unauthenticated` like any other receiver error."""

from __future__ import annotations

import hmac

from receiver.errors import Unauthenticated

__all__ = ["EXPORTER_HEADERS_HINT", "BearerAuth", "bearer_auth"]

# How the user gives an exporter the token: OTLP header values in the environment are
# URL-encoded (the space is %20), which SDKs decode.
EXPORTER_HEADERS_HINT = "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>"


class BearerAuth:
    """Holds the expected token (never shown by `repr`) and checks Authorization values."""

    __slots__ = ("_expected",)

    def __init__(self, token: str) -> None:
        self._expected = token.strip().encode("utf-8")  # as the env parser and header parsing strip

    def __repr__(self) -> str:
        return "BearerAuth(<token>)"

    def check(self, authorization: str | None) -> None:
        """Return if `authorization` is `Bearer <the token>` (the scheme in any case); raise
        `Unauthenticated`, saying what to do, otherwise."""
        scheme, _, presented = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise Unauthenticated("this receiver requires a bearer token: give the exporter the header "
                                  f"'Authorization: Bearer <token>', e.g. {EXPORTER_HEADERS_HINT}")
        # Constant time, so the answer's timing does not tell how much of a guess was right.
        if not hmac.compare_digest(presented.strip().encode("utf-8", "surrogateescape"), self._expected):
            raise Unauthenticated("the bearer token does not match the one this receiver was started with "
                                  f"(--auth-token / TRACEPANE_AUTH_TOKEN); set {EXPORTER_HEADERS_HINT}")


def bearer_auth(token: str | None) -> BearerAuth | None:
    """The check for a configured token; None (no check at all) without one."""
    return BearerAuth(token) if token else None
