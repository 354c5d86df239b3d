"""What a test pays to set up its state, measured in one run on a real server: a fresh account
over the control plane (`POST /_patron/accounts`) next to the old path (`patron accounts
create`, a process per account), a reset of an account holding 100 customers, and a
snapshot restore (and save) of 1,000 customers, each with a contact and an alias: after what
a test typically writes (three new customers, one archived), and after a reset (every row
to insert again).

    python bench/sandbox_setup.py                                  # SQLite and PostgreSQL
    python bench/sandbox_setup.py --databases sqlite --runs 20
    python bench/sandbox_setup.py --database postgresql://user@host/db   # a database of yours

One `patron serve` (one worker, rate limits off, `PATRON_ADMIN_TOKEN` set) per database.
Every figure is the wall time of one request seen by an HTTP client on the same machine
(keep-alive), p50 and p95 over the runs; the CLI's is a whole process. The issue's target:
p50 <= 20 ms for a fresh account and for a reset with 100 customers. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run

TOKEN = secrets.token_urlsafe(24)
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def customer(number: int) -> dict[str, object]:
    """A customer with one contact and one alias, the shape the API takes."""
    return {
        "legalName": f"Setup {number} Ltd",
        "address": {"line1": "1 Main St", "town": "Springfield", "state": "IL", "postcode": "62701", "country": "US"},
        "taxStatus": "TAXED",
        "contacts": [{"name": "Ada", "email": f"ada{number}@example.com", "billingPreference": "PRIMARY"}],
        "customerAliases": [f"setup-{number}"],
    }


def timed(call: Callable[[], object], runs: int, before: Callable[[], object] | None = None) -> list[float]:
    """Milliseconds of `call`, `runs` times (`before` runs untimed ahead of each)."""
    spent = []
    for _ in range(runs):
        if before is not None:
            before()
        started = time.perf_counter()
        call()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def expect(answer: httpx.Response, status: int) -> httpx.Response:
    if answer.status_code != status:
        raise RuntimeError(f"{answer.request.method} {answer.request.url}: {answer.status_code} {answer.text}")
    return answer


def serve(database: run.Database) -> tuple[subprocess.Popen[bytes], str]:
    port = run.free_port()
    command = [*run.PATRON, "serve", "--port", str(port), "--database", database.url]
    server = subprocess.Popen(
        command,
        env={**run.env(), "PATRON_ADMIN_TOKEN": TOKEN},
        cwd=run.WORK,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    run.wait_ready(f"http://127.0.0.1:{port}/readyz", server)
    return server, f"http://127.0.0.1:{port}"


def seeded(http: httpx.Client, base: str, name: str, count: int, snapshot: str) -> tuple[str, tuple[str, str]]:
    """A new account holding `count` customers (made through the API), saved as `snapshot`;
    its id and credentials."""
    created = expect(http.post("/_patron/accounts", json={"name": name}, headers=ADMIN), 201).json()
    auth = (created["clientId"], created["clientSecret"])
    with httpx.Client(base_url=f"{base}/api", auth=auth, timeout=60) as api:
        for number in range(count):
            expect(api.post("/customers", json=customer(number)), 201)
    account: str = created["accountId"]
    expect(http.post(f"/_patron/accounts/{account}/snapshots", json={"name": snapshot}, headers=ADMIN), 201)
    return account, auth


def a_tests_writes(base: str, auth: tuple[str, str]) -> Callable[[], None]:
    """What a test typically leaves behind: three new customers and one archived."""

    def write() -> None:
        with httpx.Client(base_url=f"{base}/api", auth=auth, timeout=60) as api:
            made = [expect(api.post("/customers", json=customer(10_000 + n)), 201).json()["id"] for n in range(3)]
            expect(api.post(f"/customers/{made[0]}/archive"), 200)

    return write


def measure(database: run.Database, options: argparse.Namespace) -> dict[str, list[float]]:
    server, base = serve(database)
    figures: dict[str, list[float]] = {}
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            expect(http.post("/_patron/accounts", json={"name": "warm"}, headers=ADMIN), 201)
            figures["fresh account, POST /_patron/accounts"] = timed(
                lambda: expect(http.post("/_patron/accounts", json={"name": "t"}, headers=ADMIN), 201), options.runs
            )
            figures["fresh account, patron accounts create (CLI)"] = timed(
                lambda: run.create_account(database.url, "cli"), options.cli_runs
            )
            small, _ = seeded(http, base, "hundred", options.reset_customers, "start")
            figures[f"reset, {options.reset_customers} customers"] = timed(
                lambda: expect(http.post(f"/_patron/accounts/{small}/reset", headers=ADMIN), 204),
                options.runs,
                before=lambda: expect(
                    http.post(f"/_patron/accounts/{small}/snapshots/start/restore", headers=ADMIN), 204
                ),
            )
            run.log(f"{database.name}: seeding {options.restore_customers:,} customers")
            large, auth = seeded(http, base, "thousand", options.restore_customers, "start")
            restore = f"/_patron/accounts/{large}/snapshots/start/restore"
            thousand = f"{options.restore_customers:,} customers"
            figures[f"restore {thousand}, after a test's writes"] = timed(
                lambda: expect(http.post(restore, headers=ADMIN), 204), options.runs, before=a_tests_writes(base, auth)
            )
            figures[f"restore {thousand}, after a reset"] = timed(
                lambda: expect(http.post(restore, headers=ADMIN), 204),
                options.runs,
                before=lambda: expect(http.post(f"/_patron/accounts/{large}/reset", headers=ADMIN), 204),
            )
            names = iter(range(options.runs))
            snapshots = f"/_patron/accounts/{large}/snapshots"
            figures[f"snapshot save, {thousand}"] = timed(
                lambda: expect(http.post(snapshots, json={"name": f"s{next(names)}"}, headers=ADMIN), 201),
                options.runs,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    return figures


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


def report(name: str, figures: dict[str, list[float]]) -> None:
    print(name)
    print(f"  {'':<50}{'p50 ms':>9}{'p95 ms':>9}{'runs':>6}")
    for label, values in figures.items():
        print(f"  {label:<50}{statistics.median(values):>9.1f}{p95(values):>9.1f}{len(values):>6}")
    http, cli = (statistics.median(v) for v in list(figures.values())[:2])
    print(f"  a fresh account over HTTP costs {http / cli:.1%} of the CLI's ({cli / http:.0f}x less)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--database", help="measure this database URL instead (an empty database of yours)")
    parser.add_argument("--runs", type=int, default=50, help="runs of each HTTP figure")
    parser.add_argument("--cli-runs", type=int, default=10, help="runs of `patron accounts create`")
    parser.add_argument("--reset-customers", type=int, default=100)
    parser.add_argument("--restore-customers", type=int, default=1000)
    options = parser.parse_args()
    run.WORK.mkdir(parents=True, exist_ok=True)
    makers = {"sqlite": run.sqlite_database, "postgresql": run.postgres_database}
    chosen = (
        [lambda _: run.Database("given database", options.database)]
        if options.database
        else [makers[name] for name in options.databases.split(",")]
    )
    print(f"one worker per server, {options.runs} runs per HTTP figure, {options.cli_runs} CLI runs")
    for make in chosen:
        database = make(run.WORK)
        try:
            report(database.name, measure(database, options))
        finally:
            for cleanup in database.cleanup:
                cleanup()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
