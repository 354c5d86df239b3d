"""`python -m patron.server.db.checkmigrations`: apply every migration to a scratch SQLite
file, then fail if the tables in code differ from what the migrations built."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from patron.server.db import migrate
from patron.server.db.engine import make_engine


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'check.db'}")
        migrate.upgrade(engine)
        migrate.check(engine)
        migrate.downgrade(engine, "base")
        migrate.upgrade(engine)
        engine.dispose()
    print("migrations: up, down and up again; tables match the code")
    return 0


if __name__ == "__main__":
    sys.exit(main())
