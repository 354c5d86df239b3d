"""All SQL for customers, in four parts: `records` (one customer: its row, writes, the
by-alias read, the account's counters, export batches), `pages` (listing: filters, sorts,
counts and pages), `properties` (custom properties) and `loads` (the import's bulk inserts)."""
