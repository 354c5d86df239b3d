"""`WebhookLog` against the real app, in process and live (`target`): it runs on the client's executor (the same `http=`
rules, the same typed errors) under the server's `/_patron`."""

from __future__ import annotations

import pytest

from patron.client import Client, NotFound, Unauthorized, WebhookLog
from patron.wire.enums import NotificationType
from tests.client.conftest import API, Target, customer, webhook_policy

MISSING = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def log(target: Target) -> WebhookLog:
    return WebhookLog(target.api, target.account.client_id, target.account.client_secret, http=target.http)


class TestWebhookLog:
    @pytest.mark.parametrize("given", [API, "http://testserver.local", "http://testserver.local/_patron/"])
    def test_its_base_is_the_server_s_patron_root(self, given: str) -> None:
        assert WebhookLog(given, "id", "secret").base_url == "http://testserver.local/_patron"

    def test_it_reads_the_http_client_s_base_url(self, log: WebhookLog, target: Target) -> None:
        assert log.base_url == target.admin_url

    def test_events_deliveries_and_flush(self, api: Client, log: WebhookLog) -> None:
        policy = api.create_notification_policy(webhook_policy("hooks", "https://127.0.0.1:9/never"))
        made = [api.create_customer(customer()).id for _ in range(3)]
        events = list(log.iter_events(type=NotificationType.CUSTOMER_CREATED, limit=1))
        assert sorted(event.resource_id for event in events) == sorted(made)
        one = log.get_event(events[0].id)
        assert [d.policy_id for d in one.deliveries] == [policy.id]
        deliveries = log.list_deliveries(event_id=one.id).items
        assert [d.id for d in deliveries] == [d.id for d in one.deliveries]
        assert log.get_delivery(deliveries[0].id).event_id == one.id
        assert len(list(log.iter_deliveries(policy_id=policy.id, limit=2))) == 3
        assert len(log.redeliver(one.id, policy_id=policy.id).items) == 1
        assert log.flush().pending >= 0

    def test_its_errors_are_the_client_s(self, log: WebhookLog, target: Target) -> None:
        with pytest.raises(NotFound):
            log.get_event(MISSING)
        with pytest.raises(Unauthorized):
            WebhookLog(target.api, target.account.client_id, "wrong", http=target.http).list_events()

    def test_an_unknown_keyword_is_a_type_error(self, log: WebhookLog) -> None:
        with pytest.raises(TypeError):
            log.list_deliveries(eventId="x")  # type: ignore[call-arg]
