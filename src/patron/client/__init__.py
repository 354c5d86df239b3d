"""A Python client for the Sequence Customers API (patron or Sequence itself), over httpx.

    client = Client("http://127.0.0.1:8000/api", client_id, client_secret)
    customer = client.create_customer(CreateOrUpdateCustomerRequest(...))
    for item in client.iter_customers(legal_name="acme"):
        ...

Errors: every non-2xx answer raises `ApiError` (with `.status`, `.type`, `.message`).

Webhooks (docs/webhooks.md): `verify_signature(raw_body, header, secret)` checks a delivery's
`Sequence-Signature`, `WebhookEnvelope` is its body, and `WebhookLog` reads an account's
webhook log on a patron server.
"""

from patron.client._client import ApiError, Client
from patron.client._webhooks import WebhookLog, verify_signature
from patron.wire.notifications import WebhookEnvelope
from patron.wire.signature import SignatureError

__all__ = ["ApiError", "Client", "SignatureError", "WebhookEnvelope", "WebhookLog", "verify_signature"]
