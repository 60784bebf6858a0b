"""`python -m vidkit` runs the command-line suite."""

from vidkit.cli.app import main

main()
