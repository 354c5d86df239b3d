"""Webhooks on loopback, measured in one run against `patron serve`: delivery latency from a
write's commit to its receipt (p50, p99), sustained deliveries per second, and the write
throughput of `POST /api/customers` with no webhook policy and with one.

    python bench/webhooks.py                                  # SQLite and PostgreSQL, 1 and 2 workers
    python bench/webhooks.py --quick                          # a smoke run, under a minute
    python bench/webhooks.py --database sqlite --workers 2 --duration 20

For each database and worker count: a fresh account on a fresh `patron serve` (rate limits
off) and a receiver in this process on 127.0.0.1 (asyncio, answers 200 with an empty body,
keeps connections alive) that notes when each delivery arrived and its `webhook-id`.
- Latency: sequential writes with a WEBHOOK policy pointing at the receiver; each event
  (found by the body's `resourceId`) from the moment the write's answer arrived (the
  commit is before it: a lower bound) and from the moment its request was sent (an upper
  bound).
- Throughput: wrk posts customers from N connections for a fixed time, in phases ordered
  no policy, policy, policy, no policy (and again, for more phases) so that a drift as the
  tables grow hits both alike. In the policy
  phases the receiver's count gives the sustained deliveries per second, and what
  arrived after the writers stopped the backlog and its drain time.
Targets: p50 <= 50 ms, p99 <= 250 ms, a policy costs writes <= 15% of their throughput.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Connection, func, select

from patron.server.db import tables
from patron.server.db.engine import make_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hardening
import pg_scaling
import run

TARGET_P50_MS = 50.0
TARGET_P99_MS = 250.0
TARGET_COST = 0.15
WARM_WRITES = 10
"""Sequential writes sent before the latency sample: the dispatcher opens its connection."""
PHASES = 4
"""Write phases by default: no policy, one policy, one policy, no policy."""
QUIET_S = 0.3
"""A backlog is drained once every write has its delivery and nothing came for this long
(wrk stops with requests in flight whose writes may still commit)."""

# --- the receiver -----------------------------------------------------------------------

ANSWER = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"


@dataclass(frozen=True)
class Receipt:
    """One delivery: when it was all in (`time.perf_counter_ns`), the path it was sent to
    (each policy has its own), its event id and its body."""

    at_ns: int
    path: str
    event_id: str
    body: bytes

    def resource_id(self) -> str:
        found: str = json.loads(self.body)["resourceId"]
        return found


class _Connection(asyncio.Protocol):
    """HTTP/1.1 just enough for a webhook sender: requests with a Content-Length, kept alive
    and possibly pipelined; the body is kept as sent and parsed later, off the clock."""

    def __init__(self, note: Callable[[Receipt], None]) -> None:
        self.note = note
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter_ns()
        self.buffer += data
        while (receipt := self._next(now)) is not None:
            self.note(receipt)
            assert self.transport is not None
            self.transport.write(ANSWER)

    def _next(self, now: int) -> Receipt | None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        path, headers = _head(self.buffer[:end])
        if "transfer-encoding" in headers:
            raise RuntimeError("the receiver reads bodies with a Content-Length only")
        start = end + 4
        stop = start + int(headers.get("content-length", "0"))
        if len(self.buffer) < stop:
            return None
        body, self.buffer = self.buffer[start:stop], self.buffer[stop:]
        return Receipt(now, path, headers.get("webhook-id", ""), body)


def _head(head: bytes) -> tuple[str, dict[str, str]]:
    """The request's path and its headers (names in lower case)."""
    request_line, *lines = head.decode("latin-1").split("\r\n")
    pairs = (line.split(":", 1) for line in lines if ":" in line)
    return request_line.split(" ")[1], {name.strip().lower(): value.strip() for name, value in pairs}


class Receiver:
    """The receiver on 127.0.0.1, on an event loop in a thread of its own."""

    def __init__(self) -> None:
        self.receipts: list[Receipt] = []
        self._counts: Counter[str] = Counter()
        self._last_ns: dict[str, int] = {}
        self._loop = asyncio.new_event_loop()
        factory = self._loop.create_server(lambda: _Connection(self._note), "127.0.0.1", 0, backlog=512)
        self._server = self._loop.run_until_complete(factory)
        self.origin = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._server.close()
        self._loop.close()

    def _note(self, receipt: Receipt) -> None:
        self.receipts.append(receipt)
        self._counts[receipt.path] += 1
        self._last_ns[receipt.path] = receipt.at_ns

    def sent_to(self, path: str) -> list[Receipt]:
        return [receipt for receipt in self.receipts if receipt.path == path]

    def drain(self, path: str, expected: int, timeout: float) -> bool:
        """Wait until `expected` deliveries to `path` are in and none came for `QUIET_S`;
        False on `timeout` first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            quiet = time.perf_counter_ns() - self._last_ns.get(path, 0) > QUIET_S * 1e9
            if self._counts[path] >= expected and quiet:
                return True
            time.sleep(0.01)
        return False


# --- the server -------------------------------------------------------------------------


@dataclass
class Server:
    """A running `patron serve` and the account the benchmark writes as."""

    database: run.Database
    workers: int
    base: str
    pid: int
    authorization: str
    account_id: str
    database_pid: int | None

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.base}/api", headers={"Authorization": self.authorization}, timeout=60)


def environment() -> dict[str, str]:
    """The benchmarks' server environment, with rate limits off and webhooks sent to
    loopback whatever the caller's environment says."""
    return {
        **run.env(),
        "PATRON_RATE_LIMIT": "0",
        "PATRON_WEBHOOKS": "true",
        "PATRON_WEBHOOK_ALLOW_PRIVATE": "true",
    }


@contextmanager
def serving(database: run.Database, workers: int) -> Iterator[Server]:
    account = run.create_account(database.url, f"webhooks-{workers}")
    credentials = base64.b64encode(f"{account['clientId']}:{account['clientSecret']}".encode()).decode()
    port = run.free_port()
    command = [*run.PATRON, "serve", "--port", str(port), "--workers", str(workers), "--database", database.url]
    log_path = run.WORK / f"webhooks-serve-{port}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command, env=environment(), cwd=run.WORK, stdout=log_file, stderr=log_file)
    try:
        run.wait_ready(f"http://127.0.0.1:{port}/readyz", process)
        base = f"http://127.0.0.1:{port}"
        yield Server(
            database, workers, base, process.pid, f"Basic {credentials}", account["accountId"], postmaster(database)
        )
    except BaseException:
        run.log(f"patron serve's output: {log_path}")
        raise
    finally:
        process.terminate()
        process.wait(timeout=30)
    log_path.unlink()


def postmaster(database: run.Database) -> int | None:
    """The PostgreSQL server's process id (its CPU time is counted), None for SQLite."""
    if database.name != "PostgreSQL":
        return None
    shown = subprocess.run(["psql", database.url, "-Atc", "SHOW data_directory"], capture_output=True, text=True)
    return int((Path(shown.stdout.strip()) / "postmaster.pid").read_text().split()[0])


def create_policy(server: Server, url: str) -> str:
    """A WEBHOOK policy for customer creations, sending to `url`; its id."""
    body = {"name": "bench", "channel": "WEBHOOK", "recipients": [url], "notificationTypes": ["CUSTOMER_CREATED"]}
    with server.api() as api:
        answer = api.post("/notifications/policies", json=body)
    if answer.status_code != 201:
        raise RuntimeError(f"creating the policy: {answer.status_code} {answer.text}")
    policy: str = answer.json()["id"]
    return policy


def delete_policy(server: Server, policy: str) -> None:
    with server.api() as api:
        answer = api.delete(f"/notifications/policies/{policy}")
    if answer.status_code != 200:
        raise RuntimeError(f"deleting the policy: {answer.status_code} {answer.text}")


@contextmanager
def _transaction(server: Server) -> Iterator[Connection]:
    """A transaction straight on the server's database (the benchmark's own engine)."""
    engine = make_engine(server.database.url)
    try:
        with engine.begin() as tx:
            yield tx
    finally:
        engine.dispose()


def outbox(server: Server) -> dict[str, tuple[int, int]]:
    """The account's deliveries by status: how many, and the most attempts one took."""
    d = tables.webhook_delivery.c
    query = (
        select(d.status, func.count(), func.max(d.attempts))
        .where(d.account_id == uuid.UUID(server.account_id))
        .group_by(d.status)
    )
    with _transaction(server) as tx:
        return {status: (count, most) for status, count, most in tx.execute(query)}


@contextmanager
def policy(server: Server, url: str | None) -> Iterator[None]:
    """One webhook policy sending to `url` while the block runs (None: no policy)."""
    made = None if url is None else create_policy(server, url)
    try:
        yield
    finally:
        if made is not None:
            delete_policy(server, made)


# --- the writes -------------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    """A sequential write: the customer it made, when it was sent and when its answer came."""

    customer_id: str
    sent_ns: int
    answered_ns: int


def sequential_writes(server: Server, count: int) -> list[Write]:
    writes = []
    with server.api() as api:
        for _ in range(count):
            sent = time.perf_counter_ns()
            answer = api.post("/customers", json=hardening.BODY)
            answered = time.perf_counter_ns()
            if answer.status_code != 201:
                raise RuntimeError(f"POST /customers: {answer.status_code} {answer.text}")
            writes.append(Write(answer.json()["id"], sent, answered))
    return writes


@dataclass
class Load:
    """One wrk run posting customers: answers, wrk's own rate, the window on this process's
    clock, and the CPU the server (and PostgreSQL) spent during it."""

    requests: int
    rps: float
    started_ns: int
    stopped_ns: int
    cpu_s: dict[str, float] = field(default_factory=dict)


def write_load(server: Server, seconds: int, connections: int) -> Load:
    """`connections` writers posting customers for `seconds`; any non-2xx answer stops the
    benchmark."""
    with wrk_script(server) as script:
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), f"{server.base}/api/customers"]
        before = cpu_seconds(server)
        started = time.perf_counter_ns()
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        stopped = time.perf_counter_ns()
    spent = {name: value - before[name] for name, value in cpu_seconds(server).items()}
    if found := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        raise RuntimeError(f"POST /customers: {found.group(1)} non-2xx answers")
    requests = int(_figure(r"(\d+) requests in", output))
    return Load(requests, float(_figure(r"Requests/sec:\s+([\d.]+)", output)), started, stopped, spent)


@contextmanager
def wrk_script(server: Server) -> Iterator[Path]:
    """The Lua script that has wrk post `hardening.BODY` as this account."""
    body = json.dumps(hardening.BODY)
    with tempfile.TemporaryDirectory(dir=run.WORK) as directory:
        script = Path(directory) / "post.lua"
        script.write_text(hardening.SCRIPT.format(body=body, auth=server.authorization, mode="no key", prefix=""))
        yield script


def _figure(pattern: str, output: str) -> str:
    found = re.search(pattern, output)
    assert found is not None, output
    return found.group(1)


def cpu_seconds(server: Server) -> dict[str, float]:
    """CPU time so far of patron's processes (and of PostgreSQL's)."""
    spent = {"patron": pg_scaling.tree_cpu_seconds(server.pid)}
    if server.database_pid is not None:
        spent["PostgreSQL"] = pg_scaling.tree_cpu_seconds(server.database_pid)
    return spent


# --- the measurements -------------------------------------------------------------------


@dataclass
class Latency:
    """Milliseconds from each write to its delivery, from the answer and from the request."""

    from_answer: list[float]
    from_request: list[float]
    missing: int
    duplicates: int


def measure_latency(server: Server, receiver: Receiver, count: int, timeout: float) -> Latency:
    path = "/latency"
    with policy(server, receiver.origin + path):
        sequential_writes(server, WARM_WRITES)
        receiver.drain(path, WARM_WRITES, timeout)
        writes = sequential_writes(server, count)
        receiver.drain(path, WARM_WRITES + count, timeout)
    return match(writes, receiver.sent_to(path))


def match(writes: Sequence[Write], receipts: Sequence[Receipt]) -> Latency:
    """Each write's first delivery, found by the customer it made; a second one with the
    same event id (a redelivery) is counted, not timed."""
    first: dict[str, Receipt] = {}
    for receipt in receipts:
        first.setdefault(receipt.resource_id(), receipt)
    found = [(write, first[write.customer_id]) for write in writes if write.customer_id in first]
    return Latency(
        from_answer=[(r.at_ns - w.answered_ns) / 1e6 for w, r in found],
        from_request=[(r.at_ns - w.sent_ns) / 1e6 for w, r in found],
        missing=len(writes) - len(found),
        duplicates=len(receipts) - len({r.event_id for r in receipts}),
    )


@dataclass
class Phase:
    """A fixed-time write load, with or without a policy; with one, what was delivered."""

    with_policy: bool
    load: Load
    delivered: list[Receipt]
    drained: bool

    def during(self) -> int:
        return sum(1 for r in self.delivered if r.at_ns <= self.load.stopped_ns)

    def window_s(self) -> float:
        return (self.load.stopped_ns - self.load.started_ns) / 1e9

    def sustained(self) -> float:
        """Deliveries per second from the first write to the last delivery."""
        return len(self.delivered) / (self.window_s() + self.drain_s())

    def drain_s(self) -> float:
        last = max((r.at_ns for r in self.delivered), default=self.load.stopped_ns)
        return max(last - self.load.stopped_ns, 0) / 1e9


def with_policy_in(number: int) -> bool:
    """Phases 1, 2, 3, 4 go without, with, with, without a policy, then again: a drift that
    is linear in time weighs the same on both (alternating would put every policy phase
    after its partner)."""
    return (number - 1) % 4 in (1, 2)


def run_phase(server: Server, receiver: Receiver, number: int, options: argparse.Namespace) -> Phase:
    """The write load, with a policy in even phases; the policy stays until every delivery
    is in (deleting it would cancel what is still pending)."""
    with_policy, path = with_policy_in(number), f"/phase-{number}"
    with policy(server, receiver.origin + path if with_policy else None):
        load = write_load(server, options.duration, options.connections)
        drained = receiver.drain(path, load.requests, options.drain_timeout) if with_policy else True
    return Phase(with_policy, load, receiver.sent_to(path), drained)


@dataclass
class Result:
    database: str
    workers: int
    latency: Latency
    phases: list[Phase]
    outbox: dict[str, tuple[int, int]]
    load_average: tuple[float, float]


def measure(database: run.Database, workers: int, options: argparse.Namespace) -> Result:
    load_before = os.getloadavg()[0]
    receiver = Receiver()
    try:
        with serving(database, workers) as server:
            run.log(f"{database.name}, {workers} worker(s): warming up, then {options.writes} sequential writes")
            write_load(server, 1, options.connections)
            latency = measure_latency(server, receiver, options.writes, options.drain_timeout)
            phases = []
            for number in range(1, options.phases + 1):
                run.log(f"{database.name}, {workers} worker(s): write phase {number} of {options.phases}")
                phases.append(run_phase(server, receiver, number, options))
            deliveries = outbox(server)
    finally:
        receiver.close()
    return Result(database.name, workers, latency, phases, deliveries, (load_before, os.getloadavg()[0]))


# --- the report -------------------------------------------------------------------------


def percentile(values: Sequence[float], rank: float) -> float:
    """The nearest-rank percentile (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(math.ceil(rank / 100 * len(ordered)) - 1, 0)]


def mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def latency_lines(latency: Latency) -> list[str]:
    lines = [f"  {'delivery latency (ms)':<44}{'p50':>8}{'p99':>8}{'max':>8}"]
    for label, values in (
        ("from the write's answer (commit is before)", latency.from_answer),
        ("from the write's request", latency.from_request),
    ):
        p50, p99 = percentile(values, 50), percentile(values, 99)
        lines.append(f"    {label:<42}{p50:>8.1f}{p99:>8.1f}{max(values, default=math.nan):>8.1f}")
    p50, p99 = percentile(latency.from_answer, 50), percentile(latency.from_answer, 99)
    lines.append(
        f"    targets: p50 <= {TARGET_P50_MS:.0f} ms {mark(p50 <= TARGET_P50_MS)}, p99 <= {TARGET_P99_MS:.0f} ms "
        f"{mark(p99 <= TARGET_P99_MS)}; {len(latency.from_answer)} timed, {latency.missing} never arrived, "
        f"{latency.duplicates} delivered twice"
    )
    return lines


def phase_lines(number: int, phase: Phase) -> list[str]:
    load = phase.load
    cpu = ", ".join(f"{name} {seconds * 1000 / load.requests:.2f}" for name, seconds in load.cpu_s.items())
    label = "one policy" if phase.with_policy else "no policy"
    lines = [f"    {number} {label:<11}{load.rps:>9,.0f} writes/s   CPU ms per write: {cpu}"]
    if phase.with_policy:
        late = len(phase.delivered) - phase.during()
        missing = "" if phase.drained else f" (NOT ALL IN: {len(phase.delivered)} of {load.requests})"
        lines.append(
            f"      deliveries: {phase.during() / phase.window_s():,.0f}/s while writing, "
            f"{phase.sustained():,.0f}/s to the last one; {late} after the writers stopped, "
            f"drained in {phase.drain_s():.2f} s{missing}"
        )
    return lines


def mean_rps(phases: Sequence[Phase], with_policy: bool) -> float:
    rates = [phase.load.rps for phase in phases if phase.with_policy == with_policy]
    return sum(rates) / len(rates)


def cost(phases: Sequence[Phase]) -> float:
    """The share of write throughput a policy costs (mean of its phases against the others)."""
    return 1 - mean_rps(phases, True) / mean_rps(phases, False)


def throughput_lines(phases: Sequence[Phase], options: argparse.Namespace) -> list[str]:
    lines = [f"  POST /api/customers, wrk -t1 -c{options.connections}, {options.duration} s per phase"]
    for number, phase in enumerate(phases, start=1):
        lines += phase_lines(number, phase)
    lines.append(
        f"    with a policy / without: {1 - cost(phases):.3f}: a policy costs {cost(phases):.1%} of write "
        f"throughput (target <= {TARGET_COST:.0%} {mark(cost(phases) <= TARGET_COST)})"
    )
    return lines


def report(result: Result, options: argparse.Namespace) -> None:
    load = result.load_average
    print(f"{result.database}, patron serve --workers {result.workers} (load average {load[0]:.2f} -> {load[1]:.2f})")
    for line in latency_lines(result.latency) + throughput_lines(result.phases, options):
        print(line)
    statuses = ", ".join(
        f"{status} {count:,} (at most {most} attempts)" for status, (count, most) in result.outbox.items()
    )
    print(f"  the account's deliveries afterwards: {statuses}")
    sys.stdout.flush()


def summary(results: Sequence[Result]) -> None:
    """One line per server: the figures the targets are about."""
    print("\nsummary (latency from the write's answer; deliveries/s to the last one, policy phases)")
    print(f"  {'':<22}{'p50 ms':>8}{'p99 ms':>8}{'deliv/s':>9}{'no policy':>11}{'policy':>8}{'cost':>8}")
    for result in results:
        p50, p99 = (percentile(result.latency.from_answer, rank) for rank in (50, 99))
        sustained = [phase.sustained() for phase in result.phases if phase.with_policy]
        print(
            f"  {f'{result.database}, {result.workers} worker(s)':<22}{p50:>8.1f}{p99:>8.1f}"
            f"{sum(sustained) / len(sustained):>9,.0f}{mean_rps(result.phases, False):>11,.0f}"
            f"{mean_rps(result.phases, True):>8,.0f}{cost(result.phases):>8.1%}"
        )
    print(f"  targets: p50 <= {TARGET_P50_MS:.0f} ms, p99 <= {TARGET_P99_MS:.0f} ms, cost <= {TARGET_COST:.0%}")


# --- the program ------------------------------------------------------------------------


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--workers", help="comma-separated worker counts (default 1,2; --quick: 1)")
    parser.add_argument("--writes", type=int, help="sequential writes timed for latency (default 300; --quick: 100)")
    parser.add_argument("--duration", type=int, help="seconds of each write phase (default 10; --quick: 2)")
    parser.add_argument("--phases", type=int, default=PHASES, help="write phases, a multiple of 4 (default 4)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent writers (wrk connections)")
    parser.add_argument("--drain-timeout", type=float, help="longest wait for deliveries, s (60; --quick: 10)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: short phases, one worker count")
    options = parser.parse_args()
    quick = {"workers": "1", "writes": 100, "duration": 2, "drain_timeout": 10.0}
    defaults = {
        "workers": "1,2",
        "writes": 300,
        "duration": 10,
        "drain_timeout": 60.0,
        **(quick if options.quick else {}),
    }
    for name, value in defaults.items():
        if getattr(options, name) is None:
            setattr(options, name, value)
    if options.phases < 4 or options.phases % 4:
        parser.error("--phases must be a multiple of 4 (no policy, policy, policy, no policy)")
    return options


def databases(choice: str) -> list[Callable[[Path], run.Database]]:
    makers = {"sqlite": run.sqlite_database, "postgresql": run.postgres_database}
    return list(makers.values()) if choice == "both" else [makers[choice]]


def main() -> None:
    options = arguments()
    if not shutil.which("wrk"):
        sys.exit("wrk not found: install it (Debian: apt-get install wrk), or run `make wrk`")
    run.WORK.mkdir(parents=True, exist_ok=True)
    workers = [int(count) for count in options.workers.split(",")]
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; all on 127.0.0.1")
    results = []
    for make in databases(options.database):
        database = make(run.WORK)
        try:
            for count in workers:
                results.append(measure(database, count, options))
                report(results[-1], options)
        finally:
            for cleanup in database.cleanup:
                cleanup()
    summary(results)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
