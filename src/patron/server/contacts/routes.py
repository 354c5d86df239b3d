"""HTTP routes for a customer's contacts."""

from __future__ import annotations

from litestar import Response
from litestar.params import Parameter

from patron.server.contacts import service
from patron.server.web import route
from patron.server.web.route import Http
from patron.wire import models as wire

TAGS = ["Contacts"]


@route.operation(
    "GET",
    "/customers/{customer:str}/contacts",
    "getCustomersByCustomerContacts",
    "List all contacts for a customer",
    tags=TAGS,
    errors=(404,),
)
async def list_contacts(
    request: Http,
    customer: str,
    include_archived: bool = Parameter(query="includeArchived", default=False, description="Include archived contacts"),
) -> wire.ContactList:
    return await route.read(request, service.list_for, customer, include_archived=include_archived)


@route.operation(
    "POST",
    "/customers/{customer:str}/contacts",
    "postCustomersByCustomerContacts",
    "Create a new contact",
    tags=TAGS,
    status=201,
    errors=(404,),
    response=wire.Contact,
)
async def create_contact(request: Http, customer: str, data: wire.ContactRequest) -> Response[bytes]:
    return await route.write(request, service.create, customer, data)


@route.operation(
    "PUT",
    "/customers/{customer:str}/contacts/{id:str}",
    "putCustomersByCustomerContactsById",
    "Update a contact",
    tags=TAGS,
    errors=(404,),
    response=wire.Contact,
)
async def update_contact(request: Http, customer: str, id: str, data: wire.ContactRequest) -> Response[bytes]:
    return await route.write(request, service.update, customer, id, data)


@route.operation(
    "POST",
    "/customers/{customer:str}/contacts/{id:str}/archive",
    "postCustomersByCustomerContactsByIdArchive",
    "Archive a contact",
    tags=TAGS,
    errors=(404,),
    response=wire.Contact,
)
async def archive_contact(request: Http, customer: str, id: str) -> Response[bytes]:
    return await route.write(request, service.archive, customer, id)


ROUTES = [list_contacts, create_contact, update_contact, archive_contact]
