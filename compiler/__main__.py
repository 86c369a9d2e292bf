"""`python -m compiler` runs the modelreg CLI."""

from compiler.cli import run

run()
