"""patron: a self-hostable server that speaks Sequence's Customers API (version 2024-07-30)."""

__version__ = "0.1.0"
