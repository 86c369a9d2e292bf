"""A library error nobody catches still says what to fix: a CatalogInvalid lists its diagnostics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from modelreg import CatalogInvalid, Diagnostic, compile_catalog
from tests.conftest import write
from tests.git_helpers import commit_all, init_repo

SCRIPT = """\
import sys
from modelreg import ModelRegistry, compile_catalog
if sys.argv[1] == "compile":
    compile_catalog(sys.argv[2])
else:
    ModelRegistry(sys.argv[2])
"""


def _break(catalog: Path) -> None:
    write(catalog, "acme/chat-large.yaml", "name: acme/chat-large\nprovider: acme\ncapabilities: [chatt]\n"
                                           "batch: yes\n")


def _traceback_end(how: str, catalog: Path) -> list[str]:
    result = subprocess.run([sys.executable, "-c", SCRIPT, how, str(catalog)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("modelreg.errors.CatalogInvalid: "))
    return lines[start:]


def test_an_uncaught_catalog_invalid_prints_every_diagnostic(catalog: Path) -> None:
    _break(catalog)
    file = f"{catalog}/acme/chat-large.yaml"
    expected = [
        f"  {file}:3:16: error[unknown-capability]: unknown capability `chatt`; did you mean "
        "`generation.text-generation`?",
        f"  {file}:4:8: error[yaml-ambiguous]: unquoted `yes` is the text \"yes\" in YAML 1.2 but a boolean in "
        "YAML 1.1 tools; write `true` or `false` for a flag, or quote it (\"yes\") for text",
    ]
    assert _traceback_end("compile", catalog) == ["modelreg.errors.CatalogInvalid: the catalog is invalid: "
                                                  "2 error(s)", *expected]
    init_repo(catalog.parent)
    commit_all(catalog.parent, "catalog")
    assert _traceback_end("registry", catalog)[1:] == expected


def test_the_summary_is_the_first_line_and_the_diagnostics_stay_data(catalog: Path) -> None:
    _break(catalog)
    try:
        compile_catalog(catalog)
    except CatalogInvalid as exc:
        assert exc.summary == "the catalog is invalid: 2 error(s)"
        assert str(exc).splitlines()[0] == exc.summary
        assert [(d.line, d.column, d.code) for d in exc.diagnostics] == [(3, 16, "unknown-capability"),
                                                                          (4, 8, "yaml-ambiguous")]
    else:
        raise AssertionError("an invalid catalog compiled")
    # Without diagnostics, and with its own message, it is that message alone.
    assert str(CatalogInvalid([], "nothing to compile")) == "nothing to compile"
    one = Diagnostic("f.yaml", 1, 2, "code", "fix it")
    assert str(CatalogInvalid([one])) == "the catalog is invalid: 1 error(s)\n  f.yaml:1:2: error[code]: fix it"
