"""HTTP routes for customer organizations (parent/child)."""

from __future__ import annotations

from litestar import Response

from patron.server.organizations import service
from patron.server.web import route
from patron.server.web.route import Http
from patron.wire import models as wire

TAGS = ["Organizations"]


@route.operation(
    "POST",
    "/customer-organizations",
    "postCustomerOrganizations",
    "Create a customer organization",
    tags=TAGS,
    status=201,
    errors=(409,),
    response=wire.CustomerOrganization,
)
async def create_organization(request: Http, data: wire.CustomerOrganizationRequest) -> Response[bytes]:
    return await route.write(request, service.create, data)


@route.operation(
    "POST",
    "/customer-organizations/{id:str}/members",
    "postCustomerOrganizationsByIdMembers",
    "Add customers to a customer organization",
    tags=TAGS,
    errors=(404,),
    response=wire.CustomerOrganization,
)
async def add_members(request: Http, id: str, data: wire.CustomerOrganizationMembers) -> Response[bytes]:
    return await route.write(request, service.add_members, id, data)


@route.operation(
    "PUT",
    "/customer-organizations/{id:str}/members",
    "putCustomerOrganizationsByIdMembers",
    "Replace the members of a customer organization",
    tags=TAGS,
    errors=(404,),
    response=wire.CustomerOrganization,
)
async def replace_members(request: Http, id: str, data: wire.CustomerOrganizationMembers) -> Response[bytes]:
    return await route.write(request, service.replace_members, id, data)


ROUTES = [create_organization, add_members, replace_members]
