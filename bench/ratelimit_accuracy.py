"""How exactly `patron serve --workers 2` holds its rate limit: one credential sends as fast
as 8 connections allow for a while, and the script counts the 200s in every 60 seconds.

    .venv/bin/python bench/ratelimit_accuracy.py --limit 1500/minute --seconds 125

A moving window means no 60 seconds may hold more than the limit: the figure to read is
"most 200s in any 60 s" against the limit (and the 200s per minute since the first request)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import PATRON, env, free_port, wait_ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", default="1500/minute")
    parser.add_argument("--seconds", type=float, default=125)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        url = f"sqlite:///{work}/accuracy.db"
        created = subprocess.run(
            [*PATRON, "accounts", "create", "accuracy", "--json", "--database", url],
            env=env(),
            cwd=work,
            capture_output=True,
            check=True,
        )
        credential = json.loads(created.stdout)
        port = free_port()
        server = subprocess.Popen(
            [*PATRON, "serve", "--port", str(port), "--workers", str(args.workers), "--database", url],
            env={**env(), "PATRON_RATE_LIMIT": args.limit},
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", server)
            results = drive(f"http://127.0.0.1:{port}/api/customers", credential, args.seconds)
        finally:
            server.terminate()
            server.wait(timeout=30)
    report(results, args.limit, args.workers)


def drive(url: str, credential: dict[str, str], seconds: float) -> list[tuple[float, float, int]]:
    """(sent, answered, status) of every request, in the order sent."""
    results: list[tuple[float, float, int]] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def loop() -> None:
        with httpx.Client(auth=(credential["clientId"], credential["clientSecret"]), timeout=30) as client:
            while time.monotonic() < stop:
                sent = time.monotonic()
                status = client.get(url).status_code
                with lock:
                    results.append((sent, time.monotonic(), status))

    threads = [threading.Thread(target=loop) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(results)


def report(results: list[tuple[float, float, int]], limit: str, workers: int) -> None:
    """The server admitted each request at some moment between its sending and its answer.
    "Surely in one 60 s": the most 200s whose whole [sent, answered] lies in one 60 s
    window (above the limit would prove a violation); "by answer time": the most 200s
    answered within 60 s (includes the network's jitter, so an upper bound)."""
    allowed = sorted((sent, answered) for sent, answered, status in results if status == 200)
    other = sorted({status for _, _, status in results} - {200, 429})
    surely = max(sum(1 for s, a in allowed if s >= start and a < start + 60) for start, _ in allowed)
    answers = sorted(a for _, a in allowed)
    by_answer, left = 0, 0
    for right, at in enumerate(answers):
        while at - answers[left] >= 60:
            left += 1
        by_answer = max(by_answer, right - left + 1)
    first = results[0][0]
    minutes = [sum(1 for s, _ in allowed if 60 * m <= s - first < 60 * (m + 1)) for m in range(3)]
    print(f"limit {limit}, {workers} workers: {len(results)} requests, {len(allowed)} allowed (200)")
    print(f"  most 200s surely in one 60 s: {surely}; by answer time: {by_answer}")
    print(f"  200s sent in minute 1, 2, 3: {minutes}")
    print(f"  statuses other than 200 and 429: {other or 'none'}")


if __name__ == "__main__":
    main()
