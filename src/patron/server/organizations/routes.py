"""HTTP routes for customer organizations (parent/child)."""

from __future__ import annotations

from litestar import post, put

from patron.server.auth import Principal
from patron.server.db.engine import Database
from patron.server.organizations import service
from patron.server.web.deps import errors
from patron.wire import models as wire

TAGS = ["Organizations"]


@post(
    "/customer-organizations",
    operation_id="postCustomerOrganizations",
    summary="Create a customer organization",
    tags=TAGS,
    status_code=201,
    responses=errors(409),
    sync_to_thread=True,
)
def create_organization(
    db: Database, who: Principal, data: wire.CustomerOrganizationRequest
) -> wire.CustomerOrganization:
    with db.write() as tx:
        return service.create(tx, who, data)


@post(
    "/customer-organizations/{id:str}/members",
    operation_id="postCustomerOrganizationsByIdMembers",
    summary="Add customers to a customer organization",
    tags=TAGS,
    status_code=200,
    responses=errors(404),
    sync_to_thread=True,
)
def add_members(
    db: Database, who: Principal, id: str, data: wire.CustomerOrganizationMembers
) -> wire.CustomerOrganization:
    with db.write() as tx:
        return service.add_members(tx, who, id, data)


@put(
    "/customer-organizations/{id:str}/members",
    operation_id="putCustomerOrganizationsByIdMembers",
    summary="Replace the members of a customer organization",
    tags=TAGS,
    responses=errors(404),
    sync_to_thread=True,
)
def replace_members(
    db: Database, who: Principal, id: str, data: wire.CustomerOrganizationMembers
) -> wire.CustomerOrganization:
    with db.write() as tx:
        return service.replace_members(tx, who, id, data)


ROUTES = [create_organization, add_members, replace_members]
