"""`python -m patron` runs the CLI."""

from patron.cli.main import main

main()
