"""patron's pytest plugin (registered as `pytest11` entry point `patron`): fixtures for
tests that run against a live patron sandbox (docs/sandbox.md)."""
