"""HTTP routes for a customer's contacts."""

from __future__ import annotations

from litestar import get, post, put
from litestar.params import Parameter

from patron.server.auth import Principal
from patron.server.contacts import service
from patron.server.db.engine import Database
from patron.server.web.deps import errors
from patron.wire import models as wire

TAGS = ["Contacts"]


@get(
    "/customers/{customer:str}/contacts",
    operation_id="getCustomersByCustomerContacts",
    summary="List all contacts for a customer",
    tags=TAGS,
    responses=errors(404),
    sync_to_thread=True,
)
def list_contacts(
    db: Database,
    who: Principal,
    customer: str,
    include_archived: bool = Parameter(query="includeArchived", default=False, description="Include archived contacts"),
) -> wire.ContactList:
    with db.read() as tx:
        return service.list_for(tx, who, customer, include_archived=include_archived)


@post(
    "/customers/{customer:str}/contacts",
    operation_id="postCustomersByCustomerContacts",
    summary="Create a new contact",
    tags=TAGS,
    status_code=201,
    responses=errors(404),
    sync_to_thread=True,
)
def create_contact(db: Database, who: Principal, customer: str, data: wire.ContactRequest) -> wire.Contact:
    with db.write() as tx:
        return service.create(tx, who, customer, data)


@put(
    "/customers/{customer:str}/contacts/{id:str}",
    operation_id="putCustomersByCustomerContactsById",
    summary="Update a contact",
    tags=TAGS,
    responses=errors(404),
    sync_to_thread=True,
)
def update_contact(db: Database, who: Principal, customer: str, id: str, data: wire.ContactRequest) -> wire.Contact:
    with db.write() as tx:
        return service.update(tx, who, customer, id, data)


@post(
    "/customers/{customer:str}/contacts/{id:str}/archive",
    operation_id="postCustomersByCustomerContactsByIdArchive",
    summary="Archive a contact",
    tags=TAGS,
    status_code=200,
    responses=errors(404),
    sync_to_thread=True,
)
def archive_contact(db: Database, who: Principal, customer: str, id: str) -> wire.Contact:
    with db.write() as tx:
        return service.archive(tx, who, customer, id)


ROUTES = [list_contacts, create_contact, update_contact, archive_contact]
