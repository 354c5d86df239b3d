"""The sandbox control plane's wire shapes (`/_patron/`, docs/sandbox.md): patron's own,
not Sequence's; camelCase on the wire like the rest."""
