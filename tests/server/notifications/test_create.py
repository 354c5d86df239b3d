"""POST /notifications/policies: the stored policy, the webhook secret and every rule."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from patron.wire.enums import NotificationType
from tests.conftest import Account
from tests.server.notifications.policies import POLICIES, Client, create_policy, get_policy, policy_body

GENERATED = re.compile(r"whsec_[A-Za-z0-9]{32}")


def refused(client: Client, account: Account, body: dict[str, Any]) -> list[dict[str, str]]:
    """The field errors of a create that must be refused."""
    response = client.post(POLICIES, json=body, headers=account.headers)
    assert response.status_code == 400, response.text
    errors: list[dict[str, str]] = response.json()["errors"]
    return errors


def refused_field(client: Client, account: Account, body: dict[str, Any]) -> str:
    return refused(client, account, body)[0]["field"]


class TestCreatePolicy:
    def test_returns_201_with_the_stored_policy(self, client: Client, account: Account) -> None:
        body = policy_body(name="Dev hooks", notificationTypes=["CUSTOMER_CREATED"])
        response = client.post(POLICIES, json=body, headers=account.headers)
        assert response.status_code == 201
        policy = response.json()
        assert uuid.UUID(policy["id"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", policy["createdAt"])
        assert policy["sequenceAccountId"] == account.account_id
        assert policy["name"] == "Dev hooks"
        assert policy["channel"] == "WEBHOOK"
        assert policy["recipients"] == ["https://hooks.example.com/sequence"]
        assert policy["notificationTypes"] == ["CUSTOMER_CREATED"]

    def test_reads_back_the_same(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account)
        assert get_policy(client, account, policy["id"]) == policy

    def test_the_name_is_trimmed(self, client: Client, account: Account) -> None:
        assert create_policy(client, account, name="  Dev hooks \n")["name"] == "Dev hooks"

    def test_unknown_fields_are_ignored(self, client: Client, account: Account) -> None:
        assert create_policy(client, account, colour="blue")["channel"] == "WEBHOOK"

    def test_an_idempotent_replay_creates_nothing_more(self, client: Client, account: Account) -> None:
        headers = {**account.headers, "Idempotency-Key": "create-policy-1"}
        body = policy_body()
        first = client.post(POLICIES, json=body, headers=headers)
        again = client.post(POLICIES, json=body, headers=headers)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        assert client.get(POLICIES, headers=account.headers).json()["pagination"]["totalResultSize"] == 1


class TestWebhookSecret:
    def test_a_webhook_policy_without_one_gets_a_generated_secret(self, client: Client, account: Account) -> None:
        first, second = create_policy(client, account), create_policy(client, account)
        assert GENERATED.fullmatch(first["webhookSecret"])
        assert GENERATED.fullmatch(second["webhookSecret"])
        assert first["webhookSecret"] != second["webhookSecret"]

    def test_a_null_secret_is_no_secret_given(self, client: Client, account: Account) -> None:
        assert GENERATED.fullmatch(create_policy(client, account, webhookSecret=None)["webhookSecret"])

    @pytest.mark.parametrize("secret", ["whsec_UserSubmittedSecret1234567890abc", "x", "!~" * 127 + "!"])
    def test_a_given_secret_is_kept_verbatim(self, client: Client, account: Account, secret: str) -> None:
        policy = create_policy(client, account, webhookSecret=secret)
        assert policy["webhookSecret"] == secret
        assert get_policy(client, account, policy["id"])["webhookSecret"] == secret

    @pytest.mark.parametrize(
        "secret", ["", "has space", "tab\there", "line\nbreak", "caf\u00e9", "nul\x00", "x" * 256, " padded"]
    )
    def test_a_given_secret_must_be_printable_ascii(self, client: Client, account: Account, secret: str) -> None:
        assert refused_field(client, account, policy_body(webhookSecret=secret)) == "webhookSecret"

    def test_an_email_policy_has_no_secret(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account, channel="EMAIL", recipients=["finance@example.com"])
        assert "webhookSecret" not in policy
        assert "webhookSecret" not in get_policy(client, account, policy["id"])

    def test_a_secret_on_an_email_policy_is_400(self, client: Client, account: Account) -> None:
        body = policy_body(channel="EMAIL", recipients=["finance@example.com"], webhookSecret="whsec_abc")
        assert refused_field(client, account, body) == "webhookSecret"


class TestRequiredFields:
    @pytest.mark.parametrize("field", ["name", "recipients", "channel"])
    def test_a_missing_field_is_400_naming_it(self, client: Client, account: Account, field: str) -> None:
        body = policy_body()
        del body[field]
        assert refused_field(client, account, body) == field

    @pytest.mark.parametrize("name", ["", "   ", "\t\n"])
    def test_a_blank_name_is_400(self, client: Client, account: Account, name: str) -> None:
        assert refused_field(client, account, policy_body(name=name)) == "name"

    def test_a_name_of_255_characters_is_the_longest(self, client: Client, account: Account) -> None:
        assert create_policy(client, account, name="n" * 255)["name"] == "n" * 255
        assert refused_field(client, account, policy_body(name="n" * 256)) == "name"

    def test_an_unknown_channel_is_400(self, client: Client, account: Account) -> None:
        assert refused_field(client, account, policy_body(channel="SMS")) == "channel"

    def test_no_recipient_is_400(self, client: Client, account: Account) -> None:
        assert refused_field(client, account, policy_body(recipients=[])) == "recipients"

    def test_at_most_100_recipients(self, client: Client, account: Account) -> None:
        urls = [f"https://hooks.example.com/{n}" for n in range(101)]
        assert len(create_policy(client, account, recipients=urls[:100])["recipients"]) == 100
        assert refused_field(client, account, policy_body(recipients=urls)) == "recipients"


class TestWebhookRecipients:
    @pytest.mark.parametrize(
        "url",
        [
            "http://localhost:8000/hooks",
            "https://hooks.example.com/a//b/?a=1&b=2#frag",
            "HTTPS://HOOKS.EXAMPLE.COM/X",
            "https://user:pass@hooks.example.com/",
            "http://127.0.0.1/",
            "http://[::1]:9000/hooks",
        ],
    )
    def test_absolute_http_urls_are_kept_as_given(self, client: Client, account: Account, url: str) -> None:
        assert create_policy(client, account, recipients=[url])["recipients"] == [url]

    @pytest.mark.parametrize(
        "url",
        [
            "ftp://hooks.example.com/",
            "/relative/path",
            "hooks.example.com/path",
            "https://",
            "http:///no-host",
            "mailto:finance@example.com",
            "finance@example.com",
            "https://exa mple.com/",
            " https://hooks.example.com/",
            "https://hooks.example.com:99999/",
            "https://hooks.example.com:port/",
            "",
        ],
    )
    def test_anything_else_is_400_naming_the_item(self, client: Client, account: Account, url: str) -> None:
        body = policy_body(recipients=["https://ok.example.com/", url])
        assert refused_field(client, account, body) == "recipients[1]"

    def test_a_url_of_2048_characters_is_the_longest(self, client: Client, account: Account) -> None:
        base = "https://hooks.example.com/"
        longest = base + "a" * (2048 - len(base))
        assert create_policy(client, account, recipients=[longest])["recipients"] == [longest]
        assert refused_field(client, account, policy_body(recipients=[longest + "a"])) == "recipients[0]"

    def test_duplicates_are_dropped_keeping_the_first(self, client: Client, account: Account) -> None:
        b, a = "https://b.example.com/", "https://a.example.com/"
        assert create_policy(client, account, recipients=[b, a, b, a])["recipients"] == [b, a]


class TestEmailRecipients:
    def test_email_addresses_are_kept(self, client: Client, account: Account) -> None:
        addresses = ["finance@example.com", "ops+billing@example.co.uk"]
        policy = create_policy(client, account, channel="EMAIL", recipients=addresses)
        assert policy["recipients"] == addresses

    def test_an_address_is_trimmed_and_each_is_kept_once(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account, channel="EMAIL", recipients=[" a@example.com ", "a@example.com"])
        assert policy["recipients"] == ["a@example.com"]

    @pytest.mark.parametrize("address", ["not-an-email", "https://hooks.example.com/", "a b@example.com", "@x", ""])
    def test_anything_else_is_400_naming_the_item(self, client: Client, account: Account, address: str) -> None:
        body = policy_body(channel="EMAIL", recipients=["ok@example.com", address])
        assert refused_field(client, account, body) == "recipients[1]"


class TestNotificationTypes:
    def test_absent_means_every_type_and_stays_absent(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account)
        assert "notificationTypes" not in policy
        assert "notificationTypes" not in get_policy(client, account, policy["id"])

    def test_an_empty_list_is_stored_as_given(self, client: Client, account: Account) -> None:
        policy = create_policy(client, account, notificationTypes=[])
        assert policy["notificationTypes"] == []
        assert get_policy(client, account, policy["id"])["notificationTypes"] == []

    def test_all_twenty_are_accepted(self, client: Client, account: Account) -> None:
        every = [kind.value for kind in NotificationType]
        assert len(every) == 20
        assert create_policy(client, account, notificationTypes=every)["notificationTypes"] == every

    def test_duplicates_are_dropped_keeping_the_order(self, client: Client, account: Account) -> None:
        types = ["INVOICE_ISSUED", "CUSTOMER_CREATED", "INVOICE_ISSUED"]
        policy = create_policy(client, account, notificationTypes=types)
        assert policy["notificationTypes"] == ["INVOICE_ISSUED", "CUSTOMER_CREATED"]

    @pytest.mark.parametrize("kind", ["CUSTOMER_DELETED", "NOTIFICATION_SENT", "customer_created", "", 7])
    def test_a_value_outside_the_twenty_is_400(self, client: Client, account: Account, kind: object) -> None:
        body = policy_body(notificationTypes=["CUSTOMER_CREATED", kind])
        assert refused_field(client, account, body) == "notificationTypes[1]"
