"""The docs page at /api/docs/ names only patron's own files, and patron serves each of them
(tests/system/test_docs_offline.py renders it in a browser with the network cut)."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from patron.server.web import docs

Client = TestClient[Litestar]
_REFERENCE = re.compile(r"""\b(?:src|href)=["']([^"']*)["']""")
_CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def page_references(client: Client) -> list[str]:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    return _REFERENCE.findall(response.text)


class TestThePage:
    def test_is_html_without_credentials(self, client: Client) -> None:
        response = client.get("/api/docs/")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")

    def test_the_path_without_its_slash_is_the_same_page(self, client: Client) -> None:
        assert client.get("/api/docs").text == client.get("/api/docs/").text

    def test_names_no_external_url(self, client: Client) -> None:
        text = client.get("/api/docs/").text
        assert "http://" not in text
        assert "https://" not in text
        assert "//" not in "".join(page_references(client))

    def test_every_file_it_names_is_patrons_own(self, client: Client) -> None:
        references = page_references(client)
        assert {r.rsplit("/", 1)[-1] for r in references} == {
            "favicon-32x32.png",
            "swagger-ui.css",
            "swagger-ui-bundle.js",
        }
        assert all(r.startswith(f"/api/docs/assets/{docs.VERSION}/") for r in references)

    def test_loads_patrons_openapi_document_with_no_validator_badge(self, client: Client) -> None:
        text = client.get("/api/docs/").text
        assert 'url: "/api/openapi.json"' in text
        # Else a layout with the validator badge would fetch it from validator.swagger.io.
        assert "validatorUrl: null" in text


class TestTheAssets:
    def test_every_file_the_page_names_answers_with_its_content_type(self, client: Client) -> None:
        for reference in page_references(client):
            response = client.get(reference)
            assert response.status_code == 200, reference
            expected = _CONTENT_TYPES[reference[reference.rindex(".") :]]
            assert response.headers["content-type"].split(";")[0] == expected, reference

    def test_are_the_installed_packages_files_cached_for_a_year(self, client: Client) -> None:
        installed = resources.files("drf_spectacular_sidecar") / "static/drf_spectacular_sidecar/swagger-ui-dist"
        for reference in page_references(client):
            response = client.get(reference)
            assert response.content == (installed / reference.rsplit("/", 1)[-1]).read_bytes()
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"

    def test_the_source_maps_the_bundle_names_are_served(self, client: Client) -> None:
        response = client.get(f"/api/docs/assets/{docs.VERSION}/swagger-ui-bundle.js.map")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")

    @pytest.mark.parametrize(
        "path",
        [
            f"/api/docs/assets/{docs.VERSION}/oauth2-redirect.html",
            f"/api/docs/assets/{docs.VERSION}/LICENSE",
            f"/api/docs/assets/{docs.VERSION}/..%2F..%2F__init__.py",
            "/api/docs/assets/0.0.0/swagger-ui-bundle.js",
        ],
    )
    def test_anything_else_is_404(self, client: Client, path: str) -> None:
        assert client.get(path).status_code == 404
