"""Query-shape helpers for plans a database would otherwise get wrong."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import Join


class OuterFirst(Join):
    """An inner join whose left side must drive: SQLite spells it CROSS JOIN, the one join
    its planner never reorders; elsewhere a plain JOIN. Used where the left side's index
    gives the ORDER BY (custom properties by value), which SQLite's planner otherwise
    trades for a sort of the whole account."""

    inherit_cache = True


@compiles(OuterFirst, "sqlite")
def _cross_join(join: OuterFirst, compiler: SQLCompiler, **kw: Any) -> str:
    sides = {**kw, "asfrom": True}
    condition = {k: v for k, v in kw.items() if k != "asfrom"}
    assert join.onclause is not None
    left = join.left._compiler_dispatch(compiler, **sides)
    right = join.right._compiler_dispatch(compiler, **sides)
    return f"{left} CROSS JOIN {right} ON {join.onclause._compiler_dispatch(compiler, **condition)}"
