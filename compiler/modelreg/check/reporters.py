"""Turning diagnostics into text for people, JSON for tools, and GitHub workflow annotations."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from modelreg.diagnostics import Diagnostic
from modelreg.git.on_disk import find_top_level

FORMATS = ("text", "json", "github")
JSON_FORMAT_VERSION = 1


def default_format(environ: dict[str, str] | None = None) -> str:
    """`github` inside GitHub Actions, `text` elsewhere."""
    env = os.environ if environ is None else environ
    return "github" if env.get("GITHUB_ACTIONS") == "true" else "text"


def render(diagnostics: Sequence[Diagnostic], fmt: str, *, files_checked: int | None = None,
           root: str | None = None) -> str:
    """Diagnostics in one of FORMATS, ending with a newline (empty text when there is nothing).

    `root` is the repository root that `github` annotations are relative to (default: the
    git repository holding each file).
    """
    if fmt == "json":
        return render_json(diagnostics, files_checked=files_checked) + "\n"
    if fmt == "github":
        return "".join(github_annotation(d, root=root) + "\n" for d in diagnostics)
    return "".join(render_text(d) + "\n" for d in diagnostics)


def render_text(d: Diagnostic) -> str:
    """`path:line:col: error[code]: message`."""
    return str(d)


def render_json(diagnostics: Sequence[Diagnostic], *, files_checked: int | None = None) -> str:
    """The versioned JSON report described by `schemas/diagnostics.schema.json`."""
    errors = sum(1 for d in diagnostics if d.is_error)
    report = {
        "format": "modelreg-diagnostics",
        "version": JSON_FORMAT_VERSION,
        "valid": errors == 0,
        "summary": {"errors": errors, "warnings": len(diagnostics) - errors, "files": files_checked},
        "diagnostics": [d.to_dict() for d in diagnostics],
    }
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False)


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github_annotation(d: Diagnostic, *, root: str | None = None) -> str:
    """A workflow command (`::error file=…,line=…,col=…,title=…::message`) for one diagnostic.

    The file is made relative to the repository root, as GitHub needs to place it on the diff.
    """
    file = _repo_relative(d.file, root)
    level = "error" if d.is_error else "warning"
    props = ",".join([
        f"file={_escape_property(file)}",
        f"line={d.line}",
        f"col={d.column}",
        f"title={_escape_property(f'modelreg {d.code}')}",
    ])
    return f"::{level} {props}::{_escape_data(d.message)}"


def _repo_relative(file: str, root: str | None) -> str:
    # Resolve the directory, not the file: a symlinked catalog file is reported where it sits.
    path = Path(file)
    absolute = path.parent.resolve() / path.name
    # The file's own repository first: GITHUB_WORKSPACE is only the checkout's parent when the
    # repository is checked out into a subdirectory (or when tests run in CI on tmp repositories).
    for top in (root, _git_toplevel(str(absolute.parent)), os.environ.get("GITHUB_WORKSPACE")):
        if top and absolute.is_relative_to(Path(top).resolve()):
            return absolute.relative_to(Path(top).resolve()).as_posix()
    return path.as_posix()


@cache
def _git_toplevel(directory: str) -> str | None:
    """The work tree root of the git repository holding `directory`, or None (found on disk:
    reporting runs no git)."""
    top = find_top_level(directory)
    return os.fspath(top) if top is not None else None
