"""The pytest plugin (entry point `patron`): fixtures for tests against a live patron sandbox,
over HTTP only (docs/sandbox/in-your-tests.md). One sandbox per test session (per xdist
worker), one fresh account per test, so parallel tests never see each other's data."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from patron.client import Client
from patron.testing.account import PatronAccount, PatronClock
from patron.testing.control import Control, ControlError
from patron.testing.sandbox import Sandbox, SandboxError, SandboxProcess
from patron.testing.webhooks import PatronWebhooks, WebhookReceiver

_LONGEST_NAME = 200


@pytest.fixture(scope="session")
def patron_sandbox() -> Iterator[Sandbox]:
    """A live sandbox for the session: the one `PATRON_ADMIN_URL` and `PATRON_ADMIN_TOKEN`
    name when both are set, else `patron sandbox` on a free loopback port, stopped (its
    temporary database removed) at the end."""
    running = Sandbox.from_env(os.environ)
    if running is not None:
        _check_answers(running)
        yield running
        return
    try:
        process = SandboxProcess()
    except SandboxError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield process.sandbox
    finally:
        process.stop()


def _check_answers(sandbox: Sandbox) -> None:
    """Fail at once, and say where the address came from, if the named sandbox is not there."""
    try:
        with Control(sandbox.admin_url, sandbox.admin_token, timeout=10) as control:
            control.accounts(limit=1)
    except (httpx.HTTPError, ControlError) as exc:
        pytest.fail(
            f"the sandbox PATRON_ADMIN_URL names ({sandbox.admin_url}, from the environment) does not answer: "
            f"{exc}; unset PATRON_ADMIN_URL to have the plugin start a sandbox of its own",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def _patron_control(patron_sandbox: Sandbox) -> Iterator[Control]:
    """The operator's client, one per session (its connections are reused)."""
    with Control(patron_sandbox.admin_url, patron_sandbox.admin_token) as control:
        yield control


@pytest.fixture
def patron_account(
    patron_sandbox: Sandbox, _patron_control: Control, request: pytest.FixtureRequest
) -> Iterator[PatronAccount]:
    """A fresh account for this test (named after it), deleted with everything in it after
    (unless the test deleted it)."""
    new = _patron_control.create_account(request.node.nodeid[-_LONGEST_NAME:])
    account = PatronAccount(new.account_id, new.client_id, new.client_secret, patron_sandbox.base_url, _patron_control)
    yield account
    try:
        _patron_control.delete_account(account.account_id)
    except ControlError as exc:
        if exc.status != 404:  # the test deleted it itself
            raise


@pytest.fixture
def patron_client(patron_account: PatronAccount) -> Iterator[Client]:
    """A `patron.client.Client` for `patron_account`, closed after the test."""
    with patron_account.client() as client:
        yield client


@pytest.fixture
def patron_clock(patron_account: PatronAccount) -> PatronClock:
    """`patron_account`'s test clock: `.freeze(...)`, `.advance("P7D")`, `.reset()`, `.now()`."""
    return PatronClock(patron_account)


@pytest.fixture
def patron_webhooks(patron_account: PatronAccount) -> Iterator[PatronWebhooks]:
    """A webhook receiver on 127.0.0.1 behind a WEBHOOK policy (every type) of
    `patron_account`: every delivery's signature is checked with the policy's secret, the
    good ones collected in `.deliveries`; `.wait_for(type, count)` has the sandbox send what
    is due first, so a test never sleeps (docs/webhooks.md)."""
    with WebhookReceiver() as receiver:
        hooks = PatronWebhooks(patron_account, receiver)
        try:
            yield hooks
        finally:
            hooks.close()
