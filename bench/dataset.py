"""A seeded customer dataset as JSON Lines: the same file for the same (count, seed).

    python bench/dataset.py COUNT OUT.jsonl [--seed 7] [--prefix a]

Each customer has 2 aliases (`<prefix>-crm-N`, `<prefix>-erp-N`) and 2 contacts (one PRIMARY).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

WORDS = [
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne", "Soylent",
    "Hooli", "Vandelay", "Pied", "Piper", "Dunder", "Mifflin", "Gringotts", "Oscorp", "Aperture", "Massive",
    "Dynamic", "Blue", "Sun", "North", "Quantum", "Bright", "Silver", "Golden", "Green", "Delta",
]  # fmt: skip
SUFFIXES = ["Ltd", "plc", "GmbH", "Inc.", "LLC", "SA", "BV", "AB", "Oy", "Pty"]
COUNTRIES = [("GB", None), ("DE", None), ("FR", None), ("US", "NY"), ("US", "CA"), ("CA", "ON"), ("IE", None)]


def customer(rng: random.Random, index: int, prefix: str) -> dict[str, object]:
    name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {index} {rng.choice(SUFFIXES)}"
    country, state = rng.choice(COUNTRIES)
    address: dict[str, str] = {
        "line1": f"{rng.randint(1, 999)} {rng.choice(WORDS)} Street",
        "town": rng.choice(WORDS) + "ton",
        "postcode": f"{rng.randint(10000, 99999)}",
        "country": country,
    }
    if state:
        address["state"] = state
    domain = f"{prefix}{index}.example.com"
    return {
        "legalName": name,
        "address": address,
        "taxStatus": rng.choice(["TAXED", "TAXED", "TAX_EXEMPT", "REVERSE_CHARGED"]),
        "url": f"https://www.{domain}/",
        "customerAliases": [f"{prefix}-crm-{index}", f"{prefix}-erp-{index}"],
        "contacts": [
            {"name": f"Billing {index}", "email": f"billing@{domain}", "billingPreference": "PRIMARY"},
            {"name": f"Ops {index}", "email": f"ops@{domain}", "billingPreference": "NONE"},
        ],
    }


def write(count: int, out: Path, *, seed: int = 7, prefix: str = "a") -> None:
    rng = random.Random(seed)
    with out.open("w", encoding="utf-8") as handle:
        for index in range(count):
            handle.write(json.dumps(customer(rng, index, prefix)) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("count", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--prefix", default="a")
    args = parser.parse_args()
    write(args.count, args.out, seed=args.seed, prefix=args.prefix)


if __name__ == "__main__":
    main()
