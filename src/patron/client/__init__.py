"""A Python client for the Sequence Customers API (patron or Sequence itself), over httpx.

    client = Client("http://127.0.0.1:8000/api", client_id, client_secret)
    customer = client.create_customer(CreateOrUpdateCustomerRequest(...))
    for item in client.iter_customers(legal_name="acme"):
        ...

Errors: every non-2xx answer raises `ApiError` (with `.status`, `.type`, `.message`).
"""

from patron.client._client import ApiError, Client

__all__ = ["ApiError", "Client"]
