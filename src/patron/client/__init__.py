"""A typed Python client for the Sequence Customers API (patron, or Sequence itself), over
httpx: every operation, blocking (`Client`) or asyncio (`AsyncClient`). docs/client.md.

    from patron.client import Client, NotFound
    from patron.wire import models as wire
    from patron.wire.enums import BillingPreference, CountryCode, TaxStatus

    with Client("http://127.0.0.1:8000/api", client_id, client_secret, retries=3) as client:
        customer = client.create_customer(
            wire.CreateOrUpdateCustomerRequest(
                legal_name="Acme Ltd",
                address=wire.Address(line1="1 Main Street", town="London", postcode="EC1A 1BB", country=CountryCode.GB),
                tax_status=TaxStatus.TAXED,
                contacts=[wire.ContactRequest("Billing", "billing@acme.example", BillingPreference.PRIMARY)],
                customer_aliases=["crm-1001"],
            )
        )
        for item in client.iter_customers(legal_name="acme", limit=50):
            print(item.id, item.legal_name)
        try:
            client.get_customer_by_alias("crm-9999")
        except NotFound as exc:
            print(exc.status, exc.type, exc.request_id)

Errors: a non-2xx answer raises a subclass of `ApiError` (`BadRequest`, `Unauthorized`,
`NotFound`, `Conflict`, `RateLimited`, `ServerError`). Webhooks (docs/webhooks.md):
`verify_signature(raw_body, header, secret)` checks a delivery's `Sequence-Signature`,
`WebhookEnvelope` is its body, and `WebhookLog` reads an account's webhook log on patron.
"""

from patron.client._client import AsyncClient, Client
from patron.client._errors import (
    ApiError,
    BadRequest,
    Conflict,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
)
from patron.client._webhooks import WebhookLog, verify_signature
from patron.wire.notifications import WebhookEnvelope
from patron.wire.signature import SignatureError

__all__ = [
    "ApiError",
    "AsyncClient",
    "BadRequest",
    "Client",
    "Conflict",
    "NotFound",
    "RateLimited",
    "ServerError",
    "SignatureError",
    "Unauthorized",
    "WebhookEnvelope",
    "WebhookLog",
    "verify_signature",
]
