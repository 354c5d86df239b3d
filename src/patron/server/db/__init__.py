"""Storage: engine, transaction boundary, tables, keyset cursors and migrations."""

from typing import Any, TypeAlias

from sqlalchemy import Row

# A result row whose columns are read by name (`row.legal_name`).
Record: TypeAlias = Row[*tuple[Any, ...]]
