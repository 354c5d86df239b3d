"""Every write operation raced: a real `patron serve --workers 2` on loopback, 12 requests
on one object released together by a barrier, then the invariants. The races matter on
PostgreSQL (`make test` runs this file there too); SQLite has one writer at a time.

After each race: no 5xx, exactly one winner where a value is unique, the stored state one
of the requests' outcomes, and `db.consistency.check` (counters equal COUNT(*), the
PRIMARY rule) finding nothing."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from patron.server import caps
from patron.server.db import consistency
from patron.server.db.engine import make_engine
from tests.conftest import Backend
from tests.factories import contact, customer_body
from tests.system.conftest import create_account_cli, start_server, stop_server

RACERS = 12

Call = Callable[[httpx.Client], httpx.Response]


@dataclass
class Racing:
    """The module's server, its database and a tally of the races run."""

    base_url: str
    auth: tuple[str, str]
    database_url: str
    races: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, auth=self.auth, timeout=60)

    def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        with self.client() as http:
            return http.request(method, path, json=body)

    def race(self, name: str, calls: Sequence[Call]) -> list[httpx.Response]:
        """Run `calls` at once (each on its own warm connection); no answer may be a 5xx."""
        clients = [self.client() for _ in calls]
        barrier = threading.Barrier(len(calls), timeout=30)

        def run(index: int) -> httpx.Response:
            clients[index].get(self.base_url.removesuffix("/api") + "/livez")
            barrier.wait()
            return calls[index](clients[index])

        try:
            with ThreadPoolExecutor(len(calls)) as pool:
                answers = list(pool.map(run, range(len(calls))))
        finally:
            for http in clients:
                http.close()
        self.races[name] += 1
        self.statuses.update(a.status_code for a in answers)
        assert [a.text for a in answers if a.status_code >= 500] == []
        return answers

    def consistent(self) -> None:
        engine = make_engine(self.database_url)
        try:
            with engine.connect() as tx:
                assert consistency.check(tx) == []
        finally:
            engine.dispose()

    def sql(self, statement: str, **params: Any) -> list[Any]:
        engine = make_engine(self.database_url)
        try:
            with engine.connect() as tx:
                return list(tx.execute(text(statement), params))
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def racing(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Racing]:
    workdir = tmp_path_factory.mktemp("races")
    url = backend.fresh(workdir)
    auth = create_account_cli(url, workdir)
    process, port = start_server(url, workdir, workers=2)
    # Read the server's output as it comes: a full pipe would block its workers mid-request.
    output: list[bytes] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout or []), daemon=True)
    reader.start()
    state = Racing(f"http://127.0.0.1:{port}/api", auth, url)
    try:
        yield state
    finally:
        stop_server(process)
        reader.join(timeout=10)
        logged = sum(b"unexpected error" in line for line in output)
        print(f"\nraces per operation: {dict(state.races)}; statuses: {dict(state.statuses)}; 500s logged: {logged}")
        backend.drop(url)


def statuses(answers: Sequence[httpx.Response]) -> Counter[int]:
    return Counter(a.status_code for a in answers)


def new_customer(racing: Racing, **overrides: Any) -> dict[str, Any]:
    answer = racing.call("POST", "/customers", customer_body(**overrides))
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def organizations_of(racing: Racing, customer_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = racing.call("GET", f"/customers/{customer_id}").json()["organizations"]
    return found


def owned(racing: Racing, owner_id: str) -> list[dict[str, Any]]:
    return [o for o in organizations_of(racing, owner_id) if o["owner"]["id"] == owner_id]


def member_ids(organization: dict[str, Any]) -> list[str]:
    return [m["id"] for m in organization["members"]]


def request(method: str, path: str, body: Any = None) -> Call:
    """One racer's request."""

    def call(http: httpx.Client) -> httpx.Response:
        return http.request(method, path, json=body)

    return call


def same(racing: Racing, method: str, path: str, body: Any = None) -> list[Call]:
    return [request(method, path, body)] * RACERS


# --- customers ----------------------------------------------------------------------------


def test_archive_races_archive_once(racing: Racing) -> None:
    customer = new_customer(racing)
    before = racing.call("GET", "/customers").json()["pagination"]["totalResultSize"]
    answers = racing.race("POST /customers/{id}/archive", same(racing, "POST", f"/customers/{customer['id']}/archive"))
    assert statuses(answers) == {200: RACERS}
    assert len({a.json()["archivedAt"] for a in answers}) == 1
    assert racing.call("GET", "/customers").json()["pagination"]["totalResultSize"] == before - 1
    racing.consistent()


def test_creates_naming_one_new_parent_end_in_one_organization(racing: Racing) -> None:
    parent = new_customer(racing)
    answers = racing.race(
        "POST /customers (parentId)",
        [request("POST", "/customers", customer_body(parentId=parent["id"])) for _ in range(RACERS)],
    )
    assert statuses(answers) == {201: RACERS}
    [organization] = owned(racing, parent["id"])
    assert sorted(member_ids(organization)) == sorted(a.json()["id"] for a in answers)
    racing.consistent()


def test_creates_with_one_alias_have_one_winner(racing: Racing) -> None:
    answers = racing.race(
        "POST /customers (customerAliases)",
        [request("POST", "/customers", customer_body(customerAliases=["shared-x"])) for _ in range(RACERS)],
    )
    assert statuses(answers) == {201: 1, 409: RACERS - 1}
    racing.consistent()


def test_updates_of_one_customer_leave_one_requests_state(racing: Racing) -> None:
    customer = new_customer(racing)
    parents = [new_customer(racing)["id"] for _ in range(3)]
    bodies = [
        customer_body(
            legalName=f"Racer {i}",
            parentId=parents[i % 3],
            customerAliases=[f"{customer['id']}-{i}"],
            contacts=[contact(name=f"Racer {i}")],
        )
        for i in range(RACERS)
    ]
    calls: list[Call] = [request("PUT", f"/customers/{customer['id']}", b) for b in bodies]
    answers = racing.race("PUT /customers/{id}", calls)
    assert statuses(answers) == {200: RACERS}
    final = racing.call("GET", f"/customers/{customer['id']}").json()
    winner = int(final["legalName"].removeprefix("Racer "))
    assert [c["name"] for c in final["contacts"]] == [f"Racer {winner}"]
    [organization] = final["organizations"]
    assert organization["owner"]["id"] == parents[winner % 3]
    assert member_ids(organization) == [customer["id"]]
    for parent in parents:
        if parent != parents[winner % 3]:
            assert all(customer["id"] not in member_ids(o) for o in owned(racing, parent))
    aliases = racing.call("GET", f"/customers/{customer['id']}/aliases").json()["items"]
    assert sorted(a["value"] for a in aliases) == sorted(f"{customer['id']}-{i}" for i in range(RACERS))
    racing.consistent()


# --- aliases ------------------------------------------------------------------------------


def test_alias_creates_of_one_value_have_one_winner(racing: Racing) -> None:
    customer = new_customer(racing)
    for round_number in range(3):
        body = {"customerId": customer["id"], "value": f"same-{customer['id']}-{round_number}"}
        answers = racing.race("POST /customer-aliases", same(racing, "POST", "/customer-aliases", body))
        assert statuses(answers) == {201: 1, 409: RACERS - 1}
    assert len(racing.call("GET", f"/customers/{customer['id']}/aliases").json()["items"]) == 3


def test_alias_label_updates_and_deletes(racing: Racing) -> None:
    customer = new_customer(racing)
    alias = racing.call("POST", "/customer-aliases", {"customerId": customer["id"], "value": f"ud-{customer['id']}"})
    path = f"/customer-aliases/{alias.json()['id']}"
    labels = [f"label {i}" for i in range(RACERS)]
    answers = racing.race(
        "PUT /customer-aliases/{id}",
        [request("PUT", path, {"label": label}) for label in labels],
    )
    assert statuses(answers) == {200: RACERS}
    answers = racing.race("DELETE /customer-aliases/{id}", same(racing, "DELETE", path))
    assert statuses(answers) == {200: 1, 404: RACERS - 1}
    assert racing.call("GET", f"/customers/{customer['id']}/aliases").json()["items"] == []


def test_alias_cap_holds_under_racing_creates(racing: Racing) -> None:
    room = 4
    held = [f"cap-{i}" for i in range(caps.ALIASES_PER_CUSTOMER - room)]
    customer = new_customer(racing)
    racing.call("PUT", f"/customers/{customer['id']}", customer_body(customerAliases=held))
    calls: list[Call] = [
        request("POST", "/customer-aliases", {"customerId": customer["id"], "value": f"cap-{customer['id']}-{i}"})
        for i in range(RACERS)
    ]
    answers = racing.race("POST /customer-aliases (cap)", calls)
    assert statuses(answers) == {201: room, 400: RACERS - room}
    listed = racing.call("GET", f"/customers/{customer['id']}/aliases").json()["items"]
    assert len(listed) == caps.ALIASES_PER_CUSTOMER


# --- contacts -----------------------------------------------------------------------------


def _two_primaries_and_a_standard(racing: Racing) -> tuple[str, list[str]]:
    people = [contact(), contact(), contact(billing_preference="STANDARD")]
    customer = new_customer(racing, contacts=people)
    return customer["id"], [c["id"] for c in customer["contacts"]]


def _primary_rule_held(racing: Racing, customer_id: str) -> None:
    live = racing.call("GET", f"/customers/{customer_id}/contacts").json()["items"]
    assert "PRIMARY" in {c["billingPreference"] for c in live}
    racing.consistent()


def test_archiving_both_primaries_at_once_keeps_one(racing: Racing) -> None:
    customer_id, (first, second, _) = _two_primaries_and_a_standard(racing)
    paths = [f"/customers/{customer_id}/contacts/{(first, second)[i % 2]}/archive" for i in range(RACERS)]
    answers = racing.race("POST contacts/{id}/archive", [request("POST", p) for p in paths])
    assert set(statuses(answers)) <= {200, 400}
    _primary_rule_held(racing, customer_id)


def test_demoting_both_primaries_at_once_keeps_one(racing: Racing) -> None:
    customer_id, (first, second, _) = _two_primaries_and_a_standard(racing)
    demoted = {"name": "Demoted", "email": "demoted@example.com", "billingPreference": "STANDARD"}
    paths = [f"/customers/{customer_id}/contacts/{(first, second)[i % 2]}" for i in range(RACERS)]
    answers = racing.race("PUT contacts/{id}", [request("PUT", p, demoted) for p in paths])
    assert set(statuses(answers)) <= {200, 400}
    _primary_rule_held(racing, customer_id)


def test_contact_creates_take_distinct_places_within_the_cap(racing: Racing) -> None:
    room = 4
    customer = new_customer(racing, contacts=[contact() for _ in range(caps.LIVE_CONTACTS_PER_CUSTOMER - room)])
    path = f"/customers/{customer['id']}/contacts"
    calls: list[Call] = [
        request("POST", path, contact(billing_preference=("PRIMARY", "STANDARD")[i % 2])) for i in range(RACERS)
    ]
    answers = racing.race("POST /customers/{id}/contacts", calls)
    assert statuses(answers) == {201: room, 400: RACERS - room}
    positions = racing.sql("SELECT position FROM contacts WHERE customer_id = :c", c=_db_id(racing, customer["id"]))
    assert len({row.position for row in positions}) == caps.LIVE_CONTACTS_PER_CUSTOMER
    _primary_rule_held(racing, customer["id"])


# --- organizations ------------------------------------------------------------------------


def test_organization_creates_for_one_owner_have_one_winner(racing: Racing) -> None:
    owner = new_customer(racing)
    body = {"ownerId": owner["id"], "memberIds": []}
    answers = racing.race("POST /customer-organizations", same(racing, "POST", "/customer-organizations", body))
    assert statuses(answers) == {201: 1, 409: RACERS - 1}
    assert len(owned(racing, owner["id"])) == 1


def _organization(racing: Racing) -> str:
    owner = new_customer(racing)
    answer = racing.call("POST", "/customer-organizations", {"ownerId": owner["id"], "memberIds": []})
    assert answer.status_code == 201, answer.text
    organization_id: str = answer.json()["id"]
    return organization_id


def test_a_member_added_twice_at_once_is_listed_once(racing: Racing) -> None:
    organization_id = _organization(racing)
    twice = new_customer(racing)["id"]
    others = [new_customer(racing)["id"] for _ in range(RACERS // 2)]
    wanted = [[twice] if i % 2 else [others[i // 2]] for i in range(RACERS)]
    path = f"/customer-organizations/{organization_id}/members"
    answers = racing.race(
        "POST /customer-organizations/{id}/members",
        [request("POST", path, {"customerIds": w}) for w in wanted],
    )
    assert statuses(answers) == {200: RACERS}
    final = racing.call("POST", path, {"customerIds": []}).json()
    assert sorted(member_ids(final)) == sorted([twice, *others])
    rows = racing.sql(
        "SELECT position FROM organization_members WHERE organization_id = :o", o=_db_id(racing, organization_id)
    )
    assert len({row.position for row in rows}) == len(rows)


def test_member_replaces_leave_one_requests_members(racing: Racing) -> None:
    organization_id = _organization(racing)
    pool = [new_customer(racing)["id"] for _ in range(4)]
    sets = [[pool[i % 4], pool[(i + 1) % 4]] for i in range(RACERS)]
    path = f"/customer-organizations/{organization_id}/members"
    answers = racing.race(
        "PUT /customer-organizations/{id}/members",
        [request("PUT", path, {"customerIds": s}) for s in sets],
    )
    assert statuses(answers) == {200: RACERS}
    final = racing.call("POST", path, {"customerIds": []}).json()
    assert member_ids(final) in sets
    racing.consistent()


def _db_id(racing: Racing, ident: str) -> str:
    """An id as the database stores it (32 hex digits on SQLite, a uuid on PostgreSQL)."""
    return ident if racing.database_url.startswith("postgresql") else ident.replace("-", "")


def test_two_organizations_taking_each_others_owner_at_once_make_no_cycle(racing: Racing) -> None:
    first, second = _organization(racing), _organization(racing)
    owners = {}
    for organization_id in (first, second):
        shown = racing.call("POST", f"/customer-organizations/{organization_id}/members", {"customerIds": []})
        owners[organization_id] = shown.json()["owner"]["id"]
    calls = [
        request("POST", f"/customer-organizations/{org}/members", {"customerIds": [owners[other]]})
        for org, other in [(first, second), (second, first)] * (RACERS // 2)
    ]
    answers = racing.race("POST /customer-organizations/{id}/members (cycle)", calls)
    assert set(statuses(answers)) <= {200, 400}
    final = {
        org: member_ids(racing.call("POST", f"/customer-organizations/{org}/members", {"customerIds": []}).json())
        for org in (first, second)
    }
    assert not (owners[second] in final[first] and owners[first] in final[second]), final
