"""Seeds through HTTP: a fixture of customers stored into an account, every row checked
with the API's rules and written at its own time, or nothing written at all; and the
fixture files `patron sandbox --seed` reads (JSON or YAML)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from patron.server import clock
from patron.server.errors import InvalidInput
from patron.server.sandbox.service import seeds
from patron.wire.sandbox.seeds import MAX_SEED_CUSTOMERS
from tests.conftest import Account
from tests.factories import contact, create_customer, customer_body
from tests.server.sandbox.conftest import ADMIN

Client = TestClient[Litestar]
UNKNOWN = "01890000-0000-7000-8000-000000000000"
CHOSEN = "01890000-0000-7000-8000-00000000c0de"


def seed_path(account: Account) -> str:
    return f"/_patron/accounts/{account.account_id}/seed"


def seed(client: Client, account: Account, *customers: dict[str, Any]) -> httpx.Response:
    return client.post(seed_path(account), json={"customers": list(customers)}, headers=ADMIN)


def seeded(client: Client, account: Account, *customers: dict[str, Any]) -> list[str]:
    answer = seed(client, account, *customers)
    assert answer.status_code == 201, answer.text
    ids: list[str] = answer.json()["ids"]
    return ids


def listed(client: Client, account: Account) -> dict[str, Any]:
    answer = client.get("/api/customers?includeArchived=true&sortOrder=ASC&limit=100", headers=account.headers)
    assert answer.status_code == 200
    page: dict[str, Any] = answer.json()
    return page


def fetched(client: Client, account: Account, customer_id: str) -> dict[str, Any]:
    answer = client.get(f"/api/customers/{customer_id}", headers=account.headers)
    assert answer.status_code == 200, answer.text
    customer: dict[str, Any] = answer.json()
    return customer


def id_time(ident: str) -> str:
    return clock.iso(datetime.fromtimestamp((uuid.UUID(ident).int >> 80) / 1000, UTC))


def refused_field(answer: httpx.Response) -> str:
    assert answer.status_code == 400, answer.text
    errors = answer.json()["error"]["errors"]
    assert len(errors) == 1
    field: str = errors[0]["field"]
    return field


def freeze(client: Client, account: Account, moment: str) -> None:
    path = f"/_patron/accounts/{account.account_id}/clock"
    assert client.put(path, json={"frozenTime": moment}, headers=ADMIN).status_code == 200


class TestSeed:
    def test_answers_201_with_the_count_and_the_ids_in_fixture_order(self, client: Client, account: Account) -> None:
        answer = seed(client, account, customer_body(legalName="A"), customer_body(legalName="B"))
        assert answer.status_code == 201
        body = answer.json()
        assert body["customers"] == 2
        assert [fetched(client, account, i)["legalName"] for i in body["ids"]] == ["A", "B"]

    def test_every_time_of_a_row_is_its_created_at(self, client: Client, account: Account) -> None:
        row = customer_body(
            createdAt="2024-01-02T03:04:05.006Z",
            customerAliases=["crm-1"],
            integrationIds=[{"service": "Stripe", "id": "cus_1"}],
        )
        [customer_id] = seeded(client, account, row)
        customer = fetched(client, account, customer_id)
        moment = "2024-01-02T03:04:05.006Z"
        assert customer["createdAt"] == moment
        assert id_time(customer_id) == moment
        assert customer["integrationIds"][0]["lastSynced"] == moment
        assert [(c["createdAt"], c["updatedAt"]) for c in customer["contacts"]] == [(moment, moment)]
        assert id_time(customer["contacts"][0]["id"]) == moment
        aliases = client.get(f"/api/customers/{customer_id}/aliases", headers=account.headers).json()["items"]
        assert [(a["value"], a["createdAt"]) for a in aliases] == [("crm-1", moment)]

    def test_archived_at_archives_the_customer_at_that_time(self, client: Client, account: Account) -> None:
        row = customer_body(createdAt="2024-01-01T00:00:00Z", archivedAt="2024-06-01T12:00:00+02:00")
        [customer_id] = seeded(client, account, row)
        customer = fetched(client, account, customer_id)
        assert (customer["createdAt"], customer["archivedAt"]) == (
            "2024-01-01T00:00:00.000Z",
            "2024-06-01T10:00:00.000Z",
        )
        assert client.get("/api/customers", headers=account.headers).json()["pagination"]["totalResultSize"] == 0
        assert listed(client, account)["pagination"]["totalResultSize"] == 1

    def test_archived_at_may_equal_created_at(self, client: Client, account: Account) -> None:
        moment = "2024-01-01T00:00:00.000Z"
        [customer_id] = seeded(client, account, customer_body(createdAt=moment, archivedAt=moment))
        assert fetched(client, account, customer_id)["archivedAt"] == moment

    def test_a_chosen_id_is_kept(self, client: Client, account: Account) -> None:
        assert seeded(client, account, customer_body(id=CHOSEN.upper())) == [CHOSEN]
        assert fetched(client, account, CHOSEN)["id"] == CHOSEN

    def test_without_created_at_a_row_is_made_at_the_accounts_frozen_time(
        self, client: Client, account: Account
    ) -> None:
        freeze(client, account, "2030-01-01T00:00:00Z")
        ids = seeded(client, account, customer_body(), customer_body())
        assert [fetched(client, account, i)["createdAt"] for i in ids] == ["2030-01-01T00:00:00.000Z"] * 2

    def test_without_created_at_or_a_frozen_clock_every_row_is_made_at_one_wall_time(
        self, client: Client, account: Account
    ) -> None:
        before = clock.utc_now()
        ids = seeded(client, account, customer_body(), customer_body(), customer_body())
        times = {fetched(client, account, i)["createdAt"] for i in ids}
        assert len(times) == 1
        assert before <= datetime.fromisoformat(times.pop()) <= clock.utc_now()

    def test_rows_of_one_instant_list_in_fixture_order(self, client: Client, account: Account) -> None:
        ids = seeded(client, account, *(customer_body(createdAt="2024-01-01T00:00:00Z") for _ in range(5)))
        assert [item["id"] for item in listed(client, account)["items"]] == ids

    def test_lists_order_by_created_at_whatever_the_fixture_order(self, client: Client, account: Account) -> None:
        later, earlier = seeded(
            client,
            account,
            customer_body(legalName="later", createdAt="2024-02-01T00:00:00Z"),
            customer_body(legalName="earlier", createdAt="2024-01-01T00:00:00Z"),
        )
        assert [item["id"] for item in listed(client, account)["items"]] == [earlier, later]

    def test_the_counters_count_the_seeded_customers(self, client: Client, account: Account) -> None:
        create_customer(client, account.headers)
        seeded(client, account, customer_body(), customer_body(archivedAt="2099-01-01T00:00:00Z"), customer_body())
        assert client.get("/api/customers", headers=account.headers).json()["pagination"]["totalResultSize"] == 3
        assert listed(client, account)["pagination"]["totalResultSize"] == 4

    def test_custom_properties_status_and_the_rest_of_the_request_shape_are_kept(
        self, client: Client, account: Account
    ) -> None:
        row = customer_body(url="https://acme.test", label="vip", status="DRAFT", customProperties={"tier": "gold"})
        customer = fetched(client, account, seeded(client, account, row)[0])
        assert (customer["url"], customer["domain"], customer["label"]) == ("https://acme.test", "acme.test", "vip")
        assert (customer["status"], customer["customProperties"]) == ("DRAFT", {"tier": "gold"})

    def test_an_empty_fixture_stores_nothing(self, client: Client, account: Account) -> None:
        assert seed(client, account).json() == {"customers": 0, "ids": []}


class TestParents:
    def test_a_parent_named_by_alias_later_in_the_fixture_is_stored_first(
        self, client: Client, account: Account
    ) -> None:
        child_id, parent_id = seeded(
            client,
            account,
            customer_body(legalName="Child", parent="acme-hq", createdAt="2024-02-01T00:00:00Z"),
            customer_body(legalName="Acme HQ", customerAliases=["acme-hq"], createdAt="2024-01-01T00:00:00Z"),
        )
        [organization] = fetched(client, account, child_id)["organizations"]
        assert organization["owner"] == {"id": parent_id, "name": "Acme HQ"}
        assert organization["members"] == [{"id": child_id, "name": "Child"}]
        assert id_time(organization["id"]) == "2024-02-01T00:00:00.000Z"
        assert fetched(client, account, parent_id)["organizations"] == [organization]

    def test_a_chain_of_parents_in_any_order(self, client: Client, account: Account) -> None:
        rows = [
            customer_body(legalName="grandchild", customerAliases=["c"], parent="b"),
            customer_body(legalName="child", customerAliases=["b"], parent="a"),
            customer_body(legalName="root", customerAliases=["a"]),
        ]
        grandchild, child, root = seeded(client, account, *rows)
        owners = {
            o["owner"]["id"]: [m["id"] for m in o["members"]] for o in fetched(client, account, child)["organizations"]
        }
        assert owners == {child: [grandchild], root: [child]}

    def test_a_parent_named_by_its_id_in_the_fixture(self, client: Client, account: Account) -> None:
        child, parent = seeded(client, account, customer_body(parent=CHOSEN), customer_body(id=CHOSEN))
        assert fetched(client, account, child)["organizations"][0]["owner"]["id"] == parent == CHOSEN

    def test_parent_id_names_a_row_of_the_fixture_too(self, client: Client, account: Account) -> None:
        child, _ = seeded(client, account, customer_body(parentId=CHOSEN), customer_body(id=CHOSEN))
        assert fetched(client, account, child)["organizations"][0]["owner"]["id"] == CHOSEN

    def test_a_parent_already_in_the_account_by_alias_or_id(self, client: Client, account: Account) -> None:
        existing = create_customer(client, account.headers, customerAliases=["old-hq"])
        by_alias, by_id, by_parent_id = seeded(
            client,
            account,
            customer_body(parent="old-hq"),
            customer_body(parent=existing["id"]),
            customer_body(parentId=existing["id"]),
        )
        [organization] = fetched(client, account, existing["id"])["organizations"]
        assert [m["id"] for m in organization["members"]] == [by_alias, by_id, by_parent_id]

    def test_several_children_join_one_organization(self, client: Client, account: Account) -> None:
        ids = seeded(
            client,
            account,
            customer_body(parent="p"),
            customer_body(customerAliases=["p"]),
            customer_body(parent="p"),
        )
        [organization] = fetched(client, account, ids[1])["organizations"]
        assert [m["id"] for m in organization["members"]] == [ids[0], ids[2]]


class TestRefusedFixtures:
    @pytest.mark.parametrize(
        ("row", "field"),
        [
            (
                {"address": {"line1": "1 Main St", "town": "T", "postcode": "1", "country": "XX"}},
                "customers[2].address.country",
            ),
            (
                {"address": {"line1": "1 Main St", "town": "T", "postcode": "1", "country": "US"}},
                "customers[2].address.state",
            ),
            ({"legalName": "   "}, "customers[2].legalName"),
            ({"taxStatus": None}, "customers[2].taxStatus"),
            ({"contacts": [contact(billing_preference="NONE")]}, "customers[2].contacts"),
            ({"contacts": [contact(email="not an email")]}, "customers[2].contacts[0].email"),
            ({"customerAliases": ["x", "x"]}, "customers[2].customerAliases[1]"),
            ({"integrationIds": [{"service": "Stripe", "id": " "}]}, "customers[2].integrationIds[0].id"),
            ({"createdAt": "yesterday"}, "customers[2].createdAt"),
            ({"createdAt": ""}, "customers[2].createdAt"),
            ({"createdAt": "1969-01-01T00:00:00Z"}, "customers[2].createdAt"),
            ({"archivedAt": "2024-13-01"}, "customers[2].archivedAt"),
            (
                {"createdAt": "2024-02-01T00:00:00Z", "archivedAt": "2024-01-31T23:59:59.999Z"},
                "customers[2].archivedAt",
            ),
            ({"id": "not-a-uuid"}, "customers[2].id"),
            ({"parentId": "not-a-uuid"}, "customers[2].parentId"),
            ({"parent": "nobody"}, "customers[2].parent"),
            ({"parentId": UNKNOWN}, "customers[2].parentId"),
            ({"parent": "p", "parentId": UNKNOWN}, "customers[2].parent"),
            ({"parent": "x" * 256}, "customers[2].parent"),
            ({"createdAt": 5}, "customers[2].createdAt"),
            ({"createdAt": "2" * 65}, "customers[2].createdAt"),
            ({"createAt": "2024-01-01T00:00:00Z"}, "customers[2]"),
        ],
    )
    def test_a_broken_row_is_400_naming_the_row_and_field_and_nothing_is_stored(
        self, client: Client, account: Account, row: dict[str, Any], field: str
    ) -> None:
        good = [customer_body(customerAliases=["p"]), customer_body()]
        answer = seed(client, account, *good, customer_body(**row), customer_body())
        assert refused_field(answer) == field
        assert answer.json()["error"]["message"].startswith(field)
        assert listed(client, account)["items"] == []
        # Nothing of the fixture stayed behind: its aliases are free.
        assert seeded(client, account, *good)

    def test_the_first_broken_row_in_fixture_order_is_named(self, client: Client, account: Account) -> None:
        answer = seed(client, account, customer_body(), customer_body(legalName=""), customer_body(legalName=""))
        assert refused_field(answer) == "customers[1].legalName"

    def test_an_id_twice_in_the_fixture_is_400_naming_the_second_row(self, client: Client, account: Account) -> None:
        answer = seed(client, account, customer_body(id=CHOSEN), customer_body(), customer_body(id=CHOSEN))
        assert refused_field(answer) == "customers[2].id"
        assert "customers[0]" in answer.json()["error"]["message"]

    def test_an_alias_twice_in_the_fixture_is_400_naming_the_second_row(self, client: Client, account: Account) -> None:
        answer = seed(client, account, customer_body(customerAliases=["a"]), customer_body(customerAliases=["b", "a"]))
        assert refused_field(answer) == "customers[1].customerAliases[1]"

    def test_an_alias_that_is_another_rows_id_is_400(self, client: Client, account: Account) -> None:
        answer = seed(client, account, customer_body(id=CHOSEN), customer_body(customerAliases=[CHOSEN]))
        assert refused_field(answer) == "customers[1].customerAliases[0]"

    @pytest.mark.parametrize(
        ("rows", "field", "cycle"),
        [
            ([{"customerAliases": ["a"], "parent": "a"}], "customers[0].parent", "customers[0] -> customers[0]"),
            (
                [{}, {"customerAliases": ["a"], "parent": "b"}, {"customerAliases": ["b"], "parent": "a"}],
                "customers[1].parent",
                "customers[1] -> customers[2] -> customers[1]",
            ),
            (
                [
                    {"customerAliases": ["c"], "parent": "a"},
                    {"customerAliases": ["a"], "parent": "b"},
                    {"customerAliases": ["b"], "parent": "a"},
                ],
                "customers[1].parent",
                "customers[1] -> customers[2] -> customers[1]",
            ),
            ([{"id": CHOSEN, "parentId": CHOSEN}], "customers[0].parentId", "customers[0] -> customers[0]"),
        ],
    )
    def test_a_cycle_of_parents_is_400_naming_its_first_row(
        self, client: Client, account: Account, rows: list[dict[str, Any]], field: str, cycle: str
    ) -> None:
        answer = seed(client, account, *(customer_body(**row) for row in rows))
        assert refused_field(answer) == field
        assert cycle in answer.json()["error"]["message"]
        assert listed(client, account)["items"] == []

    def test_a_row_with_more_than_100_ancestors_in_the_fixture_is_400(self, client: Client, account: Account) -> None:
        depth = seeds.MAX_ANCESTORS + 1
        rows = [
            customer_body(customerAliases=[f"level-{n}"], parent=f"level-{n - 1}" if n else None)
            for n in range(depth + 1)
        ]
        answer = seed(client, account, *rows)
        assert refused_field(answer) == f"customers[{depth}].parent"
        assert listed(client, account)["items"] == []

    def test_an_id_the_account_already_has_is_409_naming_the_row(self, client: Client, account: Account) -> None:
        seeded(client, account, customer_body(id=CHOSEN))
        answer = seed(client, account, customer_body(), customer_body(id=CHOSEN))
        assert answer.status_code == 409
        assert answer.json()["error"]["message"].startswith("customers[1].id: ")
        assert listed(client, account)["pagination"]["totalResultSize"] == 1

    def test_an_alias_the_account_already_has_is_409_naming_the_row(self, client: Client, account: Account) -> None:
        create_customer(client, account.headers, customerAliases=["taken"])
        answer = seed(client, account, customer_body(customerAliases=["free", "taken"]))
        assert answer.status_code == 409
        assert answer.json()["error"]["message"].startswith("customers[0].customerAliases[1]: ")
        assert listed(client, account)["pagination"]["totalResultSize"] == 1

    def test_an_alias_that_is_the_id_of_a_customer_of_the_account_is_409(
        self, client: Client, account: Account
    ) -> None:
        existing = create_customer(client, account.headers)
        answer = seed(client, account, customer_body(), customer_body(customerAliases=[existing["id"]]))
        assert answer.status_code == 409
        assert answer.json()["error"]["message"].startswith("customers[1]")

    @pytest.mark.parametrize(
        "body",
        [{}, {"customers": None}, {"customers": {}}, {"customers": [1]}, [], "customers"],
    )
    def test_a_body_that_is_no_fixture_is_400(self, client: Client, account: Account, body: Any) -> None:
        answer = client.post(seed_path(account), json=body, headers=ADMIN)
        assert answer.status_code == 400

    def test_more_than_the_cap_is_refused(self) -> None:
        row = json.dumps(customer_body())
        content = ('{"customers": [' + ",".join([row] * (MAX_SEED_CUSTOMERS + 1)) + "]}").encode()
        with pytest.raises(InvalidInput) as refused:
            seeds.parse_fixture(content, filename="big.json")
        assert refused.value.field == "customers"
        assert str(MAX_SEED_CUSTOMERS) in refused.value.detail

    def test_a_body_over_1_mib_is_413(self, client: Client, account: Account) -> None:
        rows = [customer_body(legalName="x" * 1000) for _ in range(1100)]
        assert seed(client, account, *rows).status_code == 413


class TestAccess:
    def test_a_missing_or_wrong_token_is_401_and_stores_nothing(self, client: Client, account: Account) -> None:
        for headers in ({}, {"Authorization": "Bearer wrong"}, account.headers):
            answer = client.post(seed_path(account), json={"customers": [customer_body()]}, headers=headers)
            assert answer.status_code == 401
        assert listed(client, account)["items"] == []

    @pytest.mark.parametrize("account_id", [UNKNOWN, "not-an-id"])
    def test_an_unknown_account_is_404(self, client: Client, account_id: str) -> None:
        answer = client.post(
            f"/_patron/accounts/{account_id}/seed", json={"customers": [customer_body()]}, headers=ADMIN
        )
        assert answer.status_code == 404
        assert answer.json()["error"]["type"] == "NotFound"

    def test_another_account_is_never_touched(self, client: Client, account: Account, other_account: Account) -> None:
        theirs = create_customer(client, other_account.headers, customerAliases=["shared"])
        freeze(client, other_account, "2040-01-01T00:00:00Z")
        seeded(client, account, customer_body(customerAliases=["shared"], id=theirs["id"]))
        assert [item["id"] for item in listed(client, other_account)["items"]] == [theirs["id"]]
        assert fetched(client, other_account, theirs["id"]) == theirs

    def test_a_parent_only_in_another_account_is_not_found(
        self, client: Client, account: Account, other_account: Account
    ) -> None:
        create_customer(client, other_account.headers, customerAliases=["elsewhere"])
        assert refused_field(seed(client, account, customer_body(parent="elsewhere"))) == "customers[0].parent"

    def test_a_yaml_body_is_415(self, client: Client, account: Account) -> None:
        answer = client.post(
            seed_path(account), content=b"customers: []", headers={**ADMIN, "Content-Type": "application/yaml"}
        )
        assert answer.status_code == 415


YAML_FIXTURE = b"""
x-address: &hq
  line1: 1 Main St
  town: Springfield
  postcode: 01234
  country: GB
customers:
  - legalName: Acme HQ
    address: *hq
    taxStatus: TAXED
    contacts: [{name: Ada, email: ada@acme.test, billingPreference: PRIMARY}]
    customerAliases: [acme-hq]
    createdAt: 2024-01-01T00:00:00Z
    customProperties: {tier: 1, churned: no}
  - legalName: Acme Paris
    address:
      <<: *hq
      town: Paris
    taxStatus: TAXED
    contacts: [{name: Bob, email: bob@acme.test, billingPreference: PRIMARY}]
    parent: acme-hq
    label: ~
"""


class TestParseFixture:
    def test_yaml_reads_every_scalar_as_text_and_follows_anchors_and_merge_keys(self) -> None:
        fixture = seeds.parse_fixture(YAML_FIXTURE, filename="crm.yaml")
        hq, paris = fixture.customers
        assert hq.address.postcode == "01234"
        assert hq.created_at == "2024-01-01T00:00:00Z"
        assert hq.custom_properties == {"tier": "1", "churned": "no"}
        assert (paris.address.town, paris.address.line1, paris.parent, paris.label) == (
            "Paris",
            "1 Main St",
            "acme-hq",
            None,
        )

    def test_a_parsed_fixture_posts_as_json(self, client: Client, account: Account) -> None:
        fixture = seeds.parse_fixture(YAML_FIXTURE, filename="crm.YML")
        headers = {**ADMIN, "Content-Type": "application/json"}
        answer = client.post(seed_path(account), content=msgspec.json.encode(fixture), headers=headers)
        assert answer.status_code == 201, answer.text
        hq, paris = answer.json()["ids"]
        assert fetched(client, account, paris)["organizations"][0]["owner"]["id"] == hq

    def test_json_otherwise(self) -> None:
        content = json.dumps({"customers": [customer_body(legalName="J")]}).encode()
        assert seeds.parse_fixture(content, filename="crm.fixture").customers[0].legal_name == "J"

    @pytest.mark.parametrize(
        ("content", "filename", "field"),
        [
            (b"customers: [", "x.yaml", "body"),
            (b"- 1", "x.yaml", "body"),
            (b"", "x.yaml", "body"),
            (b"a: 1\n---\nb: 2", "x.yaml", "body"),
            (b"a: &a [*a]", "x.yaml", "body"),
            (b"[" * 5000, "x.yaml", "body"),
            (b"customers: [{? [a]: b}]", "x.yaml", "body"),
            (b"customers: [{<<: 1}]", "x.yaml", "body"),
            (
                b"customers: [{legalName: x, address: {country: GB}, taxStatus: TAXED, contacts: []}]",
                "x.yaml",
                "customers[0].address.line1",
            ),
            (b"customers: [{legalName: [x]}]", "x.yml", "customers[0].legalName"),
            (b'{"customers": [', "x.json", "body"),
            (b'{"customers": [{"legalName": 1}]}', "x.json", "customers[0].legalName"),
            (b'{"customers": [{}]}', "x.json", "customers[0].legalName"),
            (b"\xff", "x.json", "body"),
        ],
    )
    def test_what_is_not_a_fixture_is_invalid_input_naming_the_field(
        self, content: bytes, filename: str, field: str
    ) -> None:
        with pytest.raises(InvalidInput) as refused:
            seeds.parse_fixture(content, filename=filename)
        assert refused.value.field == field

    def test_an_alias_bomb_is_refused(self) -> None:
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)]
        with pytest.raises(InvalidInput) as refused:
            seeds.parse_fixture("\n".join(lines).encode(), filename="bomb.yaml")
        assert "values" in refused.value.detail
