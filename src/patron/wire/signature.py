"""Sequence's webhook signature, for the sender and for receivers (docs/webhooks.md):
`Sequence-Signature: t=<unix ms>,s=<hex HMAC-SHA256(secret, "t.rawBody")>`, plus the
Standard Webhooks headers patron adds beside it (`webhook-id`, `webhook-timestamp`,
`webhook-signature`)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

HEADER = "Sequence-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix of every secret, not a secret)


class SignatureError(ValueError):
    """A webhook whose signature header is missing, malformed, too old or wrong."""


def key(secret: str) -> bytes:
    """The HMAC key of a policy's secret: the whole string as returned (`whsec_` included),
    as Stripe reads its own `whsec_` secrets. The one place to change should Sequence turn
    out to read it otherwise."""
    return secret.encode()


def signature(secret: str, t_ms: int, body: bytes) -> str:
    """The lowercase hex HMAC-SHA256 of `"<t_ms>.<body>"`."""
    return hmac.new(key(secret), str(t_ms).encode() + b"." + body, hashlib.sha256).hexdigest()


def header(secret: str, t_ms: int, body: bytes) -> str:
    """The value of `Sequence-Signature` for `body` sent at `t_ms` (Unix milliseconds)."""
    return f"t={t_ms},s={signature(secret, t_ms, body)}"


def standard(secret: str, event_id: str, t_s: int, body: bytes) -> str | None:
    """`webhook-signature` (Standard Webhooks: `v1,<base64 HMAC of id.timestamp.body>` keyed
    with the base64 part of a `whsec_` secret), or None when the secret does not decode."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        decoded = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not decoded:
        return None
    signed = f"{event_id}.{t_s}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(decoded, signed, hashlib.sha256).digest()).decode()


def parse(value: str) -> tuple[int, str]:
    """(t, s) from a `Sequence-Signature` value: parts split on `,`, each on its first `=`."""
    parts = dict(part.strip().partition("=")[::2] for part in value.split(","))
    t, s = parts.get("t", ""), parts.get("s", "")
    if not t.isdigit() or not s:
        raise SignatureError(f"not a {HEADER} header: {value!r}")
    return int(t), s


def verify(
    raw_body: bytes, value: str | None, secret: str, *, tolerance_s: float | None = 300, now: float | None = None
) -> int:
    """Check a webhook's `Sequence-Signature` against the exact bytes received; returns its
    `t` (Unix ms). Raises `SignatureError` when the header is missing or malformed, when `t`
    is more than `tolerance_s` seconds from `now` (default: the wall clock; None: no check)
    or when the signature does not match (compared in constant time)."""
    if not value:
        raise SignatureError(f"no {HEADER} header")
    t_ms, given = parse(value)
    if tolerance_s is not None:
        moment = time.time() if now is None else now
        if abs(moment - t_ms / 1000) > tolerance_s:
            raise SignatureError(f"the signature's timestamp is more than {tolerance_s:g} s from now")
    if not hmac.compare_digest(signature(secret, t_ms, raw_body), given.lower()):
        raise SignatureError("the signature does not match the body")
    return t_ms
