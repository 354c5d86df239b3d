"""Prometheus metrics (served at `/metrics`; every one is listed in docs/production.md).

With several worker processes (`PROMETHEUS_MULTIPROC_DIR` set, as `patron serve` does),
each worker writes its samples to files in that directory and a scrape, answered by
whichever worker gets it, adds up all of them. Without it, the default registry of this
one process answers."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Engine, event

REQUESTS = Counter(
    "patron_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
DURATION = Histogram(
    "patron_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IN_PROGRESS = Gauge(
    "patron_http_requests_in_progress",
    "Requests being answered right now (all workers).",
    multiprocess_mode="livesum",
)
RATE_LIMITED = Counter(
    "patron_rate_limit_refusals_total",
    "Requests refused with a 429: `limit` is `requests` (a credential's request rate) or "
    "`auth_failures` (too many failed authentications for a client id).",
    ["limit"],
)
POOL_SIZE = Gauge(
    "patron_db_pool_size",
    "Database connections each pool keeps open, summed over the workers.",
    ["pool"],
    multiprocess_mode="livesum",
)
POOL_CHECKED_OUT = Gauge(
    "patron_db_pool_checked_out",
    "Database connections in use by a request right now, summed over the workers.",
    ["pool"],
    multiprocess_mode="livesum",
)
UNMATCHED = "unmatched"
"""The route label of a request no route matched (a 404 or 405), so that made-up paths
cannot grow the number of series."""


def watch_pool(engine: Engine, name: str) -> None:
    """Count `engine`'s checked-out connections as SQLAlchemy hands them out and back. A
    connection counts down only if it counted up: when a database is down, the pool hands
    back a connection it failed to check out (a `checkin` with no `checkout`), which would
    leave the gauge below zero for good."""
    POOL_SIZE.labels(name).set(getattr(engine.pool, "size", lambda: 1)())
    checked_out = POOL_CHECKED_OUT.labels(name)

    def on_checkout(_connection: Any, record: Any, _proxy: Any) -> None:
        record.record_info[_COUNTED] = True
        checked_out.inc()

    def on_checkin(_connection: Any, record: Any) -> None:
        if record.record_info.pop(_COUNTED, False):
            checked_out.dec()

    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "checkin", on_checkin)


_COUNTED = "patron_checked_out"


def exposition() -> tuple[bytes, str]:
    """The text a scrape gets, and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
