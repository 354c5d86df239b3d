"""Organizations (parent/child) and `parentId`."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.conftest import Account
from tests.factories import create_customer, customer_body

Client = TestClient[Litestar]
MISSING = "01890000-0000-7000-8000-000000000000"


def organize(client: Client, account: Account, owner: str, members: list[str]) -> Any:
    return client.post(
        "/api/customer-organizations", json={"ownerId": owner, "memberIds": members}, headers=account.headers
    )


def member_ids(organization: dict[str, Any]) -> list[str]:
    return [m["id"] for m in organization["members"]]


class TestCreateOrganization:
    def test_returns_201_with_owner_and_member_names(self, client: Client, account: Account) -> None:
        parent = create_customer(client, account.headers, legalName="Parent plc")
        child = create_customer(client, account.headers, legalName="Child Ltd")
        response = organize(client, account, parent["id"], [child["id"]])
        assert response.status_code == 201
        organization = response.json()
        assert organization["owner"] == {"id": parent["id"], "name": "Parent plc"}
        assert organization["members"] == [{"id": child["id"], "name": "Child Ltd"}]

    def test_the_owner_is_dropped_from_the_members(self, client: Client, account: Account) -> None:
        parent = create_customer(client, account.headers)
        child = create_customer(client, account.headers)
        organization = organize(client, account, parent["id"], [child["id"], parent["id"]]).json()
        assert member_ids(organization) == [child["id"]]

    def test_empty_members_are_allowed(self, client: Client, account: Account) -> None:
        parent = create_customer(client, account.headers)
        assert organize(client, account, parent["id"], []).json()["members"] == []

    def test_both_sides_show_the_organization(self, client: Client, account: Account) -> None:
        parent = create_customer(client, account.headers)
        child = create_customer(client, account.headers)
        organization = organize(client, account, parent["id"], [child["id"]]).json()
        for customer in (parent, child):
            fetched = client.get(f"/api/customers/{customer['id']}", headers=account.headers).json()
            assert fetched["organizations"] == [organization]
        listed = client.get("/api/customers", headers=account.headers).json()["items"]
        assert all(item["organizations"] == [organization] for item in listed)

    def test_a_second_organization_for_the_same_owner_is_409(self, client: Client, account: Account) -> None:
        parent = create_customer(client, account.headers)
        organize(client, account, parent["id"], [])
        assert organize(client, account, parent["id"], []).status_code == 409

    @pytest.mark.parametrize("bad", ["nope", MISSING])
    def test_unknown_ids_are_400(self, client: Client, account: Account, bad: str) -> None:
        parent = create_customer(client, account.headers)
        assert organize(client, account, bad, []).status_code == 400
        response = organize(client, account, parent["id"], [bad])
        assert response.status_code == 400
        assert response.json()["error"]["errors"][0]["field"].startswith("memberIds")

    def test_other_accounts_customers_are_400(self, client: Client, account: Account, other_account: Account) -> None:
        parent = create_customer(client, account.headers)
        theirs = create_customer(client, other_account.headers)
        assert organize(client, account, parent["id"], [theirs["id"]]).status_code == 400
        assert organize(client, account, theirs["id"], []).status_code == 400

    def test_cycles_are_400(self, client: Client, account: Account) -> None:
        grandparent = create_customer(client, account.headers)
        parent = create_customer(client, account.headers)
        child = create_customer(client, account.headers)
        organize(client, account, grandparent["id"], [parent["id"]])
        organize(client, account, parent["id"], [child["id"]])
        response = organize(client, account, child["id"], [grandparent["id"]])
        assert response.status_code == 400
        assert "cycle" in response.json()["error"]["message"]


class TestMembers:
    def _setup(self, client: Client, account: Account) -> tuple[str, list[str]]:
        parent = create_customer(client, account.headers)
        kids = [create_customer(client, account.headers)["id"] for _ in range(3)]
        organization = organize(client, account, parent["id"], [kids[0]]).json()
        return organization["id"], kids

    def test_add_appends_and_keeps_existing(self, client: Client, account: Account) -> None:
        org_id, kids = self._setup(client, account)
        response = client.post(
            f"/api/customer-organizations/{org_id}/members", json={"customerIds": kids[1:]}, headers=account.headers
        )
        assert response.status_code == 200
        assert member_ids(response.json()) == kids

    def test_adding_a_member_twice_changes_nothing(self, client: Client, account: Account) -> None:
        org_id, kids = self._setup(client, account)
        url = f"/api/customer-organizations/{org_id}/members"
        response = client.post(url, json={"customerIds": [kids[0]]}, headers=account.headers)
        assert member_ids(response.json()) == [kids[0]]

    def test_replace_sets_exactly_the_given_members(self, client: Client, account: Account) -> None:
        org_id, kids = self._setup(client, account)
        response = client.put(
            f"/api/customer-organizations/{org_id}/members", json={"customerIds": kids[1:]}, headers=account.headers
        )
        assert response.status_code == 200
        assert member_ids(response.json()) == kids[1:]
        removed = client.get(f"/api/customers/{kids[0]}", headers=account.headers).json()
        assert removed["organizations"] == []

    def test_membership_in_other_organizations_is_unaffected(self, client: Client, account: Account) -> None:
        org_id, kids = self._setup(client, account)
        other_parent = create_customer(client, account.headers)
        other = organize(client, account, other_parent["id"], [kids[0]]).json()
        client.put(f"/api/customer-organizations/{org_id}/members", json={"customerIds": []}, headers=account.headers)
        fetched = client.get(f"/api/customers/{kids[0]}", headers=account.headers).json()
        assert fetched["organizations"] == [other]

    def test_the_owner_cannot_be_a_member(self, client: Client, account: Account) -> None:
        parent = create_customer(client, account.headers)
        org_id = organize(client, account, parent["id"], []).json()["id"]
        for method in ("POST", "PUT"):
            response = client.request(
                method,
                f"/api/customer-organizations/{org_id}/members",
                json={"customerIds": [parent["id"]]},
                headers=account.headers,
            )
            assert response.status_code == 400

    def test_unknown_organization_is_404(self, client: Client, account: Account) -> None:
        for method in ("POST", "PUT"):
            response = client.request(
                method,
                f"/api/customer-organizations/{MISSING}/members",
                json={"customerIds": []},
                headers=account.headers,
            )
            assert response.status_code == 404

    def test_unknown_member_is_400(self, client: Client, account: Account) -> None:
        org_id, _ = self._setup(client, account)
        response = client.post(
            f"/api/customer-organizations/{org_id}/members", json={"customerIds": [MISSING]}, headers=account.headers
        )
        assert response.status_code == 400


class TestParentId:
    def test_create_with_parent_joins_the_parents_organization(self, client: Client, account: Account) -> None:
        parent = create_customer(client, account.headers, legalName="Parent")
        child = create_customer(client, account.headers, legalName="Child", parentId=parent["id"])
        [organization] = child["organizations"]
        assert organization["owner"] == {"id": parent["id"], "name": "Parent"}
        assert organization["members"] == [{"id": child["id"], "name": "Child"}]
        sibling = create_customer(client, account.headers, parentId=parent["id"])
        assert sibling["organizations"][0]["id"] == organization["id"]
        assert len(sibling["organizations"][0]["members"]) == 2

    def test_update_moves_the_child_to_another_parent(self, client: Client, account: Account) -> None:
        first = create_customer(client, account.headers)
        second = create_customer(client, account.headers)
        child = create_customer(client, account.headers, parentId=first["id"])
        moved = client.put(
            f"/api/customers/{child['id']}", json=customer_body(parentId=second["id"]), headers=account.headers
        ).json()
        assert [o["owner"]["id"] for o in moved["organizations"]] == [second["id"]]
        assert (
            client.get(f"/api/customers/{first['id']}", headers=account.headers).json()["organizations"][0]["members"]
            == []
        )

    def test_removing_parent_id_detaches_the_child(self, client: Client, account: Account) -> None:
        parent = create_customer(client, account.headers)
        child = create_customer(client, account.headers, parentId=parent["id"])
        detached = client.put(f"/api/customers/{child['id']}", json=customer_body(), headers=account.headers).json()
        assert detached["organizations"] == []

    def test_memberships_from_the_organization_endpoints_survive_a_put(self, client: Client, account: Account) -> None:
        parent = create_customer(client, account.headers)
        child = create_customer(client, account.headers)
        organize(client, account, parent["id"], [child["id"]])
        updated = client.put(f"/api/customers/{child['id']}", json=customer_body(), headers=account.headers).json()
        assert [o["owner"]["id"] for o in updated["organizations"]] == [parent["id"]]

    @pytest.mark.parametrize("parent_id", ["nope", MISSING])
    def test_unknown_parent_is_400(self, client: Client, account: Account, parent_id: str) -> None:
        response = client.post("/api/customers", json=customer_body(parentId=parent_id), headers=account.headers)
        assert response.status_code == 400
        assert response.json()["error"]["errors"][0]["field"] == "parentId"

    def test_a_customer_cannot_become_its_own_ancestor(self, client: Client, account: Account) -> None:
        top = create_customer(client, account.headers)
        middle = create_customer(client, account.headers, parentId=top["id"])
        response = client.put(
            f"/api/customers/{top['id']}", json=customer_body(parentId=middle["id"]), headers=account.headers
        )
        assert response.status_code == 400
        own = client.put(f"/api/customers/{top['id']}", json=customer_body(parentId=top["id"]), headers=account.headers)
        assert own.status_code == 400
