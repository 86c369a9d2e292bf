"""The command line's grammar: verbs, arguments and their help."""

from __future__ import annotations

import argparse
import sys

from modelreg.build.limits import DEFAULT_MAX_MODELS, DEFAULT_MAX_SNAPSHOT_BYTES
from modelreg.catalog.location import CONFIG_FILE
from modelreg.catalog.paths import DEFAULT_CATALOG
from modelreg.check import reporters
from modelreg.cli.commands import (
    cmd_compile,
    cmd_diff,
    cmd_export,
    cmd_history,
    cmd_import,
    cmd_init,
    cmd_new,
    cmd_register,
    cmd_route,
    cmd_show,
    cmd_site,
    cmd_sync,
    cmd_unregister,
    cmd_validate,
)


class _Version(argparse.Action):
    # argparse's own version action wants the text when the parser is built, on every command.
    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        sys.stdout.write(version_line() + "\n")
        parser.exit()


def version_line() -> str:
    """`modelreg X.Y.Z (snapshot format modelreg-registry 1.0)`: the package, and what it writes."""
    from importlib.metadata import PackageNotFoundError, version

    from modelreg.snapshot_format import FORMAT_MAJOR, FORMAT_MINOR, FORMAT_NAME

    try:
        installed = version("modelreg")
    except PackageNotFoundError:  # run from a checkout without installing it
        installed = "unknown"
    return f"modelreg {installed} (snapshot format {FORMAT_NAME} {FORMAT_MAJOR}.{FORMAT_MINOR})"


CATALOG_HELP = (f"catalog directory (default: `catalog` in {CONFIG_FILE} or pyproject.toml's [tool.modelreg], "
                f"else the catalog this directory is in, else {DEFAULT_CATALOG}/ in the project's root)")


def _format_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=reporters.FORMATS, default=None,
                        help="diagnostics format (default: github inside GitHub Actions, else text)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelreg",
        description="Validate, compile and route a GitOps catalog of AI models (models.d/).",
        epilog="Exit codes: 0 success, 1 invalid catalog or failed operation, nothing changed (or changes, "
               "with diff --exit-code), 2 wrong usage, 3 committed and then failed, 130 interrupted.")
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and the snapshot format, "
                        "then exit")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    p = verbs.add_parser("init", help="start a catalog repository: a tree, an example provider and models, schemas, "
                                      "a pre-commit hook and a workflow, valid as written")
    p.add_argument("directory", metavar="DIR", nargs="?", default=".",
                   help="a new or empty directory (a `.git` may be there already; default: here)")
    p.add_argument("--empty", action="store_true", help="start from a small capability tree instead of the bundled "
                                                        "one")
    p.set_defaults(handler=cmd_init)

    p = verbs.add_parser("validate", help="check a catalog and report every problem")
    p.add_argument("paths", metavar="PATH", nargs="*",
                   help="files or directories inside a catalog (what pre-commit passes): their whole catalog is "
                        "checked; a catalog directory here is deprecated, write --catalog")
    _catalog_arg(p)
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    _format_arg(p)
    _cache_arg(p)
    p.set_defaults(handler=cmd_validate)

    p = verbs.add_parser("compile", help="compile a catalog into a registry snapshot")
    _legacy_catalog_arg(p)
    p.add_argument("-o", "--output", help="snapshot file (default: build/registry.json in the project's root)")
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    p.add_argument("--rev", metavar="REV", help="compile a git revision (HEAD~3, a tag, a sha), not the work tree")
    p.add_argument("--max-models", type=_positive, default=DEFAULT_MAX_MODELS, metavar="N",
                   help=f"fail rather than compile more models (default: {DEFAULT_MAX_MODELS:,})")
    p.add_argument("--max-snapshot-mb", type=_positive, default=DEFAULT_MAX_SNAPSHOT_BYTES // (1024 * 1024),
                   metavar="MIB", help="fail rather than write a larger snapshot (default: 128, what the runtime "
                                       "loads by default)")
    _shallow_arg(p)
    _format_arg(p)
    _cache_arg(p)
    p.set_defaults(handler=cmd_compile)

    p = verbs.add_parser("show", help="show the capability tree with pool sizes, or one pool or provider")
    _legacy_catalog_arg(p)
    p.add_argument("--snapshot", metavar="FILE", help="read a compiled snapshot instead of a catalog")
    p.add_argument("--capability", metavar="PATH", help="list the members of one pool (path or alias)")
    p.add_argument("--provider", metavar="NAME", help="list the models of one provider")
    p.add_argument("--model-id", metavar="ID", help="list the models a provider calls ID (`gpt-4o`)")
    _answer_format_arg(p, "show")
    p.set_defaults(handler=cmd_show)

    p = verbs.add_parser("new", help="scaffold a model file from its provider's defaults, or a provider's file, "
                                     "ready to edit")
    p.add_argument("name", metavar="PROVIDER/MODEL", nargs="?", help="the new model's name, e.g. openai/gpt-6")
    p.add_argument("--provider", metavar="NAME", help="scaffold models.d/NAME/provider.yaml instead")
    _catalog_arg(p)
    p.add_argument("--capability", action="append", default=[], metavar="PATH",
                   help="a capability path or alias to list (repeatable); without one, fill them in by hand")
    p.set_defaults(handler=cmd_new)

    p = verbs.add_parser("route", help="the models that would serve a request, in routing order, "
                                       "and why the others would not")
    p.add_argument("capability", metavar="CAPABILITY", help="capability path or alias")
    p.add_argument("--feature", action="append", default=[], metavar="F", help="required feature (repeatable)")
    p.add_argument("--min-context", type=_positive, metavar="N", help="smallest context window, in tokens")
    p.add_argument("--input", action="append", default=[], metavar="MODALITY",
                   help="required input modality, e.g. image (repeatable)")
    p.add_argument("--provider", action="append", default=[], metavar="NAME", help="allow only these providers")
    p.add_argument("--exclude-provider", action="append", default=[], metavar="NAME", help="never these providers")
    p.add_argument("--no-deprecated", action="store_true", help="leave deprecated models out")
    _answer_format_arg(p, "route")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--snapshot", metavar="FILE",
                        help="compiled snapshot to route on (default: build/registry.json if present)")
    source.add_argument("--catalog", metavar="DIR", help="compile this catalog in memory instead (default: the "
                        "project's catalog when build/registry.json is absent)")
    p.set_defaults(handler=cmd_route, catalog_optional=True)

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
    _catalog_arg(p)
    p.add_argument("--rev", default="HEAD", help="history reachable from this revision (default: HEAD)")
    p.add_argument("--format", dest="output_format", choices=("text", "json"), default="text", help="output format")
    p.set_defaults(handler=cmd_history, format=None)

    p = verbs.add_parser("diff", help="what changes between two states of the catalog, pool by pool")
    p.add_argument("base", metavar="BASE", nargs="?",
                   help="revision or snapshot file (default: the merge-base with the default branch)")
    p.add_argument("head", metavar="HEAD", nargs="?", help="revision or snapshot file (default: the work tree)")
    _catalog_arg(p)
    p.add_argument("--format", dest="output_format", choices=("text", "markdown", "json"), default="text",
                   help="text, markdown (pull-request comments, job summaries) or json (schemas/diff.schema.json)")
    p.add_argument("--exit-code", action="store_true", help="exit 1 when there are changes, like `git diff`")
    p.add_argument("--max-bytes", type=_positive, metavar="N",
                   help="cut the markdown report to N bytes (default: under GitHub's 1 MiB job-summary cap; a "
                        "pull request's body holds 65,536 characters)")
    _shallow_arg(p)
    _cache_arg(p)
    p.set_defaults(handler=cmd_diff, format=None)

    p = verbs.add_parser("sync", help="bring providers' models up to date from their own listings (discovery), "
                                      "as a commit on sync/<provider>")
    p.add_argument("providers", metavar="PROVIDER", nargs="*", help="providers to sync")
    p.add_argument("--all", action="store_true", help="every provider whose discovery is enabled")
    _catalog_arg(p)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the report, write nothing")
    mode.add_argument("--commit", action="store_true",
                      help="commit on the current branch (as `register` does) instead of sync/<provider>")
    p.add_argument("--listing", metavar="FILE", help="read a saved listing (one response body) instead of the "
                                                     "network; the only way for bedrock")
    p.add_argument("--author", metavar="'NAME <EMAIL>'", help="commit author (default: git's user.name/email)")
    p.add_argument("--timeout", type=_positive_seconds, default=30.0, metavar="SECONDS",
                   help="the most one request may take, from connect to last byte (default: 30)")
    p.add_argument("--max-time", type=_positive_seconds, default=300.0, metavar="SECONDS",
                   help="the most the listing of one provider may take, every page included (default: 300)")
    p.add_argument("--format", dest="output_format", choices=("text", "markdown", "json"), default="text",
                   help="text, markdown (a pull-request body) or json (schemas/sync-report.schema.json)")
    p.set_defaults(handler=cmd_sync, format=None)

    p = verbs.add_parser("import", help="bring in another tool's catalog (LiteLLM's model file, models.dev's "
                                        "api.json) as model files to review")
    sources = p.add_subparsers(dest="source", metavar="SOURCE", required=True)
    for kind, what in (("litellm", "LiteLLM's model_prices_and_context_window.json"),
                       ("models-dev", "models.dev's api.json")):
        q = sources.add_parser(kind, help=f"import {what}")
        q.add_argument("file", metavar="FILE", help=what)
        _catalog_arg(q)
        q.add_argument("--provider", action="append", default=[], metavar="P",
                       help="import only this catalog provider's models (repeatable)")
        q.add_argument("--overwrite", action="store_true",
                       help="replace fields the catalog already sets (default: only add what is missing)")
        mode = q.add_mutually_exclusive_group()
        mode.add_argument("--dry-run", action="store_true", help="print the summary, write nothing")
        mode.add_argument("--commit", action="store_true", help="commit the files in one commit")
        q.add_argument("--author", metavar="'NAME <EMAIL>'", help="commit author (default: git's user.name/email)")
        q.set_defaults(handler=cmd_import, format=None)

    p = verbs.add_parser("export", help="write the catalog for another tool: a LiteLLM proxy config.yaml, or "
                                        "models.dev's api.json")
    targets = p.add_subparsers(dest="target", metavar="TARGET", required=True)
    for target, what in (("litellm", "a LiteLLM proxy config.yaml, with a pool entry and fallbacks per capability"),
                         ("models-dev", "models.dev's api.json")):
        q = targets.add_parser(target, help=f"write {what}")
        origin = q.add_mutually_exclusive_group()
        origin.add_argument("--snapshot", metavar="FILE", help="a compiled snapshot")
        origin.add_argument("--catalog", metavar="DIR", help="compile this catalog (default: the project's)")
        q.add_argument("-o", "--output", metavar="FILE", help="where to write it (default: standard output)")
        q.set_defaults(handler=cmd_export, format=None, catalog_optional=True)

    p = verbs.add_parser("site", help="write a static site of the catalog: the tree, every pool, a searchable table "
                                      "of models, a page per model, the last change, and api.json")
    p.add_argument("-o", "--output", metavar="DIR",
                   help="the site's directory, replaced whole (default: build/site in the project's root)")
    p.add_argument("--snapshot", metavar="FILE", help="a compiled snapshot (default: compile the catalog)")
    _catalog_arg(p)
    _shallow_arg(p)
    p.set_defaults(handler=cmd_site, format=None)
    _quiet_everywhere(parser)
    return parser


def _quiet_everywhere(parser: argparse.ArgumentParser) -> None:
    # `-q` before the verb or after it (or after `import litellm`): each parser that takes it
    # sets it only when given, so a later one never resets what an earlier one saw.
    parser.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="print only errors and the result itself: no summaries, notes or warnings")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _quiet_everywhere(sub)


def _answer_format_arg(parser: argparse.ArgumentParser, verb: str) -> None:
    parser.add_argument("--format", choices=reporters.FORMATS, default=None,
                        help=f"text, json (schemas/{verb}.schema.json; an invalid catalog's diagnostics as "
                             "schemas/diagnostics.schema.json) or github (text, with diagnostics as workflow "
                             "annotations; the default inside GitHub Actions)")


def _catalog_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--catalog", metavar="DIR", help=CATALOG_HELP)


def _legacy_catalog_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("legacy_catalog", metavar="CATALOG", nargs="?", help="deprecated: write --catalog")
    _catalog_arg(parser)


def _shallow_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-shallow", action="store_true",
                        help="in a shallow clone, accept a snapshot without registered_at dates "
                             "(recorded as history: shallow)")


def _cache_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-cache", dest="cache", action="store_false",
                        help="check every file afresh, without reading or writing the caches (also: MODELREG_CACHE=0)")


def _write_args(parser: argparse.ArgumentParser) -> None:
    _catalog_arg(parser)
    parser.add_argument("-m", "--message", help="commit message (default: `register NAME` / `unregister NAME`)")
    parser.add_argument("--author", metavar="'NAME <EMAIL>'", help="commit author (default: git's user.name/email)")
    _format_arg(parser)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value
