"""SQLite and PostgreSQL give the same answers: one random sequence of API calls is sent to
an app on each database, and the responses must match once ids and times are normalised.

Names and emails mix accents, ß/ẞ, final sigma, CJK and LIKE metacharacters; filters are
taken from stored values under case changes, so case-insensitive matching, legalName order
and cursors are compared on data that tells the databases' own rules apart."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from litestar.testing import TestClient

from patron.server import clock
from patron.server.app import create_app
from patron.server.config import Settings
from patron.server.db import migrate
from tests.conftest import NO_LIMITS, SECRET_KEY, Backend, make_account

pytestmark = pytest.mark.skipif(
    not os.environ.get("PATRON_TEST_DATABASE_URL"), reason="compares with PostgreSQL: runs in its pass of `make test`"
)

# Letters chosen to exercise case folding and code-point order: accents, ß, Greek, CJK,
# and the LIKE metacharacters a careless filter would interpret.
LETTERS = "aAbBzZéÉßẞσΣςçÇöÖ中文 -_%\\"
names = st.text(alphabet=LETTERS, min_size=1, max_size=12).filter(lambda s: s.strip())
CASES: dict[str, Callable[[str], str]] = {
    "same": str,
    "upper": str.upper,
    "lower": str.lower,
    "swapcase": str.swapcase,
}
cases = st.sampled_from(sorted(CASES))
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


class Side:
    """One app on one database, with the account calling it."""

    def __init__(self, url: str) -> None:
        self.app = create_app(Settings(database_url=url, secret_key=SECRET_KEY, **NO_LIMITS))
        migrate.upgrade(self.app.state.database.engine)
        self.headers = make_account(self.app.state.database).headers
        self.client = TestClient(self.app)
        self.client.__enter__()

    def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        response = self.client.request(method, path, headers=self.headers, **kwargs)
        return response.status_code, response.json() if response.content else None

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self.app.state.database.engine.dispose()


def normalise(value: Any, ids: dict[str, str]) -> Any:
    """Ids become their order of first appearance; times and cursors become placeholders."""
    if isinstance(value, dict):
        return {k: ("<cursor>" if k in ("after", "before") else normalise(v, ids)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v, ids) for v in value]
    if isinstance(value, str):
        value = UUID.sub(lambda m: ids.setdefault(m.group(0), f"<id{len(ids)}>"), value)
        return TIME.sub("<time>", value)
    return value


def email_for(user: str, number: int) -> str:
    return f"{re.sub(r'[^a-zA-Z]', 'x', user) or 'x'}{number}@Example.COM"


def customer(name: str, email: str, aliases: list[str]) -> dict[str, Any]:
    return {
        "legalName": name,
        "address": {"line1": "1 Main", "town": "Town", "postcode": "1", "country": "DE"},
        "taxStatus": "TAXED",
        "contacts": [{"name": name, "email": email, "billingPreference": "PRIMARY"}],
        "customerAliases": aliases,
    }


class Parity(RuleBasedStateMachine):
    backend: Backend

    def __init__(self) -> None:
        super().__init__()
        self.scratch = Path(tempfile.mkdtemp(prefix="patron-parity-"))
        self.pg_url = self.backend.fresh(self.scratch)
        self.sides = [Side(f"sqlite:///{self.scratch / 'parity.db'}"), Side(self.pg_url)]
        self.maps: list[dict[str, str]] = [{}, {}]
        self.customers: list[list[str]] = [[], []]
        self.aliases: list[list[str]] = [[], []]
        self.counter = itertools.count()
        self.names: list[str] = []
        self.emails: list[str] = []
        self.alias_values: list[str] = []

    def both(self, method: str, path_of: str | Callable[[int], str], **kwargs: Any) -> list[tuple[int, Any]]:
        """The same call on each side (paths may differ by the side's ids); answers must match."""
        results = []
        for index, side in enumerate(self.sides):
            path = path_of(index) if callable(path_of) else path_of
            results.append(side.call(method, path, **kwargs))
        left, right = (normalise(r, m) for r, m in zip(results, self.maps, strict=True))
        assert left == right, (method, path_of if isinstance(path_of, str) else path_of(0), kwargs)
        return results

    def teardown(self) -> None:
        for side in self.sides:
            side.close()
        self.backend.drop(self.pg_url)
        shutil.rmtree(self.scratch, ignore_errors=True)

    @initialize(seeds=st.lists(st.tuples(names, names, st.booleans()), min_size=2, max_size=5))
    def seed_customers(self, seeds: list[tuple[str, str, bool]]) -> None:
        for name, email_user, with_alias in seeds:
            self.create_customer(name, email_user, with_alias)

    @rule(name=names, email_user=names, with_alias=st.booleans())
    def create_customer(self, name: str, email_user: str, with_alias: bool) -> None:
        number = next(self.counter)
        legal_name = f"{name} {number}"  # unique, so ties never depend on random ids
        email = email_for(email_user, number)
        aliases = [f"alias-{name}-{number}"] if with_alias else []
        results = self.both("POST", "/api/customers", json=customer(legal_name, email, aliases))
        event(f"create: {results[0][0]}")
        if results[0][0] == 201:
            self.names.append(legal_name)
            self.emails.append(email)
            self.alias_values += aliases
            for index, (_, created) in enumerate(results):
                self.customers[index].append(created["id"])

    @precondition(lambda self: self.customers[0])
    @rule(pick=st.integers(min_value=0, max_value=1000), name=names, email_user=names)
    def update_customer(self, pick: int, name: str, email_user: str) -> None:
        i = pick % len(self.customers[0])
        number = next(self.counter)
        legal_name, email = f"{name} {number}", email_for(email_user, number)
        body = customer(legal_name, email, [])
        del body["customerAliases"]
        results = self.both("PUT", lambda side: f"/api/customers/{self.customers[side][i]}", json=body)
        event(f"update: {results[0][0]}")
        if results[0][0] == 200:
            self.names[i], self.emails[i] = legal_name, email

    @precondition(lambda self: self.customers[0])
    @rule(pick=st.integers(min_value=0, max_value=1000))
    def archive(self, pick: int) -> None:
        i = pick % len(self.customers[0])
        self.both("POST", lambda side: f"/api/customers/{self.customers[side][i]}/archive")

    @precondition(lambda self: self.customers[0])
    @rule(pick=st.integers(min_value=0, max_value=1000))
    def get_customer(self, pick: int) -> None:
        i = pick % len(self.customers[0])
        self.both("GET", lambda side: f"/api/customers/{self.customers[side][i]}")

    @precondition(lambda self: self.customers[0])
    @rule(pick=st.integers(min_value=0, max_value=1000), value=st.one_of(names, st.none()))
    def add_alias(self, pick: int, value: str | None) -> None:
        # A fresh value, or one some customer may already hold (a conflict on both sides).
        i = pick % len(self.customers[0])
        if value is None:
            value = self.alias_values[pick % len(self.alias_values)] if self.alias_values else "taken"
        results = [
            self.sides[side].call(
                "POST", "/api/customer-aliases", json={"customerId": self.customers[side][i], "value": value}
            )
            for side in (0, 1)
        ]
        assert normalise(results[0], self.maps[0]) == normalise(results[1], self.maps[1]), value
        event(f"add alias: {results[0][0]}")
        if results[0][0] == 201:
            self.alias_values.append(value)
            for side in (0, 1):
                self.aliases[side].append(results[side][1]["id"])

    @precondition(lambda self: self.aliases[0])
    @rule(pick=st.integers(min_value=0, max_value=1000))
    def delete_alias(self, pick: int) -> None:
        i = pick % len(self.aliases[0])
        self.both("DELETE", lambda side: f"/api/customer-aliases/{self.aliases[side][i]}")

    @precondition(lambda self: self.alias_values)
    @rule(pick=st.integers(min_value=0, max_value=1000), case=cases)
    def find_by_alias(self, pick: int, case: str) -> None:
        value = CASES[case](self.alias_values[pick % len(self.alias_values)])
        found = self.both("GET", f"/api/customers/by-alias/{quote(value, safe='')}")[0][0]
        event(f"by-alias ({case}): {found}")
        self.both("GET", "/api/customer-aliases", params={"value": value})

    @rule(
        fragment=st.one_of(st.none(), names, st.tuples(st.integers(0, 1000), st.integers(0, 12), st.integers(1, 6))),
        fragment_case=cases,
        email=st.one_of(st.none(), st.just("nobody@x.y"), st.integers(0, 1000)),
        email_case=cases,
        sort_by=st.sampled_from(["createdAt", "legalName"]),
        sort_order=st.sampled_from(["ASC", "DESC"]),
        include_archived=st.booleans(),
        limit=st.integers(min_value=1, max_value=4),
        pages=st.integers(min_value=1, max_value=3),
    )
    def list_customers(
        self,
        fragment: str | tuple[int, int, int] | None,
        fragment_case: str,
        email: str | int | None,
        email_case: str,
        sort_by: str,
        sort_order: str,
        include_archived: bool,
        limit: int,
        pages: int,
    ) -> None:
        params: dict[str, Any] = {
            "sortBy": sort_by,
            "sortOrder": sort_order,
            "limit": limit,
            "includeArchived": str(include_archived).lower(),
        }
        if isinstance(fragment, tuple) and self.names:
            # A slice of a stored legal name: matches at least that customer.
            pick, start, length = fragment
            name = self.names[pick % len(self.names)]
            start %= len(name)
            fragment = name[start : start + length]
        if isinstance(fragment, str) and fragment:
            params["legalName"] = CASES[fragment_case](fragment)
        if isinstance(email, int) and self.emails:
            email = self.emails[email % len(self.emails)]
        if isinstance(email, str):
            params["email"] = CASES[email_case](email)
        cursors: list[str | None] = [None, None]
        for _ in range(pages):
            results = []
            for side in (0, 1):
                query = {**params, **({"after": cursors[side]} if cursors[side] else {})}
                results.append(self.sides[side].call("GET", "/api/customers", params=query))
            assert normalise(results[0], self.maps[0]) == normalise(results[1], self.maps[1]), params
            found = "found" if results[0][1].get("items") else "empty"
            event(f"list by {'+'.join(k for k in ('legalName', 'email') if k in params) or 'nothing'}: {found}")
            cursors = [r[1].get("pagination", {}).get("after") for r in results]
            if cursors[0] is None:
                break

    @invariant()
    def alias_lists_agree(self) -> None:
        self.both("GET", "/api/customer-aliases", params={"limit": 100})


def test_sqlite_and_postgresql_answer_alike(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    # A clock that moves 1 ms per reading: both databases see distinct, ordered times.
    ticks = itertools.count()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    monkeypatch.setattr(clock, "utc_now", lambda: start + timedelta(milliseconds=next(ticks)))
    Parity.backend = backend
    machine = Parity.TestCase
    machine.settings = settings(
        max_examples=30, stateful_step_count=15, deadline=None, suppress_health_check=list(HealthCheck)
    )
    machine().runTest()
