"""Organization rules: the owner is never a member, members are customers of the same
account, and no customer may become an ancestor of itself."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Connection

from patron.server import clock, validation
from patron.server.auth import Principal
from patron.server.directory import service as directory
from patron.server.errors import Conflict, InvalidInput, NotFound
from patron.server.organizations import repository
from patron.wire import models as wire


def _refuse_cycles(
    tx: Connection, who: Principal, owner_id: uuid.UUID, member_ids: Sequence[uuid.UUID], field: str
) -> None:
    """A member may not be the owner or any ancestor of the owner."""
    ancestors: set[uuid.UUID] = {owner_id}
    frontier = {owner_id}
    while frontier:
        frontier = repository.parents_of(tx, who.account_id, list(frontier)) - ancestors
        ancestors |= frontier
    for ident in member_ids:
        if ident in ancestors:
            raise InvalidInput(field, f"customer {ident} is an ancestor of {owner_id}; that would make a cycle")


def _organization(tx: Connection, who: Principal, organization_id: str) -> tuple[uuid.UUID, uuid.UUID]:
    row = repository.get(tx, who.account_id, validation.parse_id(organization_id, "organization"))
    if row is None:
        raise NotFound("organization", organization_id)
    return row.id, row.owner_id


def create(tx: Connection, who: Principal, request: wire.CustomerOrganizationRequest) -> wire.CustomerOrganization:
    owner_id = directory.in_body(tx, who, request.owner_id, "ownerId")
    # Sequence's own example lists the owner among the members: it is dropped, not refused.
    members = [i for i in directory.all_in_body(tx, who, request.member_ids, "memberIds") if i != owner_id]
    if repository.owned_by(tx, who.account_id, owner_id) is not None:
        raise Conflict(f"customer {owner_id} already owns an organization")
    _refuse_cycles(tx, who, owner_id, members, "memberIds")
    organization_id = clock.new_id()
    repository.insert_organization(
        tx, account_id=who.account_id, organization_id=organization_id, owner_id=owner_id, now=clock.utc_now()
    )
    repository.add_members(tx, who.account_id, organization_id, members)
    return render(tx, who.account_id, [organization_id])[organization_id]


def add_members(
    tx: Connection, who: Principal, organization_id: str, request: wire.CustomerOrganizationMembers
) -> wire.CustomerOrganization:
    org_id, wanted, current = _membership_change(tx, who, organization_id, request)
    repository.add_members(tx, who.account_id, org_id, [i for i in wanted if i not in current])
    return render(tx, who.account_id, [org_id])[org_id]


def replace_members(
    tx: Connection, who: Principal, organization_id: str, request: wire.CustomerOrganizationMembers
) -> wire.CustomerOrganization:
    org_id, wanted, current = _membership_change(tx, who, organization_id, request)
    repository.remove_members(tx, who.account_id, org_id, current)
    repository.add_members(tx, who.account_id, org_id, wanted)
    return render(tx, who.account_id, [org_id])[org_id]


def _membership_change(
    tx: Connection, who: Principal, organization_id: str, request: wire.CustomerOrganizationMembers
) -> tuple[uuid.UUID, list[uuid.UUID], list[uuid.UUID]]:
    """(organization, the members asked for, its members now), once the members asked for
    are checked: customers of the account, not the owner, no cycle among the new ones."""
    org_id, owner_id = _organization(tx, who, organization_id)
    wanted = directory.all_in_body(tx, who, request.customer_ids, "customerIds")
    if owner_id in wanted:
        raise InvalidInput("customerIds", "the owner of an organization cannot be one of its members")
    current = repository.member_ids(tx, who.account_id, org_id)
    _refuse_cycles(tx, who, owner_id, [i for i in wanted if i not in current], "customerIds")
    return org_id, wanted, current


def move_to_parent(
    tx: Connection,
    who: Principal,
    customer_id: uuid.UUID,
    *,
    parent_id: uuid.UUID | None,
    previous_parent_id: uuid.UUID | None,
) -> None:
    """Apply `parentId`: leave the previous parent's organization, join the new parent's
    (created on demand). Memberships made through the organization endpoints stay."""
    if parent_id == previous_parent_id:
        if parent_id is None:
            return
        org_id = repository.owned_by(tx, who.account_id, parent_id)
        if org_id is not None and customer_id in repository.member_ids(tx, who.account_id, org_id):
            return
    if previous_parent_id is not None and previous_parent_id != parent_id:
        previous_org = repository.owned_by(tx, who.account_id, previous_parent_id)
        if previous_org is not None:
            repository.remove_members(tx, who.account_id, previous_org, [customer_id])
    if parent_id is None:
        return
    if parent_id == customer_id:
        raise InvalidInput("parentId", "a customer cannot be its own parent")
    if not directory.exists(tx, who, parent_id):
        raise InvalidInput("parentId", f"no customer with id {parent_id}")
    _refuse_cycles(tx, who, parent_id, [customer_id], "parentId")
    org_id = repository.owned_by(tx, who.account_id, parent_id)
    if org_id is None:
        org_id = clock.new_id()
        repository.insert_organization(
            tx, account_id=who.account_id, organization_id=org_id, owner_id=parent_id, now=clock.utc_now()
        )
    if customer_id not in repository.member_ids(tx, who.account_id, org_id):
        repository.add_members(tx, who.account_id, org_id, [customer_id])


def render(
    tx: Connection, account_id: uuid.UUID, organization_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, wire.CustomerOrganization]:
    owners = {}
    for org_id in organization_ids:
        row = repository.get(tx, account_id, org_id)
        assert row is not None
        owners[org_id] = row.owner_id
    return _render(tx, account_id, owners)


def _render(
    tx: Connection, account_id: uuid.UUID, owners: dict[uuid.UUID, uuid.UUID]
) -> dict[uuid.UUID, wire.CustomerOrganization]:
    members: dict[uuid.UUID, list[uuid.UUID]] = {org_id: [] for org_id in owners}
    for row in repository.members_of(tx, account_id, list(owners)):
        members[row.organization_id].append(row.customer_id)
    everyone = set(owners.values()) | {i for ids in members.values() for i in ids}
    names = directory.names(tx, account_id, list(everyone))
    return {
        org_id: wire.CustomerOrganization(
            id=str(org_id),
            owner=wire.CustomerIdWithName(id=str(owner_id), name=names[owner_id]),
            members=[wire.CustomerIdWithName(id=str(i), name=names[i]) for i in members[org_id]],
        )
        for org_id, owner_id in owners.items()
    }


def of_customers(
    tx: Connection, account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[wire.CustomerOrganization]]:
    """Every organization each customer owns or belongs to (owned first)."""
    result: dict[uuid.UUID, list[wire.CustomerOrganization]] = {i: [] for i in customer_ids}
    if not customer_ids:
        return result
    links = repository.touching(tx, account_id, customer_ids)
    if not links:
        return result
    rendered = _render(tx, account_id, {row.id: row.owner_id for row in links})
    for row in sorted(links, key=lambda r: (r.owner_id != r.customer_id, str(r.id))):
        result[row.customer_id].append(rendered[row.id])
    return result
