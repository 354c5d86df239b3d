"""The `patron` command line: serve, database, accounts and credentials, import/export."""
