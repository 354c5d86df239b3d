"""The clock's ids: the forms other modules and clients rely on."""

from __future__ import annotations

import uuid

from patron.server import clock


class TestNewRequestId:
    def test_is_32_hex_digits_of_a_random_uuid(self) -> None:
        request_id = clock.new_request_id()
        assert len(request_id) == 32
        assert uuid.UUID(hex=request_id).version == 4
        assert uuid.UUID(hex=request_id).hex == request_id

    def test_each_call_mints_a_new_one(self) -> None:
        assert len({clock.new_request_id() for _ in range(100)}) == 100
