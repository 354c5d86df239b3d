"""A short use of `patron.client`, run by the core venv's Python (`pip install patron`, no
server): create a customer, read it back by id and by alias. SEQUENCE_BASE_URL,
SEQUENCE_CLIENT_ID and SEQUENCE_CLIENT_SECRET name the API; prints what it read as JSON."""

from __future__ import annotations

import json
import os

from patron.client import Client
from patron.wire import enums
from patron.wire import models as wire


def main() -> None:
    client = Client(
        os.environ["SEQUENCE_BASE_URL"], os.environ["SEQUENCE_CLIENT_ID"], os.environ["SEQUENCE_CLIENT_SECRET"]
    )
    try:
        created = client.create_customer(
            wire.CreateOrUpdateCustomerRequest(
                legal_name="Example Client Ltd",
                address=wire.Address(
                    line1="1 Wheel Street", town="London", postcode="N1 1AA", country=enums.CountryCode.GB
                ),
                tax_status=enums.TaxStatus.TAXED,
                contacts=[
                    wire.ContactRequest(
                        name="Grace", email="grace@example.test", billing_preference=enums.BillingPreference.PRIMARY
                    )
                ],
                customer_aliases=["example-client-1"],
            )
        )
        by_id = client.get_customer(created.id)
        by_alias = client.get_customer_by_alias("example-client-1")
    finally:
        client.close()
    print(json.dumps({"created": created.id, "byId": by_id.legal_name, "byAlias": by_alias.id}))


if __name__ == "__main__":
    main()
