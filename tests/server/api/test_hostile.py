"""The hostile-input corpus: every write endpoint x every class of hostile input, generated
from the two tables below, answers its 4xx with Sequence's error body; never a 5xx, never a
traceback in the log (docs/limits.md). Reads get the path and query classes.

The corpus runs against one app and one set of objects per module: every case is refused,
so none changes what the next one finds.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from patron.server.app import MAX_BODY_BYTES, create_app
from patron.server.config import Settings
from patron.server.web import guard
from patron.wire import models as wire
from tests.conftest import NO_LIMITS, SECRET_KEY, Account, Backend, make_account
from tests.factories import contact, customer_body

Client = TestClient[Litestar]
Body = dict[str, Any]
Where = tuple[str | int, ...]
HOLE = "@@hostile@@"
"""A string field's value replaced by raw bytes once the body is encoded."""


@dataclass(frozen=True)
class Endpoint:
    """A write route: its path (`{customer}`-style names filled from the world), a valid
    body, the strings it holds with their maxima, and its bounded lists."""

    method: str
    path: str
    body: Callable[[dict[str, str]], Body] | None = None
    strings: dict[Where, int] = field(default_factory=dict)
    lists: dict[Where, tuple[int, Callable[[int], Any]]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


def _customer(world: dict[str, str]) -> Body:
    return customer_body(
        url="https://example.com",
        label="gold",
        customerAliases=["hostile-alias"],
        integrationIds=[{"service": "Salesforce", "id": "sf-1"}],
        customProperties={"tier": "gold"},
    )


_CUSTOMER_STRINGS: dict[Where, int] = {
    ("legalName",): wire.MAX_TEXT,
    ("address", "line1"): wire.MAX_TEXT,
    ("address", "town"): wire.MAX_TEXT,
    ("address", "postcode"): wire.MAX_POSTCODE,
    ("url",): wire.MAX_TEXT,
    ("label",): wire.MAX_TEXT,
    ("contacts", 0, "name"): wire.MAX_TEXT,
    ("contacts", 0, "email"): wire.MAX_TEXT,
    ("customerAliases", 0): wire.MAX_VALUE,
    ("integrationIds", 0, "id"): wire.MAX_TEXT,
    ("customProperties", "tier"): wire.MAX_TEXT,
}
_CUSTOMER_LISTS: dict[Where, tuple[int, Callable[[int], Any]]] = {
    ("customerAliases",): (wire.MAX_ALIASES, lambda i: f"alias-{i}"),
    ("contacts",): (wire.MAX_CONTACTS, lambda i: contact(billing_preference="PRIMARY")),
    ("customProperties",): (wire.MAX_PROPERTIES, lambda i: (f"key{i}", "v")),
    ("integrationIds",): (wire.MAX_INTEGRATIONS, lambda i: {"service": "Salesforce", "id": f"x{i}"}),
    ("pushToIntegrations",): (wire.MAX_INTEGRATIONS, lambda i: "Xero"),
}
_CONTACT_STRINGS: dict[Where, int] = {("name",): wire.MAX_TEXT, ("email",): wire.MAX_TEXT}
_MEMBERS: dict[Where, tuple[int, Callable[[int], Any]]] = {
    ("customerIds",): (wire.MAX_MEMBERS, lambda i: f"00000000-0000-0000-0000-{i:012d}")
}

ENDPOINTS = [
    Endpoint("POST", "/customers", _customer, _CUSTOMER_STRINGS, _CUSTOMER_LISTS),
    Endpoint("PUT", "/customers/{customer}", _customer, _CUSTOMER_STRINGS, _CUSTOMER_LISTS),
    Endpoint("POST", "/customers/{customer}/archive"),
    Endpoint(
        "POST",
        "/customer-aliases",
        lambda w: {"customerId": w["customer"], "value": "another-alias", "label": "l"},
        {("customerId",): wire.MAX_ID, ("value",): wire.MAX_VALUE, ("label",): wire.MAX_TEXT},
    ),
    Endpoint("PUT", "/customer-aliases/{alias}", lambda w: {"label": "l"}, {("label",): wire.MAX_TEXT}),
    Endpoint("DELETE", "/customer-aliases/{alias}"),
    Endpoint("POST", "/customers/{customer}/contacts", lambda w: contact(), _CONTACT_STRINGS),
    Endpoint("PUT", "/customers/{customer}/contacts/{contact}", lambda w: contact(), _CONTACT_STRINGS),
    Endpoint("POST", "/customers/{customer}/contacts/{contact}/archive"),
    Endpoint(
        "POST",
        "/customer-organizations",
        lambda w: {"ownerId": w["spare"], "memberIds": [w["member"]]},
        {("ownerId",): wire.MAX_ID, ("memberIds", 0): wire.MAX_ID},
        {("memberIds",): (wire.MAX_MEMBERS, lambda i: f"00000000-0000-0000-0000-{i:012d}")},
    ),
    Endpoint(
        "POST",
        "/customer-organizations/{organization}/members",
        lambda w: {"customerIds": [w["member"]]},
        {("customerIds", 0): wire.MAX_ID},
        _MEMBERS,
    ),
    Endpoint(
        "PUT",
        "/customer-organizations/{organization}/members",
        lambda w: {"customerIds": [w["member"]]},
        {("customerIds", 0): wire.MAX_ID},
        _MEMBERS,
    ),
]

READS = [
    "/customers?legalName={bad}",
    "/customers?email={bad}",
    "/customers?alias={bad}",
    "/customers?label={bad}",
    "/customers?sortBy={bad}",
    "/customers?after={bad}",
    "/customer-aliases?value={bad}",
    "/customer-aliases?before={bad}",
    "/customers/{bad}",
    "/customers/by-alias/{bad}",
    "/customers/{bad}/aliases",
    "/customers/{bad}/contacts",
    "/customer-custom-property-keys?x={bad}",
]

CONTROL = ["%00", "%01", "%09", "%0a", "%0d", "%1b", "%1f", "%7f", "%c2%80", "%c2%9f"]
"""NUL, other C0 controls (tab and newlines included), DEL and C1, percent-encoded."""


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    expect: frozenset[int]
    body: bytes | None = None
    content_type: str | None = "application/json"
    field: str | None = None
    """The field the 400 must name, when the case aims at one."""


def _wire_name(where: Where) -> str:
    name = ""
    for part in where:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else part
    return name


def _set(body: Body, where: Where, value: Any) -> Body:
    copy: Any = json.loads(json.dumps(body))
    target = copy
    for part in where[:-1]:
        target = target[part]
    target[where[-1]] = value
    result: Body = copy
    return result


def _encode(body: Any) -> bytes:
    return json.dumps(body).encode()


# Raw bytes in place of a string field's value: each must be a 400.
RAW_VALUES = {
    "invalid UTF-8 in a string": b'"\xff\xfe"',
    "overlong UTF-8": b'"\xc0\xaf"',
    "UTF-8-encoded surrogate": b'"\xed\xa0\x80"',
    "lone surrogate escape": b'"\\ud800"',
    "NUL escape": b'"a\\u0000b"',
    "raw control character": b'"a\x01b"',
    "nested 10,000 deep": b"[" * 10_000 + b"]" * 10_000,
    "objects nested 10,000 deep": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "5,000-digit integer": b"1" + b"0" * 5_000,
    "float past double": b"1e999",
    "NaN": b"NaN",
    "Infinity": b"Infinity",
    "number": b"12345",
    "true": b"true",
    "object": b'{"a": "b"}',
    "array": b'["a"]',
}

# Whole bodies in place of the valid one: each must be a 400.
WHOLE_BODIES = {
    "empty body": b"",
    "whitespace body": b"   \n",
    "null": b"null",
    "a JSON array": b"[]",
    "a JSON string": b'"customer"',
    "a JSON number": b"42",
    "true": b"true",
    "unclosed object": b"{",
    "truncated JSON": b'{"legalName": "Acme',
    "trailing garbage": b'{"a": 1} xyz',
    "single quotes": b"{'a': 1}",
    "byte order mark": b'\xef\xbb\xbf{"a": 1}',
    "UTF-16": '{"a": 1}'.encode("utf-16"),
    "invalid UTF-8 outside strings": b"{\xff}",
    "arrays nested 10,000 deep": b"[" * 10_000 + b"]" * 10_000,
    "objects nested 10,000 deep": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "10,000 unclosed brackets": b"[" * 10_000,
}

WRONG_TYPES = {
    "text/plain": "text/plain",
    "text/plain with charset": "text/plain; charset=utf-8",
    "form": "application/x-www-form-urlencoded",
    "multipart": "multipart/form-data; boundary=x",
    "XML": "application/xml",
    "JSON in Latin-1": "application/json; charset=latin-1",
    "no content type": None,
    "no slash": "json",
}


def _body_cases(endpoint: Endpoint, path: str, valid: Body) -> Iterator[Case]:
    name = endpoint.name
    first = next(iter(endpoint.strings))
    holed = _encode(_set(valid, first, HOLE))
    for label, raw in RAW_VALUES.items():
        yield Case(
            f"{name} · {_wire_name(first)}: {label}",
            endpoint.method,
            path,
            frozenset({400}),
            holed.replace(f'"{HOLE}"'.encode(), raw),
        )
    for label, raw in WHOLE_BODIES.items():
        yield Case(f"{name} · {label}", endpoint.method, path, frozenset({400}), raw)
    for where, maximum in endpoint.strings.items():
        wire_name = _wire_name(where).removesuffix(".tier")
        too_long = _encode(_set(valid, where, "x" * (maximum + 1)))
        yield Case(
            f"{name} · {_wire_name(where)} too long", endpoint.method, path, frozenset({400}), too_long, field=wire_name
        )
        yield Case(
            f"{name} · {_wire_name(where)} as a number",
            endpoint.method,
            path,
            frozenset({400}),
            _encode(_set(valid, where, 7)),
        )
        yield Case(
            f"{name} · {_wire_name(where)} NUL",
            endpoint.method,
            path,
            frozenset({400}),
            _encode(_set(valid, where, "a\x00b")),
        )
    for where, (maximum, item) in endpoint.lists.items():
        items = [item(i) for i in range(maximum + 1)]
        value: Any = dict(items) if where == ("customProperties",) else items
        too_many = _encode(_set(valid, where, value))
        yield Case(
            f"{name} · {_wire_name(where)} past {maximum}",
            endpoint.method,
            path,
            frozenset({400}),
            too_many,
            field=_wire_name(where),
        )
    key = next(iter(valid))
    duplicated = _encode(valid)[:-1] + f', "{key}": 7}}'.encode()
    yield Case(f"{name} · duplicate key, the last one wrong", endpoint.method, path, frozenset({400}), duplicated)
    big = _encode(valid)[:-1] + b', "padding": "' + b"x" * MAX_BODY_BYTES + b'"}'
    yield Case(f"{name} · body over 1 MiB", endpoint.method, path, frozenset({413}), big)
    for label, content_type in WRONG_TYPES.items():
        yield Case(f"{name} · {label}", endpoint.method, path, frozenset({415}), _encode(valid), content_type)


def _target_cases(endpoint: Endpoint, world: dict[str, str], body: bytes | None) -> Iterator[Case]:
    """Control characters and invalid UTF-8 in each path value, and in a query parameter."""
    names = [part[1:-1] for part in endpoint.path.split("/") if part.startswith("{")]
    for name in names:
        for bad in [*CONTROL, "%ff", "a%e2%82"]:
            path = endpoint.path.format(**{**world, name: f"{world[name][:8]}{bad}"})
            yield Case(f"{endpoint.name} · {name} holds {bad}", endpoint.method, path, frozenset({400}), body)
    for bad in CONTROL[:4]:
        path = endpoint.path.format(**world) + f"?note={bad}"
        yield Case(f"{endpoint.name} · query holds {bad}", endpoint.method, path, frozenset({400}), body)


def corpus(world: dict[str, str]) -> list[Case]:
    cases: list[Case] = []
    for endpoint in ENDPOINTS:
        path = endpoint.path.format(**world)
        valid = endpoint.body(world) if endpoint.body else None
        if valid is not None:
            cases += _body_cases(endpoint, path, valid)
        else:
            for label, content_type in WRONG_TYPES.items():
                cases.append(
                    Case(
                        f"{endpoint.name} · {label} body", endpoint.method, path, frozenset({415}), b"{}", content_type
                    )
                )
            cases.append(
                Case(
                    f"{endpoint.name} · a form, empty",
                    endpoint.method,
                    path,
                    frozenset({415}),
                    b"",
                    "application/x-www-form-urlencoded",
                )
            )
        cases += _target_cases(endpoint, world, _encode(valid) if valid is not None else None)
    for read in READS:
        for bad in CONTROL:
            cases.append(Case(f"GET {read} · {bad}", "GET", read.format(bad=f"a{bad}b"), frozenset({400}), None, None))
    return cases


# Object ids are fixed for the corpus's names (pytest ids); the world maps them at run time.
_PLACEHOLDER = {
    "customer": "00000000-0000-4000-8000-000000000001",
    "alias": "00000000-0000-4000-8000-000000000002",
    "contact": "00000000-0000-4000-8000-000000000003",
    "organization": "00000000-0000-4000-8000-000000000004",
    "member": "00000000-0000-4000-8000-000000000005",
    "spare": "00000000-0000-4000-8000-000000000006",
}
CORPUS = corpus(_PLACEHOLDER)


@dataclass
class World:
    client: Client
    account: Account
    ids: dict[str, str]

    def aim(self, text: str) -> str:
        for name, placeholder in _PLACEHOLDER.items():
            text = text.replace(placeholder, self.ids[name])
        return text


@pytest.fixture(scope="module")
def world(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = backend.fresh(tmp_path_factory.mktemp("hostile"))
    app = create_app(Settings(database_url=url, secret_key=SECRET_KEY, **NO_LIMITS))
    try:
        with TestClient(app) as client:
            account = make_account(app.state.database)
            yield World(client, account, _populate(client, account))
    finally:
        app.state.database.close()
        backend.drop(url)


def _populate(client: Client, account: Account) -> dict[str, str]:
    def post(path: str, body: Body) -> Body:
        response = client.post(f"/api{path}", json=body, headers=account.headers)
        assert response.status_code == 201, response.text
        created: Body = response.json()
        return created

    customer = post("/customers", customer_body())
    member, spare = post("/customers", customer_body()), post("/customers", customer_body())
    organization = post("/customer-organizations", {"ownerId": customer["id"], "memberIds": []})
    alias = post("/customer-aliases", {"customerId": customer["id"], "value": "hostile-world"})
    return {
        "customer": customer["id"],
        "alias": alias["id"],
        "contact": customer["contacts"][0]["id"],
        "organization": organization["id"],
        "member": member["id"],
        "spare": spare["id"],
    }


def test_the_corpus_covers_every_write_endpoint_with_300_requests_or_more() -> None:
    assert len(CORPUS) >= 300
    assert len({case.name for case in CORPUS}) == len(CORPUS)
    written = {(case.method, case.path.split("?")[0]) for case in CORPUS if case.method != "GET"}
    assert {(e.method, e.path.format(**_PLACEHOLDER)) for e in ENDPOINTS} <= written


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_hostile_input_is_refused_with_a_4xx(world: World, case: Case, caplog: pytest.LogCaptureFixture) -> None:
    headers = {**world.account.headers}
    if case.content_type is not None:
        headers["Content-Type"] = case.content_type
    body = world.aim(case.body.decode("latin-1")).encode("latin-1") if case.body is not None else None
    with caplog.at_level(logging.INFO):
        response = world.client.request(case.method, "/api" + world.aim(case.path), content=body, headers=headers)
    assert response.status_code in case.expect, response.text
    error = response.json()["error"]
    assert set(error) >= {"type", "message"}
    assert response.headers["cache-control"] == "no-store"
    if case.field is not None:
        assert [f["field"] for f in error["errors"]] == [case.field], error
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], "a traceback was logged"


# --- bodies that end early or never: the ASGI app called directly -----------------------


async def _call(app: Litestar, account: Account, messages: list[dict[str, Any]], *, hang: bool) -> tuple[int, bytes]:
    """POST /api/customers with these receive messages, then a disconnect (or nothing)."""
    pending = list(messages)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        if hang:
            await anyio.sleep_forever()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(k.lower().encode(), v.encode()) for k, v in account.headers.items()]
    headers += [(b"content-type", b"application/json"), (b"content-length", b"1000")]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/customers",
        "raw_path": b"/api/customers",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def _part(data: bytes) -> dict[str, Any]:
    return {"type": "http.request", "body": data, "more_body": True}


@pytest.mark.parametrize(
    "parts", [[], [b'{"legalName": "Ac'], [b"{", b'"a"']], ids=["nothing", "one part", "two parts"]
)
def test_a_body_cut_short_is_400_and_one_log_line(
    app: Litestar, account: Account, parts: list[bytes], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        status, content = anyio.run(lambda: _call(app, account, [_part(p) for p in parts], hang=False))
    assert status == 400
    assert json.loads(content)["error"]["message"] == guard.TRUNCATED
    # One warning, no traceback (beside the request's own access line).
    assert [(r.name, bool(r.exc_info)) for r in caplog.records if r.levelno >= logging.WARNING] == [
        ("patron.guard", False)
    ]


def test_a_body_that_never_arrives_is_408(
    app: Litestar, account: Account, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(guard, "BODY_TIMEOUT", 0.05)
    with caplog.at_level(logging.INFO):
        status, content = anyio.run(lambda: _call(app, account, [_part(b'{"legalName"')], hang=True))
    assert status == 408
    assert json.loads(content)["error"]["type"] == "RequestTimeout"
    assert [r.name for r in caplog.records if r.levelno >= logging.WARNING] == ["patron.guard"]


def test_a_json_body_with_a_json_suffix_type_is_read(world: World) -> None:
    headers = {**world.account.headers, "Content-Type": "application/vnd.api+json; charset=UTF-8"}
    response = world.client.post("/api/customers", content=_encode(customer_body()), headers=headers)
    assert response.status_code == 201, response.text


def test_a_bodyless_post_needs_no_content_type(world: World) -> None:
    created = world.client.post("/api/customers", json=customer_body(), headers=world.account.headers).json()
    response = world.client.post(f"/api/customers/{created['id']}/archive", headers=world.account.headers)
    assert response.status_code == 200, response.text


def test_successful_answers_say_no_store(world: World) -> None:
    response = world.client.get("/api/customers", headers=world.account.headers)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
