"""`python -m modelreg` runs the modelreg CLI."""

from modelreg.cli.main import run

run()
