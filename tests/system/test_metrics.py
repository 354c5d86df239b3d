"""`/metrics` of `patron serve --workers 2`: whichever worker answers a scrape, the counts
are those of the whole server (prometheus-client's multiprocess mode). The requests are
spread over both workers, so a scrape seeing one worker's share would fail."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.system.conftest import create_account_cli, start_server, stop_server

SENT = 40


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_counts_add_up_across_workers(database_url: str, tmp_path: Path) -> None:
    auth = create_account_cli(database_url, tmp_path)
    # Webhooks off: each worker's dispatcher would otherwise take a connection for its poll
    # every second, and a scrape may catch it checked out.
    process, port = start_server(database_url, tmp_path, workers=2, env={"PATRON_WEBHOOKS": "off"})
    base = f"http://127.0.0.1:{port}"

    def one(_: int) -> int:
        with httpx.Client(auth=auth, timeout=30) as client:  # a new connection each: both workers
            return client.get(f"{base}/api/customers").status_code

    try:
        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(one, range(SENT))) == {200}
        scrapes = [httpx.get(f"{base}/metrics", timeout=30) for _ in range(6)]
    finally:
        stop_server(process)
    log = [json.loads(line) for line in (tmp_path / f"server-{port}.log").read_text().splitlines() if line[:1] == "{"]
    assert len({line["pid"] for line in log if line["route"] == "/api/customers"}) == 2
    route = ("route", "/api/customers")
    for scrape in scrapes:
        assert scrape.headers["content-type"].startswith("text/plain")
        found = samples(scrape.text)
        assert found[("patron_http_requests_total", (("method", "GET"), route, ("status", "200")))] == SENT
        assert found[("patron_http_request_duration_seconds_count", (("method", "GET"), route))] == SENT
        assert found[("patron_db_pool_size", (("pool", "main"),))] == 2 * 10
        assert found[("patron_db_pool_checked_out", (("pool", "main"),))] == 0
