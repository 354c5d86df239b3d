"""The clock's ids: the forms other modules and clients rely on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import anyio

from patron.server import clock


class TestNewRequestId:
    def test_is_32_hex_digits_of_a_random_uuid(self) -> None:
        request_id = clock.new_request_id()
        assert len(request_id) == 32
        assert uuid.UUID(hex=request_id).version == 4
        assert uuid.UUID(hex=request_id).hex == request_id

    def test_each_call_mints_a_new_one(self) -> None:
        assert len({clock.new_request_id() for _ in range(100)}) == 100


def _ms(ident: uuid.UUID) -> int:
    return ident.int >> 80


class TestPinned:
    def test_utc_now_and_the_time_part_of_ids_follow_the_pinned_moment(self) -> None:
        moment = datetime(2030, 1, 1, tzinfo=UTC)
        with clock.pinned(moment):
            assert clock.utc_now() == moment
            assert _ms(clock.new_id()) == int(moment.timestamp() * 1000)
            assert all(int(h[:12], 16) == int(moment.timestamp() * 1000) for h in clock.new_hex_ids(3))
        assert clock.utc_now().year < 2030

    def test_pinning_to_none_is_the_wall_clock(self) -> None:
        with clock.pinned(datetime(2030, 1, 1, tzinfo=UTC)), clock.pinned(None):
            assert clock.utc_now().year < 2030

    def test_a_pinned_moment_is_kept_to_the_millisecond_in_utc(self) -> None:
        with clock.pinned(datetime(2030, 1, 1, 1, 0, 0, 123_456, tzinfo=timezone(timedelta(hours=1)))):
            assert clock.utc_now() == datetime(2030, 1, 1, 0, 0, 0, 123_000, tzinfo=UTC)

    def test_a_pin_follows_the_request_into_a_worker_thread(self) -> None:
        moment = datetime(2031, 5, 5, tzinfo=UTC)

        async def main() -> datetime:
            with clock.pinned(moment):
                return await anyio.to_thread.run_sync(clock.utc_now)

        assert anyio.run(main) == moment


class TestIdsInOneMillisecond:
    def test_ids_minted_at_one_frozen_moment_keep_their_order_across_interleaved_clocks(self) -> None:
        first, second = datetime(2030, 1, 1, tzinfo=UTC), datetime(2029, 6, 1, tzinfo=UTC)
        minted: dict[datetime, list[uuid.UUID]] = {first: [], second: []}
        for _ in range(50):
            for moment in (first, second):
                with clock.pinned(moment):
                    minted[moment].append(clock.new_id())
                    minted[moment].extend(uuid.UUID(hex=h) for h in clock.new_hex_ids(2))
        for ids in minted.values():
            assert ids == sorted(ids)
            assert len(set(ids)) == len(ids)
            assert all(ident.version == 7 for ident in ids)


class TestSeededIds:
    def test_the_same_seed_and_moment_mint_the_same_ids(self) -> None:
        def run() -> list[uuid.UUID]:
            clock.seed_ids(42)
            with clock.pinned(datetime(2030, 1, 1, tzinfo=UTC)):
                return [clock.new_id() for _ in range(5)] + [uuid.UUID(hex=h) for h in clock.new_hex_ids(3)]

        try:
            assert run() == run()
            clock.seed_ids(43)
            with clock.pinned(datetime(2030, 1, 1, tzinfo=UTC)):
                assert clock.new_id() not in run()
        finally:
            clock.seed_ids(None)

    def test_without_a_seed_ids_differ(self) -> None:
        with clock.pinned(datetime(2030, 1, 1, tzinfo=UTC)):
            assert len({clock.new_id() for _ in range(100)}) == 100


def test_wall_ids_ignore_a_pinned_clock() -> None:
    with clock.pinned(datetime(2030, 1, 1, tzinfo=UTC)):
        assert _ms(clock.new_wall_id()) < int(datetime(2030, 1, 1, tzinfo=UTC).timestamp() * 1000)


def test_ids_minted_in_one_frozen_millisecond_never_carry_into_the_next() -> None:
    moment = datetime(2030, 1, 1, tzinfo=UTC)
    with clock.pinned(moment):
        ids = [ident for _ in range(2000) for ident in [clock.new_id(), *map(uuid.UUID, clock.new_hex_ids(3))]]
        ids += [uuid.UUID(hex=h) for h in clock.new_hex_ids(100_000)]
    assert {_ms(ident) for ident in ids} == {int(moment.timestamp() * 1000)}
    assert ids == sorted(ids)
