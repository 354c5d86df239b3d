"""All SQL for customers, in three parts: `records` (one customer: its row, writes, the
by-alias read, the account's counters, export batches), `pages` (listing: filters, sorts,
counts and pages) and `properties` (custom properties)."""
