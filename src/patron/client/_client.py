"""`Client` and `AsyncClient`: every operation of `_api`, listed once in `Operations`,
run by the blocking or the asyncio executor."""

from __future__ import annotations

from patron.client import _api
from patron.client._exec import AsyncExecutor, SyncExecutor
from patron.client._methods import Methods, operation, pages


class Operations(Methods):
    """The Sequence Customers API (2024-07-30) and its notification policies, as methods.
    On `Client` each returns its answer as a wire model; on `AsyncClient`, a coroutine of
    it, and the `iter_*` methods are `async for` iterators."""

    # customers
    list_customers = operation(_api.list_customers)
    iter_customers = pages(_api.list_customers)
    create_customer = operation(_api.create_customer)
    get_customer = operation(_api.get_customer)
    update_customer = operation(_api.update_customer)
    archive_customer = operation(_api.archive_customer)
    list_custom_property_keys = operation(_api.list_custom_property_keys)
    # organizations
    create_organization = operation(_api.create_organization)
    add_organization_members = operation(_api.add_organization_members)
    replace_organization_members = operation(_api.replace_organization_members)
    # aliases
    list_aliases = operation(_api.list_aliases)
    iter_aliases = pages(_api.list_aliases)
    create_alias = operation(_api.create_alias)
    update_alias = operation(_api.update_alias)
    delete_alias = operation(_api.delete_alias)
    list_customer_aliases = operation(_api.list_customer_aliases)
    get_customer_by_alias = operation(_api.get_customer_by_alias)
    # contacts
    list_contacts = operation(_api.list_contacts)
    create_contact = operation(_api.create_contact)
    update_contact = operation(_api.update_contact)
    archive_contact = operation(_api.archive_contact)
    # notification policies
    list_notification_policies = operation(_api.list_notification_policies)
    iter_notification_policies = pages(_api.list_notification_policies)
    create_notification_policy = operation(_api.create_notification_policy)
    get_notification_policy = operation(_api.get_notification_policy)
    delete_notification_policy = operation(_api.delete_notification_policy)
    add_policy_recipients = operation(_api.add_policy_recipients)
    remove_policy_recipient = operation(_api.remove_policy_recipient)
    add_policy_notification_types = operation(_api.add_policy_notification_types)
    remove_policy_notification_type = operation(_api.remove_policy_notification_type)


class Client(SyncExecutor, Operations):
    """A blocking client of the API at `base_url` (`http://HOST:PORT/api`), with an
    account's credentials. Use it in `with`, or `close()` it."""


class AsyncClient(AsyncExecutor, Operations):
    """An asyncio client of the API at `base_url`; every operation is a coroutine. Use it in
    `async with`, or `await aclose()` it."""
