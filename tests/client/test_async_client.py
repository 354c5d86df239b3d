"""`AsyncClient` against the real app, in process (litestar's AsyncTestClient, an
`httpx.AsyncClient` over the app's ASGI interface): every operation and the errors, each
test one `asyncio.run`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from patron.client import AsyncClient, BadRequest, Conflict, NotFound, Unauthorized
from patron.wire import models as wire
from patron.wire.enums import NotificationType
from tests.client.conftest import API, contact, customer, webhook_policy
from tests.conftest import Account

T = TypeVar("T")


def run(app: Litestar, account: Account, scenario: Callable[[AsyncClient], Awaitable[T]]) -> T:
    async def main() -> T:
        async with AsyncTestClient(app, base_url=API) as http:
            return await scenario(AsyncClient(API, account.client_id, account.client_secret, http=http))

    return asyncio.run(main())


class TestCustomers:
    def test_every_customer_operation(self, app: Litestar, account: Account) -> None:
        async def scenario(api: AsyncClient) -> None:
            made = await api.create_customer(customer("Acme", "crm-1", custom_properties={"tier": "gold"}))
            assert (await api.get_customer(made.id)).legal_name == "Acme"
            assert (await api.update_customer(made.id, customer("Acme Ltd", "crm-1"))).legal_name == "Acme Ltd"
            assert [c.id for c in (await api.list_customers(legal_name="acme")).items] == [made.id]
            assert (await api.list_custom_property_keys()).items == ["tier"]
            assert (await api.get_customer_by_alias("crm-1")).id == made.id
            assert (await api.archive_customer(made.id)).archived_at is not None

        run(app, account, scenario)

    def test_iterators_are_async_and_follow_cursors(self, app: Litestar, account: Account) -> None:
        async def scenario(api: AsyncClient) -> tuple[set[str], set[str]]:
            made = {(await api.create_customer(customer())).id for _ in range(5)}
            seen = {item.id async for item in api.iter_customers(limit=2)}
            return made, seen

        made, seen = run(app, account, scenario)
        assert seen == made


class TestOrganizationsAliasesAndContacts:
    def test_every_operation(self, app: Litestar, account: Account) -> None:
        async def scenario(api: AsyncClient) -> None:
            owner, member = [(await api.create_customer(customer())).id for _ in range(2)]
            org = await api.create_organization(owner, [])
            assert [m.id for m in (await api.add_organization_members(org.id, [member])).members] == [member]
            assert (await api.replace_organization_members(org.id, [])).members == []

            alias = await api.create_alias(owner, "a-1")
            assert (await api.update_alias(alias.id, label="L")).label == "L"
            assert [a.id for a in (await api.list_aliases(value="a-1")).items] == [alias.id]
            assert [a.value async for a in api.iter_aliases(limit=1)] == ["a-1"]
            assert [a.value for a in (await api.list_customer_aliases(owner)).items] == ["a-1"]
            assert (await api.delete_alias(alias.id)).deleted_at is not None

            added = await api.create_contact(owner, contact("two@example.com"))
            assert len((await api.list_contacts(owner)).items) == 2
            changed = wire.ContactRequest("Two", "two@example.com", added.billing_preference)
            assert (await api.update_contact(owner, added.id, changed)).name == "Two"
            assert (await api.archive_contact(owner, added.id)).archived_at is not None

        run(app, account, scenario)


class TestNotificationPolicies:
    def test_every_operation(self, app: Litestar, account: Account) -> None:
        async def scenario(api: AsyncClient) -> None:
            request = msgspec.structs.replace(webhook_policy("hooks"), notification_types=[])
            made = await api.create_notification_policy(request)
            assert (await api.get_notification_policy(made.id)).name == "hooks"
            assert [p.id for p in (await api.list_notification_policies()).items] == [made.id]
            assert [p.id async for p in api.iter_notification_policies(limit=1)] == [made.id]
            more = await api.add_policy_recipients(made.id, ["https://b.example.com/x"])
            assert len(more.recipients) == 2
            fewer = await api.remove_policy_recipient(made.id, "https://b.example.com/x")
            assert len(fewer.recipients) == 1
            created = NotificationType.CUSTOMER_CREATED
            assert (await api.add_policy_notification_types(made.id, [created])).notification_types == [created]
            assert (await api.remove_policy_notification_type(made.id, created)).notification_types == []
            assert (await api.delete_notification_policy(made.id)).id == made.id

        run(app, account, scenario)


class TestErrors:
    def test_typed_errors(self, app: Litestar, account: Account) -> None:
        async def scenario(api: AsyncClient) -> None:
            with pytest.raises(NotFound):
                await api.get_customer("00000000-0000-0000-0000-000000000000")
            owner = await api.create_customer(customer(None, "taken"))
            with pytest.raises(Conflict):
                await api.create_alias(owner.id, "taken")
            with pytest.raises(BadRequest) as caught:
                await api.create_notification_policy(webhook_policy("bad", "nope"))
            assert caught.value.field_errors

        run(app, account, scenario)

    def test_wrong_credentials(self, app: Litestar, account: Account) -> None:
        async def main() -> None:
            async with AsyncTestClient(app, base_url=API) as http:
                with pytest.raises(Unauthorized):
                    await AsyncClient(API, account.client_id, "wrong", http=http).list_customers()

        asyncio.run(main())


class TestOwnHttp:
    def test_it_makes_and_closes_an_httpx_client_of_its_own(self) -> None:
        async def main() -> httpx.AsyncClient:
            async with AsyncClient("http://127.0.0.1:9/api", "id", "secret", timeout=0.5) as client:
                own = client._http
                with pytest.raises(httpx.ConnectError):
                    await client.list_customers()
            return own

        assert asyncio.run(main()).is_closed

    def test_an_asgi_transport_works_as_http(self, app: Litestar, account: Account) -> None:
        async def main() -> None:
            transport = httpx.ASGITransport(app=cast(Any, app))  # Litestar's types are narrower than httpx's
            async with httpx.AsyncClient(transport=transport, base_url=API) as http:
                client = AsyncClient(client_id=account.client_id, client_secret=account.client_secret, http=http)
                assert (await client.list_customers()).items == []

        asyncio.run(main())
