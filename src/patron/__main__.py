"""`python -m patron` runs the CLI (or says that it needs the server extra)."""

from patron._entry import main

main()
