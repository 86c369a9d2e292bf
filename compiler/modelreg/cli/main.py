"""The `modelreg` command line: parse arguments, call the library, turn the result into an exit code.

Exit codes: 0 success, 1 the catalog is invalid (or, with `--exit-code`, there are changes),
2 wrong usage, 3 a change was committed and a later step then failed, 130 interrupted. One function
per verb (`modelreg.cli.commands`); all printing happens in this package.

The rest of the package is imported inside `main`, so that a Ctrl-C while it loads is caught as
well as one later: either way the command says `modelreg: interrupted` and exits 130.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

from modelreg.cli.exit_codes import EXIT_COMMITTED, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, EXIT_USAGE


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run `modelreg` with `argv`; returns the exit code."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        return _main(argv, out, err)
    except KeyboardInterrupt:  # Ctrl-C: the writes it cut short have put back what they replaced
        from modelreg.cli.style import paint

        err.write(f"modelreg: {paint('interrupted', 'error', err)}\n")
        return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None, out: TextIO, err: TextIO) -> int:
    from modelreg.check import reporters
    from modelreg.cli.catalog_arg import resolve_catalog
    from modelreg.cli.commands import Handler, aside, fail, report
    from modelreg.cli.parser import build_parser
    from modelreg.errors import CatalogInvalid, CommittedThenFailed, ModelregError, UnknownCapability, UsageError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on bad usage and on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    args.quiet = getattr(args, "quiet", False)  # given before the verb, after it, or not at all
    if getattr(args, "format", None) is None:
        args.format = reporters.default_format()  # chosen once, here at the edge
    handler: Handler = args.handler
    try:
        resolve_catalog(args, aside(args, err))
        return handler(args, out, err)
    except CatalogInvalid as exc:
        report(exc.diagnostics, args, out, err)
        return EXIT_INVALID
    except CommittedThenFailed as exc:
        fail(err, str(exc))
        return EXIT_COMMITTED
    except ModelregError as exc:
        fail(err, str(exc))
        # Asking for something that does not exist is a usage error; a bad file or state is not.
        return EXIT_USAGE if isinstance(exc, (UsageError, UnknownCapability)) else EXIT_INVALID
    except BrokenPipeError:  # `modelreg show | head`: the reader left, which is not an error
        return EXIT_OK
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        fail(err, f"{exc.strerror or exc}{where}")
        # A path that does not exist or is the wrong kind is how the command was called.
        wrong_path = isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError))
        return EXIT_USAGE if wrong_path else EXIT_INVALID


def run() -> None:
    """The `modelreg` command: `main` on the process's arguments, then exit with its code.

    The process lives for one command, and what it builds stays alive until it ends: the garbage
    collector would only walk it again and again (a fifth of a large compile), so it is off; and
    once the output is flushed the process leaves without taking the catalog apart object by
    object, which the operating system does at once.
    """
    gc.disable()
    try:
        code = main()
    except KeyboardInterrupt:  # a second Ctrl-C, while the first was being reported
        code = EXIT_INTERRUPTED
    # Leaving takes a moment more: a Ctrl-C now would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # a reader gone (`| head`), or a stream closed
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
