"""The operator's side of a sandbox's control plane (`/_patron/`, docs/sandbox.md) over HTTP,
and reading a seed fixture file: what the pytest plugin and `patron sandbox --seed` use."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import yaml  # type: ignore[import-untyped]  # PyYAML ships no types

FixtureSource = Mapping[str, Any] | str | os.PathLike[str]
"""A seed fixture: the document itself, or the path of a JSON or YAML file holding it."""


class ControlError(Exception):
    """The control plane refused a call (or answered something else than success)."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} answered {status}: {_error_message(body)}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class NewAccount:
    """An account the control plane created, with its credential pair."""

    account_id: str
    client_id: str
    client_secret: str


class Control:
    """The operator's calls (`Authorization: Bearer <admin token>`) under `admin_url`
    (`http://HOST:PORT/_patron`). Each method raises `ControlError` unless patron says yes."""

    def __init__(self, admin_url: str, token: str, *, timeout: float = 30.0) -> None:
        self.admin_url = admin_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"}
        self._http = httpx.Client(base_url=self.admin_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Control:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, *, body: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        response = self._http.request(method, path, json=body, params=params)
        if not response.is_success:
            raise ControlError(method, f"{self.admin_url}{path}", response.status_code, response.text)
        return response.json() if response.content else None

    def create_account(
        self, name: str, *, client_id: str | None = None, client_secret: str | None = None
    ) -> NewAccount:
        chosen = {"clientId": client_id, "clientSecret": client_secret}
        body = {"name": name, **{k: v for k, v in chosen.items() if v is not None}}
        created = self._call("POST", "/accounts", body=body)
        return NewAccount(str(created["accountId"]), str(created["clientId"]), str(created["clientSecret"]))

    def accounts(self, *, limit: int | None = None) -> list[Any]:
        params = {"limit": limit} if limit is not None else None
        return list(self._call("GET", "/accounts", params=params)["items"])

    def delete_account(self, account_id: str) -> None:
        self._call("DELETE", _account(account_id))

    def reset(self, account_id: str) -> None:
        self._call("POST", f"{_account(account_id)}/reset")

    def snapshot(self, account_id: str, name: str) -> Any:
        return self._call("POST", f"{_account(account_id)}/snapshots", body={"name": name})

    def restore(self, account_id: str, name: str) -> None:
        self._call("POST", f"{_account(account_id)}/snapshots/{quote(name, safe='')}/restore")

    def seed(self, account_id: str, fixture: FixtureSource) -> Any:
        """Load a fixture (the document, or a JSON or YAML file) into the account."""
        document = fixture if isinstance(fixture, Mapping) else read_fixture(fixture)
        return self._call("POST", f"{_account(account_id)}/seed", body=dict(document))

    def clock(self, account_id: str) -> Any:
        return self._call("GET", f"{_account(account_id)}/clock")

    def freeze(self, account_id: str, moment: str | datetime) -> Any:
        return self._call("PUT", f"{_account(account_id)}/clock", body={"frozenTime": iso_moment(moment)})

    def advance(self, account_id: str, by: str | timedelta) -> Any:
        return self._call("POST", f"{_account(account_id)}/clock/advance", body={"by": iso_duration(by)})

    def unfreeze(self, account_id: str) -> None:
        self._call("DELETE", f"{_account(account_id)}/clock")

    def inject_fault(self, account_id: str, rule: Mapping[str, Any]) -> Any:
        """Add a fault rule (`{"path", "status"?, "method"?, "count"?, ...}` in the wire's names)."""
        return self._call("POST", f"{_account(account_id)}/faults", body=dict(rule))

    def clear_faults(self, account_id: str) -> None:
        self._call("DELETE", f"{_account(account_id)}/faults")

    def requests(self, account_id: str, *, limit: int | None = None) -> list[Any]:
        params = {"limit": limit} if limit is not None else None
        journal = self._call("GET", f"{_account(account_id)}/requests", params=params)
        return list(journal["items"])


def _account(account_id: str) -> str:
    return f"/accounts/{quote(account_id, safe='')}"


def _error_message(body: str) -> str:
    """Sequence's error body's message, with the fields it does not already name; else the body."""
    try:
        error = json.loads(body)["error"]
        message = str(error["message"])
        fields = [f"{e['field']}: {e['message']}" for e in error.get("errors") or []]
    except (ValueError, KeyError, TypeError):
        return body[:500]
    unsaid = [field for field in fields if field not in message]
    return message + (f" ({'; '.join(unsaid)})" if unsaid else "")


def iso_moment(moment: str | datetime) -> str:
    """A timestamp as the control plane takes it; a naive `datetime` is read as UTC."""
    if isinstance(moment, str):
        return moment
    at = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    return f"{at:%Y-%m-%dT%H:%M:%S}.{at.microsecond // 1000:03d}Z"


def iso_duration(by: str | timedelta) -> str:
    """An ISO 8601 duration (`P7D`, `PT90S`); a `timedelta` becomes days and seconds, to the
    millisecond (the clock's precision: finer digits are dropped)."""
    if isinstance(by, str):
        return by
    if by < timedelta(0):
        raise ValueError(f"the test clock only moves forward: {by!r}")
    seconds = f"{by.seconds}.{by.microseconds // 1000:03d}".rstrip("0").rstrip(".")
    time = f"T{seconds}S" if seconds != "0" else ""
    return f"P{by.days}D{time}" if by.days or not time else f"P{time}"


class _FixtureLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types
    """YAML read as the seed endpoint's own parser reads a fixture file (docs/sandbox.md):
    every scalar is text (YAML 1.1 would read `postcode: 01234` as 668 and `country: NO`,
    Norway, as false), only `null`, `~` and nothing are null; anchors and merge keys work."""


_KEPT_TAGS = {"tag:yaml.org,2002:null", "tag:yaml.org,2002:merge"}
_FixtureLoader.yaml_implicit_resolvers = {
    first: [(tag, rule) for tag, rule in rules if tag in _KEPT_TAGS]
    for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_fixture(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A seed fixture file: YAML when it ends in `.yaml` or `.yml`, JSON otherwise; the
    endpoint checks the rest. `ValueError` when it is not a mapping (`{"customers": [...]}`)."""
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    try:
        yaml_file = file.suffix.lower() in {".yaml", ".yml"}
        document = yaml.load(text, Loader=_FixtureLoader) if yaml_file else json.loads(text)  # noqa: S506 (a safe loader)
    except (ValueError, yaml.YAMLError) as exc:
        raise ValueError(f"{file}: not valid {'YAML' if yaml_file else 'JSON'}: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError(f'{file}: a fixture is a mapping, {{"customers": [...]}}')
    return document
