"""patron's webhook tools under `/_patron/` (docs/webhooks.md): the shapes of the delivery
log and its controls; patron's own, not Sequence's API."""

from __future__ import annotations

from patron.wire.models import Wire

# --- flush (`POST /_patron/webhooks/flush`) ---------------------------------------------


class Flushed(Wire):
    """What a flush did itself: `attempts` made and how they ended (`succeeded`; `failed`
    for good; `retrying`: to be tried again later), deliveries `cancelled` because their
    policy or recipient went, and the account's deliveries still `pending` afterwards
    (retries not yet due). Deliveries another sender was already sending are waited for,
    not counted."""

    attempts: int
    succeeded: int
    failed: int
    retrying: int
    cancelled: int
    pending: int
