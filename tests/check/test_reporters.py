"""Reporters: exact text, JSON against its schema, and GitHub annotations as the runner parses them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from modelreg.check import reporters
from modelreg.diagnostics import Diagnostic, Severity
from modelreg.schemas import load_schema
from tests.conftest import CHAT, run_cli, write

TRICKY = "100% sure: a, b\nsecond line\r\nthird"


def test_github_annotation_escapes_message_and_properties(tmp_path: Path) -> None:
    d = Diagnostic(str(tmp_path / "models.d" / "a,b" / "c:d.yaml"), 3, 7, "unknown-key", TRICKY)
    # In the message only `%`, CR and LF are escaped; in properties `:` and `,` too.
    assert reporters.github_annotation(d, root=str(tmp_path)) == (
        "::error file=models.d/a%2Cb/c%3Ad.yaml,line=3,col=7,title=modelreg unknown-key"
        "::100%25 sure: a, b%0Asecond line%0D%0Athird"
    )


def test_github_warning_and_already_escaped_looking_text(tmp_path: Path) -> None:
    d = Diagnostic(str(tmp_path / "x%0A.yaml"), 1, 1, "empty-pool", "50%25, not %0A: literal",
                   Severity.WARNING)
    # A literal `%0A` must survive: the `%` is escaped, so the runner does not turn it into a newline.
    assert reporters.github_annotation(d, root=str(tmp_path)) == (
        "::warning file=x%250A.yaml,line=1,col=1,title=modelreg empty-pool::50%2525, not %250A: literal"
    )


def test_render_every_format_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    diagnostics = [
        Diagnostic("models.d/acme/x.yaml", 2, 5, "type", "a: b, c%"),
        Diagnostic("models.d/capabilities.yaml", 9, 3, "empty-pool", "no model", Severity.WARNING),
    ]
    assert reporters.render(diagnostics, "text") == (
        "models.d/acme/x.yaml:2:5: error[type]: a: b, c%\n"
        "models.d/capabilities.yaml:9:3: warning[empty-pool]: no model\n"
    )
    assert reporters.render(diagnostics, "github", root=str(tmp_path)) == (
        "::error file=models.d/acme/x.yaml,line=2,col=5,title=modelreg type::a: b, c%25\n"
        "::warning file=models.d/capabilities.yaml,line=9,col=3,title=modelreg empty-pool::no model\n"
    )
    report = json.loads(reporters.render(diagnostics, "json", files_checked=4))
    assert report == {
        "format": "modelreg-diagnostics",
        "version": 1,
        "valid": False,
        "summary": {"errors": 1, "warnings": 1, "files": 4},
        "diagnostics": [
            {"file": "models.d/acme/x.yaml", "line": 2, "column": 5, "severity": "error", "code": "type",
             "message": "a: b, c%"},
            {"file": "models.d/capabilities.yaml", "line": 9, "column": 3, "severity": "warning",
             "code": "empty-pool", "message": "no model"},
        ],
    }
    for fmt in reporters.FORMATS:
        assert reporters.render([], fmt) == ("" if fmt != "json" else reporters.render_json([]) + "\n")


def test_default_format_follows_github_actions() -> None:
    assert reporters.default_format({"GITHUB_ACTIONS": "true"}) == "github"
    assert reporters.default_format({"GITHUB_ACTIONS": "false"}) == "text"
    assert reporters.default_format({}) == "text"


def _validator() -> Draft202012Validator:
    schema = load_schema("diagnostics")
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "https://modelreg.dev/schemas/v1/diagnostics.schema.json"
    assert schema["properties"]["version"]["const"] == reporters.JSON_FORMAT_VERSION
    return Draft202012Validator(schema)


def test_json_output_matches_its_schema(catalog: Path) -> None:
    valid = run_cli("validate", "--catalog", str(catalog), "--format", "json")
    assert valid.code == 0
    _validator().validate(json.loads(valid.out))
    assert json.loads(valid.out)["summary"] == {"errors": 0, "warnings": 0, "files": 5}

    write(catalog, "acme/chat-large.yaml", CHAT.replace("priority: 10", "priorty: 10"))
    write(catalog, "acme/legacy.yaml",
          "name: acme/legacy\nprovider: acme\ncapabilities: [generation.text-completion]\n")
    broken = run_cli("validate", "--catalog", str(catalog), "--format", "json")
    assert broken.code == 1
    assert broken.err == ""
    report = json.loads(broken.out)
    _validator().validate(report)
    assert report["valid"] is False
    assert [(d["severity"], d["code"]) for d in report["diagnostics"]] == [
        ("error", "unknown-key"), ("warning", "deprecated-capability")]
    assert report["summary"] == {"errors": 1, "warnings": 1, "files": 5}


def test_compile_json_keeps_stdout_pure_json(catalog: Path) -> None:
    out = catalog.parent / "registry.json"
    result = run_cli("compile", "--catalog", str(catalog), "-o", str(out), "--format", "json")
    assert result.code == 0
    _validator().validate(json.loads(result.out))
    assert result.err.startswith(f"wrote {out}: ")


def test_schema_rejects_what_render_json_never_writes() -> None:
    validator = _validator()
    good = json.loads(reporters.render_json([Diagnostic("f.yaml", 1, 1, "yaml-syntax", "bad")]))
    validator.validate(good)
    for broken in ({**good, "version": 2}, {**good, "extra": 1},
                   {**good, "diagnostics": [{**good["diagnostics"][0], "line": 0}]},
                   {**good, "diagnostics": [{**good["diagnostics"][0], "severity": "fatal"}]}):
        assert not validator.is_valid(broken)


def test_github_format_is_the_default_inside_github_actions(catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(catalog, "acme/chat-large.yaml", CHAT.replace("priority: 10", "priorty: 10"))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(catalog.parent))
    result = run_cli("validate", "--catalog", str(catalog))
    assert result.code == 1
    assert result.out == (
        "::error file=models.d/acme/chat-large.yaml,line=9,col=1,title=modelreg unknown-key::unknown key "
        "`priorty` in the document; did you mean `priority`? (put your own data under an `x-` prefixed key)\n"
    )
    assert result.err == f"{catalog}: invalid (1 error(s), 0 warning(s))\n"
    # An explicit format wins over the environment.
    assert run_cli("validate", "--catalog", str(catalog), "--format", "text").out == ""


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding a copy of the small catalog, committed, at `repo/models.d`."""
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.name", "Test")
    _git(root, "config", "user.email", "test@example.com")
    return root


@pytest.mark.parametrize("where", ["root", "nested"])
def test_validate_github_annotates_the_repo_relative_file_and_line(
        catalog: Path, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    prefix = "" if where == "root" else "catalogs/prod/"
    target = repo / prefix / "models.d"
    target.parent.mkdir(parents=True, exist_ok=True)
    catalog.rename(target)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "catalog")
    write(target, "acme/embed-small.yaml", "name: acme/embed-small\nprovider: acme\ncapabilities:\n"
                                           "  - embedding.text-embeding\n")
    # Run from a directory inside the repository, naming the catalog relatively, as CI steps do;
    # GITHUB_WORKSPACE pointing elsewhere (a test run inside CI) must not change the answer.
    monkeypatch.chdir(target / "acme")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path / "elsewhere"))
    result = run_cli("validate", "--catalog", "..", "--format", "github")
    assert result.code == 1
    assert result.out == (
        f"::error file={prefix}models.d/acme/embed-small.yaml,line=4,col=5,title=modelreg unknown-capability"
        "::unknown capability `embedding.text-embeding`; did you mean `embedding.text-embedding`?\n"
    )


def test_annotation_outside_any_repository_keeps_the_path_as_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    d = Diagnostic("models.d/acme/x.yaml", 1, 2, "type", "m")
    assert reporters.github_annotation(d) == "::error file=models.d/acme/x.yaml,line=1,col=2,title=modelreg type::m"
    assert reporters.github_annotation(d, root=str(tmp_path / "unrelated")) == reporters.github_annotation(d)
