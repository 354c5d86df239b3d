"""Fixtures of the client's tests: where their requests go (`target`: the real app in
process over litestar's TestClient, with the control plane on to inject faults, and a live
`patron sandbox` over loopback, the pytest plugin's), a `Client` for it, and requests with
defaults."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from patron.client import Client
from patron.server.config import Settings
from patron.testing import PatronAccount, Sandbox
from patron.wire import models as wire
from patron.wire import notifications
from patron.wire.enums import BillingPreference, CountryCode, NotificationChannel, TaxStatus
from tests.conftest import NO_LIMITS, SECRET_KEY, Account

API = "http://testserver.local/api"
ADMIN_TOKEN = "test-admin-token"
_counter = itertools.count(1)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Rate limits off; the control plane on, so a test can make the API answer a 429 or a 503."""
    return Settings(database_url=database_url, secret_key=SECRET_KEY, admin_token=ADMIN_TOKEN, **NO_LIMITS)


@dataclass(frozen=True)
class Target:
    """Where a test's requests go: `http` (base URL `api`) and the transport under it, an
    account there, and its control plane (to make the API answer a 429 or a 5xx)."""

    http: httpx.Client
    transport: httpx.BaseTransport
    account: Account
    api: str
    admin_url: str
    admin_token: str

    def client(self, **options: Any) -> Client:
        return Client(self.api, self.account.client_id, self.account.client_secret, http=self.http, **options)

    def inject_fault(self, **rule: Any) -> None:
        """Make the account's matching `/api` requests fail (the sandbox's faults)."""
        answer = self.http.post(
            f"{self.admin_url}/accounts/{self.account.account_id}/faults",
            json=rule,
            headers={"Authorization": f"Bearer {self.admin_token}"},
        )
        assert answer.status_code == 201, answer.text


@pytest.fixture(params=["in process", "live"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    if request.param == "in process":
        app: Litestar = request.getfixturevalue("app")
        account: Account = request.getfixturevalue("account")
        with TestClient(app, base_url=API) as http:
            yield Target(http, http._transport, account, API, "http://testserver.local/_patron", ADMIN_TOKEN)
        return
    sandbox: Sandbox = request.getfixturevalue("patron_sandbox")
    live: PatronAccount = request.getfixturevalue("patron_account")
    transport = httpx.HTTPTransport()
    with httpx.Client(base_url=live.base_url, transport=transport, timeout=10) as http:
        owner = Account(live.account_id, live.client_id, live.client_secret)
        yield Target(http, transport, owner, live.base_url, sandbox.admin_url, sandbox.admin_token)


@pytest.fixture
def api(target: Target) -> Client:
    return target.client()


def contact(email: str | None = None) -> wire.ContactRequest:
    return wire.ContactRequest("Ann", email or f"ann{next(_counter)}@example.com", BillingPreference.PRIMARY)


def customer(name: str | None = None, *aliases: str, **fields: Any) -> wire.CreateOrUpdateCustomerRequest:
    return wire.CreateOrUpdateCustomerRequest(
        legal_name=name or f"Customer {next(_counter)} Ltd",
        address=wire.Address(line1="1 Quay", town="Dublin", postcode="D01", country=CountryCode.IE),
        tax_status=TaxStatus.TAXED,
        contacts=[contact()],
        customer_aliases=list(aliases) or None,
        **fields,
    )


def webhook_policy(name: str = "hooks", *recipients: str) -> notifications.CreateNotificationPolicyRequest:
    return notifications.CreateNotificationPolicyRequest(
        name=name,
        recipients=list(recipients) or ["https://hooks.example.com/sequence"],
        channel=NotificationChannel.WEBHOOK,
    )


EMPTY_PAGE: dict[str, Any] = {"items": [], "pagination": {"totalResultSize": 0}}


class Script:
    """A stand-in server for `httpx.MockTransport`: each request gets the next of `answers`
    (an exception is raised instead), the last one again once they run out; `requests` are
    what it was sent."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers) or [httpx.Response(200, json=EMPTY_PAGE)]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        # A fresh answer each time: a response is read once.
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    def http(self, **options: Any) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self), **options)

    def client(self, **options: Any) -> Client:
        return Client("http://sequence.example/api", "id", "secret", http=self.http(), **options)
