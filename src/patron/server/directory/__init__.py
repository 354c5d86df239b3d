"""The customer directory: which customers an account holds and what they are called, the
lookups every resource makes about customers it refers to."""
