"""What a write changed, noted by the services as they go and announced before the write
commits (docs/webhooks.md): the customers created, archived or otherwise touched, the
organizations whose members changed and the customers renamed (their organizations show
the name). The edge opens `noting()` around each API write (and `patron import
--emit-events` around each batch); with no collector open (an import, a seed) noting does
nothing, so those writes fire no webhook."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from patron.wire import models as wire


@dataclass
class Noted:
    """The changes of one write; `queued` once the outbox has deliveries to send."""

    created: set[uuid.UUID] = field(default_factory=set)
    rendered: dict[uuid.UUID, wire.Customer] = field(default_factory=dict)
    archived: set[uuid.UUID] = field(default_factory=set)
    touched: set[uuid.UUID] = field(default_factory=set)
    organizations: set[uuid.UUID] = field(default_factory=set)
    renamed: set[uuid.UUID] = field(default_factory=set)
    queued: bool = False

    def __bool__(self) -> bool:
        return bool(self.created or self.archived or self.touched or self.organizations or self.renamed)


_noted: ContextVar[Noted | None] = ContextVar("patron_changes", default=None)


@contextmanager
def noting() -> Iterator[Noted]:
    """Collect what the write within this block changes."""
    noted = Noted()
    token = _noted.set(noted)
    try:
        yield noted
    finally:
        _noted.reset(token)


def created(customer: wire.Customer) -> None:
    """A new customer, as rendered once its write is complete (nobody else can see it yet,
    so that rendering is the one to announce)."""
    if (noted := _noted.get()) is not None:
        noted.created.add(uuid.UUID(customer.id))
        noted.rendered[uuid.UUID(customer.id)] = customer


def inserted(customer_ids: Iterable[uuid.UUID]) -> None:
    """New customers stored without a rendering (an import's rows)."""
    if (noted := _noted.get()) is not None:
        noted.created.update(customer_ids)


def archived(customer_id: uuid.UUID) -> None:
    if (noted := _noted.get()) is not None:
        noted.archived.add(customer_id)


def touched(customer_ids: Iterable[uuid.UUID]) -> None:
    """Customers whose representation may have changed (announced only if it did)."""
    if (noted := _noted.get()) is not None:
        noted.touched.update(customer_ids)


def organization(organization_id: uuid.UUID | None) -> None:
    """An organization whose members changed: its owner and members as the write leaves them."""
    if organization_id is not None and (noted := _noted.get()) is not None:
        noted.organizations.add(organization_id)


def renamed(customer_id: uuid.UUID) -> None:
    """A customer whose legal name changed: everyone sharing an organization with it too."""
    if (noted := _noted.get()) is not None:
        noted.renamed.add(customer_id)
