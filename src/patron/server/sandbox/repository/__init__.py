"""The sandbox's repository, one module per control."""
