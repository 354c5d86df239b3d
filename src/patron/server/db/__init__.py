"""Storage: engines and the transaction boundary, snapshots, tables and row builders, keyset
cursors, bulk loads and migrations."""
