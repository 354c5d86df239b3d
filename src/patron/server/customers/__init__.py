"""Customers: the companies an account bills, with their address, tax status and links."""
