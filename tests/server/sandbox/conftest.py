"""Fixtures for the sandbox's control plane: the app with an admin token set."""

from __future__ import annotations

import pytest

from patron.server.config import Settings
from tests.conftest import NO_LIMITS, SECRET_KEY

ADMIN_TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
"""Headers of the operator's requests."""


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The control plane on (every test in this directory), rate limits off."""
    return Settings(database_url=database_url, secret_key=SECRET_KEY, admin_token=ADMIN_TOKEN, **NO_LIMITS)
