"""Each row builder names every column of its table, so the API's writes and the bulk
import (which both build rows with them) cannot miss a new column."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Table

from patron.server.db import rows, tables

BUILDERS: list[tuple[Table, Callable[[], dict[str, Any]]]] = [
    (
        tables.customer,
        lambda: rows.customer(
            account_id=1,
            customer_id=2,
            fields=rows.CustomerFields(
                legal_name="Acme",
                legal_name_key="acme",
                url=None,
                label=None,
                tax_status="TAXED",
                address_line1="1 Main St",
                address_line2=None,
                address_town="Springfield",
                address_state=None,
                address_postcode="12345",
                address_country="GB",
            ),
            status="ACTIVE",
            integration_ids=[],
            parent_id=None,
            now=3,
        ),
    ),
    (
        tables.contact,
        lambda: rows.contact(
            account_id=1, contact_id=2, customer_id=3, person=("Ann", "Ann@Example.com", "PRIMARY"), position=0, now=4
        ),
    ),
    (tables.customer_alias, lambda: rows.alias(account_id=1, alias_id=2, customer_id=3, value="v", label=None, now=4)),
    (tables.custom_property, lambda: rows.custom_property(account_id=1, customer_id=2, key="k", value="v")),
]


@pytest.mark.parametrize(("table", "build"), BUILDERS, ids=[table.name for table, _ in BUILDERS])
def test_a_builder_fills_exactly_its_tables_columns(table: Table, build: Callable[[], dict[str, Any]]) -> None:
    assert sorted(build()) == sorted(table.columns.keys())


def test_a_contact_is_matched_by_its_casefolded_email() -> None:
    row = rows.contact(
        account_id=1, contact_id=2, customer_id=3, person=("Ann", "Ann@Example.COM", "PRIMARY"), position=0, now=4
    )
    assert (row["email"], row["email_key"]) == ("Ann@Example.COM", "ann@example.com")
