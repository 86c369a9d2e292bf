"""The `modelreg` command line: parse arguments, call the library, turn the result into an exit code.

Exit codes: 0 success, 1 the catalog is invalid (or, with `--exit-code`, there are changes),
2 wrong usage. One function per verb; all printing happens here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from compiler import reporters
from compiler.catalog import DEFAULT_CATALOG
from compiler.errors import CatalogInvalid, ModelregError, SnapshotError, UnknownCapability, UsageError
from compiler.snapshot import DEFAULT_OUTPUT, Snapshot

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]


def _format_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=reporters.FORMATS, default=None,
                        help="diagnostics format (default: github inside GitHub Actions, else text)")


def _report(diagnostics: Sequence[object], args: argparse.Namespace, out: TextIO, err: TextIO,
            files: int | None = None) -> None:
    from compiler.diagnostics import Diagnostic

    items = [d for d in diagnostics if isinstance(d, Diagnostic)]
    fmt = args.format or reporters.default_format()
    text = reporters.render(items, fmt, files_checked=files)
    # Machine formats go to stdout, where tools read them; text diagnostics go to stderr.
    (out if fmt in ("json", "github") else err).write(text)


def cmd_validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from compiler.compile import validate_catalog

    check = validate_catalog(args.catalog)
    _report(check.diagnostics, args, out, err, files=len(check.documents))
    ok = check.ok(strict=args.strict)
    if (args.format or reporters.default_format()) == "text":
        errors, warnings = len(check.errors), len(check.warnings)
        verdict = "valid" if ok else "invalid"
        err.write(f"{args.catalog}: {verdict} ({errors} error(s), {warnings} warning(s))\n")
    return EXIT_OK if ok else EXIT_INVALID


def cmd_compile(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from compiler.compile import compile_catalog

    try:
        snapshot = compile_catalog(args.catalog, strict=args.strict)
    except CatalogInvalid as exc:
        _report(exc.diagnostics, args, out, err)
        err.write(f"{args.catalog}: invalid; nothing written to {args.output}\n")
        return EXIT_INVALID
    _report(snapshot.warnings, args, out, err)
    snapshot.write(args.output)
    out.write(f"wrote {args.output}: {snapshot.summary()}\n")
    return EXIT_OK


def _load_for_show(args: argparse.Namespace) -> Snapshot:
    if args.snapshot:
        return Snapshot.read(args.snapshot)
    from compiler.compile import compile_catalog

    return compile_catalog(args.catalog)


def cmd_show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        snapshot = _load_for_show(args)
    except CatalogInvalid as exc:
        _report(exc.diagnostics, args, out, err)
        return EXIT_INVALID
    if args.capability:
        path = snapshot.tree.resolve(args.capability)
        names = snapshot.pools[path]
        out.write(f"{path}: {len(names)} model(s)\n")
        _model_table([snapshot.document["models"][n] for n in names], out)
        return EXIT_OK
    if args.provider:
        if args.provider not in snapshot.providers:
            raise UsageError(f"unknown provider `{args.provider}`; known: {', '.join(sorted(snapshot.providers))}")
        records = [m for m in snapshot.document["models"].values() if m["provider"] == args.provider]
        out.write(f"{args.provider} ({snapshot.providers[args.provider].get('display_name', '')}): "
                  f"{len(records)} model(s)\n")
        _model_table(records, out)
        return EXIT_OK
    tree = snapshot.tree
    for root in tree.roots():
        for path in [root.path, *tree.descendants(root.path)]:
            node = tree.nodes[path]
            label = "  " * node.depth + node.name
            extra = f"  aliases: {', '.join(node.aliases)}" if node.aliases else ""
            if node.deprecated is not None:
                extra += "  (deprecated)"
            out.write(f"{label:<44} {len(snapshot.pools[path]):>5}{extra}\n")
    out.write(f"\n{snapshot.summary()}\n")
    return EXIT_OK


def _model_table(records: Sequence[dict[str, object]], out: TextIO) -> None:
    rows = [("MODEL", "STATUS", "PRIORITY", "CONTEXT", "MODEL ID")]
    for rec in records:
        lifecycle = rec["lifecycle"]
        limits = rec["limits"]
        assert isinstance(lifecycle, dict) and isinstance(limits, dict)
        context = limits.get("context_window")
        rows.append((str(rec["name"]), str(lifecycle.get("status", "")), str(rec["priority"]),
                     f"{context:,}" if isinstance(context, int) else "-", str(rec["model_id"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelreg", description=__doc__.splitlines()[0] if __doc__ else None)
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    p = verbs.add_parser("validate", help="check a catalog and report every problem")
    p.add_argument("catalog", nargs="?", default=DEFAULT_CATALOG, help="catalog directory (default: models.d)")
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    _format_arg(p)
    p.set_defaults(handler=cmd_validate)

    p = verbs.add_parser("compile", help="compile a catalog into a registry snapshot")
    p.add_argument("catalog", nargs="?", default=DEFAULT_CATALOG, help="catalog directory (default: models.d)")
    p.add_argument("-o", "--output", default=str(DEFAULT_OUTPUT), help="snapshot file (default: build/registry.json)")
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    _format_arg(p)
    p.set_defaults(handler=cmd_compile)

    p = verbs.add_parser("show", help="show the capability tree with pool sizes, or one pool or provider")
    p.add_argument("catalog", nargs="?", default=DEFAULT_CATALOG, help="catalog directory (default: models.d)")
    p.add_argument("--snapshot", metavar="FILE", help="read a compiled snapshot instead of a catalog")
    p.add_argument("--capability", metavar="PATH", help="list the members of one pool (path or alias)")
    p.add_argument("--provider", metavar="NAME", help="list the models of one provider")
    _format_arg(p)
    p.set_defaults(handler=cmd_show)
    return parser


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run `modelreg` with `argv`; returns the exit code."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on bad usage and on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    handler: Handler = args.handler
    try:
        return handler(args, out, err)
    except UnknownCapability as exc:
        err.write(f"modelreg: error: {exc}\n")
        return EXIT_USAGE
    except SnapshotError as exc:
        err.write(f"modelreg: error: {exc}\n")
        return EXIT_INVALID
    except CatalogInvalid as exc:
        _report(exc.diagnostics, args, out, err)
        return EXIT_INVALID
    except UsageError as exc:
        err.write(f"modelreg: error: {exc}\n")
        return EXIT_USAGE
    except ModelregError as exc:
        err.write(f"modelreg: error: {exc}\n")
        return EXIT_INVALID
    except BrokenPipeError:  # `modelreg show | head`: the reader left, which is not an error
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
