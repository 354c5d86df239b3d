"""Contacts: the people of a customer who receive quotes and invoices."""
