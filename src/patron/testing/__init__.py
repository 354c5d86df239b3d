"""patron's test toolkit (docs/sandbox/in-your-tests.md): the pytest plugin's fixtures live in
`patron.testing.plugin` (entry point `patron`); here are the types they hand out, for
annotations, and the sandbox's HTTP client. Nothing here imports the server."""

from patron.testing.account import PatronAccount, PatronClock
from patron.testing.control import Control, ControlError, NewAccount, read_fixture
from patron.testing.sandbox import Sandbox, SandboxError, SandboxProcess
from patron.testing.webhooks import PatronWebhooks, ReceivedWebhook, RejectedWebhook, WebhookReceiver

__all__ = [
    "Control",
    "ControlError",
    "NewAccount",
    "PatronAccount",
    "PatronClock",
    "PatronWebhooks",
    "ReceivedWebhook",
    "RejectedWebhook",
    "Sandbox",
    "SandboxError",
    "SandboxProcess",
    "WebhookReceiver",
    "read_fixture",
]
