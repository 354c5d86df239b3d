"""The plugin's webhook receiver (`patron_webhooks`, docs/webhooks.md): the receiver alone
(what it collects, refuses and fails on purpose), then the fixture against a live sandbox:
deliveries verified with the policy's secret, `wait_for` that never needs a sleep."""

from __future__ import annotations

import time

import httpx
import pytest

from patron.client import Client, WebhookLog
from patron.testing import PatronAccount, PatronClock, PatronWebhooks, WebhookReceiver
from patron.wire import models as wire
from patron.wire import signature
from patron.wire.enums import BillingPreference, CountryCode, TaxStatus

SECRET = "whsec_PatronTestVectorSecret0123456789"
BODY = b'{"notificationType":"CUSTOMER_CREATED","sequenceAccountId":"a","resourceType":"Customer","resourceId":"c"}'


def signed(body: bytes = BODY, secret: str = SECRET, *, t_ms: int | None = None) -> dict[str, str]:
    t = t_ms if t_ms is not None else time.time_ns() // 1_000_000
    return {
        "Content-Type": "application/json",
        "Sequence-Signature": signature.header(secret, t, body),
        "webhook-id": "01a20ce4-05c2-7c3d-80e1-f2a3b4c5d6e7",
    }


class TestReceiver:
    def test_collects_a_well_signed_delivery(self) -> None:
        with WebhookReceiver(SECRET) as receiver, httpx.Client() as http:
            answer = http.post(receiver.url, content=BODY, headers=signed())
            assert answer.status_code == 204
            (got,) = receiver.deliveries
        assert got.event_id == "01a20ce4-05c2-7c3d-80e1-f2a3b4c5d6e7"
        assert got.raw_body == BODY
        assert got.envelope.notification_type == "CUSTOMER_CREATED"
        assert got.headers["content-type"] == "application/json"
        assert receiver.url.startswith("http://127.0.0.1:")

    def test_refuses_what_another_secret_or_other_bytes_signed(self) -> None:
        with WebhookReceiver(SECRET) as receiver, httpx.Client() as http:
            assert http.post(receiver.url, content=BODY, headers=signed(secret="whsec_other")).status_code == 400
            assert http.post(receiver.url, content=BODY + b" ", headers=signed()).status_code == 400
            assert http.post(receiver.url, content=BODY).status_code == 400
            assert http.post(receiver.url, content=b"[]", headers=signed(b"[]")).status_code == 400
            assert receiver.deliveries == []
            reasons = [rejected.reason for rejected in receiver.rejected]
        assert reasons[:3] == [
            "the signature does not match the body",
            "the signature does not match the body",
            "no Sequence-Signature header",
        ]
        assert len(reasons) == 4

    def test_the_time_is_checked_only_when_asked(self) -> None:
        old = signed(t_ms=1795512600456)
        with WebhookReceiver(SECRET) as lenient, httpx.Client() as http:
            assert http.post(lenient.url, content=BODY, headers=old).status_code == 204
        with WebhookReceiver(SECRET, tolerance_s=300) as strict, httpx.Client() as http:
            assert http.post(strict.url, content=BODY, headers=old).status_code == 400
            assert http.post(strict.url, content=BODY, headers=signed()).status_code == 204

    def test_fails_the_next_deliveries_on_purpose(self) -> None:
        with WebhookReceiver(SECRET) as receiver, httpx.Client() as http:
            receiver.fail_next(2, status=503)
            codes = [http.post(receiver.url, content=BODY, headers=signed()).status_code for _ in range(3)]
            assert codes == [503, 503, 204]
            assert len(receiver.deliveries) == 1

    def test_wait_returns_when_ready_or_says_it_is_not(self) -> None:
        with WebhookReceiver(SECRET) as receiver, httpx.Client() as http:
            assert receiver.wait(lambda got: len(got) >= 1, 0.05) is False
            http.post(receiver.url, content=BODY, headers=signed())
            assert receiver.wait(lambda got: len(got) >= 1, 5) is True


def customer_request(name: str = "Acme Ltd") -> wire.CreateOrUpdateCustomerRequest:
    return wire.CreateOrUpdateCustomerRequest(
        legal_name=name,
        address=wire.Address(line1="1 High Street", town="London", postcode="EC1A 1AA", country=CountryCode.GB),
        tax_status=TaxStatus.TAXED,
        contacts=[wire.ContactRequest("Billing", "billing@example.com", BillingPreference.PRIMARY)],
    )


def log_of(account: PatronAccount) -> WebhookLog:
    return WebhookLog(account.base_url, account.client_id, account.client_secret)


class TestFixture:
    def test_receives_created_updated_archived_verified(
        self, patron_webhooks: PatronWebhooks, patron_client: Client, patron_account: PatronAccount
    ) -> None:
        customer = patron_client.create_customer(customer_request())
        (created,) = patron_webhooks.wait_for("CUSTOMER_CREATED")
        patron_client.update_customer(customer.id, customer_request("Acme Renamed Ltd"))
        (updated,) = patron_webhooks.wait_for("CUSTOMER_UPDATED")
        patron_client.archive_customer(customer.id)
        (archived,) = patron_webhooks.wait_for("CUSTOMER_ARCHIVED")
        assert patron_webhooks.rejected == []
        assert [d.envelope.resource_id for d in (created, updated, archived)] == [customer.id] * 3
        assert updated.envelope.resource is not None
        assert updated.envelope.resource["legalName"] == "Acme Renamed Ltd"
        with log_of(patron_account) as log:
            logged = {event.id: event.raw_body.encode() for event in log.list_events().items}
        for delivery in patron_webhooks.deliveries:
            assert delivery.raw_body == logged[delivery.event_id]
            signature.verify(delivery.raw_body, delivery.headers["sequence-signature"], patron_webhooks.secret)

    def test_the_policy_is_the_account_s_and_its_secret_is_the_one_used(
        self, patron_webhooks: PatronWebhooks, patron_account: PatronAccount
    ) -> None:
        auth = (patron_account.client_id, patron_account.client_secret)
        url = f"{patron_account.base_url}/notifications/policies/{patron_webhooks.policy_id}"
        policy = httpx.get(url, auth=auth).json()
        assert policy["recipients"] == [patron_webhooks.url]
        assert policy["channel"] == "WEBHOOK"
        assert policy["webhookSecret"] == patron_webhooks.secret
        assert "notificationTypes" not in policy

    def test_a_receiver_failing_twice_gets_the_event_on_the_third_attempt(
        self, patron_webhooks: PatronWebhooks, patron_client: Client, patron_account: PatronAccount
    ) -> None:
        patron_webhooks.fail_next(2)
        patron_client.create_customer(customer_request())
        (delivery,) = patron_webhooks.wait_for(ignore_backoff=True)
        with log_of(patron_account) as log:
            (sent,) = log.list_deliveries(event_id=delivery.event_id).items
            attempts = log.get_delivery(sent.id).attempts
        assert sent.status == "succeeded"
        assert [attempt.status_code for attempt in attempts] == [500, 500, 204]
        assert {attempt.request_headers["webhook-id"] for attempt in attempts} == {delivery.event_id}

    def test_a_resend_arrives_again_with_the_same_event_id(
        self, patron_webhooks: PatronWebhooks, patron_client: Client, patron_account: PatronAccount
    ) -> None:
        patron_client.create_customer(customer_request())
        (first,) = patron_webhooks.wait_for()
        with log_of(patron_account) as log:
            log.redeliver(first.event_id)
        first_again, second = patron_webhooks.wait_for(count=2)
        assert first_again == first
        assert second.event_id == first.event_id
        assert second.raw_body == first.raw_body

    def test_a_frozen_clock_still_verifies(
        self, patron_webhooks: PatronWebhooks, patron_client: Client, patron_clock: PatronClock
    ) -> None:
        patron_clock.freeze("2031-01-01T00:00:00.000Z")
        patron_client.create_customer(customer_request())
        (delivery,) = patron_webhooks.wait_for()
        t_ms, _ = signature.parse(delivery.headers["sequence-signature"])
        assert t_ms == 1924992000000

    def test_waiting_for_what_never_comes_fails_saying_what_came(
        self, patron_webhooks: PatronWebhooks, patron_client: Client
    ) -> None:
        patron_client.create_customer(customer_request())
        with pytest.raises(AssertionError, match=r"waited 0.5 s for 1 CUSTOMER_ARCHIVED delivery, got 0"):
            patron_webhooks.wait_for("CUSTOMER_ARCHIVED", timeout=0.5)
        assert [d.envelope.notification_type for d in patron_webhooks.deliveries] == ["CUSTOMER_CREATED"]

    def test_a_delivery_that_does_not_verify_fails_the_wait_at_once(
        self, patron_webhooks: PatronWebhooks, patron_client: Client
    ) -> None:
        patron_webhooks.receiver.secret = "whsec_not_the_policy_s"
        patron_client.create_customer(customer_request())
        with pytest.raises(AssertionError, match="did not verify: the signature does not match the body"):
            patron_webhooks.wait_for()
