"""The webhook dispatcher (docs/webhooks.md): one asyncio task per server worker sends the
outbox's due deliveries, each under a lease, records every attempt and schedules retries
by the account's clock; `flush` sends an account's due deliveries now and waits for them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Collection, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from anyio.to_thread import run_sync
from sqlalchemy import Connection

from patron.server import clock
from patron.server.config import Settings
from patron.server.db.engine import Database
from patron.server.webhooks.repository import deliveries
from patron.server.webhooks.repository.deliveries import Candidate, Result
from patron.server.webhooks.service import sender
from patron.server.webhooks.service.outbox import Lease, Queued
from patron.server.webhooks.service.sender import Answer, Sender

log = logging.getLogger("patron.webhooks")

PER_RECIPIENT = 4
"""Attempts in flight to one recipient URL at once, per worker (protects local receivers)."""
IN_FLIGHT = 64
"""Attempts in flight at once, per worker."""
POLL_S = 1.0
"""How often a worker looks for deliveries it was not woken for (other workers' and
servers' writes, retries coming due)."""
WAIT_S = 0.05
"""How often a flush looks again while another sender holds the account's deliveries."""
PURGE_EVERY_S = 600.0
PURGE_ACCOUNTS = 100
PURGE_EVENTS = 500
"""Retention works in bounded batches: every 10 minutes, the next 100 accounts, at most
500 expired events (with their deliveries and attempts)."""
JITTER = 0.1
"""Each retry delay is the schedule's step times a factor in [0.9, 1.1]."""
LEASE_MARGIN_S = 5.0
RECORD_S = 1.0
"""What a worker keeps of a lease, past the attempt's timeout, to record the attempt: a
waiting delivery with less left than both is given up rather than sent."""
WAITING = 1024
"""A write's leased deliveries a worker keeps waiting in memory, in all, for room to send
them (past that it gives their leases up, for a claim)."""
LINGER_S = 0.2
"""How long a finished attempt waits for others to be stored with it in one transaction
(the receiver already has it; the delivery log shows it that much later)."""
CANCELLED_POLICY = "not sent: the policy was deleted"
CANCELLED_RECIPIENT = "not sent: the recipient was removed from the policy"


@dataclass(frozen=True)
class Scope:
    """Which deliveries a claim takes: every account's due ones (the dispatcher), or one
    account's, due ones or (`every_pending`, backoff ignored) every pending one (a flush)."""

    account_id: uuid.UUID | None = None
    every_pending: bool = False


@dataclass(frozen=True)
class Claim:
    """A delivery leased to this worker under `token`; `account_now`: the account's test
    clock when it has one and test clocks count (None: the wall clock)."""

    delivery: Candidate
    token: uuid.UUID
    account_now: datetime | None


@dataclass(frozen=True)
class Claimed:
    """What a claim took, how many it cancelled, whether more may be waiting (a full page,
    or deliveries left for want of room) and, for one account's, whether any of its
    pending deliveries is in flight or due (`deliveries.unsettled`, seen in the claim's
    own transaction: a lease ending in between is taken or still held, never missed)."""

    claims: list[Claim]
    cancelled: int = 0
    more: bool = False
    held: bool = False


@dataclass
class Tally:
    """What a flush did itself: attempts made and how they ended, deliveries cancelled,
    and the account's deliveries still pending afterwards (retries not yet due)."""

    attempts: int = 0
    succeeded: int = 0
    failed: int = 0
    retrying: int = 0
    cancelled: int = 0
    pending: int = 0

    def count(self, result: Result) -> None:
        self.attempts += 1
        if result.status == "succeeded":
            self.succeeded += 1
        elif result.status == "failed":
            self.failed += 1
        else:
            self.retrying += 1


def now_for(frozen_at: datetime | None) -> datetime:
    """The account's now: its test clock's moment, or (None) the wall clock."""
    with clock.pinned(frozen_at):
        return clock.utc_now()


# --- what an attempt leads to --------------------------------------------------------


def outcome(answer: Answer, attempts: int, schedule: Sequence[float], *, now: datetime, seed: str) -> Result:
    """Where a delivery stands after its attempt number `attempts`: any 2xx succeeded; a
    410 failed at once; anything else (3xx included) is retried after the schedule's next
    step, or failed when none is left."""
    if answer.succeeded:
        return Result("succeeded", None, now, answer.status_code, None)
    if answer.status_code == 410 or attempts >= len(schedule):
        return Result("failed", None, now, answer.status_code, answer.error)
    delay = backoff(schedule[attempts], answer, seed)
    return Result("pending", now + _ceil_ms(delay), None, answer.status_code, answer.error)


def backoff(step: float, answer: Answer, seed: str) -> float:
    """The delay before the next attempt: the step with ±10% jitter (drawn from `seed`, so a
    delivery's retries repeat run after run); a 429 or 503 with `Retry-After` waits at least
    that long, up to twice the step."""
    delay = step * random.Random(seed).uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 (jitter, not a secret)
    if answer.status_code in {429, 503} and answer.retry_after is not None:
        delay = max(delay, min(answer.retry_after, 2 * step))
    return delay


def _ceil_ms(seconds: float) -> timedelta:
    # Rounded up: stored to the millisecond, a retry is never due before its delay.
    return timedelta(milliseconds=math.ceil(seconds * 1000))


# --- the database side (worker threads) ------------------------------------------------


def claim(
    db: Database,
    scope: Scope,
    *,
    room: int,
    in_flight: Mapping[str, int],
    lease_s: float,
    test_clocks: bool,
) -> Claimed:
    """Lease up to `room` due deliveries in `scope` (at most `PER_RECIPIENT` in flight to
    one recipient, counting `in_flight`), cancelling those whose policy or recipient went."""
    wall = now_for(None)
    busy = sorted(url for url, count in in_flight.items() if count >= PER_RECIPIENT)

    def candidates(tx: Connection, *, lock: bool) -> list[Candidate]:
        return deliveries.candidates(
            tx,
            wall_now=wall,
            test_clocks=test_clocks,
            limit=room,
            account_id=scope.account_id,
            every_pending=scope.every_pending,
            busy=busy,
            lock=lock,
        )

    def unsettled(tx: Connection) -> bool:
        if scope.account_id is None:
            return False
        return deliveries.unsettled(
            tx, scope.account_id, wall_now=wall, test_clocks=test_clocks, every_pending=scope.every_pending
        )

    take = partial(_take, room=room, in_flight=in_flight, lease_s=lease_s, test_clocks=test_clocks, wall=wall)
    if deliveries.row_locks(db.engine):
        with db.write() as tx:
            found = candidates(tx, lock=True)
            held = unsettled(tx)
            return replace(take(tx, found), held=held) if found else Claimed([], more=bool(busy), held=held)
    with db.read() as tx:
        found = candidates(tx, lock=False)
        held = unsettled(tx)
    if not found:
        # Recipients at their limit may have deliveries waiting: the next attempt to end
        # must claim again, not the next poll.
        return Claimed([], more=bool(busy), held=held)
    with db.write() as tx:
        return replace(take(tx, found), held=held)


def _take(
    tx: Connection,
    found: list[Candidate],
    *,
    room: int,
    in_flight: Mapping[str, int],
    lease_s: float,
    test_clocks: bool,
    wall: datetime,
) -> Claimed:
    """Cancel what must not be sent, lease what there is room for (conditional updates:
    only rows still free are taken)."""
    kept, cancelled = _cancel_gone(tx, found, test_clocks=test_clocks, wall=wall)
    picked, left_out = pick(kept, room, in_flight)
    token = clock.new_wall_id()
    leased: set[uuid.UUID] = set()
    for account_id in dict.fromkeys(c.account_id for c in picked):
        ids = [c.id for c in picked if c.account_id == account_id]
        until = wall + timedelta(seconds=lease_s)
        leased.update(deliveries.lease(tx, account_id, ids, wall_now=wall, until=until, token=token))
    claims = [Claim(c, token, c.frozen_at if test_clocks else None) for c in picked if c.id in leased]
    return Claimed(claims, cancelled, left_out or len(found) >= room)


def _cancel_gone(
    tx: Connection, found: list[Candidate], *, test_clocks: bool, wall: datetime
) -> tuple[list[Candidate], int]:
    """Cancel the candidates whose policy or recipient went (finished by their account's
    clock): the others, and how many were cancelled."""
    kept: list[Candidate] = []
    cancelled = 0
    for candidate in found:
        reason = cancel_reason(candidate)
        if reason is None:
            kept.append(candidate)
            continue
        finished = now_for(candidate.frozen_at if test_clocks else None)
        cancelled += deliveries.cancel(
            tx, candidate.account_id, [candidate.id], wall_now=wall, finished_at=finished, reason=reason
        )
    return kept, cancelled


def cancel_reason(candidate: Candidate) -> str | None:
    """Why a pending delivery must not be sent (its policy was deleted, its recipient
    removed), or None."""
    if not candidate.policy_found or candidate.policy_deleted:
        return CANCELLED_POLICY
    if candidate.recipient not in candidate.policy_recipients:
        return CANCELLED_RECIPIENT
    return None


def pick(found: Sequence[Candidate], room: int, in_flight: Mapping[str, int]) -> tuple[list[Candidate], bool]:
    """The candidates there is room for, in order; True when some were left out."""
    counts = Counter(in_flight)
    picked: list[Candidate] = []
    left_out = False
    for candidate in found:
        if len(picked) >= room or counts[candidate.recipient] >= PER_RECIPIENT:
            left_out = True
            continue
        counts[candidate.recipient] += 1
        picked.append(candidate)
    return picked, left_out


@dataclass(frozen=True)
class Finished:
    """An attempt made under a claim, and where it leaves the delivery."""

    claim: Claim
    result: Result
    attempt: deliveries.Attempt


def record(db: Database, finished: Sequence[Finished]) -> list[bool]:
    """Store attempts and where their deliveries stand, in one short transaction; for each,
    False when its lease was lost meanwhile (the taker's attempt counts, not this one)."""
    kept: dict[int, bool] = {}
    with db.write() as tx:
        for batch in _distinct(finished):
            done = [(f.claim.delivery.account_id, f.claim.delivery.id, f.claim.token, f.result) for _, f in batch]
            numbers = deliveries.record(tx, done)
            made = [
                (f.claim.delivery.account_id, f.claim.delivery.id, numbers[f.claim.delivery.id], f.attempt)
                for _, f in batch
                if f.claim.delivery.id in numbers
            ]
            deliveries.add_attempts(tx, made)
            kept.update((i, f.claim.delivery.id in numbers) for i, f in batch)
    return [kept[i] for i in range(len(finished))]


def _distinct(finished: Sequence[Finished]) -> list[list[tuple[int, Finished]]]:
    """The attempts (with their places) in rounds of distinct deliveries: one delivery
    twice, a lease lost and taken again by this worker, is recorded in a second round
    (only the current lease's attempt counts)."""
    rounds: list[list[tuple[int, Finished]]] = []
    seen: list[set[uuid.UUID]] = []
    for i, one in enumerate(finished):
        n = next((n for n, ids in enumerate(seen) if one.claim.delivery.id not in ids), len(seen))
        if n == len(seen):
            rounds.append([])
            seen.append(set())
        rounds[n].append((i, one))
        seen[n].add(one.claim.delivery.id)
    return rounds


def release(db: Database, leased: Sequence[Candidate], token: uuid.UUID) -> None:
    """Free deliveries a write leased to `token` that this worker had no room for (a claim
    takes them, here or in another worker)."""
    with db.write() as tx:
        for account_id in dict.fromkeys(c.account_id for c in leased):
            ids = [c.id for c in leased if c.account_id == account_id]
            deliveries.release(tx, account_id, ids, token)


def purge(db: Database, *, retention_s: float, test_clocks: bool, after: uuid.UUID | None) -> uuid.UUID | None:
    """Delete events (and their deliveries and attempts) older than the retention by their
    account's clock, for the next `PURGE_ACCOUNTS` accounts after `after`, at most
    `PURGE_EVENTS` events: the account to go on after (None: start over)."""
    with db.read() as tx:
        accounts = deliveries.accounts_after(tx, after, PURGE_ACCOUNTS)
    budget = PURGE_EVENTS
    for account_id, frozen_at in accounts:
        before = now_for(frozen_at if test_clocks else None) - timedelta(seconds=retention_s)
        with db.read() as tx:
            expired = deliveries.expired_events(tx, account_id, before, budget)
        if expired:
            with db.write() as tx:
                budget -= deliveries.purge_events(tx, account_id, expired)
        if budget <= 0:
            return account_id
    return accounts[-1][0] if len(accounts) == PURGE_ACCOUNTS else None


# --- the event loop side -----------------------------------------------------------------


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@dataclass
class _Pipe:
    """What sending needs on one event loop: the HTTP client, the attempts in flight (per
    recipient and in all), the claim lock (one claim at a time, so the counts hold) and the
    wake-up call."""

    sender: Sender
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.get_running_loop)
    in_flight: Counter[str] = field(default_factory=Counter)
    claiming: asyncio.Lock = field(default_factory=asyncio.Lock)
    woken: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    backlog: bool = False
    recording: list[tuple[Finished, asyncio.Future[bool]]] = field(default_factory=list)
    storing: bool = False
    hurry: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: dict[str, deque[tuple[Lease, Candidate]]] = field(default_factory=dict)
    """Writes' leased deliveries waiting for room, by recipient, oldest first."""

    def waiting_count(self) -> int:
        return sum(len(line) for line in self.waiting.values())

    def wait_in_line(self, lease: Lease, candidate: Candidate) -> bool:
        """Keep a leased delivery until there is room for it (False: the line is full)."""
        if self.waiting_count() >= WAITING:
            return False
        self.waiting.setdefault(candidate.recipient, deque()).append((lease, candidate))
        return True

    def next_in_line(self) -> tuple[Lease, Candidate] | None:
        """The oldest waiting delivery to a recipient with room (None: no room, or none)."""
        if self.room() <= 0:
            return None
        for recipient, line in self.waiting.items():
            if self.in_flight[recipient] < PER_RECIPIENT:
                taken = line.popleft()
                if not line:
                    del self.waiting[recipient]
                return taken
        return None

    def room(self) -> int:
        return IN_FLIGHT - sum(self.in_flight.values())

    def wake(self, recipients: Collection[str] | None = None) -> None:
        """Deliveries wait for `recipients` (None: anyone): claim them now."""
        self.call(self._woken_for, recipients)

    def _woken_for(self, recipients: Collection[str] | None) -> None:
        # A claim would find nothing it may send when every recipient is at its limit
        # (and scan their waiting deliveries to say so): their next attempt to end claims.
        if recipients and all(self.in_flight[url] >= PER_RECIPIENT for url in recipients):
            self.backlog = True
        else:
            self.woken.set()

    def call(self, function: Callable[..., None], *args: Any) -> None:
        """Run `function(*args)` on this pipe's loop: now when called there, else soon."""
        if self.loop.is_closed():
            return
        if _running_loop() is self.loop:
            function(*args)
        else:
            self.loop.call_soon_threadsafe(function, *args)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` as a task of this pipe (cancelled when it closes)."""
        task = self.loop.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def sent(self, recipient: str) -> None:
        """An attempt to `recipient` has its answer (or gave up): its room is free."""
        self.in_flight[recipient] -= 1
        if self.in_flight[recipient] <= 0:
            del self.in_flight[recipient]
        if self.backlog:
            self.woken.set()

    async def sleep(self, seconds: float) -> None:
        """Until woken, or `seconds`."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.woken.wait(), seconds)

    async def record(self, db: Database, finished: Finished, *, urgent: bool = False) -> bool:
        """Store an attempt (False: its lease was lost). Group commit: the first attempt to
        end waits `LINGER_S` (none when `urgent`, a flush waiting for it) for others to end,
        and attempts ending while a transaction stores them go in the next, all together."""
        future: asyncio.Future[bool] = self.loop.create_future()
        self.recording.append((finished, future))
        if urgent:
            self.hurry.set()
        if not self.storing:
            self.storing = True
            try:
                await self._linger()
                await self._store(db)
            finally:
                self.storing = False
        return await future

    async def _linger(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.hurry.wait(), LINGER_S)
        self.hurry.clear()

    async def _store(self, db: Database) -> None:
        while self.recording:
            batch, self.recording = self.recording, []
            try:
                kept = await run_sync(record, db, [finished for finished, _ in batch])
            except asyncio.CancelledError:
                for _, future in [*batch, *self.recording]:
                    future.cancel()
                self.recording = []
                raise
            except Exception as error:  # each waiter's attempt goes unrecorded (its lease expires)
                for _, future in batch:
                    future.set_exception(error)
                continue
            for (_, future), one in zip(batch, kept, strict=True):
                future.set_result(one)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.sender.aclose()


async def _after_claim(pipe: _Pipe, start: Callable[..., None], *args: Any) -> None:
    """`start(*args)` once the claim in progress is done (so that the counts it took hold)."""
    async with pipe.claiming:
        start(*args)


class Dispatcher:
    """This worker's sender of webhook deliveries. `start` and `stop` go with the app;
    `wake` after a committed write queued deliveries; a 1 s poll finds the rest. With
    `settings.webhooks` off it sends nothing on its own; `flush` always sends."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self._db = database
        self._settings = settings
        self._lease_s = 2 * settings.webhook_timeout + LEASE_MARGIN_S
        # Accounts' test clocks count only with the control plane on (docs/sandbox.md).
        self._test_clocks = bool(settings.admin_token)
        self._pipe: _Pipe | None = None
        self._task: asyncio.Task[None] | None = None
        self._purged_to: uuid.UUID | None = None

    async def start(self) -> None:
        self._pipe = self._new_pipe()
        self._task = asyncio.create_task(self._run(self._pipe), name="patron-webhooks")

    async def stop(self) -> None:
        """Stop sending: attempts in flight are abandoned (their leases expire, and they are
        sent again: at least once)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._pipe is not None:
            await self._pipe.close()
            self._pipe = None

    def offer(self) -> Lease | None:
        """A lease for the deliveries a write is about to record, so that this worker sends
        them when the write commits (`wake`) without claiming them; None when it sends
        nothing on its own (webhooks off, stopped)."""
        if self._pipe is None or not self._settings.webhooks:
            return None
        return Lease(clock.new_wall_id(), now_for(None) + timedelta(seconds=self._lease_s))

    def wake(self, queued: Queued | None = None) -> None:
        """A write committed what it `queued`: send its leased deliveries, claim for the
        recipients of the others (None: deliveries wait for anyone)."""
        pipe = self._pipe
        if pipe is None or not self._settings.webhooks:
            return
        if queued is None or queued.waiting:
            pipe.wake(None if queued is None else queued.waiting)
        if queued is not None and queued.leased and queued.lease is not None:
            pipe.call(self._hand, pipe, queued.lease, queued.leased)

    def _hand(self, pipe: _Pipe, lease: Lease, leased: Sequence[Candidate]) -> None:
        """Send a committed write's leased deliveries there is room for and free the others
        (on the loop; after the claim in progress, if one is, so that the counts hold)."""
        if pipe.claiming.locked():
            pipe.spawn(_after_claim(pipe, self._start_or_free, pipe, lease, leased))
        else:
            self._start_or_free(pipe, lease, leased)

    def _start_or_free(self, pipe: _Pipe, lease: Lease, leased: Sequence[Candidate]) -> None:
        """Start what there is room for; the rest waits in line under its lease (sent as
        attempts end, still without a claim) or, the line full, is freed for a claim."""
        left = [c for c in leased if not self._start_leased(pipe, lease, c) and not pipe.wait_in_line(lease, c)]
        if left:
            pipe.spawn(self._release(pipe, lease, left))

    def _start_leased(self, pipe: _Pipe, lease: Lease, candidate: Candidate) -> bool:
        if pipe.room() <= 0 or pipe.in_flight[candidate.recipient] >= PER_RECIPIENT:
            return False
        pipe.in_flight[candidate.recipient] += 1
        account_now = candidate.frozen_at if self._test_clocks else None
        self._launch(pipe, Claim(candidate, lease.token, account_now), None)
        return True

    def _start_waiting(self, pipe: _Pipe) -> None:
        """An attempt ended: start the waiting deliveries there is now room for (after the
        claim in progress, if one is, so that the counts hold). One whose lease has too
        little left for an attempt and its record is freed instead, for a claim."""
        if not pipe.waiting:
            return
        if pipe.claiming.locked():
            pipe.spawn(_after_claim(pipe, self._start_waiting, pipe))
            return
        fresh_after = now_for(None) + timedelta(seconds=self._settings.webhook_timeout + RECORD_S)
        while (taken := pipe.next_in_line()) is not None:
            lease, candidate = taken
            if lease.until < fresh_after:
                pipe.spawn(self._release(pipe, lease, [candidate]))
            else:
                self._start_leased(pipe, lease, candidate)

    async def _release(self, pipe: _Pipe, lease: Lease, left: Sequence[Candidate]) -> None:
        try:
            await run_sync(release, self._db, left, lease.token)
        except Exception:  # their lease ends, and a claim takes them then
            log.warning("webhook deliveries left for want of room could not be freed", exc_info=True)
            return
        pipe.wake({c.recipient for c in left})  # free now: claimed like any waiting delivery

    async def flush(self, account_id: uuid.UUID, *, every_pending: bool = False) -> Tally:
        """Send the account's due deliveries now (`every_pending`: every pending one, backoff
        ignored), round after round until none is due, waiting for those another sender
        holds (at most until its lease ends); what this flush did."""
        pipe = self._pipe
        if pipe is not None and pipe.loop is asyncio.get_running_loop():
            return await self._flush(pipe, Scope(account_id, every_pending))
        # Not on the started loop (an app served without lifespan events): a pipe of its own.
        own = self._new_pipe()
        try:
            return await self._flush(own, Scope(account_id, every_pending))
        finally:
            await own.close()

    def _new_pipe(self) -> _Pipe:
        settings = self._settings
        return _Pipe(Sender(timeout=settings.webhook_timeout, allow_private=settings.webhook_allow_private))

    async def _run(self, pipe: _Pipe) -> None:
        next_purge = time.monotonic()
        while True:
            pipe.woken.clear()
            try:
                if self._settings.webhooks:
                    await self._pump(pipe)
                if time.monotonic() >= next_purge:
                    next_purge = time.monotonic() + PURGE_EVERY_S
                    await self._purge()
            except Exception:
                # The database may be away for a while: keep polling, it comes back.
                log.warning("webhook dispatch failed; trying again", exc_info=True)
            await pipe.sleep(POLL_S)

    async def _pump(self, pipe: _Pipe) -> None:
        """Claim and start due deliveries while there is room and more come."""
        while True:
            claimed = await self._claim(pipe, Scope())
            for one in claimed.claims:
                self._launch(pipe, one, None)
            pipe.backlog = claimed.more
            if not (claimed.more and claimed.claims):
                return

    async def _flush(self, pipe: _Pipe, scope: Scope) -> Tally:
        assert scope.account_id is not None
        tally = Tally()
        mine: set[asyncio.Task[None]] = set()
        progress = time.monotonic()
        while True:
            claimed = await self._claim(pipe, scope)
            tally.cancelled += claimed.cancelled
            mine.update(self._launch(pipe, one, tally) for one in claimed.claims)
            if claimed.claims or claimed.cancelled:
                progress = time.monotonic()
            if claimed.claims and claimed.more:
                continue
            if mine:
                _, mine = await asyncio.wait(mine, return_when=asyncio.FIRST_COMPLETED)
                progress = time.monotonic()
                continue
            if claimed.cancelled:
                continue
            if not (claimed.more or claimed.held):
                break
            # Another sender holds some (until its lease ends at the latest) or room is
            # taken: look again soon. Past a whole lease with nothing moving, give up.
            if time.monotonic() - progress > self._lease_s + POLL_S:
                log.warning("webhook flush of account %s: nothing moved for a whole lease", scope.account_id)
                break
            await asyncio.sleep(WAIT_S)
        tally.pending = await run_sync(self._count_pending, scope.account_id)
        return tally

    async def _claim(self, pipe: _Pipe, scope: Scope) -> Claimed:
        async with pipe.claiming:
            room = pipe.room()
            if room <= 0:
                return Claimed([], more=True)
            counts = dict(pipe.in_flight)
            work = partial(
                claim,
                self._db,
                scope,
                room=room,
                in_flight=counts,
                lease_s=self._lease_s,
                test_clocks=self._test_clocks,
            )
            claimed = await run_sync(work)
            for one in claimed.claims:
                pipe.in_flight[one.delivery.recipient] += 1
            return claimed

    def _launch(self, pipe: _Pipe, claimed: Claim, tally: Tally | None) -> asyncio.Task[None]:
        task = asyncio.create_task(self._deliver(pipe, claimed, tally))
        pipe.tasks.add(task)
        task.add_done_callback(pipe.tasks.discard)
        return task

    async def _deliver(self, pipe: _Pipe, claimed: Claim, tally: Tally | None) -> None:
        """One attempt: sign with the account's now, send, record; never raises (a lease
        that is not recorded expires and the delivery is taken again)."""
        delivery = claimed.delivery
        try:
            try:
                finished = await self._attempt(pipe, claimed)
            finally:
                pipe.sent(delivery.recipient)  # the receiver is done with it: room for the next
                self._start_waiting(pipe)
            kept = await pipe.record(self._db, finished, urgent=tally is not None)
        except Exception:
            log.warning("webhook delivery %s: the attempt was not recorded", delivery.id, exc_info=True)
            return
        if not kept:
            log.info("webhook delivery %s: its lease ended before the attempt was recorded", delivery.id)
        elif tally is not None:
            tally.count(finished.result)

    async def _attempt(self, pipe: _Pipe, claimed: Claim) -> Finished:
        """Sign and send once: the attempt and where it leaves the delivery."""
        delivery = claimed.delivery
        started = now_for(claimed.account_now)
        t_ms = int(started.timestamp() * 1000)
        standard = self._settings.webhook_standard_headers
        sent = sender.headers(delivery.secret or "", str(delivery.event_id), t_ms, delivery.body, standard=standard)
        answer = await pipe.sender.send(delivery.recipient, delivery.body, sent)
        seed = f"{delivery.id}:{delivery.attempts + 1}"
        now = now_for(claimed.account_now)
        result = outcome(answer, delivery.attempts + 1, self._settings.webhook_retry_schedule, now=now, seed=seed)
        attempt = deliveries.Attempt(
            started, t_ms, sent, answer.duration_ms, answer.status_code, answer.headers, answer.excerpt, answer.error
        )
        return Finished(claimed, result, attempt)

    def _count_pending(self, account_id: uuid.UUID) -> int:
        with self._db.read() as tx:
            return deliveries.count_pending(tx, account_id)

    async def _purge(self) -> None:
        work = partial(
            purge,
            self._db,
            retention_s=self._settings.event_retention,
            test_clocks=self._test_clocks,
            after=self._purged_to,
        )
        self._purged_to = await run_sync(work)
