"""The `modelreg` command line: parse arguments, call the library, turn the result into an exit code.

Exit codes: 0 success, 1 the catalog is invalid (or, with `--exit-code`, there are changes),
2 wrong usage. One function per verb; all printing happens here.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from compiler import reporters
from compiler.catalog import DEFAULT_CATALOG
from compiler.errors import CatalogInvalid, ModelregError, UnknownCapability, UsageError
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
    fmt = args.format
    text = reporters.render(items, fmt, files_checked=files)
    # Machine formats go to stdout, where tools read them; text diagnostics go to stderr.
    (out if fmt in ("json", "github") else err).write(text)


def cmd_validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from compiler.compile import validate_catalog

    check = validate_catalog(args.catalog)
    _report(check.diagnostics, args, out, err, files=len(check.documents))
    ok = check.ok(strict=args.strict)
    # The verdict is for people: in the log beside GitHub annotations too, never inside JSON.
    if args.format != "json":
        errors, warnings = len(check.errors), len(check.warnings)
        verdict = "valid" if ok else "invalid"
        err.write(f"{args.catalog}: {verdict} ({errors} error(s), {warnings} warning(s))\n")
    return EXIT_OK if ok else EXIT_INVALID


def cmd_compile(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from compiler.compile import compile_catalog

    try:
        snapshot = compile_catalog(args.catalog, strict=args.strict, rev=args.rev, allow_shallow=args.allow_shallow)
    except CatalogInvalid as exc:
        _report(exc.diagnostics, args, out, err)
        where = f" at {args.rev}" if args.rev else ""
        err.write(f"{args.catalog}{where}: invalid; nothing written to {args.output}\n")
        return EXIT_INVALID
    _report(snapshot.warnings, args, out, err)
    snapshot.write(args.output)
    # With --format json, stdout holds the JSON report alone.
    status = err if args.format == "json" else out
    status.write(f"wrote {args.output}: {snapshot.summary()}\n")
    return EXIT_OK


def cmd_register(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from compiler.registry import register_file

    try:
        result = register_file(args.catalog, args.file, message=args.message, author=args.author)
    except CatalogInvalid as exc:
        _report(exc.diagnostics, args, out, err)
        err.write(f"{exc}\n")
        return EXIT_INVALID
    _report(result.warnings, args, out, err)
    model = result.model
    done = f"commit {result.commit.sha[:12]}" if result.commit else "already registered as written, no commit"
    out.write(f"registered {model.name} ({done}): {result.path}\n")
    out.write(f"  pools: {', '.join(model.pools) or '(none)'}\n")
    out.write(f"  registered_at: {model.registered_at.isoformat() if model.registered_at else 'unknown'}\n")
    if result.commit is not None:
        _write_replaced(args.catalog, model.name, result.commit.sha, out)
    return EXIT_OK


def _write_replaced(catalog: str, name: str, commit: str, out: TextIO) -> None:
    from compiler.diff import format_value
    from compiler.history import commit_entry

    entry = commit_entry(catalog, name, commit)
    if entry is None or entry.change != "modified":
        return
    if entry.problem:
        out.write(f"  replaced the previous definition ({entry.problem})\n")
    elif not entry.fields:
        out.write("  replaced the previous definition: no field changed (formatting only)\n")
    else:
        out.write("  replaced the previous definition:\n")
        out.writelines(f"    {c.field}: {format_value(c.old)} -> {format_value(c.new)}\n" for c in entry.fields)


def cmd_unregister(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from compiler.registry import unregister_model
    from compiler.state import StateManager

    try:
        commit = unregister_model(StateManager(args.catalog, author=args.author), args.name, message=args.message)
    except CatalogInvalid as exc:
        _report(exc.diagnostics, args, out, err)
        err.write(f"{exc}\n")
        return EXIT_INVALID
    if commit is None:
        err.write(f"modelreg: error: `{args.name}` is not registered in {args.catalog}; nothing to unregister\n")
        return EXIT_USAGE
    out.write(f"unregistered {args.name} (commit {commit.sha[:12]})\n")
    return EXIT_OK


def cmd_history(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import json

    from compiler.history import history_json, model_history, render_history

    entries = model_history(args.catalog, args.name, rev=args.rev)
    if args.output_format == "json":
        out.write(json.dumps(history_json(args.name, entries), indent=2, ensure_ascii=False) + "\n")
    else:
        out.write(render_history(args.name, entries))
    return EXIT_OK


def cmd_diff(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from compiler import diff as diffs

    try:
        result = diffs.diff_catalog(args.catalog, args.base, args.head, allow_shallow=args.allow_shallow)
    except CatalogInvalid as exc:
        _report(exc.diagnostics, args, out, err)
        err.write(f"{exc}\n")
        return EXIT_INVALID
    render = {"text": diffs.render_text, "markdown": diffs.render_markdown, "json": diffs.render_json}
    out.write(render[args.output_format](result))
    return EXIT_INVALID if args.exit_code and result.changed else EXIT_OK


def _load_for_show(args: argparse.Namespace) -> Snapshot:
    if args.snapshot:
        return Snapshot.read(args.snapshot)
    from compiler.compile import compile_catalog

    # Looking at a catalog needs no registration dates: a shallow clone is fine here.
    return compile_catalog(args.catalog, allow_shallow=True)


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


def cmd_new(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from compiler.scaffold import new_model

    scaffold = new_model(args.catalog, args.name, args.capability)
    out.write(f"wrote {scaffold.path}\n")
    if not scaffold.complete:
        out.write("next: fill in `capabilities` (it is empty, so the catalog is invalid until you do), "
                  "then run `modelreg validate`\n")
    return EXIT_OK


def cmd_route(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from compiler.runtime import Registry, Router, UnknownFeature, UnknownProvider, load_snapshot

    if args.snapshot:
        registry, origin = load_snapshot(args.snapshot), args.snapshot
    elif args.catalog is None and DEFAULT_OUTPUT.is_file():
        registry, origin = load_snapshot(DEFAULT_OUTPUT), str(DEFAULT_OUTPUT)
    else:
        from compiler.compile import compile_catalog

        catalog = args.catalog or DEFAULT_CATALOG
        # Routing needs no registration dates: a shallow clone is fine here.
        compiled = compile_catalog(catalog, allow_shallow=True)
        registry, origin = Registry.from_bytes(compiled.raw, source=catalog), f"{catalog} (compiled)"
    try:
        route = Router(registry).explain(
            args.capability, features=args.feature, min_context=args.min_context, input_modalities=args.input,
            providers=args.provider or None, exclude_providers=args.exclude_provider,
            include_deprecated=not args.no_deprecated)
    except (UnknownFeature, UnknownProvider) as exc:
        raise UsageError(str(exc)) from None
    alias = f" (alias `{args.capability}`)" if route.capability != args.capability else ""
    out.write(f"{route.capability}{alias}: {len(route.candidates)} of {route.pool_size} model(s) can serve, "
              f"in routing order\n")
    if route.candidates:
        rows = [("#", "MODEL", "PROVIDER", "STATUS", "PRIORITY", "CONTEXT", "MODEL ID")]
        rows += [(str(i), m.name, m.provider, m.status, str(m.priority),
                  f"{m.context_window:,}" if m.context_window is not None else "-", m.model_id)
                 for i, m in enumerate(route.candidates, 1)]
        _write_table(rows, out)
    else:
        out.write("no model can serve this request\n")
    if route.excluded:
        out.write(f"\nexcluded ({len(route.excluded)}):\n")
        _write_table([("MODEL", "REASON"), *((m.name, why) for m, why in route.excluded)], out)
    err.write(f"snapshot: {origin}, version {registry.version}\n")
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
    _write_table(rows, out)


def _write_table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelreg",
        description="Validate, compile and route a GitOps catalog of AI models (models.d/).",
        epilog="Exit codes: 0 success, 1 invalid catalog (or changes, with diff --exit-code), 2 wrong usage.")
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
    p.add_argument("--rev", metavar="REV", help="compile a git revision (HEAD~3, a tag, a sha), not the work tree")
    _shallow_arg(p)
    _format_arg(p)
    p.set_defaults(handler=cmd_compile)

    p = verbs.add_parser("show", help="show the capability tree with pool sizes, or one pool or provider")
    p.add_argument("catalog", nargs="?", default=DEFAULT_CATALOG, help="catalog directory (default: models.d)")
    p.add_argument("--snapshot", metavar="FILE", help="read a compiled snapshot instead of a catalog")
    p.add_argument("--capability", metavar="PATH", help="list the members of one pool (path or alias)")
    p.add_argument("--provider", metavar="NAME", help="list the models of one provider")
    _format_arg(p)
    p.set_defaults(handler=cmd_show)

    p = verbs.add_parser("new", help="scaffold a model file from its provider's defaults, ready to edit")
    p.add_argument("name", metavar="PROVIDER/MODEL", help="the new model's name, e.g. openai/gpt-6")
    p.add_argument("--catalog", default=DEFAULT_CATALOG, help="catalog directory (default: models.d)")
    p.add_argument("--capability", action="append", default=[], metavar="PATH",
                   help="a capability path or alias to list (repeatable); without one, fill them in by hand")
    p.set_defaults(handler=cmd_new)

    p = verbs.add_parser("route", help="the models that would serve a request, in routing order, "
                                       "and why the others would not")
    p.add_argument("capability", metavar="CAPABILITY", help="capability path or alias")
    p.add_argument("--feature", action="append", default=[], metavar="F", help="required feature (repeatable)")
    p.add_argument("--min-context", type=int, metavar="N", help="smallest context window, in tokens")
    p.add_argument("--input", action="append", default=[], metavar="MODALITY",
                   help="required input modality, e.g. image (repeatable)")
    p.add_argument("--provider", action="append", default=[], metavar="NAME", help="allow only these providers")
    p.add_argument("--exclude-provider", action="append", default=[], metavar="NAME", help="never these providers")
    p.add_argument("--no-deprecated", action="store_true", help="leave deprecated models out")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--snapshot", metavar="FILE",
                        help="compiled snapshot to route on (default: build/registry.json if present)")
    source.add_argument("--catalog", metavar="DIR", help="compile this catalog in memory instead (default: models.d "
                        "when build/registry.json is absent)")
    p.set_defaults(handler=cmd_route)

    p = verbs.add_parser("register", help="add or replace a model: write its file into the catalog and commit it")
    p.add_argument("file", metavar="FILE", help="the model's YAML file (anywhere; written to <catalog>/<name>.yaml)")
    _write_args(p)
    p.set_defaults(handler=cmd_register)

    p = verbs.add_parser("unregister", help="remove a model: delete its file and commit the removal")
    p.add_argument("name", metavar="NAME", help="the model's name, e.g. openai/gpt-4o")
    _write_args(p)
    p.set_defaults(handler=cmd_unregister)

    p = verbs.add_parser("history", help="the commits that touched a model, and what each changed")
    p.add_argument("name", metavar="NAME", help="the model's name, e.g. openai/gpt-4o")
    p.add_argument("--catalog", default=DEFAULT_CATALOG, help="catalog directory (default: models.d)")
    p.add_argument("--rev", default="HEAD", help="history reachable from this revision (default: HEAD)")
    p.add_argument("--format", dest="output_format", choices=("text", "json"), default="text", help="output format")
    p.set_defaults(handler=cmd_history, format=None)

    p = verbs.add_parser("diff", help="what changes between two states of the catalog, pool by pool")
    p.add_argument("base", metavar="BASE", nargs="?",
                   help="revision or snapshot file (default: the merge-base with the default branch)")
    p.add_argument("head", metavar="HEAD", nargs="?", help="revision or snapshot file (default: the work tree)")
    p.add_argument("--catalog", default=DEFAULT_CATALOG, help="catalog directory (default: models.d)")
    p.add_argument("--format", dest="output_format", choices=("text", "markdown", "json"), default="text",
                   help="text, markdown (pull-request comments, job summaries) or json (schemas/diff.schema.json)")
    p.add_argument("--exit-code", action="store_true", help="exit 1 when there are changes, like `git diff`")
    _shallow_arg(p)
    p.set_defaults(handler=cmd_diff, format=None)
    return parser


def _shallow_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-shallow", action="store_true",
                        help="in a shallow clone, accept a snapshot without registered_at dates "
                             "(recorded as history: shallow)")


def _write_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--catalog", default=DEFAULT_CATALOG, help="catalog directory (default: models.d)")
    parser.add_argument("-m", "--message", help="commit message (default: `register NAME` / `unregister NAME`)")
    parser.add_argument("--author", metavar="'NAME <EMAIL>'", help="commit author (default: git's user.name/email)")
    _format_arg(parser)


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run `modelreg` with `argv`; returns the exit code."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on bad usage and on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if getattr(args, "format", None) is None:
        args.format = reporters.default_format()  # chosen once, here at the edge
    handler: Handler = args.handler
    try:
        return handler(args, out, err)
    except CatalogInvalid as exc:
        _report(exc.diagnostics, args, out, err)
        return EXIT_INVALID
    except ModelregError as exc:
        err.write(f"modelreg: error: {exc}\n")
        # Asking for something that does not exist is a usage error; a bad file or state is not.
        return EXIT_USAGE if isinstance(exc, (UsageError, UnknownCapability)) else EXIT_INVALID
    except BrokenPipeError:  # `modelreg show | head`: the reader left, which is not an error
        return EXIT_OK
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        err.write(f"modelreg: error: {exc.strerror or exc}{where}\n")
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
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # a reader gone (`| head`), or a stream closed
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
