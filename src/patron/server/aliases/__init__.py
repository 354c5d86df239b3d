"""Customer aliases: the ids other systems know a customer by."""
