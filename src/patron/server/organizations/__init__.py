"""Customer organizations: a parent (the owner) and its children (the members)."""
