"""The cost of Idempotency-Key on `POST /customers`, measured in one run on a real server.

    python bench/idempotency.py                          # SQLite and PostgreSQL, 5 s per figure
    python bench/idempotency.py --databases sqlite --duration 3 --rounds 1

For each database: `patron serve` on loopback, then wrk posting one customer body
with no key, with a new key on every request (each a first request: claim, work, store,
purge) and with one key on every request (each a replay: claim, read), in interleaved
rounds so drift hits every mode alike. Prints requests per second (median of the rounds)
and each keyed mode's ratio to the keyless one.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run

MODES = ("no key", "new key each", "replay")
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


def measure(database: run.Database, *, duration: int, rounds: int, connections: int) -> dict[str, float]:
    account = run.create_account(database.url, "bench")
    token = base64.b64encode(f"{account['clientId']}:{account['clientSecret']}".encode()).decode()
    port = run.free_port()
    command = [*run.PATRON, "serve", "--port", str(port), "--database", database.url]
    server = subprocess.Popen(
        command, env=run.env(), cwd=run.WORK, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    figures: dict[str, list[float]] = {mode: [] for mode in MODES}
    try:
        run.wait_ready(f"http://127.0.0.1:{port}/readyz", server)
        url = f"http://127.0.0.1:{port}/api/customers"
        drive(url, f"Basic {token}", "no key", "warm", 1, connections)
        for number in range(rounds):
            for mode in MODES:
                rps = drive(url, f"Basic {token}", mode, f"r{number}", duration, connections)
                run.log(f"{database.name}: round {number + 1}, {mode}: {rps:,.0f} req/s")
                figures[mode].append(rps)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {mode: statistics.median(values) for mode, values in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk load per figure")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of the three modes")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    run.WORK.mkdir(parents=True, exist_ok=True)
    makers = {"sqlite": run.sqlite_database, "postgresql": run.postgres_database}
    print(f"POST /customers, one worker, wrk -t1 -c{args.connections}, {args.duration} s x {args.rounds} rounds")
    print(f"{'database':<12}" + "".join(f"{mode:>16}" for mode in MODES) + f"{'new/none':>10}{'replay/none':>13}")
    for name in args.databases.split(","):
        database = makers[name](run.WORK)
        try:
            result = measure(database, duration=args.duration, rounds=args.rounds, connections=args.connections)
        finally:
            for cleanup in database.cleanup:
                cleanup()
        base = result["no key"]
        cells = "".join(f"{result[mode]:>16,.0f}" for mode in MODES)
        ratios = f"{result['new key each'] / base:>10.2f}{result['replay'] / base:>13.2f}"
        print(f"{database.name:<12}{cells}{ratios}", flush=True)


if __name__ == "__main__":
    main()
