"""The Sequence wire contract, shared by the server and the client; imports neither."""

API_VERSION = "2024-07-30"
