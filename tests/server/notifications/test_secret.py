"""The generated webhook secret: `whsec_` and 32 letters or digits, never the same twice."""

from __future__ import annotations

import base64
import re

from patron.server import clock


def test_the_format_is_whsec_and_32_letters_or_digits() -> None:
    for _ in range(50):
        assert re.fullmatch(r"whsec_[A-Za-z0-9]{32}", clock.new_webhook_secret())


def test_every_secret_is_new_even_with_seeded_ids() -> None:
    clock.seed_ids(7)
    try:
        assert len({clock.new_webhook_secret() for _ in range(100)}) == 100
    finally:
        clock.seed_ids(None)


def test_the_part_after_the_prefix_decodes_as_base64_to_24_bytes() -> None:
    # The Standard Webhooks reading of the key works for a generated secret too.
    assert len(base64.b64decode(clock.new_webhook_secret().removeprefix("whsec_"))) == 24
