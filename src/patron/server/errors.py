"""Domain errors. They carry no HTTP: `web/errors.py` maps each class to a status and body.

PatronError
 ├── NotFound          the object does not exist in this account
 ├── Conflict          a uniqueness rule would be broken (alias value, organization owner)
 ├── InvalidInput      the request is well-formed but breaks a rule; names the field
 ├── Unauthenticated   missing, malformed, unknown or revoked credentials
 ├── IdempotencyMismatch  an Idempotency-Key reused with a different request
 └── Unavailable       the database cannot be reached
"""

from __future__ import annotations


class PatronError(Exception):
    """Base of every error patron raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(PatronError):
    def __init__(self, resource: str, ident: str) -> None:
        super().__init__(f"{resource} {ident!r} not found")
        self.resource = resource
        self.ident = ident


class Conflict(PatronError):
    pass


class InvalidInput(PatronError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message


class Unauthenticated(PatronError):
    pass


class IdempotencyMismatch(PatronError):
    pass


class Unavailable(PatronError):
    pass
