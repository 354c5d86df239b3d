"""The sandbox's control plane under `/_patron/` (docs/sandbox.md): accounts, reset,
snapshots, seeds, the test clock, faults and the request journal."""
