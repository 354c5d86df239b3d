"""`patron events list|resend` and `patron listen` against a live sandbox, as a user runs
them: with the account's credentials from the environment, over HTTP (docs/webhooks.md)."""

from __future__ import annotations

import json
import os
import queue
import signal
import string
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import httpx
import pytest
from typer.testing import CliRunner

from patron.cli.main import app as cli
from patron.cli.webhooks import listen_secret
from patron.client import Client, WebhookLog
from patron.testing import Control, SandboxProcess, WebhookReceiver
from patron.wire import models as wire
from patron.wire.enums import BillingPreference, CountryCode, TaxStatus
from tests.conftest import Account, Backend

runner = CliRunner()


@dataclass(frozen=True)
class Live:
    """A sandbox on loopback and an account on it."""

    base_url: str
    account: Account

    @property
    def env(self) -> dict[str, str]:
        return {
            "SEQUENCE_BASE_URL": self.base_url,
            "SEQUENCE_CLIENT_ID": self.account.client_id,
            "SEQUENCE_CLIENT_SECRET": self.account.client_secret,
        }

    def client(self) -> Client:
        return Client(self.base_url, self.account.client_id, self.account.client_secret)

    def log(self) -> WebhookLog:
        return WebhookLog(self.base_url, self.account.client_id, self.account.client_secret)

    def create_policy(self, recipients: list[str]) -> str:
        body = {"name": "hooks", "channel": "WEBHOOK", "recipients": recipients}
        auth = (self.account.client_id, self.account.client_secret)
        answer = httpx.post(f"{self.base_url}/notifications/policies", json=body, auth=auth)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[SandboxProcess]:
    """One sandbox for the module, on the suite's database (PostgreSQL in its pass)."""
    url = backend.fresh(tmp_path_factory.mktemp("listen"))
    process = SandboxProcess(["--database", url])
    yield process
    process.stop()
    backend.drop(url)


@pytest.fixture
def live(sandbox: SandboxProcess) -> Live:
    with Control(sandbox.sandbox.admin_url, sandbox.sandbox.admin_token) as control:
        new = control.create_account(f"cli-{uuid.uuid4().hex[:8]}")
    return Live(sandbox.sandbox.base_url, Account(new.account_id, new.client_id, new.client_secret))


def create(client: Client, name: str = "Acme Ltd") -> wire.Customer:
    request = wire.CreateOrUpdateCustomerRequest(
        legal_name=name,
        address=wire.Address(line1="1 High Street", town="London", postcode="EC1A 1AA", country=CountryCode.GB),
        tax_status=TaxStatus.TAXED,
        contacts=[wire.ContactRequest("Billing", "billing@example.com", BillingPreference.PRIMARY)],
    )
    return client.create_customer(request)


def invoke(live: Live, *args: str) -> Any:
    return runner.invoke(cli, list(args), env=live.env)


class TestListenSecret:
    def test_whsec_and_32_letters_or_digits(self) -> None:
        secret = listen_secret("client", "secret")
        assert secret.startswith("whsec_")
        assert len(secret) == 38
        assert set(secret.removeprefix("whsec_")) <= set(string.ascii_letters + string.digits)

    def test_the_same_for_the_same_credentials_and_not_for_others(self) -> None:
        assert listen_secret("client", "secret") == listen_secret("client", "secret")
        assert listen_secret("client", "secret") != listen_secret("client", "other")
        assert listen_secret("client", "secret") != listen_secret("other", "secret")


class TestEvents:
    def test_list_newest_first(self, live: Live) -> None:
        with live.client() as client:
            first, second = create(client, "First Ltd"), create(client, "Second Ltd")
        result = invoke(live, "events", "list", "--json")
        assert result.exit_code == 0, result.output
        listed = [json.loads(line) for line in result.output.splitlines()]
        assert [(e["notificationType"], e["resourceId"]) for e in listed] == [
            ("CUSTOMER_CREATED", second.id),
            ("CUSTOMER_CREATED", first.id),
        ]
        assert listed[0]["body"] == json.loads(listed[0]["rawBody"])
        table = invoke(live, "events", "list", "--limit", "1")
        assert table.exit_code == 0, table.output
        assert listed[0]["id"] in table.output
        assert listed[1]["id"] not in table.output

    def test_list_by_type(self, live: Live) -> None:
        with live.client() as client:
            customer = create(client)
            client.archive_customer(customer.id)
        result = invoke(live, "events", "list", "--json", "--type", "CUSTOMER_ARCHIVED")
        assert result.exit_code == 0, result.output
        assert [json.loads(line)["notificationType"] for line in result.output.splitlines()] == ["CUSTOMER_ARCHIVED"]
        unknown = invoke(live, "events", "list", "--type", "CUSTOMER_DELETED")
        assert unknown.exit_code == 2
        assert "not a notification type" in unknown.output

    def test_resend(self, live: Live) -> None:
        with live.client() as client:
            create(client)
        with live.log() as log:
            (event,) = log.list_events().items
        nothing = invoke(live, "events", "resend", event.id)
        assert nothing.exit_code == 0, nothing.output
        assert "nothing to resend" in nothing.output
        live.create_policy(["http://127.0.0.1:9/hooks"])
        result = invoke(live, "events", "resend", event.id)
        assert result.exit_code == 0, result.output
        assert "to http://127.0.0.1:9/hooks" in result.output
        with live.log() as log:
            again = [d for d in log.get_event(event.id).deliveries if d.redelivery]
        assert [d.recipient for d in again] == ["http://127.0.0.1:9/hooks"]

    def test_refusals_are_one_line_and_exit_1(self, live: Live) -> None:
        unknown = invoke(live, "events", "resend", str(uuid.uuid4()))
        assert unknown.exit_code == 1
        assert "404 NotFound" in unknown.output
        wrong = runner.invoke(cli, ["events", "list"], env={**live.env, "SEQUENCE_CLIENT_SECRET": "wrong"})
        assert wrong.exit_code == 1
        assert "401" in wrong.output
        nowhere = runner.invoke(cli, ["events", "list", "--base-url", "http://127.0.0.1:9/api"], env=live.env)
        assert nowhere.exit_code == 1
        assert "cannot reach http://127.0.0.1:9/api" in nowhere.output
        missing = runner.invoke(cli, ["events", "list"], env={"SEQUENCE_BASE_URL": live.base_url})
        assert missing.exit_code == 1
        assert "--client-id" in missing.output


class Listener:
    """`patron listen` as a subprocess; its stdout lines read as they come."""

    def __init__(self, live: Live, *args: str) -> None:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("PATRON_", "SEQUENCE_"))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "patron", "listen", *args],
            env={**inherited, **live.env, "COLUMNS": "400"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=_pump, args=(self.process.stdout, self._lines), daemon=True).start()

    def line(self, containing: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            if line is None:
                raise AssertionError(f"listen exited with {self.process.wait()} before printing {containing!r}")
            if containing in line:
                return line

    def secret(self) -> str:
        return self.line("Ready!").split("secret is ")[1].split()[0]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise


def _pump(stream: IO[bytes], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.decode())
    lines.put(None)


@pytest.fixture
def listeners() -> Iterator[list[Listener]]:
    started: list[Listener] = []
    yield started
    for listener in started:
        listener.stop()


class TestListen:
    def test_forwards_each_new_event_signed_as_patron_signs_it(self, live: Live, listeners: list[Listener]) -> None:
        with live.client() as client, WebhookReceiver(tolerance_s=300) as receiver:
            before = create(client, "Before Ltd")  # history: not forwarded
            listener = Listener(live, "--forward-to", receiver.url, "--events", "CUSTOMER_CREATED,CUSTOMER_ARCHIVED")
            listeners.append(listener)
            receiver.secret = listener.secret()
            assert receiver.secret == listen_secret(live.account.client_id, live.account.client_secret)
            customer = create(client)
            client.update_customer(customer.id, _renamed(client, customer.id))
            client.archive_customer(customer.id)
            assert receiver.wait(lambda got: len(got) >= 2, 30), receiver.rejected
            with live.log() as log:
                logged = {event.id: event for event in log.list_events(resource_id=customer.id).items}
            listener.line(" -> ")
            assert listener.stop() == 0
        got = receiver.deliveries
        assert receiver.rejected == []
        assert [d.envelope.notification_type for d in got] == ["CUSTOMER_CREATED", "CUSTOMER_ARCHIVED"]
        assert before.id not in {d.envelope.resource_id for d in got}
        for delivery in got:
            assert delivery.raw_body == logged[delivery.event_id].raw_body.encode()
            assert delivery.headers["content-type"] == "application/json"
            assert delivery.headers["webhook-timestamp"] == delivery.headers["sequence-signature"][2:12]
            assert delivery.headers["webhook-signature"].startswith("v1,")

    def test_the_secret_stays_across_restarts_and_ctrl_c_stops_it(self, live: Live, listeners: list[Listener]) -> None:
        first = Listener(live, "--forward-to", "http://127.0.0.1:9/hooks")
        listeners.append(first)
        secret = first.secret()
        first.process.send_signal(signal.SIGINT)
        assert first.process.wait(timeout=20) == 0
        assert "stopped after forwarding 0 events" in first.line("stopped")
        second = Listener(live, "--forward-to", "http://127.0.0.1:9/hooks")
        listeners.append(second)
        assert second.secret() == secret

    def test_a_receiver_that_is_down_is_reported_and_listen_goes_on(
        self, live: Live, listeners: list[Listener]
    ) -> None:
        listener = Listener(live, "--forward-to", "http://127.0.0.1:9/hooks")
        listeners.append(listener)
        listener.secret()
        with live.client() as client, live.log() as log:
            for _ in range(2):
                create(client)
                newest = log.list_events(limit=1).items[0]
                assert "[failed: " in listener.line(newest.id)
        assert listener.stop() == 0

    def test_wrong_credentials_exit_1(self, live: Live) -> None:
        result = runner.invoke(
            cli, ["listen", "--forward-to", "http://127.0.0.1:9/"], env={**live.env, "SEQUENCE_CLIENT_SECRET": "no"}
        )
        assert result.exit_code == 1
        assert "401" in result.output


def _renamed(client: Client, customer_id: str) -> wire.CreateOrUpdateCustomerRequest:
    current = client.get_customer(customer_id)
    return wire.CreateOrUpdateCustomerRequest(
        legal_name=current.legal_name + " (renamed)",
        address=current.address,
        tax_status=current.tax_status,
        contacts=[wire.ContactRequest("Billing", "billing@example.com", BillingPreference.PRIMARY)],
    )
