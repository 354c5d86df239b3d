"""Organization rules: the owner is never a member, members are customers of the same
account, and no customer may become an ancestor of itself."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Connection

from patron.server import caps, changes, clock, validation
from patron.server.auth import Principal
from patron.server.directory import service as directory
from patron.server.errors import Conflict, InvalidInput, NotFound
from patron.server.organizations import repository
from patron.wire import models as wire


def _refuse_cycles(
    tx: Connection, who: Principal, owner_id: uuid.UUID, member_ids: Sequence[uuid.UUID], field: str
) -> None:
    """A member may not be the owner or any ancestor of the owner. The caller holds the
    account's hierarchy lock (`repository.lock_hierarchy`)."""
    ancestors: set[uuid.UUID] = {owner_id}
    frontier = {owner_id}
    while frontier:
        frontier = repository.parents_of(tx, who.account_id, list(frontier)) - ancestors
        ancestors |= frontier
    for ident in member_ids:
        if ident in ancestors:
            raise InvalidInput(field, f"customer {ident} is an ancestor of {owner_id}; that would make a cycle")


def _locked(tx: Connection, who: Principal, organization_id: str) -> tuple[uuid.UUID, uuid.UUID]:
    """(id, owner) of the organization a path names, its row locked (`repository.lock`)."""
    row = repository.lock(tx, who.account_id, validation.parse_id(organization_id, "organization"))
    if row is None:
        raise NotFound("organization", organization_id)
    return row.id, row.owner_id


def _refuse_too_many(count: int, field: str) -> None:
    if count > caps.MEMBERS_PER_ORGANIZATION:
        raise InvalidInput(field, f"an organization has at most {caps.MEMBERS_PER_ORGANIZATION} members")


def create(tx: Connection, who: Principal, request: wire.CustomerOrganizationRequest) -> wire.CustomerOrganization:
    """A new organization; its owner's unique key decides between racing creates (409)."""
    owner_id = directory.in_body(tx, who, request.owner_id, "ownerId")
    # Sequence's own example lists the owner among the members: it is dropped, not refused.
    members = [i for i in directory.all_in_body(tx, who, request.member_ids, "memberIds") if i != owner_id]
    _refuse_too_many(len(members), "memberIds")
    repository.lock_hierarchy(tx, who.account_id)
    _refuse_cycles(tx, who, owner_id, members, "memberIds")
    organization_id = clock.new_id()
    stored = repository.insert_organization(
        tx, account_id=who.account_id, organization_id=organization_id, owner_id=owner_id, now=clock.utc_now()
    )
    if not stored:
        raise Conflict(f"customer {owner_id} already owns an organization")
    repository.add_members(tx, who.account_id, organization_id, members)
    changes.organization(organization_id)
    return render(tx, who.account_id, [organization_id])[organization_id]


def add_members(
    tx: Connection, who: Principal, organization_id: str, request: wire.CustomerOrganizationMembers
) -> wire.CustomerOrganization:
    org_id, wanted, current = _membership_change(tx, who, organization_id, request)
    new = [i for i in wanted if i not in current]
    _refuse_too_many(len(current) + len(new), "customerIds")
    repository.add_members(tx, who.account_id, org_id, new)
    changes.organization(org_id)
    return render(tx, who.account_id, [org_id])[org_id]


def replace_members(
    tx: Connection, who: Principal, organization_id: str, request: wire.CustomerOrganizationMembers
) -> wire.CustomerOrganization:
    org_id, wanted, current = _membership_change(tx, who, organization_id, request)
    _refuse_too_many(len(wanted), "customerIds")
    repository.remove_members(tx, who.account_id, org_id, current)
    repository.add_members(tx, who.account_id, org_id, wanted)
    changes.touched(current)
    changes.organization(org_id)
    return render(tx, who.account_id, [org_id])[org_id]


def _membership_change(
    tx: Connection, who: Principal, organization_id: str, request: wire.CustomerOrganizationMembers
) -> tuple[uuid.UUID, list[uuid.UUID], list[uuid.UUID]]:
    """(organization, the members asked for, its members now), once the members asked for
    are checked: customers of the account, not the owner, no cycle among the new ones.
    The organization stays locked, so its members stay as read until the change commits;
    the account's hierarchy lock (taken first) keeps the cycle check true until then."""
    repository.lock_hierarchy(tx, who.account_id)
    org_id, owner_id = _locked(tx, who, organization_id)
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
    (created on demand; racing creates naming one new parent all join the one stored).
    Memberships made through the organization endpoints stay. Both organizations are
    locked in id order, so two customers moving in opposite directions never deadlock."""
    if parent_id is None and previous_parent_id is None:
        return
    if parent_id is not None:
        _refuse_as_parent(tx, who, customer_id, parent_id)
    previous = None
    if previous_parent_id is not None and previous_parent_id != parent_id:
        previous = repository.owned_by(tx, who.account_id, previous_parent_id)
    target = _organization_of(tx, who, parent_id) if parent_id is not None else None
    for org_id in sorted({i for i in (previous, target) if i is not None}):
        repository.lock(tx, who.account_id, org_id)
    if previous is not None:
        repository.remove_members(tx, who.account_id, previous, [customer_id])
        changes.organization(previous)
    if target is not None and repository.add_members(tx, who.account_id, target, [customer_id]):
        _refuse_too_many(repository.count_members(tx, who.account_id, target), "parentId")
        changes.organization(target)


def _refuse_as_parent(tx: Connection, who: Principal, customer_id: uuid.UUID, parent_id: uuid.UUID) -> None:
    if parent_id == customer_id:
        raise InvalidInput("parentId", "a customer cannot be its own parent")
    if not directory.exists(tx, who, parent_id):
        raise InvalidInput("parentId", f"no customer with id {parent_id}")
    repository.lock_hierarchy(tx, who.account_id)
    _refuse_cycles(tx, who, parent_id, [customer_id], "parentId")


def _organization_of(tx: Connection, who: Principal, owner_id: uuid.UUID) -> uuid.UUID:
    """The organization `owner_id` owns, created if it owns none: INSERT ... ON CONFLICT
    DO NOTHING, then the stored one (a racing create's, once it committed)."""
    new_id = clock.new_id()
    stored = repository.insert_organization(
        tx, account_id=who.account_id, organization_id=new_id, owner_id=owner_id, now=clock.utc_now()
    )
    found = new_id if stored else repository.owned_by(tx, who.account_id, owner_id)
    assert found is not None, "the conflicting organization is committed once the insert returns"
    return found


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


def people(tx: Connection, account_id: uuid.UUID, organization_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """The owners and members of these organizations."""
    found = {row.customer_id for row in repository.members_of(tx, account_id, organization_ids)}
    for org_id in organization_ids:
        row = repository.get(tx, account_id, org_id)
        if row is not None:
            found.add(row.owner_id)
    return found


def peers(tx: Connection, account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Everyone sharing an organization with one of these customers (themselves included)."""
    links = repository.touching(tx, account_id, customer_ids) if customer_ids else []
    return people(tx, account_id, sorted({link.id for link in links})) | set(customer_ids)
