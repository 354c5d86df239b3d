"""The sandbox's service, one module per control."""
