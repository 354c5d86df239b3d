"""A user's test suite, written as a team testing its CRM -> Sequence sync would write it:
only patron's pytest fixtures (`patron_account`, `patron_client`, `patron_clock`,
`patron_webhooks`) and its public client, against a live sandbox. The code under test comes
first (the sync, and the webhook endpoint that mirrors Sequence's changes back into the
CRM); in a real project it lives in the team's own package. `make test-sqlite` runs this
with `pytest -n 2`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

import httpx
import msgspec
import pytest

from patron.client import ApiError, Client, SignatureError, WebhookEnvelope, verify_signature
from patron.testing import PatronAccount, PatronClock, PatronWebhooks
from patron.wire import models as wire
from patron.wire.enums import BillingPreference, CountryCode, TaxStatus

T = TypeVar("T")

# --- the code under test: the team's sync ---------------------------------------------


@dataclass(frozen=True)
class Company:
    """A company as the CRM holds it."""

    crm_id: str
    name: str
    billing_email: str = "billing@example.com"


RETRIED = {429, 503}


def sync(client: Client, companies: Iterable[Company], *, attempts: int = 3, pause: float = 0.01) -> list[str]:
    """One Sequence customer per CRM company, found by its alias `crm-<id>`: created the
    first time, updated after. Answers 429 and 503 are retried `attempts` times in all."""
    return [_retried(partial(_upsert, client, company), attempts, pause) for company in companies]


def _upsert(client: Client, company: Company) -> str:
    request = wire.CreateOrUpdateCustomerRequest(
        legal_name=company.name,
        address=wire.Address(line1="1 Main Street", town="London", postcode="EC1A 1BB", country=CountryCode.GB),
        tax_status=TaxStatus.TAXED,
        contacts=[wire.ContactRequest("Billing", company.billing_email, BillingPreference.PRIMARY)],
        customer_aliases=[f"crm-{company.crm_id}"],
    )
    try:
        existing = client.get_customer_by_alias(f"crm-{company.crm_id}")
    except ApiError as exc:
        if exc.status != 404:
            raise
        return client.create_customer(request).id
    return client.update_customer(existing.id, request).id


def _retried(call: Callable[[], T], attempts: int, pause: float) -> T:
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except ApiError as exc:
            if exc.status not in RETRIED or attempt == attempts:
                raise
            time.sleep(pause)
    raise AssertionError("unreachable")


@dataclass
class Mirror:
    """What the CRM knows of a company's Sequence customer, kept up to date by webhooks."""

    name: str
    archived: bool = False


def on_webhook(raw_body: bytes, signature_header: str | None, secret: str, crm: dict[str, Mirror]) -> str:
    """The team's webhook endpoint: refuse what Sequence did not sign (`SignatureError`, a
    400 in their web app), then mirror the customer into the CRM; the type it handled."""
    verify_signature(raw_body, signature_header, secret)
    event = msgspec.json.decode(raw_body, type=WebhookEnvelope)
    resource = event.resource or {}
    if event.resource_id is not None and event.notification_type.startswith("CUSTOMER_"):
        crm[event.resource_id] = Mirror(str(resource["legalName"]), archived="archivedAt" in resource)
    return event.notification_type


# --- the tests ------------------------------------------------------------------------

ACME = Company("1001", "Acme Ltd")
GLOBEX = Company("1002", "Globex Corporation")


def names(client: Client) -> list[str]:
    return sorted(customer.legal_name for customer in client.iter_customers())


class TestSync:
    def test_every_company_becomes_one_customer(self, patron_client: Client) -> None:
        sync(patron_client, [ACME, GLOBEX])
        assert names(patron_client) == ["Acme Ltd", "Globex Corporation"]
        assert patron_client.list_customers().pagination.total_result_size == 2

    def test_a_second_run_updates_instead_of_duplicating(self, patron_client: Client) -> None:
        [first] = sync(patron_client, [ACME])
        [second] = sync(patron_client, [Company("1001", "Acme Holdings Ltd")])
        assert second == first
        assert names(patron_client) == ["Acme Holdings Ltd"]

    @pytest.mark.parametrize("run", range(4))
    def test_each_test_starts_with_an_empty_account_of_its_own(self, patron_client: Client, run: int) -> None:
        # Run in parallel (`-n 2`) with the others: none sees another test's customers.
        assert patron_client.list_customers().pagination.total_result_size == 0
        sync(patron_client, [Company(f"run-{run}", f"Company {run}")])
        assert names(patron_client) == [f"Company {run}"]


class TestClock:
    def test_customers_are_created_at_the_frozen_time(self, patron_client: Client, patron_clock: PatronClock) -> None:
        patron_clock.freeze("2030-01-01T00:00:00.000Z")
        [acme] = sync(patron_client, [ACME])
        assert patron_client.get_customer(acme).created_at == "2030-01-01T00:00:00.000Z"

    def test_advancing_moves_the_account_s_time(self, patron_client: Client, patron_clock: PatronClock) -> None:
        patron_clock.freeze("2030-01-01T00:00:00.000Z")
        assert patron_clock.advance("P7D") == "2030-01-08T00:00:00.000Z"
        [globex] = sync(patron_client, [GLOBEX])
        assert patron_client.get_customer(globex).created_at == "2030-01-08T00:00:00.000Z"
        assert patron_clock.now() == "2030-01-08T00:00:00.000Z"

    def test_reset_goes_back_to_the_wall_clock(self, patron_client: Client, patron_clock: PatronClock) -> None:
        patron_clock.freeze("2030-01-01T00:00:00.000Z")
        patron_clock.reset()
        [acme] = sync(patron_client, [ACME])
        assert not patron_client.get_customer(acme).created_at.startswith("2030-")


class TestFaults:
    def test_a_429_is_retried_and_the_sync_succeeds(self, patron_account: PatronAccount, patron_client: Client) -> None:
        patron_account.inject_fault(method="POST", path="/api/customers", status=429, count=1, retry_after=1)
        sync(patron_client, [ACME])
        assert names(patron_client) == ["Acme Ltd"]
        sent = [(r["method"], r["path"], r["status"]) for r in patron_account.requests()]
        assert ("POST", "/api/customers", 429) in sent
        assert ("POST", "/api/customers", 201) in sent

    def test_a_503_that_lasts_gives_up_and_writes_nothing(
        self, patron_account: PatronAccount, patron_client: Client
    ) -> None:
        patron_account.inject_fault(method="POST", path="/api/customers", status=503)
        with pytest.raises(ApiError) as refused:
            sync(patron_client, [ACME])
        assert refused.value.status == 503
        patron_account.clear_faults()
        assert patron_client.list_customers().pagination.total_result_size == 0

    def test_a_slow_answer_times_the_client_out(self, patron_account: PatronAccount) -> None:
        patron_account.inject_fault(method="GET", path="/api/customers", delay_ms=1000, count=1)
        with patron_account.client(timeout=0.2) as impatient, pytest.raises(httpx.TimeoutException):
            impatient.list_customers()


class TestState:
    def test_reset_empties_the_account_and_keeps_its_credentials(
        self, patron_account: PatronAccount, patron_client: Client
    ) -> None:
        sync(patron_client, [ACME, GLOBEX])
        patron_account.reset()
        assert patron_client.list_customers().pagination.total_result_size == 0
        sync(patron_client, [ACME])
        assert names(patron_client) == ["Acme Ltd"]

    def test_restore_brings_back_the_snapshot(self, patron_account: PatronAccount, patron_client: Client) -> None:
        sync(patron_client, [ACME])
        patron_account.snapshot("one-company")
        sync(patron_client, [GLOBEX, Company("1001", "Acme Renamed")])
        patron_account.restore("one-company")
        assert names(patron_client) == ["Acme Ltd"]

    def test_seeded_customers_are_updated_not_duplicated(
        self, patron_account: PatronAccount, patron_client: Client
    ) -> None:
        patron_account.seed({"customers": [seeded("1001", "Acme (from the fixture)")]})
        sync(patron_client, [ACME])
        assert names(patron_client) == ["Acme Ltd"]

    def test_a_yaml_fixture_file_seeds_too(
        self, patron_account: PatronAccount, patron_client: Client, tmp_path: Path
    ) -> None:
        fixture = tmp_path / "customers.yaml"
        fixture.write_text(
            "customers:\n"
            "  - legalName: Initech\n"
            "    customerAliases: [crm-2001]\n"
            "    createdAt: 2029-06-01T09:00:00.000Z\n"
            "    address: {line1: 1 Initech Way, town: Austin, postcode: '78701', country: US, state: TX}\n"
            "    taxStatus: TAX_EXEMPT\n"
            "    contacts: [{name: Peter, email: peter@initech.example, billingPreference: PRIMARY}]\n"
        )
        patron_account.seed(fixture)
        initech = patron_client.get_customer_by_alias("crm-2001")
        assert patron_client.get_customer(initech.id).created_at == "2029-06-01T09:00:00.000Z"


class TestWebhooks:
    def test_the_crm_mirrors_what_sequence_announces(
        self, patron_client: Client, patron_webhooks: PatronWebhooks
    ) -> None:
        crm: dict[str, Mirror] = {}

        def deliver(kind: str) -> None:
            (received,) = patron_webhooks.wait_for(kind)
            handled = on_webhook(received.raw_body, received.headers["sequence-signature"], patron_webhooks.secret, crm)
            assert handled == kind

        [acme] = sync(patron_client, [ACME])
        deliver("CUSTOMER_CREATED")
        assert crm == {acme: Mirror("Acme Ltd")}
        sync(patron_client, [Company("1001", "Acme Holdings Ltd")])
        deliver("CUSTOMER_UPDATED")
        patron_client.archive_customer(acme)
        deliver("CUSTOMER_ARCHIVED")
        assert crm == {acme: Mirror("Acme Holdings Ltd", archived=True)}

    def test_the_endpoint_refuses_a_forged_body(self, patron_client: Client, patron_webhooks: PatronWebhooks) -> None:
        sync(patron_client, [ACME])
        (received,) = patron_webhooks.wait_for("CUSTOMER_CREATED")
        forged = received.raw_body.replace(b"Acme Ltd", b"Evil Ltd")
        with pytest.raises(SignatureError):
            on_webhook(forged, received.headers["sequence-signature"], patron_webhooks.secret, {})


class TestJournal:
    def test_the_journal_shows_what_the_sync_sent_without_credentials(
        self, patron_account: PatronAccount, patron_client: Client
    ) -> None:
        sync(patron_client, [ACME])
        journal = patron_account.requests(limit=10)
        sent = sorted((r["method"], r["path"], r["status"]) for r in journal)
        assert sent == [("GET", "/api/customers/by-alias/crm-1001", 404), ("POST", "/api/customers", 201)]
        assert patron_account.client_secret not in repr(journal)


def seeded(crm_id: str, name: str) -> dict[str, object]:
    return {
        "legalName": name,
        "customerAliases": [f"crm-{crm_id}"],
        "address": {"line1": "1 Main Street", "town": "London", "postcode": "EC1A 1BB", "country": "GB"},
        "taxStatus": "TAXED",
        "contacts": [{"name": "Billing", "email": "billing@example.com", "billingPreference": "PRIMARY"}],
    }
