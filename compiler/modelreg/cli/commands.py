"""One function per verb: call the library, write what it returns, return the exit code.

Every handler takes the parsed arguments and the two streams; only `modelreg.cli.main` exits.
Under `--quiet`, a handler writes only errors and the result it exists to give: what only a
person reading along needs (a summary, a next step, a note, a warning) goes through `aside`.
"""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from modelreg.build.snapshot import Snapshot
from modelreg.check import reporters
from modelreg.cli.exit_codes import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from modelreg.errors import CatalogInvalid, CommittedThenFailed, ModelregError, UsageError

Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]


def aside(args: argparse.Namespace, stream: TextIO) -> TextIO:
    """`stream`, or under `--quiet` a stream that drops what is written to it."""
    return io.StringIO() if args.quiet else stream


def say(args: argparse.Namespace, err: TextIO, level: str, text: str) -> None:
    """`modelreg: <level>: <text>` on `err` (level: warning or note), unless `--quiet`."""
    from modelreg.cli.style import message

    aside(args, err).write(message(level, text, err) + "\n")


def fail(err: TextIO, text: str) -> None:
    """`modelreg: error: <text>` on `err`, whatever `--quiet` says."""
    from modelreg.cli.style import message

    err.write(message("error", text, err) + "\n")


def report(diagnostics: Sequence[object], args: argparse.Namespace, out: TextIO, err: TextIO,
            files: int | None = None) -> None:
    from modelreg.cli import style
    from modelreg.diagnostics import Diagnostic

    items = [d for d in diagnostics if isinstance(d, Diagnostic)]
    fmt = args.format
    # Machine formats go to stdout, where tools read them; text diagnostics go to stderr.
    if fmt in ("json", "github"):
        out.write(reporters.render(items, fmt, files_checked=files))
        return
    if args.quiet and not getattr(args, "strict", False):  # a warning fails nothing here: not essential
        items = [d for d in items if d.is_error]
    err.writelines(style.diagnostic(d, err) + "\n" for d in items)


def cmd_validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from modelreg.build.compile import check_catalog_dir

    catalogs = _catalogs_of(args.paths, args, err) if args.paths else [args.catalog]
    checks = [check_catalog_dir(catalog, cache=args.cache) for catalog in catalogs]
    diagnostics = [d for check in checks for d in check.diagnostics]
    report(diagnostics, args, out, err, files=sum(check.files for check in checks))
    verdicts = [check.ok(strict=args.strict) for check in checks]
    # The verdict is for people: in the log beside GitHub annotations too, never inside JSON.
    if args.format != "json":
        from modelreg.cli.style import paint

        for catalog, check, ok in zip(catalogs, checks, verdicts, strict=True):
            errors, warnings = len(check.errors), len(check.warnings)
            verdict = paint("valid", "ok", err) if ok else paint("invalid", "error", err)
            aside(args, err).write(f"{catalog}: {verdict} ({errors} error(s), {warnings} warning(s))\n")
    for catalog in catalogs:
        _sync_schema_copies(catalog, args, err)
    return EXIT_OK if all(verdicts) else EXIT_INVALID


def _sync_schema_copies(catalog: str, args: argparse.Namespace, err: TextIO) -> None:
    from modelreg.catalog.location import shown
    from modelreg.catalog.schema_copies import sync_copies

    try:
        written = sync_copies(catalog)
    except OSError as exc:  # a copy that cannot be written leaves the verdict as it is
        say(args, err, "warning", f"could not update the schema copies beside {catalog}: {exc}")
        return
    for path in written:
        say(args, err, "note", f"wrote {shown(path)}: the copy of modelreg's schema that the catalog's `$schema` "
                               "comments name")


def _catalogs_of(paths: Sequence[str], args: argparse.Namespace, err: TextIO) -> list[str]:
    """The catalogs that hold `paths`, each once, as printed. A path that is a catalog itself (or
    in none, for a directory) is the deprecated positional CATALOG."""
    import os

    from modelreg.catalog.location import catalog_holding, shown
    from modelreg.catalog.paths import CAPABILITIES_FILE

    if args.catalog is not None:
        raise UsageError("name the files to check, or give --catalog, not both")
    catalogs: dict[Path, str] = {}
    for path in paths:
        if not os.path.lexists(path):
            raise UsageError(f"no such file or directory: {path}")
        location = catalog_holding(path)
        target = Path(path).resolve()
        if location is not None and location.catalog != target:
            catalogs.setdefault(location.catalog, shown(location.catalog))
            continue
        if not target.is_dir():
            raise UsageError(f"{path} is not in a catalog: no {CAPABILITIES_FILE} in its directory or above it, "
                             "and no catalog set for the repository")
        say(args, err, "note", f"`modelreg validate CATALOG` is deprecated; write `modelreg validate --catalog "
                               f"{path}`, or leave the catalog out to have it found")
        catalogs.setdefault(target, path)
    return list(catalogs.values())


def cmd_init(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from modelreg.starter import EXAMPLE_PROVIDER, init_repository

    starter = init_repository(args.directory, empty=args.empty)
    out = aside(args, out)
    out.write(f"wrote {len(starter.files)} files into {args.directory}:\n")
    out.writelines(f"  {rel}\n" for rel in starter.files)
    out.write(f"next: replace the example provider `{EXAMPLE_PROVIDER}` with yours (`modelreg new --provider NAME`), "
              "run `modelreg validate`, commit, and `pre-commit install`\n")
    return EXIT_OK


def cmd_compile(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from modelreg.build.compile import compile_catalog
    from modelreg.build.limits import Limits
    from modelreg.cli.catalog_arg import default_snapshot

    args.output = args.output or default_snapshot(args.location)
    try:
        limits = Limits(max_models=args.max_models, max_snapshot_bytes=args.max_snapshot_mb * 1024 * 1024)
        snapshot = compile_catalog(args.catalog, strict=args.strict, rev=args.rev, allow_shallow=args.allow_shallow,
                                   limits=limits, cache=args.cache)
    except CatalogInvalid as exc:
        report(exc.diagnostics, args, out, err)
        where = f" at {args.rev}" if args.rev else ""
        err.write(f"{args.catalog}{where}: invalid; nothing written to {args.output}\n")
        return EXIT_INVALID
    report(snapshot.warnings, args, out, err)
    snapshot.write(args.output)
    # With --format json, stdout holds the JSON report alone.
    aside(args, err if args.format == "json" else out).write(f"wrote {args.output}: {snapshot.summary()}\n")
    return EXIT_OK


def cmd_register(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from modelreg.registry import register_file

    try:
        result = register_file(args.catalog, args.file, message=args.message, author=args.author)
    except CatalogInvalid as exc:
        report(exc.diagnostics, args, out, err)
        err.write(f"{exc.summary}\n")
        return EXIT_INVALID
    report(result.warnings, args, out, err)
    out = aside(args, out)
    model = result.model
    done = f"commit {result.commit.sha[:12]}" if result.commit else "already registered as written, no commit"
    out.write(f"registered {model.name} ({done}): {result.path}\n")
    out.write(f"  pools: {', '.join(model.pools) or '(none)'}\n")
    out.write(f"  registered_at: {model.registered_at.isoformat() if model.registered_at else 'unknown'}\n")
    if result.commit is not None:
        try:
            _write_replaced(args.catalog, model.name, result.commit.sha, out)
        except ModelregError as exc:
            raise CommittedThenFailed(result.commit.sha, "show what the new definition replaced", exc) from None
    return EXIT_OK


def _write_replaced(catalog: str, name: str, commit: str, out: TextIO) -> None:
    from modelreg.diff.render import format_value
    from modelreg.history import commit_entry

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
    from modelreg.catalog.paths import model_path
    from modelreg.git.transaction import parse_author
    from modelreg.registry import open_writer, unregister_model

    # Usage errors first, in the order they were always reported: the author, then the name.
    if args.author is not None:
        parse_author(args.author)
    model_path(args.name)

    try:
        writer = open_writer(args.catalog, "write to the catalog", author=args.author, must_exist=False)
        commit = unregister_model(writer, args.name, message=args.message)
    except CatalogInvalid as exc:
        report(exc.diagnostics, args, out, err)
        err.write(f"{exc.summary}\n")
        return EXIT_INVALID
    if commit is None:
        fail(err, f"`{args.name}` is not registered in {args.catalog}; nothing to unregister")
        return EXIT_USAGE
    aside(args, out).write(f"unregistered {args.name} (commit {commit.sha[:12]})\n")
    return EXIT_OK


def cmd_history(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import json

    from modelreg.history import history_json, model_history, render_history

    entries = model_history(args.catalog, args.name, rev=args.rev)
    if args.output_format == "json":
        out.write(json.dumps(history_json(args.name, entries), indent=2, ensure_ascii=False) + "\n")
    else:
        out.write(render_history(args.name, entries))
    return EXIT_OK


def cmd_diff(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from modelreg.diff import render
    from modelreg.diff.sides import diff_catalog

    try:
        result = diff_catalog(args.catalog, args.base, args.head, allow_shallow=args.allow_shallow,
                              cache=args.cache)
    except CatalogInvalid as exc:
        report(exc.diagnostics, args, out, err)
        err.write(f"{exc.summary}\n")
        return EXIT_INVALID
    if args.max_bytes is not None and args.output_format != "markdown":
        raise UsageError("--max-bytes cuts the markdown report: give it with --format markdown")
    if args.output_format == "markdown":
        out.write(render.render_markdown(result, args.max_bytes or render.MARKDOWN_LIMIT))
    else:
        out.write({"text": render.render_text, "json": render.render_json}[args.output_format](result))
    return EXIT_INVALID if args.exit_code and result.changed else EXIT_OK


def _load_for_show(args: argparse.Namespace) -> Snapshot:
    if args.snapshot:
        return Snapshot.read(args.snapshot)
    from modelreg.build.compile import compile_catalog

    # Looking at a catalog needs no registration dates: a shallow clone is fine here.
    return compile_catalog(args.catalog, allow_shallow=True)


def cmd_show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from modelreg.cli import views

    try:
        snapshot = _load_for_show(args)
    except CatalogInvalid as exc:
        report(exc.diagnostics, args, out, err)
        return EXIT_INVALID
    document = views.show_document(snapshot, args.snapshot or f"{args.catalog} (compiled)",
                                   capability=args.capability, provider=args.provider, model_id=args.model_id)
    out.write(views.to_json(document) if args.format == "json" else views.show_text(document))
    return EXIT_OK


def cmd_new(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from modelreg.scaffold import new_model, new_provider

    if (args.name is None) == (args.provider is None):
        raise UsageError("name the new model (PROVIDER/MODEL), or give --provider NAME for a new provider")
    if args.provider is not None:
        if args.capability:
            raise UsageError("--capability belongs to a new model, not to --provider")
        scaffold = new_provider(args.catalog, args.provider)
        if args.quiet:  # the path alone, for `$EDITOR "$(modelreg new -q ...)"`
            out.write(f"{scaffold.path}\n")
            return EXIT_OK
        out.write(f"wrote {scaffold.path}\nnext: set its `api` and `api_base`, then add models with "
                  f"`modelreg new {args.provider}/<model>`\n")
        return EXIT_OK
    scaffold = new_model(args.catalog, args.name, args.capability)
    if args.quiet:
        out.write(f"{scaffold.path}\n")
        return EXIT_OK
    out.write(f"wrote {scaffold.path}\n")
    if not scaffold.complete:
        out.write("next: fill in `capabilities` (it is empty, so the catalog is invalid until you do), "
                  "then run `modelreg validate`\n")
    return EXIT_OK


def _check_modalities(names: Sequence[str]) -> None:
    # The vocabulary is the model schema's; a misspelled modality would silently match nothing.
    import difflib

    from modelreg.errors import did_you_mean
    from modelreg.schemas import load_schema

    known = load_schema("model")["$defs"]["modalities"]["properties"]["input"]["items"]["enum"]
    for name in names:
        if name not in known:
            hint = did_you_mean(difflib.get_close_matches(name, known, n=1))
            raise UsageError(f"unknown input modality `{name}`{hint} (one of {', '.join(known)})")


def _changed_since(snapshot: Path, catalog: Path) -> str | None:
    """A catalog file or directory changed after `snapshot` was written (a directory's time tells
    a file added or removed), or None."""
    import os

    built = snapshot.stat().st_mtime
    for directory, subdirectories, files in os.walk(catalog):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        for path in [directory, *(os.path.join(directory, name) for name in sorted(files))]:
            try:
                if os.stat(path).st_mtime > built:
                    return path
            except OSError:  # gone meanwhile
                continue
    return None


def cmd_route(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from modelreg.runtime import Router, SnapshotRegistry, UnknownFeature, UnknownProvider, load_snapshot

    _check_modalities(args.input)
    from modelreg.catalog.location import shown
    from modelreg.cli.catalog_arg import default_snapshot

    default = default_snapshot(args.location)
    if args.snapshot:
        registry, origin = load_snapshot(args.snapshot), args.snapshot
    elif args.catalog is None and Path(default).is_file():
        registry, origin = load_snapshot(default), default
        changed = _changed_since(Path(default), args.location.catalog)
        if changed is not None:
            say(args, err, "warning", f"{default} is older than {shown(Path(changed))}: it may not hold the catalog "
                                      f"as it is now; run `modelreg compile`, or route on the catalog itself with "
                                      f"`--catalog {shown(args.location.catalog)}`")
    else:
        from modelreg.build.compile import compile_catalog

        catalog = args.catalog or shown(args.location.catalog)
        # Routing needs no registration dates: a shallow clone is fine here.
        compiled = compile_catalog(catalog, allow_shallow=True)
        registry, origin = SnapshotRegistry.from_bytes(compiled.raw, source=catalog), f"{catalog} (compiled)"
    request = {"capability": args.capability, "features": args.feature, "min_context": args.min_context,
               "input_modalities": args.input, "providers": args.provider or None,
               "exclude_providers": args.exclude_provider, "include_deprecated": not args.no_deprecated}
    try:
        route = Router(registry).explain(
            args.capability, features=args.feature, min_context=args.min_context, input_modalities=args.input,
            providers=args.provider or None, exclude_providers=args.exclude_provider,
            include_deprecated=not args.no_deprecated)
    except (UnknownFeature, UnknownProvider) as exc:
        raise UsageError(str(exc)) from None
    from modelreg.cli import views

    document = views.route_document(route, registry, origin, request)
    out.write(views.to_json(document) if args.format == "json" else views.route_text(document))
    aside(args, err).write(f"snapshot: {origin}, version {registry.version}\n")
    return EXIT_OK


def cmd_sync(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from pathlib import Path

    from modelreg.sync import report as sync_report
    from modelreg.sync.run import SyncOptions, sync_providers

    if bool(args.all) == bool(args.providers):
        raise UsageError("name the providers to sync, or give --all")
    from modelreg.sync.http import Limits

    options = SyncOptions(dry_run=args.dry_run, commit_here=args.commit,
                          listing=Path(args.listing) if args.listing else None, author=args.author,
                          limits=Limits(request_seconds=args.timeout, total_seconds=args.max_time))
    results = sync_providers(args.catalog, None if args.all else args.providers, options)
    for result in results:
        if isinstance(result.error, CatalogInvalid):
            report(result.error.diagnostics, args, err, err)
    render = {"text": sync_report.render_text, "markdown": sync_report.render_markdown,
              "json": sync_report.render_json}[args.output_format]
    out.write(render(results))
    failed = [r for r in results if not r.ok]
    for result in failed:
        # Diagnostics were reported above: the summary alone here.
        why = result.error.summary if isinstance(result.error, CatalogInvalid) else result.error
        fail(err, f"sync {result.provider}: {why}")
    if any(isinstance(result.error, UsageError) for result in failed):
        return EXIT_USAGE
    return EXIT_INVALID if failed else EXIT_OK


def cmd_import(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from modelreg.clock import today
    from modelreg.diff import render
    from modelreg.interop.importer import import_catalog
    from modelreg.interop.litellm_catalog import read_litellm
    from modelreg.interop.models_dev_catalog import read_models_dev

    parsed = read_litellm(args.file, today=today()) if args.source == "litellm" else read_models_dev(args.file)
    try:
        result = import_catalog(parsed, args.catalog, overwrite=args.overwrite, providers=args.provider,
                                dry_run=args.dry_run, commit=args.commit, author=args.author)
    except CatalogInvalid as exc:
        report(exc.diagnostics, args, out, err)
        fail(err, exc.summary)
        return EXIT_INVALID
    plan = result.plan
    if not args.dry_run:  # a dry run's summary is its result
        out = aside(args, out)
    out.write(f"import {parsed.source}: {plan.summary()}\n")
    if plan.providers_added:
        out.write(f"  new providers: {', '.join(plan.providers_added)}\n")
    if plan.skipped:
        out.write("  skipped:\n")
        # A key is the file's: shown escaped, so no key can break the report's lines.
        out.writelines(f"    {key if key.isprintable() else json.dumps(key)}: {why}\n" for key, why in plan.skipped)
    if result.diff is not None and result.diff.changed:
        out.write("  " + render.render_text(result.diff).split("\n", 1)[0].split(": ", 1)[1] + "\n")
    if result.commit is not None:
        out.write(f"committed {result.commit.sha[:12]}: {len(plan.writes)} files\n")
    elif result.written:
        out.write(f"wrote {len(plan.writes)} files into {args.catalog}; review them, then commit\n")
    elif args.dry_run:
        out.write("dry run: nothing written\n")
    else:
        out.write("nothing to write\n")
    return EXIT_OK


def cmd_site(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from modelreg.build.compile import compile_catalog
    from modelreg.cli.catalog_arg import default_snapshot
    from modelreg.site.generate import API_FILE, build_site

    output = args.output or str(Path(default_snapshot(args.location)).parent / "site")
    snapshot = (Snapshot.read(args.snapshot) if args.snapshot
                else compile_catalog(args.catalog, allow_shallow=args.allow_shallow))
    site = build_site(snapshot, args.catalog, output)
    for note in site.notes:
        say(args, err, "note", note)
    out = aside(args, out)
    out.write(f"wrote {output}: {len(snapshot.document['models'])} models, {len(snapshot.pools)} pools; "
              f"{len(site.sizes)} files, {_size(site.pages_bytes)} of pages and {_size(site.sizes[API_FILE])} of "
              f"{API_FILE}\n")
    out.write(f"last change: {site.diff_summary or 'no pool diff'}\n")
    return EXIT_OK


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):.1f} MiB" if count >= 1024 * 1024 else f"{count / 1024:.1f} KiB"


def cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from modelreg.atomic_files import write_atomic
    from modelreg.interop.litellm_config import litellm_config
    from modelreg.interop.models_dev_export import models_dev_api

    if args.snapshot is None and args.catalog is None:
        from modelreg.catalog.location import shown

        args.catalog = shown(args.location.catalog)
    snapshot = _load_for_show(args)
    export = litellm_config(snapshot.document) if args.target == "litellm" else models_dev_api(snapshot.document)
    if args.output:
        write_atomic(Path(args.output), export.text.encode("utf-8"))
        aside(args, out).write(f"wrote {args.output}: {export.summary}\n")
    else:
        out.write(export.text)
    for line in export.notes:
        say(args, err, "note", line)
    return EXIT_OK
