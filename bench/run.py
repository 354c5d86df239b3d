"""patron's benchmark suite: build a seeded dataset, import it, serve it on loopback, drive
load with wrk, and print one table with SQLite and PostgreSQL side by side.

    python bench/run.py                      # 1,000,000 customers, both databases
    python bench/run.py --customers 10000 --duration 2 --out bench/results/smoke   # smoke

Every ratio compares two figures measured in the same run. Results go to OUT as
results.md, results.json and results.png.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
WORK = ROOT / "bench" / "work"
PATRON = [sys.executable, "-m", "patron"]
KEY = "bench-server-key"

sys.path.insert(0, str(ROOT / "bench"))
import dataset  # noqa: E402


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def env() -> dict[str, str]:
    """The servers' environment: no rate limits (wrk sends thousands of requests a second on
    one credential) unless the caller's environment sets them, to measure the limiter."""
    unlimited = {"PATRON_RATE_LIMIT": "0", "PATRON_AUTH_FAILURE_LIMIT": "0"}
    return {**unlimited, **os.environ, "PATRON_SECRET_KEY": KEY, "PATRON_BOOTSTRAP": "false"}


def wait_ready(url: str, process: subprocess.Popen[bytes] | None = None, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {seconds} s")


@dataclass
class Wrk:
    rps: float
    p50_ms: float


def wrk(url: str, *, duration: int, headers: dict[str, str] | None = None, connections: int = 16) -> Wrk:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non2xx:
        log(f"warning: {non2xx.group(1)} non-2xx answers from {url}")
    return Wrk(rps=rps, p50_ms=float(p50.group(1)) * scale[p50.group(2)] if p50 else float("nan"))


REPEATS = 3
"""Each throughput figure is the median of this many wrk runs, so a noisy run shows."""


@dataclass(frozen=True)
class Throughput:
    """The runs of one throughput figure: req/s each, the 1-minute load average around each."""

    label: str
    runs: list[float]
    loads: list[tuple[float, float]]

    @property
    def rps(self) -> float:
        return statistics.median(self.runs)

    def line(self) -> str:
        each = ", ".join(
            f"{rps:,.0f} ({before:.1f} → {after:.1f})"
            for rps, (before, after) in zip(self.runs, self.loads, strict=True)
        )
        return f"{self.label}: median {self.rps:,.0f} req/s of {each}"


THROUGHPUTS: list[Throughput] = []
"""Every throughput figure of this run, for the report."""


def throughput(label: str, url: str, *, duration: int, headers: dict[str, str] | None = None) -> float:
    """The median req/s of `REPEATS` wrk runs on `url`; each run and the load average
    before and after it are kept for the report."""
    runs, loads = [], []
    for _ in range(REPEATS):
        before = os.getloadavg()[0]
        runs.append(wrk(url, duration=duration, headers=headers).rps)
        loads.append((before, os.getloadavg()[0]))
    figure = Throughput(label, runs, loads)
    THROUGHPUTS.append(figure)
    log(figure.line())
    return figure.rps


def p50_of(client: httpx.Client, path: str, params: dict[str, Any], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(path, params=params)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return statistics.median(samples)


def family(pid: int) -> list[int]:
    """The process and its descendants."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    members, frontier = [pid], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        members += children
        frontier = children
    return members


def memory_kb(pid: int, field_name: str) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(rf"{field_name}:\s+(\d+) kB", status)
    return int(found.group(1)) if found else 0


def peak_rss_mb(pid: int) -> float:
    """Largest VmHWM (peak resident memory) among the process and its descendants."""
    return max(memory_kb(each, "VmHWM") for each in family(pid)) / 1024


class TreeMemory:
    """Samples the summed resident memory of a process and its descendants (an import reads
    its file in a second process: both count)."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(pid, every), daemon=True)
        self._thread.start()

    def _run(self, pid: int, every: float) -> None:
        while not self._stop.wait(every):
            self.peak_kb = max(self.peak_kb, sum(memory_kb(each, "VmRSS") for each in family(pid)))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kb / 1024


@dataclass
class Database:
    name: str
    url: str
    cleanup: list[Any] = field(default_factory=list)


def sqlite_database(workdir: Path) -> Database:
    # A directory of this run's own: runs (a smoke run in CI, a full one) never share a file.
    directory = Path(tempfile.mkdtemp(prefix="sqlite-", dir=workdir))
    database = Database("SQLite", f"sqlite:///{directory / 'bench.db'}")
    database.cleanup.append(lambda: shutil.rmtree(directory, ignore_errors=True))
    return database


def postgres_database(workdir: Path) -> Database:
    # Under /tmp: the cluster runs as an unprivileged user, which must reach its directory.
    directory = Path(f"/tmp/patron-bench-pg-{os.getpid()}")
    script = ROOT / "scripts" / "pg-cluster.sh"
    subprocess.run(["bash", str(script), "stop", str(directory)], check=False)
    url = subprocess.run(
        ["bash", str(script), "start", str(directory)], capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(["psql", url, "-qc", "CREATE DATABASE bench"], check=True)
    database = Database("PostgreSQL", url.rsplit("/", 1)[0] + "/bench")
    database.cleanup.append(lambda: subprocess.run(["bash", str(script), "stop", str(directory)], check=False))
    return database


def create_account(url: str, name: str) -> dict[str, str]:
    out = subprocess.run(
        [*PATRON, "accounts", "create", name, "--json", "--database", url],
        capture_output=True,
        text=True,
        check=True,
        env=env(),
        cwd=WORK,
    ).stdout
    account: dict[str, str] = json.loads(out)
    return account


def import_file(url: str, account: str, path: Path) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB, the import and its reader process
    together) of `patron import`."""
    started = time.monotonic()
    process = subprocess.Popen(
        [*PATRON, "import", "customers", str(path), "--account", account, "--database", url, "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
        cwd=WORK,
    )
    memory = TreeMemory(process.pid)
    _, stderr = process.communicate()
    elapsed = time.monotonic() - started
    peak = memory.stop()
    if process.returncode != 0:
        raise RuntimeError(stderr)
    log(stderr.strip().splitlines()[-1])
    return elapsed, peak


def scan_without_index(database: Database, account_id: str, fragment: str, repeats: int) -> float:
    """p50 (ms) of the same legal-name query patron runs, with no index to narrow it: the
    LIKE over the account's customers, page and count, straight on the database."""
    from sqlalchemy import text

    from patron.server.db.engine import make_engine

    engine = make_engine(database.url)
    key = uuid_param(account_id, database)
    pattern = f"%{fragment.casefold()}%"
    page = text(
        "SELECT id FROM customers WHERE account_id = :a AND archived_at IS NULL AND legal_name_key LIKE :p "
        "ORDER BY created_at DESC, id DESC LIMIT 21"
    )
    total = text(
        "SELECT count(*) FROM customers WHERE account_id = :a AND archived_at IS NULL AND legal_name_key LIKE :p"
    )
    samples = []
    with engine.connect() as connection:
        if database.name == "PostgreSQL":
            # Keep the planner off the trigram index, as if it did not exist.
            connection.exec_driver_sql("SET enable_bitmapscan = off")
            connection.exec_driver_sql("SET enable_indexscan = off")
        for _ in range(repeats):
            started = time.perf_counter()
            connection.execute(page, {"a": key, "p": pattern}).all()
            connection.execute(total, {"a": key, "p": pattern}).scalar()
            samples.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    return statistics.median(samples)


def uuid_param(account_id: str, database: Database) -> Any:
    import uuid

    return uuid.UUID(account_id).hex if database.name == "SQLite" else uuid.UUID(account_id)


def measure(
    database: Database, data: Path, second: Path, customers: int, duration: int, prism_rps: float | None
) -> dict[str, float]:
    results: dict[str, float] = {}
    main = create_account(database.url, "bench")
    other = create_account(database.url, "second")
    log(f"{database.name}: importing {customers:,} customers")
    results["import_s"], results["import_rss_mb"] = import_file(database.url, main["accountId"], data)
    import_file(database.url, other["accountId"], second)
    port = free_port()
    server = subprocess.Popen(
        [*PATRON, "serve", "--port", str(port), "--database", database.url],
        env=env(),
        cwd=WORK,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}/readyz", server)
        token = base64.b64encode(f"{main['clientId']}:{main['clientSecret']}".encode()).decode()
        auth = {"Authorization": f"Basic {token}"}
        middle = customers // 2
        log(f"{database.name}: throughput")
        name = database.name
        livez = throughput(f"{name} /livez", f"{base}/livez", duration=duration)
        alias_url = f"{base}/api/customers/by-alias/a-crm-{middle}"
        by_alias = throughput(f"{name} by-alias", alias_url, duration=duration, headers=auth)
        listing = throughput(f"{name} list", f"{base}/api/customers?limit=20", duration=duration, headers=auth)
        results.update(livez_rps=livez, by_alias_rps=by_alias, list_rps=listing)
        results["by_alias_vs_livez"] = by_alias / livez
        if prism_rps:
            results["list_vs_prism"] = listing / prism_rps
        with httpx.Client(base_url=f"{base}/api", headers=auth, timeout=60) as client:
            log(f"{database.name}: full walk, limit 100")
            latencies, after, pages = [], None, 0
            while True:
                started = time.perf_counter()
                body = client.get("/customers", params={"limit": 100, **({"after": after} if after else {})}).json()
                latencies.append((time.perf_counter() - started) * 1000)
                pages += 1
                after = body["pagination"].get("after")
                if not after:
                    break
            results["walk_pages"] = pages
            results["page_p50_first_ms"] = statistics.median(latencies[:100])
            results["page_p50_last_ms"] = statistics.median(latencies[-100:])
            results["page_depth_ratio"] = results["page_p50_last_ms"] / results["page_p50_first_ms"]
            fragment = f" {middle} "  # names are "<word> <word> <index> <suffix>": one match
            repeats = 50
            log(f"{database.name}: filters")
            results["legal_name_p50_ms"] = p50_of(client, "/customers", {"legalName": fragment}, repeats)
            results["legal_name_scan_p50_ms"] = scan_without_index(database, main["accountId"], fragment, 5)
            results["legal_name_speedup"] = results["legal_name_scan_p50_ms"] / results["legal_name_p50_ms"]
            results["email_p50_ms"] = p50_of(client, "/customers", {"email": f"ops@a{middle}.example.com"}, repeats)
            results["alias_p50_ms"] = p50_of(client, "/customers", {"alias": f"a-erp-{middle}"}, repeats)
        results["server_rss_mb"] = peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return results


def prism_throughput(duration: int) -> float | None:
    script = SHARED / "peers" / "prism.sh"
    if not script.exists():
        log("../shared/peers/prism.sh is absent: no Prism comparison")
        return None
    port = free_port()
    process = subprocess.Popen(
        ["bash", str(script), str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/customers", process, seconds=600)
        return throughput(
            "Prism list",
            f"http://127.0.0.1:{port}/customers?limit=20",
            duration=duration,
            headers={"Authorization": "Basic a2V5OnNlY3JldA=="},
        )
    except RuntimeError as exc:
        log(f"Prism did not start ({exc}): no Prism comparison")
        return None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)


def at_least(bound: float, unit: str = "") -> tuple[str, Any]:
    return f"≥ {bound:g}{unit}", lambda value: value >= bound


def at_most(bound: float) -> tuple[str, Any]:
    return f"≤ {bound:g}", lambda value: value <= bound


# Each figure's target on SQLite and on PostgreSQL.
TARGETS: list[tuple[str, str, tuple[str, Any], tuple[str, Any]]] = [
    ("list_vs_prism", "GET /customers?limit=20 throughput / Prism", at_least(1.5, "×"), at_least(1.0, "×")),
    ("by_alias_vs_livez", "by-alias throughput / /livez throughput", at_least(0.4), at_least(0.25)),
    ("page_depth_ratio", "page p50, last 100 / first 100 pages", at_most(1.3), at_most(1.3)),
    ("page_p50_last_ms", "page p50 at the end of the walk, limit 100 (ms)", at_most(5), at_most(8)),
    ("email_p50_ms", "email filter p50 (ms)", at_most(2), at_most(3)),
    ("alias_p50_ms", "alias filter p50 (ms)", at_most(2), at_most(3)),
    ("legal_name_p50_ms", "legalName filter p50 (ms)", at_most(5), at_most(15)),
    ("legal_name_speedup", "legalName filter: scan p50 / indexed p50", at_least(50, "×"), at_least(20, "×")),
    ("import_s", "import wall time (s)", at_most(90), at_most(120)),
    ("import_rss_mb", "import peak RSS (MB)", at_most(500), at_most(500)),
    ("server_rss_mb", "server peak RSS per worker (MB)", at_most(150), at_most(150)),
]
EXTRA = [
    ("livez_rps", "/livez req/s"),
    ("by_alias_rps", "by-alias req/s"),
    ("list_rps", "list (limit 20) req/s"),
    ("page_p50_first_ms", "page p50, first 100 pages (ms)"),
    ("legal_name_scan_p50_ms", "legalName scan p50 (ms)"),
    ("walk_pages", "pages in the full walk"),
]


def fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def table(results: dict[str, dict[str, float]], meta: dict[str, Any]) -> str:
    names = list(results)
    lines = [
        f"# patron benchmark: {meta['customers']:,} customers",
        "",
        f"{meta['when']} · {meta['machine']} · wrk {meta['duration']} s per figure · "
        f"Prism: {fmt(meta.get('prism_rps'))} req/s · load average {meta['load'][0]:.1f} → {meta['load'][1]:.1f}",
        "",
        "| figure | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for key, label, *targets in TARGETS:
        cells = []
        for name in names:
            target, check = targets[0] if name == "SQLite" else targets[1]
            value = results[name].get(key)
            mark = "" if value is None else (" ✓" if check(value) else " ✗")
            cells.append(f"{fmt(value)}{mark} ({target})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for key, label in EXTRA:
        lines.append(f"| {label} | " + " | ".join(fmt(results[n].get(key)) for n in names) + " |")
    runs = [f"- {figure.line()}" for figure in meta.get("throughputs", [])]
    if runs:
        lines += ["", "Throughput runs (median reported; load average before → after each run):", "", *runs]
    return "\n".join(lines) + "\n"


def chart(results: dict[str, dict[str, float]], path: Path, prism_rps: float | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = [("by_alias_rps", "by-alias req/s"), ("list_rps", "list req/s"), ("livez_rps", "/livez req/s")]
    latencies = [
        ("page_p50_first_ms", "page p50 first"),
        ("page_p50_last_ms", "page p50 last"),
        ("legal_name_p50_ms", "legalName p50"),
        ("email_p50_ms", "email p50"),
        ("alias_p50_ms", "alias p50"),
    ]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / max(len(results), 1)
    for offset, (name, values) in enumerate(results.items()):
        xs = [i + offset * width for i in range(len(figures))]
        left.bar(xs, [values.get(k, 0) for k, _ in figures], width, label=name)
        xs = [i + offset * width for i in range(len(latencies))]
        right.bar(xs, [values.get(k, 0) for k, _ in latencies], width, label=name)
    left.set_xticks([i + width / 2 for i in range(len(figures))], [label for _, label in figures])
    right.set_xticks([i + width / 2 for i in range(len(latencies))], [label for _, label in latencies], rotation=20)
    if prism_rps:
        left.axhline(prism_rps, color="grey", linestyle="--", label="Prism, canned list")
    left.set_title("throughput (req/s, higher is better)")
    right.set_title("latency p50 (ms, lower is better)")
    left.legend()
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=8, help="seconds of wrk load per figure")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--no-prism", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk not found: install it (Debian: apt-get install wrk), or run `make bench`, which does")
    WORK.mkdir(parents=True, exist_ok=True)
    data = WORK / f"customers-{args.customers}.jsonl"
    second = WORK / "second-account-1000.jsonl"
    if not data.exists():
        log(f"writing the dataset: {args.customers:,} customers")
        dataset.write(args.customers, data, seed=7, prefix="a")
    if not second.exists():
        dataset.write(1000, second, seed=8, prefix="b")
    load_at_start = os.getloadavg()[0]
    prism = None if args.no_prism else prism_throughput(args.duration)
    results: dict[str, dict[str, float]] = {}
    for kind in args.databases.split(","):
        database = sqlite_database(WORK) if kind == "sqlite" else postgres_database(WORK)
        try:
            results[database.name] = measure(database, data, second, args.customers, args.duration, prism)
        finally:
            for step in database.cleanup:
                step()
    meta = {
        "customers": args.customers,
        "duration": args.duration,
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} cores",
        "prism_rps": prism,
        # Other work on the machine while the benchmark ran (1-minute load averages).
        "load": [load_at_start, os.getloadavg()[0]],
        "throughputs": THROUGHPUTS,
    }
    text = table(results, meta)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(text)
    runs = [{"label": t.label, "median": t.rps, "runs": t.runs, "loads": t.loads} for t in THROUGHPUTS]
    stored = {"meta": {**meta, "throughputs": runs}, "results": results}
    (args.out / "results.json").write_text(json.dumps(stored, indent=2) + "\n")
    chart(results, args.out / "results.png", prism)
    log(f"wrote {args.out}/results.md, results.json and results.png")


if __name__ == "__main__":
    main()
