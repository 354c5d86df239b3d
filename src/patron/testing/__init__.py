"""patron's test toolkit (docs/sandbox/in-your-tests.md): the pytest plugin's fixtures live in
`patron.testing.plugin` (entry point `patron`); here are the types they hand out, for
annotations, and the sandbox's HTTP client. Nothing here imports the server."""

from patron.testing.account import PatronAccount, PatronClock
from patron.testing.control import Control, ControlError, NewAccount, read_fixture
from patron.testing.sandbox import Sandbox, SandboxError, SandboxProcess

__all__ = [
    "Control",
    "ControlError",
    "NewAccount",
    "PatronAccount",
    "PatronClock",
    "Sandbox",
    "SandboxError",
    "SandboxProcess",
    "read_fixture",
]
