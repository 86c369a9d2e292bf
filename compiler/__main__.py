"""`python -m compiler` runs the modelreg CLI."""

import sys

from compiler.cli import main

sys.exit(main())
