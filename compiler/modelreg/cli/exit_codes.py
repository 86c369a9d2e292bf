"""The exit codes of `modelreg`; an exit code never lies."""

EXIT_OK = 0
EXIT_INVALID = 1
"""The catalog is invalid, or an operation failed with nothing changed (or `diff --exit-code`
found changes)."""
EXIT_USAGE = 2
"""Wrong usage: an unknown flag, a path that does not exist, a name that is not there."""
EXIT_COMMITTED = 3
"""A change was committed and a later step then failed; the message names the commit."""
EXIT_INTERRUPTED = 130
"""Interrupted (Ctrl-C)."""
