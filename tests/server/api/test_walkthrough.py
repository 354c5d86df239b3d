"""A realistic flow from start to end: a parent with three children, each with aliases and
contacts; list, filter, archive, look up by alias, move a child to another parent."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient

from tests.conftest import Account
from tests.factories import contact, create_customer, customer_body

Client = TestClient[Litestar]


def test_parent_and_children_through_their_life(client: Client, account: Account) -> None:
    headers = account.headers
    parent = create_customer(
        client,
        headers,
        legalName="Umbrella Holdings",
        customerAliases=["crm-umbrella"],
        contacts=[contact(name="Group CFO", email="cfo@umbrella.test")],
    )
    children = []
    for index, region in enumerate(["north", "south", "east"]):
        child = create_customer(
            client,
            headers,
            legalName=f"Umbrella {region.title()}",
            parentId=parent["id"],
            customerAliases=[f"crm-{region}", f"erp-{index}"],
            contacts=[
                contact(name=f"{region} billing", email=f"billing@{region}.umbrella.test"),
                contact(name=f"{region} ops", email=f"ops@{region}.umbrella.test", billing_preference="NONE"),
            ],
            customProperties={"region": region},
        )
        children.append(child)

    # The parent's organization lists the three children, in the order they joined.
    fetched_parent = client.get(f"/api/customers/{parent['id']}", headers=headers).json()
    [organization] = fetched_parent["organizations"]
    assert [m["name"] for m in organization["members"]] == ["Umbrella North", "Umbrella South", "Umbrella East"]

    # List: four customers, every child shows the organization.
    page = client.get(
        "/api/customers", params={"legalName": "umbrella", "sortBy": "legalName", "sortOrder": "ASC"}, headers=headers
    ).json()
    assert [i["legalName"] for i in page["items"]] == [
        "Umbrella East",
        "Umbrella Holdings",
        "Umbrella North",
        "Umbrella South",
    ]
    assert page["pagination"]["totalResultSize"] == 4

    # Filter by the email of a child's contact (any contact, not only the billing one).
    by_email = client.get("/api/customers", params={"email": "OPS@south.umbrella.test"}, headers=headers).json()
    assert [i["id"] for i in by_email["items"]] == [children[1]["id"]]

    # Archive a child: hidden from the list, still found by alias with archivedAt.
    archived = client.post(f"/api/customers/{children[2]['id']}/archive", headers=headers).json()
    listed = client.get("/api/customers", headers=headers).json()
    assert children[2]["id"] not in [i["id"] for i in listed["items"]]
    assert listed["pagination"]["totalResultSize"] == 3
    found = client.get("/api/customers/by-alias/crm-east", headers=headers).json()
    assert found["id"] == children[2]["id"]
    assert found["archivedAt"] == archived["archivedAt"]
    assert found["email"] == "billing@east.umbrella.test"
    assert found["billingEmails"] == ["billing@east.umbrella.test"]

    # Move a child to another parent.
    other = create_customer(client, headers, legalName="Wayne Enterprises")
    north = children[0]
    moved = client.put(
        f"/api/customers/{north['id']}",
        json=customer_body(
            legalName="Umbrella North",
            parentId=other["id"],
            contacts=[contact(name="north billing", email="billing@north.umbrella.test")],
        ),
        headers=headers,
    ).json()
    assert [o["owner"]["name"] for o in moved["organizations"]] == ["Wayne Enterprises"]
    assert moved["contacts"][0]["id"] == north["contacts"][0]["id"]
    assert moved["customProperties"] == {"region": "north"}
    after_move = client.get(f"/api/customers/{parent['id']}", headers=headers).json()["organizations"][0]
    assert [m["name"] for m in after_move["members"]] == ["Umbrella South", "Umbrella East"]
    assert client.get("/api/customers/by-alias/erp-0", headers=headers).json()["id"] == north["id"]
    assert client.get("/api/customer-custom-property-keys", headers=headers).json() == {"items": ["region"]}
