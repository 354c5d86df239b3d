"""The Python client against the real app, in process and live over loopback (`target`):
every operation, every error class; and what `http=` keeps of the httpx client it is given."""

from __future__ import annotations

import base64
import inspect
import re
from collections.abc import Coroutine
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from patron.client import (
    ApiError,
    AsyncClient,
    BadRequest,
    Client,
    Conflict,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
)
from patron.client._client import Operations
from patron.client._methods import operation
from patron.wire import API_VERSION
from patron.wire import models as wire
from patron.wire.enums import CountryCode, NotificationType, SortOrder
from tests.client.conftest import API, Script, Target, contact, customer, webhook_policy
from tests.conftest import Account

MISSING = "00000000-0000-0000-0000-000000000000"


class TestClientRoundTrips:
    def test_create_then_find_by_alias(self, api: Client) -> None:
        created = api.create_customer(customer("Acme", "crm-1"))
        found = api.get_customer_by_alias("crm-1")
        assert found.id == created.id
        assert found.email == created.contacts[0].email

    def test_iter_customers_follows_cursors(self, api: Client) -> None:
        ids = {api.create_customer(customer()).id for _ in range(5)}
        assert {item.id for item in api.iter_customers(limit=2)} == ids

    def test_errors_raise_with_sequence_type(self, api: Client) -> None:
        with pytest.raises(ApiError) as caught:
            api.get_customer(MISSING)
        assert caught.value.status == 404
        assert caught.value.type == "NotFound"

    def test_alias_with_slash_is_escaped(self, api: Client) -> None:
        created = api.create_customer(customer("Slash", "crm/7"))
        assert api.get_customer_by_alias("crm/7").id == created.id

    def test_alias_with_double_slash_and_dots_is_exact(self, api: Client) -> None:
        created = api.create_customer(customer("Dots", "a//b/./c"))
        assert api.get_customer_by_alias("a//b/./c").id == created.id
        with pytest.raises(ApiError):
            api.get_customer_by_alias("a/b/c")

    def test_an_alias_of_two_dots_is_one_segment(self, api: Client) -> None:
        created = api.create_customer(customer("Dots", ".."))
        assert api.get_customer_by_alias("..").id == created.id


class TestCustomers:
    def test_get_update_and_archive(self, api: Client) -> None:
        created = api.create_customer(customer("Acme"))
        assert api.get_customer(created.id) == created
        updated = api.update_customer(created.id, customer("Acme Holdings"))
        assert updated.legal_name == "Acme Holdings"
        archived = api.archive_customer(created.id)
        assert archived.archived_at is not None

    def test_list_filters_by_python_names(self, api: Client) -> None:
        acme = api.create_customer(customer("Acme Ltd", label="gold"))
        api.create_customer(customer("Globex"))
        assert [item.id for item in api.list_customers(legal_name="acme").items] == [acme.id]
        assert [item.id for item in api.list_customers(label="gold").items] == [acme.id]
        api.archive_customer(acme.id)
        assert api.list_customers(legal_name="acme").items == []
        assert [item.id for item in api.list_customers(legal_name="acme", include_archived=True).items] == [acme.id]

    def test_sort_and_page(self, api: Client) -> None:
        for name in ["Beta", "Alpha", "Gamma"]:
            api.create_customer(customer(name))
        page = api.list_customers(sort_by="legalName", sort_order=SortOrder.ASC, limit=2)
        assert [item.legal_name for item in page.items] == ["Alpha", "Beta"]
        assert page.pagination.total_result_size == 3
        rest = api.list_customers(sort_by="legalName", sort_order=SortOrder.ASC, limit=2, after=page.pagination.after)
        assert [item.legal_name for item in rest.items] == ["Gamma"]

    def test_iter_keeps_the_filters_on_every_page(self, api: Client) -> None:
        wanted = {api.create_customer(customer(f"Acme {i}")).id for i in range(3)}
        api.create_customer(customer("Globex"))
        assert {item.id for item in api.iter_customers(legal_name="acme", limit=1)} == wanted

    def test_custom_property_keys(self, api: Client) -> None:
        api.create_customer(customer(custom_properties={"tier": "gold", "region": "eu"}))
        assert sorted(api.list_custom_property_keys().items) == ["region", "tier"]


class TestOrganizations:
    def test_create_add_and_replace_members(self, api: Client) -> None:
        owner, first, second = (api.create_customer(customer()).id for _ in range(3))
        made = api.create_organization(owner, [first])
        assert made.owner.id == owner
        assert [m.id for m in made.members] == [first]
        added = api.add_organization_members(made.id, [second])
        assert {m.id for m in added.members} == {first, second}
        replaced = api.replace_organization_members(made.id, [second])
        assert [m.id for m in replaced.members] == [second]


class TestAliases:
    def test_create_list_update_and_delete(self, api: Client) -> None:
        owner = api.create_customer(customer())
        alias = api.create_alias(owner.id, "crm-9", label="CRM")
        assert (alias.value, alias.label) == ("crm-9", "CRM")
        assert [a.id for a in api.list_aliases(value="crm-9").items] == [alias.id]
        assert [a.value for a in api.list_customer_aliases(owner.id).items] == ["crm-9"]
        assert api.update_alias(alias.id, label="Billing CRM").label == "Billing CRM"
        assert api.update_alias(alias.id, label=None).label is None
        assert api.delete_alias(alias.id).deleted_at is not None
        assert api.list_customer_aliases(owner.id).items == []

    def test_iter_aliases_follows_cursors(self, api: Client) -> None:
        owner = api.create_customer(customer())
        values = {api.create_alias(owner.id, f"v-{i}").value for i in range(5)}
        assert {a.value for a in api.iter_aliases(limit=2)} == values


class TestContacts:
    def test_create_list_update_and_archive(self, api: Client) -> None:
        owner = api.create_customer(customer())
        extra = api.create_contact(owner.id, contact("extra@example.com"))
        assert extra.email == "extra@example.com"
        assert len(api.list_contacts(owner.id).items) == 2
        renamed = api.update_contact(
            owner.id, extra.id, wire.ContactRequest("Bo", "bo@example.com", extra.billing_preference)
        )
        assert (renamed.name, renamed.email) == ("Bo", "bo@example.com")
        assert api.archive_contact(owner.id, extra.id).archived_at is not None
        assert len(api.list_contacts(owner.id).items) == 1
        assert len(api.list_contacts(owner.id, include_archived=True).items) == 2


class TestNotificationPolicies:
    def test_create_get_list_and_delete(self, api: Client) -> None:
        made = api.create_notification_policy(webhook_policy("hooks"))
        assert made.webhook_secret is not None
        assert api.get_notification_policy(made.id).name == "hooks"
        listed = api.list_notification_policies(notification_type=NotificationType.CUSTOMER_CREATED)
        assert [p.id for p in listed.items] == [made.id]
        assert api.delete_notification_policy(made.id).id == made.id
        with pytest.raises(NotFound):
            api.get_notification_policy(made.id)

    def test_recipients_and_types(self, api: Client) -> None:
        request = msgspec.structs.replace(webhook_policy("hooks", "https://a.example.com/x"), notification_types=[])
        made = api.create_notification_policy(request)
        odd = "https://b.example.com//deep/path/?q=1"
        assert api.add_policy_recipients(made.id, [odd]).recipients == ["https://a.example.com/x", odd]
        assert api.remove_policy_recipient(made.id, odd).recipients == ["https://a.example.com/x"]
        types = [NotificationType.CUSTOMER_CREATED, NotificationType.CUSTOMER_UPDATED]
        typed = api.add_policy_notification_types(made.id, types)
        assert typed.notification_types == types
        left = api.remove_policy_notification_type(made.id, NotificationType.CUSTOMER_CREATED)
        assert left.notification_types == [NotificationType.CUSTOMER_UPDATED]

    def test_iter_notification_policies_follows_cursors(self, api: Client) -> None:
        ids = {api.create_notification_policy(webhook_policy(f"p{i}")).id for i in range(3)}
        assert {p.id for p in api.iter_notification_policies(limit=2)} == ids


class TestErrors:
    def test_a_broken_rule_is_a_bad_request_naming_the_field(self, api: Client) -> None:
        in_us = msgspec.structs.replace(
            customer(), address=wire.Address(line1="1 Main", town="Austin", postcode="73301", country=CountryCode.US)
        )
        with pytest.raises(BadRequest) as caught:
            api.create_customer(in_us)
        error = caught.value
        assert (error.status, error.type) == (400, "ValidationError")
        assert [f.field for f in error.field_errors] == ["address.state"]
        assert error.request_id is not None
        assert len(error.request_id) == 32

    def test_a_policy_400_reads_its_field_errors(self, api: Client) -> None:
        with pytest.raises(BadRequest) as caught:
            api.create_notification_policy(webhook_policy("bad", "not a url"))
        assert [f.field for f in caught.value.field_errors] == ["recipients[0]"]

    def test_wrong_credentials_are_unauthorized(self, target: Target) -> None:
        wrong = Client(target.api, target.account.client_id, "not-the-secret", http=target.http)
        with pytest.raises(Unauthorized) as caught:
            wrong.list_customers()
        assert caught.value.status == 401

    def test_an_unknown_id_is_not_found(self, api: Client) -> None:
        with pytest.raises(NotFound) as caught:
            api.delete_alias(MISSING)
        assert (caught.value.status, caught.value.type) == (404, "NotFound")

    def test_an_alias_in_use_is_a_conflict(self, api: Client) -> None:
        owner = api.create_customer(customer(None, "taken"))
        with pytest.raises(Conflict) as caught:
            api.create_alias(owner.id, "taken")
        assert caught.value.status == 409

    def test_a_429_is_rate_limited_with_retry_after(self, api: Client, target: Target) -> None:
        target.inject_fault(path="/api/customers", status=429, retryAfter=7, count=1)
        with pytest.raises(RateLimited) as caught:
            api.list_customers()
        assert (caught.value.status, caught.value.retry_after) == (429, 7.0)

    @pytest.mark.parametrize("status", [500, 503])
    def test_a_5xx_is_a_server_error(self, api: Client, target: Target, status: int) -> None:
        target.inject_fault(path="/api/customers", status=status, count=1)
        with pytest.raises(ServerError) as caught:
            api.list_customers()
        assert caught.value.status == status

    def test_every_error_is_an_api_error(self) -> None:
        for kind in (BadRequest, Unauthorized, NotFound, Conflict, RateLimited, ServerError):
            assert issubclass(kind, ApiError)


class TestRetriesAgainstTheApp:
    def test_an_injected_503_is_retried(self, target: Target) -> None:
        target.inject_fault(path="/api/customers", status=503, count=2)
        waits: list[float] = []
        api = target.client(retries=2, sleep=waits.append)
        assert api.list_customers().items == []
        assert waits == [1.0, 1.0]  # the server's Retry-After

    def test_a_post_whose_answer_was_lost_runs_once(self, target: Target) -> None:
        losing = httpx.Client(transport=_LosesFirstAnswer(target.transport), base_url=target.api)
        account = target.account
        api = Client(target.api, account.client_id, account.client_secret, http=losing, retries=1, sleep=lambda _: None)
        created = api.create_customer(customer("Once"))
        assert [item.id for item in api.list_customers().items] == [created.id]


class _LosesFirstAnswer(httpx.BaseTransport):
    """The app runs the request; the first answer is lost on the way back."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.lost = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not self.lost:
            self.lost = True
            raise httpx.ReadError("connection reset", request=request)
        return response


class TestArguments:
    def test_an_unknown_keyword_is_a_type_error(self, api: Client) -> None:
        with pytest.raises(TypeError, match="legalName"):
            api.list_customers(legalName="acme")  # type: ignore[call-arg]
        with pytest.raises(TypeError):
            api.iter_customers(nmae="acme")  # type: ignore[call-arg]

    def test_an_iterator_sends_nothing_until_read(self) -> None:
        server = Script(httpx.Response(500))
        items = server.client().iter_customers()
        assert server.requests == []
        with pytest.raises(ServerError):
            next(items)
        assert len(server.requests) == 1


class TestHttpOption:
    def test_the_http_client_s_base_url_and_headers_are_used(self, app: Litestar, account: Account) -> None:
        with TestClient(app, base_url=API) as own:
            own.headers.update(account.headers)
            api = Client(http=own)
            assert api.base_url == API
            assert api.list_customers().items == []

    def test_arguments_fill_in_what_the_http_client_leaves_unset(self) -> None:
        server = Script()
        http = server.http(headers={"Sequence-Version": API_VERSION, "X-Team": "billing"})
        Client("http://sequence.example/api", "id", "secret", http=http).list_customers(limit=5)
        [request] = server.requests
        assert str(request.url) == "http://sequence.example/api/customers?limit=5"
        assert request.headers["X-Team"] == "billing"
        assert request.headers.get_list("Sequence-Version") == [API_VERSION]
        assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"id:secret").decode()

    def test_the_http_client_s_own_settings_are_used(self) -> None:
        server = Script()
        http = server.http(base_url="http://mine.example/api/", auth=("mine", "pw"))
        api = Client(http=http)
        api.list_customers()
        assert str(server.requests[0].url) == "http://mine.example/api/customers"
        assert server.requests[0].headers["Authorization"] == "Basic " + base64.b64encode(b"mine:pw").decode()
        api.close()
        assert not http.is_closed  # the caller's client stays theirs

    def test_arguments_that_contradict_the_http_client_are_refused(self) -> None:
        http = Script().http(base_url="http://mine.example/api/", auth=("mine", "pw"))
        with pytest.raises(ValueError, match="base URL"):
            Client("http://other.example/api", http=http)
        with pytest.raises(ValueError, match="client_id"):
            Client("http://mine.example/api", "id", "secret", http=http)

    def test_without_a_base_url_or_credentials_it_says_so(self) -> None:
        with pytest.raises(ValueError, match="base_url"):
            Client(client_id="id", client_secret="secret")
        with pytest.raises(ValueError, match="client_id"):
            Client("http://sequence.example/api")


class TestCoverage:
    def test_every_operation_patron_serves_has_a_method(self, target: Target) -> None:
        served = {
            (method.upper(), re.sub(r"\{[^}]+\}", "x", path.removeprefix("/api")))
            for path, item in target.http.get("openapi.json", headers=target.account.headers).json()["paths"].items()
            for method in item
            if method in {"get", "post", "put", "delete"}
        }
        described = {}
        for name, member in vars(Operations).items():
            if isinstance(member, operation):
                op = _with_placeholders(member._build)
                described[op.method, op.path] = name
        assert len(served) == 27
        assert set(described) == served

    @pytest.mark.parametrize("kind", [Client, AsyncClient])
    def test_methods_are_documented_with_their_own_signature(self, kind: type[Any]) -> None:
        method = kind.get_customer
        assert method.__doc__ == "A customer by id (`GET /customers/{id}`)."
        assert list(inspect.signature(method).parameters) == ["self", "customer_id"]
        returns = inspect.signature(method).return_annotation
        assert returns is wire.Customer if kind is Client else returns == Coroutine[Any, Any, wire.Customer]

    def test_a_subclass_keeps_its_own_methods_and_gets_the_rest(self) -> None:
        class Mine(Client):
            def get_customer(self, customer_id: str) -> wire.Customer:
                raise LookupError(customer_id)

        mine = Script().client()
        mine.__class__ = Mine
        with pytest.raises(LookupError):
            mine.get_customer("x")
        assert mine.list_customers().items == []


def _with_placeholders(build: Any) -> Any:
    """The `Op` of a description called with "x" for every required argument."""
    required = [p for p in inspect.signature(build).parameters.values() if p.default is inspect.Parameter.empty]
    return build(
        *["x" for p in required if p.kind is not p.KEYWORD_ONLY],
        **{p.name: "x" for p in required if p.kind is p.KEYWORD_ONLY},
    )
