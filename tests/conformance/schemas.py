"""Sequence's published schemas, read from ../shared beside the repository (never copied)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from patron.server.app import create_app
from patron.server.config import Settings

SHARED = Path(__file__).resolve().parents[3] / "shared"
OPENAPI = SHARED / "sequence-openapi"
BASELINE = OPENAPI / "sequence-customers-2024-07-30.baseline.json"
HEAD = OPENAPI / "sequence-customers-2024-07-30.head.json"
SEEDS = SHARED / "seeds"


@cache
def load(path: Path) -> dict[str, Any]:
    if not path.exists():
        pytest.skip(f"{path} is absent: Sequence's schemas live in ../shared beside the repository (CI has it)")
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def component_schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    """A component with its $refs resolvable: the whole document's components travel along."""
    return {"$ref": f"#/components/schemas/{name}", "components": document["components"]}


def example_of(document: dict[str, Any], path: str, method: str, status: str = "200") -> Any:
    content = document["paths"][path][method]["responses"][status]["content"]["application/json"]
    return content["schema"].get("example") or next(iter(content["examples"].values()))["value"]


def served(path: str, scratch: Path) -> dict[str, Any]:
    """The OpenAPI document a throwaway app serves at `path` (it does not depend on the
    database). The app's lifespan ends before this returns, so nothing of it (the webhook
    dispatcher, a portal thread) runs on while the tests are collected."""
    from litestar.testing import TestClient

    app = create_app(Settings(database_url=f"sqlite:///{scratch}", secret_key="probe", webhooks=False))
    try:
        with TestClient(app) as client:
            document: dict[str, Any] = client.get(path).json()
    finally:
        for leftover in scratch.parent.glob(f"{scratch.name}*"):
            leftover.unlink()
    return document
