"""Checking a webhook's signature as a receiver does (`patron.client.verify_signature`,
docs/webhooks.md), against the contract's test vector and against what patron signs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import msgspec
import pytest

from patron.client import SignatureError, WebhookEnvelope, verify_signature
from patron.wire import signature

# The test vector: 505 bytes exactly, compact JSON as Sequence sends it.
BODY = (
    b'{"notificationType":"CUSTOMER_CREATED","sequenceAccountId":"01a1ee56-5e00-7000-8000-000000000000",'
    b'"resourceType":"Customer","resourceId":"01a20ce4-05c0-7a2b-89f1-0c4d5e6f7a8b",'
    b'"resource":{"id":"01a20ce4-05c0-7a2b-89f1-0c4d5e6f7a8b","createdAt":"2026-11-24T09:30:00.000Z",'
    b'"organizations":[],"legalName":"Acme Widgets Ltd",'
    b'"address":{"line1":"1 High Street","town":"London","postcode":"EC1A 1AA","country":"GB"},'
    b'"integrationIds":[],"taxStatus":"TAXED","contacts":[],"status":"ACTIVE","customProperties":{}}}'
)
SECRET = "whsec_PatronTestVectorSecret0123456789"
T_MS = 1795512600456
EVENT_ID = "01a20ce4-05c2-7c3d-80e1-f2a3b4c5d6e7"
HEADER = "t=1795512600456,s=23dc4712d3e281bdbc99ce0383347e771250656a91c5684db1df27d3542199b9"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class TestTheVector:
    def test_the_body_is_the_vector_s(self) -> None:
        assert len(BODY) == 505

    def test_its_signature_verifies(self) -> None:
        assert verify_signature(BODY, HEADER, SECRET, tolerance_s=None) == T_MS

    def test_patron_signs_it_so(self) -> None:
        assert signature.header(SECRET, T_MS, BODY) == HEADER

    def test_the_key_is_the_whole_secret_not_its_base64_part(self) -> None:
        decoded = base64.b64decode(SECRET.removeprefix("whsec_"))
        other = hmac.new(decoded, f"{T_MS}.".encode() + BODY, hashlib.sha256).hexdigest()
        assert other == "30d676ee85527ef05200391e736f06a9048b1de89593d183b748b2ef71be4263"
        with pytest.raises(SignatureError, match="does not match"):
            verify_signature(BODY, f"t={T_MS},s={other}", SECRET, tolerance_s=None)

    def test_its_standard_webhooks_signature(self) -> None:
        expected = "v1,dO+IVmbZ4CPjTNpxyP6jabdHuGLyjEShVtF+AOvvtmM="
        assert signature.standard(SECRET, EVENT_ID, T_MS // 1000, BODY) == expected

    def test_its_body_is_the_envelope(self) -> None:
        envelope = msgspec.json.decode(BODY, type=WebhookEnvelope)
        assert envelope.notification_type == "CUSTOMER_CREATED"
        assert envelope.sequence_account_id == "01a1ee56-5e00-7000-8000-000000000000"
        assert envelope.resource_type == "Customer"
        assert envelope.resource is not None
        assert envelope.resource_id == envelope.resource["id"]


class TestVerify:
    def test_a_fresh_signature_verifies_with_the_default_tolerance(self) -> None:
        t = now_ms()
        assert verify_signature(BODY, signature.header(SECRET, t, BODY), SECRET) == t

    def test_the_vector_is_too_old_for_the_default_tolerance(self) -> None:
        with pytest.raises(SignatureError, match="300 s"):
            verify_signature(BODY, HEADER, SECRET)

    def test_a_signature_from_the_future_is_refused_too(self) -> None:
        ahead = now_ms() + 600_000
        with pytest.raises(SignatureError, match="from now"):
            verify_signature(BODY, signature.header(SECRET, ahead, BODY), SECRET)
        assert verify_signature(BODY, signature.header(SECRET, ahead, BODY), SECRET, tolerance_s=900) == ahead

    @pytest.mark.parametrize(
        "body",
        [BODY + b" ", BODY.replace(b"Acme", b"Acne"), msgspec.json.encode(msgspec.json.decode(BODY)) + b"\n"],
    )
    def test_any_other_bytes_are_refused(self, body: bytes) -> None:
        with pytest.raises(SignatureError, match="does not match"):
            verify_signature(body, HEADER, SECRET, tolerance_s=None)

    def test_another_secret_is_refused(self) -> None:
        with pytest.raises(SignatureError, match="does not match"):
            verify_signature(BODY, HEADER, SECRET + "x", tolerance_s=None)

    @pytest.mark.parametrize("header", [None, "", "s=abc", "t=abc,s=def", "t=1795512600456", "v1,abc"])
    def test_a_missing_or_malformed_header_is_refused(self, header: str | None) -> None:
        with pytest.raises(SignatureError):
            verify_signature(BODY, header, SECRET, tolerance_s=None)

    def test_spaces_and_upper_case_hex_are_read(self) -> None:
        t, s = HEADER.split(",")
        assert verify_signature(BODY, f"{t}, {s.upper().replace('S=', 's=')}", SECRET, tolerance_s=None) == T_MS

    def test_a_signature_error_is_a_value_error(self) -> None:
        assert issubclass(SignatureError, ValueError)
