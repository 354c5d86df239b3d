"""The client: one method per operation, typed with the wire models."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

import httpx
import msgspec

from patron.wire import API_VERSION
from patron.wire import models as wire

T = TypeVar("T")


class ApiError(Exception):
    """A non-2xx answer, with Sequence's error type and message when the body has them."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(f"{status} {error_type}: {message}")
        self.status = status
        self.type = error_type
        self.message = message


class Client:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: float = 10.0,
        http: httpx.Client | None = None,
    ) -> None:
        self._http = http or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self._http.auth = httpx.BasicAuth(client_id, client_secret)
        self._http.headers["Sequence-Version"] = API_VERSION

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, kind: type[T], *, body: Any = None, params: Any = None) -> T:
        content = msgspec.json.encode(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        response = self._http.request(method, path, content=content, params=params, headers=headers)
        if response.status_code >= 400:
            try:
                detail = msgspec.json.decode(response.content, type=wire.ErrorBody).error
                raise ApiError(response.status_code, detail.type, detail.message)
            except msgspec.ValidationError:
                raise ApiError(response.status_code, "Error", response.text) from None
            except msgspec.DecodeError:
                raise ApiError(response.status_code, "Error", response.text) from None
        return msgspec.json.decode(response.content, type=kind)

    # --- customers -----------------------------------------------------------------

    def list_customers(self, **filters: Any) -> wire.ListCustomerResponse:
        """One page; filters use the API's names (`legalName=...`, `limit=...`, `after=...`)."""
        params = {k: _param(v) for k, v in filters.items() if v is not None}
        return self._call("GET", "/customers", wire.ListCustomerResponse, params=params)

    def iter_customers(self, **filters: Any) -> Iterator[wire.ListCustomerItem]:
        """Every matching customer, following `pagination.after` cursors."""
        while True:
            page = self.list_customers(**filters)
            yield from page.items
            if page.pagination.after is None:
                return
            filters = {**filters, "after": page.pagination.after}

    def create_customer(self, request: wire.CreateOrUpdateCustomerRequest) -> wire.Customer:
        return self._call("POST", "/customers", wire.Customer, body=request)

    def get_customer(self, customer_id: str) -> wire.Customer:
        return self._call("GET", f"/customers/{customer_id}", wire.Customer)

    def update_customer(self, customer_id: str, request: wire.CreateOrUpdateCustomerRequest) -> wire.Customer:
        return self._call("PUT", f"/customers/{customer_id}", wire.Customer, body=request)

    def archive_customer(self, customer_id: str) -> wire.Customer:
        return self._call("POST", f"/customers/{customer_id}/archive", wire.Customer)

    def get_customer_by_alias(self, alias: str) -> wire.Customer20240509:
        return self._call("GET", f"/customers/by-alias/{_segment(alias)}", wire.Customer20240509)

    # --- aliases -------------------------------------------------------------------

    def create_alias(self, customer_id: str, value: str, *, label: str | None = None) -> wire.CustomerAliasResponse:
        body = wire.CreateCustomerAliasRequest(customer_id=customer_id, value=value, label=label)
        return self._call("POST", "/customer-aliases", wire.CustomerAliasResponse, body=body)

    def delete_alias(self, alias_id: str) -> wire.CustomerAliasResponse:
        return self._call("DELETE", f"/customer-aliases/{alias_id}", wire.CustomerAliasResponse)

    def customer_aliases(self, customer_id: str) -> wire.CustomerAliasList:
        return self._call("GET", f"/customers/{customer_id}/aliases", wire.CustomerAliasList)


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value.value if hasattr(value, "value") else value)


def _segment(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
