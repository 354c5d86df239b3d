"""Bulk inserts for the import: the four tables an imported customer fills, loaded the
fastest way each database offers (`db.bulk`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from patron.server.db import bulk as load
from patron.server.db import tables

LoadRow = load.Row


@dataclass(frozen=True)
class Loaders:
    """Bulk inserts into the tables an imported customer fills. Rows hold ids as 32 hex
    digits, JSON from `document` and timestamps from `moment`."""

    dialect: str
    customer: load.Loader
    contact: load.Loader
    alias: load.Loader
    property: load.Loader

    def moment(self, value: datetime) -> Any:
        return load.moment(self.dialect, value)

    @staticmethod
    def document(value: Any) -> str:
        return load.document(value)


def for_dialect(dialect: str) -> Loaders:
    """The loaders of this database."""
    return Loaders(
        dialect=dialect,
        # customers has row triggers on SQLite (the trigram name index): staged
        customer=load.Loader(tables.customer, dialect, staged=True),
        contact=load.Loader(tables.contact, dialect),
        alias=load.Loader(tables.customer_alias, dialect),
        property=load.Loader(tables.custom_property, dialect),
    )
