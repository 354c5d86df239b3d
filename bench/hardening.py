"""What the hardening layers cost, measured in one run on real servers: the rate limiter
on `GET /customers/by-alias/{alias}` and `POST /customers`, and `Idempotency-Key` on
`POST /customers`.

    python bench/hardening.py                          # SQLite and PostgreSQL, 5 s per figure
    python bench/hardening.py --databases sqlite --duration 3 --rounds 1

For each database, two `patron serve` (one worker each) on one database: one with the rate
limits off (`PATRON_RATE_LIMIT=0`), one with a limit too high to refuse anything, so every
request pays for the check. wrk drives by-alias, and posts one customer body with no key,
with a new key on every request (each a first request: claim, work, store, purge) and with
one key on every request (each a replay: claim, read), in interleaved rounds so drift hits
every mode alike. Prints requests per second (median of the rounds) and each ratio.
The rate limit's accuracy with several workers: `bench/ratelimit_accuracy.py`.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run

MODES = ("no key", "new key each", "replay")
LIMITS = {"off": "0", "on": "1000000000/minute"}
ALIAS = "bench-alias"
BODY = {
    "legalName": "Bench Ltd",
    "address": {"line1": "1 Main St", "town": "Springfield", "state": "IL", "postcode": "62701", "country": "US"},
    "taxStatus": "TAXED",
    "contacts": [{"name": "Ada", "email": "ada@example.com", "billingPreference": "PRIMARY"}],
}

# wrk's request() runs once per request; one thread (-t1), so the counter is unique.
SCRIPT = """
wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "{auth}"
local mode, prefix, n = "{mode}", "{prefix}", 0
request = function()
  if mode == "no key" then return wrk.format() end
  n = n + 1
  local headers = {{}}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["Idempotency-Key"] = (mode == "replay") and (prefix .. "-same") or (prefix .. "-" .. n)
  return wrk.format(nil, nil, headers)
end
"""


def drive(url: str, auth: str, mode: str, prefix: str, duration: int, connections: int) -> float:
    """Requests per second of one wrk run; any non-2xx answer aborts the benchmark."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(SCRIPT.format(body=json.dumps(BODY), auth=auth, mode=mode, prefix=prefix))
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-s", script.name, url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    Path(script.name).unlink()
    if found := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        raise RuntimeError(f"{mode}: {found.group(1)} non-2xx answers")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert rps is not None, output
    return float(rps.group(1))


def serve(database: run.Database, limit: str) -> tuple[subprocess.Popen[bytes], str]:
    port = run.free_port()
    command = [*run.PATRON, "serve", "--port", str(port), "--database", database.url]
    environment = {**run.env(), "PATRON_RATE_LIMIT": limit}
    server = subprocess.Popen(
        command, env=environment, cwd=run.WORK, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    run.wait_ready(f"http://127.0.0.1:{port}/readyz", server)
    return server, f"http://127.0.0.1:{port}/api"


def one_round(bases: dict[str, str], auth: str, number: int, options: argparse.Namespace) -> dict[str, float]:
    """Every figure once: by-alias and plain posts with the limiter off and on, keyed posts
    with it off."""
    figures: dict[str, float] = {}
    for limiter, base in bases.items():
        alias = run.wrk(
            f"{base}/customers/by-alias/{ALIAS}", duration=options.duration, headers={"Authorization": auth}
        )
        figures[f"by-alias, limiter {limiter}"] = alias.rps
        for mode in MODES if limiter == "off" else MODES[:1]:
            rps = drive(f"{base}/customers", auth, mode, f"r{number}{limiter}", options.duration, options.connections)
            figures[f"POST, {mode}, limiter {limiter}"] = rps
    return figures


def measure(database: run.Database, options: argparse.Namespace) -> dict[str, float]:
    account = run.create_account(database.url, "bench")
    auth = "Basic " + base64.b64encode(f"{account['clientId']}:{account['clientSecret']}".encode()).decode()
    servers = {limiter: serve(database, limit) for limiter, limit in LIMITS.items()}
    bases = {limiter: base for limiter, (_, base) in servers.items()}
    rounds: list[dict[str, float]] = []
    try:
        body = {**BODY, "customerAliases": [ALIAS]}
        created = httpx.post(f"{bases['off']}/customers", json=body, headers={"Authorization": auth})
        assert created.status_code == 201, created.text
        drive(f"{bases['off']}/customers", auth, "no key", "warm", 1, options.connections)
        for number in range(options.rounds):
            rounds.append(one_round(bases, auth, number, options))
            run.log(
                f"{database.name}: round {number + 1}: " + ", ".join(f"{k} {v:,.0f}" for k, v in rounds[-1].items())
            )
    finally:
        for server, _ in servers.values():
            server.terminate()
            server.wait(timeout=30)
    return {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}


def report(name: str, result: dict[str, float]) -> None:
    """The figures and the ratios of each layer against the same request without it."""
    print(f"{name}")
    for label, rps in result.items():
        print(f"  {label:<38}{rps:>10,.0f} req/s")
    pairs = [
        ("rate limiter, by-alias", "by-alias, limiter on", "by-alias, limiter off"),
        ("rate limiter, POST /customers", "POST, no key, limiter on", "POST, no key, limiter off"),
        ("Idempotency-Key (new key), POST", "POST, new key each, limiter off", "POST, no key, limiter off"),
        ("Idempotency-Key (replay), POST", "POST, replay, limiter off", "POST, no key, limiter off"),
    ]
    for label, with_it, without in pairs:
        print(f"  {label:<38}{result[with_it] / result[without]:>10.2f}x of the throughput without it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk load per figure")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of every figure")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    run.WORK.mkdir(parents=True, exist_ok=True)
    makers = {"sqlite": run.sqlite_database, "postgresql": run.postgres_database}
    print(f"one worker per server, wrk -t1 -c{args.connections}, {args.duration} s x {args.rounds} rounds")
    for name in args.databases.split(","):
        database = makers[name](run.WORK)
        try:
            report(database.name, measure(database, args))
        finally:
            for cleanup in database.cleanup:
                cleanup()


if __name__ == "__main__":
    main()
