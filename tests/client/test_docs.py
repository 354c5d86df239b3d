"""The examples of docs/client.md, the README and `patron.client`'s docstring run as written,
against a live sandbox (patron's pytest plugin), with an account's credentials."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

import patron.client
from patron.testing import PatronAccount
from patron.wire import models as wire
from patron.wire.enums import BillingPreference, CountryCode, State, TaxStatus

DOCS = Path(__file__).resolve().parents[2] / "docs" / "client.md"
README = Path(__file__).resolve().parents[2] / "README.md"
URL = "http://127.0.0.1:8000/api"


def _blocks_with_the_url(markdown: str) -> list[str]:
    return [block for block in re.findall(r"```python\n(.*?)```", markdown, re.DOTALL) if URL in block]


def _run(source: str, account: PatronAccount) -> None:
    namespace = {"client_id": account.client_id, "client_secret": account.client_secret}
    exec(compile(source.replace(URL, account.base_url), "<example>", "exec"), namespace)


def test_the_guide_s_examples_run(patron_account: PatronAccount, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = _blocks_with_the_url(DOCS.read_text())
    assert len(blocks) == 3  # the first call, async, retries
    _run("\n".join(blocks), patron_account)
    printed = capsys.readouterr().out
    assert "Acme Ltd" in printed
    assert "404 NotFound" in printed


def test_the_readme_s_example_runs(patron_account: PatronAccount, capsys: pytest.CaptureFixture[str]) -> None:
    section = README.read_text().split("## The Python client\n", 1)[1].split("\n## ", 1)[0]
    [block] = _blocks_with_the_url(section)
    with patron_account.client() as client:
        made = client.create_customer(_acme())
    _run(block, patron_account)
    printed = capsys.readouterr().out
    assert f"{made.id} Acme Ltd" in printed  # the filtered list
    assert "NotFound" in printed  # no customer has the alias crm-42


def _acme() -> wire.CreateOrUpdateCustomerRequest:
    return wire.CreateOrUpdateCustomerRequest(
        legal_name="Acme Ltd",
        address=wire.Address(
            line1="1 Main St", town="Springfield", state=State.IL, postcode="62701", country=CountryCode.US
        ),
        tax_status=TaxStatus.TAXED,
        contacts=[wire.ContactRequest("Ada", "ada@acme.test", BillingPreference.PRIMARY)],
    )


def test_the_module_docstring_s_example_runs(patron_account: PatronAccount, capsys: pytest.CaptureFixture[str]) -> None:
    doc = patron.client.__doc__ or ""
    example = textwrap.dedent(doc.split("\n\nErrors:")[0].split("\n\n", 1)[1])
    assert URL in example
    _run(example, patron_account)
    assert "Acme Ltd" in capsys.readouterr().out


def test_the_guide_s_scripted_server_example_runs() -> None:
    [block] = [b for b in re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.DOTALL) if "MockTransport(" in b]
    exec(compile(block, "<example>", "exec"), {})
