"""`make docs`: the client's API docs from its docstrings, readable with no network."""

from __future__ import annotations

import re

from tests.packaging.conftest import ROOT, make

APIDOCS = ROOT / "build" / "apidocs"
# What a browser would fetch: scripts, stylesheets, images, frames, fonts (a plain link is not).
_FETCHED = re.compile(r"""<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)=["']?(?:https?:)?//""", re.I)


def test_documents_the_client_wire_and_testing_offline() -> None:
    make("docs")
    pages = sorted(APIDOCS.rglob("*.html"))
    names = {page.relative_to(APIDOCS).as_posix() for page in pages}
    assert {"patron/client.html", "patron/wire.html", "patron/testing.html", "patron/wire/models.html"} <= names
    assert "Client" in (APIDOCS / "patron" / "client.html").read_text()
    fetching = [page.name for page in pages if _FETCHED.search(page.read_text()) or "@import url(" in page.read_text()]
    assert fetching == []
