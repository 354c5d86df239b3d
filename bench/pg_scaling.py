"""How far one database carries patron: single-request latencies with N customers, write and
read throughput with 1 and 2 workers, and what each request costs the database's CPU.

    python bench/pg_scaling.py                        # 100,000 customers, PostgreSQL and SQLite
    python bench/pg_scaling.py --customers 20000 --duration 5 --databases postgresql

Everything runs on this machine over loopback: a throwaway PostgreSQL 15 cluster
(scripts/pg-cluster.sh), `patron serve --workers W`, and wrk as the load generator (one
thread, 16 connections), so all three share the cores. The CPU figures come from /proc:
the CPU time of the PostgreSQL server processes and of the patron workers during each
throughput run, divided by the requests answered. Results: OUT/scaling.md and .json.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PATRON = [sys.executable, "-m", "patron"]
TICKS = os.sysconf("SC_CLK_TCK")

sys.path.insert(0, str(ROOT / "bench"))
import dataset  # noqa: E402
from run import env, free_port  # noqa: E402

WRITE_LUA = """
local counter = 0
local prefix = "x"
init = function(args)
  prefix = args[1]
  wrk.headers["Content-Type"] = "application/json"  -- alongside -H Authorization
end
request = function()
  counter = counter + 1
  local n = prefix .. "-" .. counter
  local body = '{"legalName":"Load ' .. n .. ' Ltd","address":{"line1":"1 Main St","town":"Town",'
    .. '"postcode":"12345","country":"GB"},"taxStatus":"TAXED","contacts":[{"name":"Load",'
    .. '"email":"load-' .. n .. '@example.com","billingPreference":"PRIMARY"}],'
    .. '"customerAliases":["load-' .. n .. '"]}'
  return wrk.format("POST", "/api/customers", nil, body)
end
"""

READ_LUA = """
local count = 1
init = function(args) count = tonumber(args[1]) end
request = function()
  return wrk.format("GET", "/api/customers/by-alias/a-crm-" .. math.random(0, count - 1))
end
"""


def log(message: str) -> None:
    print(f"[scaling {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def patron(*args: str, cwd: Path) -> str:
    result = subprocess.run([*PATRON, *args], capture_output=True, text=True, env=env(), cwd=cwd)
    if result.returncode != 0:
        raise RuntimeError(f"patron {' '.join(args)}: {result.stderr}")
    return result.stdout


def tree_cpu_seconds(root: int) -> float:
    """CPU time (user + system, reaped children included) of a process and its descendants."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = sum(int(value) for value in fields[11:15]) / TICKS
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo += [child for child, parent in parents.items() if parent == pid]
    return total


@dataclass
class Store:
    name: str
    url: str
    workdir: Path
    server_pid: Callable[[], int | None]
    cleanup: Callable[[], None]


@contextmanager
def postgresql(workdir: Path) -> Iterator[Store]:
    directory = Path(f"/tmp/patron-scaling-pg-{os.getpid()}")
    script = ROOT / "scripts" / "pg-cluster.sh"
    url = subprocess.run(
        ["bash", str(script), "start", str(directory)], capture_output=True, text=True, check=True
    ).stdout.strip()

    def postmaster() -> int | None:
        return int((directory / "data" / "postmaster.pid").read_text().split()[0])

    def stop() -> None:
        subprocess.run(["bash", str(script), "stop", str(directory)], check=False)

    try:
        yield Store("PostgreSQL", url, workdir, postmaster, stop)
    finally:
        stop()


@contextmanager
def sqlite(workdir: Path) -> Iterator[Store]:
    path = workdir / "sqlite" / "scaling.db"
    shutil.rmtree(path.parent, ignore_errors=True)
    path.parent.mkdir(parents=True)
    yield Store("SQLite", f"sqlite:///{path}", workdir, lambda: None, lambda: None)


@contextmanager
def serve(store: Store, workers: int) -> Iterator[tuple[str, int]]:
    port = free_port()
    command = [*PATRON, "serve", "--port", str(port), "--workers", str(workers), "--database", store.url]
    process = subprocess.Popen(
        command, env=env(), cwd=store.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("patron serve did not become ready")
        time.sleep(0.2)
    try:
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


@dataclass
class Latency:
    p50_ms: float
    p99_ms: float


def timed(repeats: int, call: Callable[[int], httpx.Response], expect: int) -> Latency:
    samples = []
    for index in range(repeats):
        started = time.perf_counter()
        response = call(index)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == expect, response.text
    samples.sort()
    return Latency(statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))])


def latencies(base: str, auth: tuple[str, str], customers: int, repeats: int) -> dict[str, Latency]:
    rng = random.Random(7)
    with httpx.Client(base_url=f"{base}/api", auth=auth, timeout=30) as http:
        page = http.get("/customers", params={"limit": 100}).json()
        ids = [item["id"] for item in page["items"]]
        cursor = page["pagination"]["after"]
        for _ in range(49):  # a cursor 5,000 customers into the newest-first walk
            following = http.get("/customers", params={"limit": 100, "after": cursor}).json()["pagination"]
            if "after" not in following:
                break
            cursor = following["after"]
        run = f"{time.monotonic_ns()}"

        def body(index: int, tag: str) -> dict[str, Any]:
            return {
                "legalName": f"Latency {tag} {run} {index} Ltd",
                "address": {"line1": "1 Main St", "town": "Town", "postcode": "12345", "country": "GB"},
                "taxStatus": "TAXED",
                "contacts": [
                    {"name": "L", "email": f"l-{tag}-{run}-{index}@example.com", "billingPreference": "PRIMARY"}
                ],
            }

        def any_index(_: int) -> int:
            return rng.randrange(customers)

        return {
            "GET /customers/{id}": timed(repeats, lambda i: http.get(f"/customers/{ids[i % len(ids)]}"), 200),
            "GET /customers/by-alias/{alias}": timed(
                repeats, lambda i: http.get(f"/customers/by-alias/a-crm-{any_index(i)}"), 200
            ),
            "GET /customers?limit=20 (first page)": timed(repeats, lambda i: http.get("/customers"), 200),
            "GET /customers?limit=20 (page 5,000 customers in)": timed(
                repeats, lambda i: http.get("/customers", params={"after": cursor}), 200
            ),
            "GET /customers?email=…": timed(
                repeats,
                lambda i: http.get("/customers", params={"email": f"billing@a{any_index(i)}.example.com"}),
                200,
            ),
            "GET /customers?legalName=…": timed(
                repeats, lambda i: http.get("/customers", params={"legalName": f" {any_index(i)} "}), 200
            ),
            "POST /customers": timed(repeats, lambda i: http.post("/customers", json=body(i, "new")), 201),
            "PUT /customers/{id}": timed(
                repeats, lambda i: http.put(f"/customers/{ids[i % len(ids)]}", json=body(i, "put")), 200
            ),
            "POST /customer-aliases": timed(
                repeats,
                lambda i: http.post(
                    "/customer-aliases", json={"customerId": ids[i % len(ids)], "value": f"l-{run}-{i}"}
                ),
                201,
            ),
        }


@dataclass
class Throughput:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    patron_cpu_ms: float
    """patron's CPU per request (all workers)"""
    database_cpu_ms: float | None
    """the PostgreSQL server's CPU per request"""
    wal_bytes: float | None
    """WAL written per request"""


def wal_lsn(store: Store) -> int | None:
    if store.name != "PostgreSQL":
        return None
    out = subprocess.run(
        ["psql", store.url, "-Atc", "SELECT pg_current_wal_lsn() - '0/0'"], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip())


def ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def throughput(
    store: Store, base: str, server: int, auth: tuple[str, str], lua: str, args: list[str], duration: int, path: str
) -> Throughput:
    script = store.workdir / "load.lua"
    script.write_text(lua)
    token = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    command = ["wrk", "-t1", "-c16", f"-d{duration}s", "--latency", "-s", str(script), "-H", f"Authorization: {token}"]
    database = store.server_pid()
    cpu_before = tree_cpu_seconds(server), (tree_cpu_seconds(database) if database else None)
    wal_before = wal_lsn(store)
    output = subprocess.run([*command, f"{base}{path}", "--", *args], capture_output=True, text=True, check=True).stdout
    cpu_after = tree_cpu_seconds(server), (tree_cpu_seconds(database) if database else None)
    wal_after = wal_lsn(store)
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    database_cpu = None
    if cpu_before[1] is not None and cpu_after[1] is not None:
        database_cpu = (cpu_after[1] - cpu_before[1]) * 1000 / total
    return Throughput(
        rps=rps,
        p50_ms=ms(*p50.groups()) if p50 else float("nan"),
        p99_ms=ms(*p99.groups()) if p99 else float("nan"),
        errors=int(errors.group(1)) if errors else 0,
        patron_cpu_ms=(cpu_after[0] - cpu_before[0]) * 1000 / total,
        database_cpu_ms=database_cpu,
        wal_bytes=(wal_after - wal_before) / total if wal_before is not None and wal_after is not None else None,
    )


def measure(store: Store, customers: int, duration: int, repeats: int) -> dict[str, Any]:
    work = store.workdir
    patron("db", "upgrade", "--database", store.url, cwd=work)
    account = json.loads(patron("accounts", "create", "scaling", "--json", "--database", store.url, cwd=work))
    auth = (account["clientId"], account["clientSecret"])
    data = work / f"customers-{customers}.jsonl"
    if not data.exists():
        dataset.write(customers, data)
    started = time.monotonic()
    patron(
        "import",
        "customers",
        str(data),
        "--account",
        account["accountId"],
        "--database",
        store.url,
        "--quiet",
        cwd=work,
    )
    log(f"{store.name}: imported {customers:,} customers in {time.monotonic() - started:.0f} s")
    results: dict[str, Any] = {"latency": {}, "throughput": {}}
    for workers in (1, 2):
        with serve(store, workers) as (base, pid):
            if workers == 1:
                results["latency"] = {k: asdict(v) for k, v in latencies(base, auth, customers, repeats).items()}
                log(f"{store.name}: latencies measured")
            for kind, lua, args, path in (
                ("writes (POST /customers)", WRITE_LUA, [f"{store.name}{workers}"], "/api/customers"),
                ("reads (GET by-alias)", READ_LUA, [str(customers)], "/api/customers/by-alias/x"),
            ):
                figure = throughput(store, base, pid, auth, lua, args, duration, path)
                results["throughput"][f"{kind}, {workers} worker{'s' if workers > 1 else ''}"] = asdict(figure)
                log(f"{store.name}: {kind}, {workers} workers: {figure.rps:,.0f} req/s, {figure.errors} errors")
    return results


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:.{digits}f}"


def report(results: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    names = list(results)
    lines = [
        f"# patron on one database: {meta['customers']:,} customers",
        "",
        f"{meta['when']} · {meta['cores']} cores · `{meta['command']}`",
        "",
        "## Single requests (one client, one worker; p50 / p99 ms)",
        "",
        "| request | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for request in results[names[0]]["latency"]:
        cells = [
            f"{fmt(results[n]['latency'][request]['p50_ms'])} / {fmt(results[n]['latency'][request]['p99_ms'])}"
            for n in names
        ]
        lines.append(f"| {request} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"## Throughput (wrk, 16 connections, {meta['duration']} s each)",
        "",
        "| database | load | req/s | p50 ms | p99 ms | errors "
        "| patron CPU ms/req | database CPU ms/req | WAL bytes/req |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        for load, t in results[name]["throughput"].items():
            lines.append(
                f"| {name} | {load} | {fmt(t['rps'])} | {fmt(t['p50_ms'])} | {fmt(t['p99_ms'])} | {t['errors']} | "
                f"{fmt(t['patron_cpu_ms'])} | {fmt(t['database_cpu_ms'])} | {fmt(t['wal_bytes'])} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per throughput figure")
    parser.add_argument("--repeats", type=int, default=200, help="requests per latency figure")
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scaling")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install wrk (or `make wrk`)")
    workdir = ROOT / "bench" / "work" / "scaling"
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    for name in args.databases.split(","):
        with (postgresql if name == "postgresql" else sqlite)(workdir) as store:
            results[store.name] = measure(store, args.customers, args.duration, args.repeats)
    meta = {
        "customers": args.customers,
        "duration": args.duration,
        "cores": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join(["python bench/pg_scaling.py", *sys.argv[1:]]),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    text = report(results, meta)
    (args.out / "scaling.md").write_text(text)
    (args.out / "scaling.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    main()
