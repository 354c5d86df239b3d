"""How much one object may hold, so that every response listing its parts stays bounded
(docs/behaviour.md, "Concurrent writes and caps"). Past a cap a write is a 400 naming the
field; each cap is checked under the row lock of the object that holds the parts."""

from __future__ import annotations

ALIASES_PER_CUSTOMER = 100
"""Live aliases of one customer (`GET /customers/{id}/aliases` returns them all)."""

LIVE_CONTACTS_PER_CUSTOMER = 100
"""Live contacts of one customer (every customer response carries them all)."""

CONTACTS_PER_CUSTOMER = 1000
"""Contacts of one customer, archived ones included (`?includeArchived=true` lists all):
room for 900 replaced contacts, so a customer whose contacts change is not refused for
its history before years of changes."""

MEMBERS_PER_ORGANIZATION = 1000
"""Members of one organization (every customer response carries its organizations)."""
