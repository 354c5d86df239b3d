"""The request journal (`/_patron/accounts/{id}/requests`, docs/sandbox.md): an account's
recent `/api` requests as patron recorded them, newest first."""

from __future__ import annotations

from patron.wire.models import Wire


class JournalEntry(Wire):
    """One request: `at` is when it arrived (the wall clock, whatever the account's test
    clock says), `durationMs` until its answer; bodies are text, cut past a maximum."""

    id: str
    request_id: str
    at: str
    method: str
    path: str
    query: str
    status: int
    duration_ms: float
    request_body: str
    response_body: str


class JournalPage(Wire):
    items: list[JournalEntry]
