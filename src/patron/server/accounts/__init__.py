"""Accounts and their API credentials (client id + secret, HTTP Basic)."""
