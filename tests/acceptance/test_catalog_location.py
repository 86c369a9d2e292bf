"""The catalog passed one way (`--catalog`, or the repository's setting), found from any
subdirectory, and `validate FILE...` checking the catalog that holds each file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import CHAT, run_cli, write
from tests.git_helpers import commit_all, git, init_repo

JAN = "2025-01-15T10:00:00+00:00"


@pytest.fixture
def repo(catalog: Path, tmp_path: Path) -> Path:
    """A git repository with the small catalog at models.d/, committed."""
    root = init_repo(tmp_path / "repo")
    catalog.rename(root / "models.d")
    commit_all(root, "catalog", date=JAN)
    return root


def test_every_command_finds_the_catalog_from_a_provider_directory(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo / "models.d" / "acme")
    validated = run_cli("validate")
    assert (validated.code, validated.out, validated.err) == (0, "", "..: valid (0 error(s), 0 warning(s))\n")
    # `.` is a directory of the catalog: the catalog is checked, not the directory as one.
    assert run_cli("validate", ".") == validated
    # An empty --catalog is none: what a workflow passes for an input left unset.
    assert run_cli("validate", "--catalog", "") == validated

    history = run_cli("history", "acme/coder")
    sha = git(repo, "rev-parse", "HEAD")
    assert (history.code, history.out) == (0, f"{sha[:12]}  2025-01-15 10:00:00 UTC  Test Author <test@example.com>\n"
                                              "    catalog\n    added acme/coder\n")

    write(repo / "models.d", "acme/chat-small.yaml", CHAT.replace("chat-large", "chat-small"))
    diff = run_cli("diff", "HEAD")
    assert diff.code == 0, diff.err
    assert diff.out.splitlines()[0].endswith("(working tree): 1 model added; 2 pools changed")

    compiled = run_cli("compile")
    assert compiled.code == 0, compiled.err
    assert compiled.out.startswith("wrote ../../build/registry.json: 4 models from 1 providers;")
    assert (repo / "build" / "registry.json").is_file()
    assert not (repo / "models.d" / "acme" / "build").exists()

    routed = run_cli("route", "chat")
    assert routed.code == 0, routed.err
    assert routed.out.startswith("generation.text-generation (alias `chat`): 3 of 3 model(s) can serve")
    assert routed.err.startswith("snapshot: ../../build/registry.json, version ")

    scaffold = run_cli("new", "acme/chat-tiny", "--capability", "chat")
    assert (scaffold.code, scaffold.out) == (0, "wrote ../acme/chat-tiny.yaml\n")
    assert (repo / "models.d" / "acme" / "chat-tiny.yaml").is_file()


def test_the_repositorys_setting_names_the_catalog_for_every_command(repo: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "models.d").rename(repo / "catalog")
    (repo / "modelreg.toml").write_text('catalog = "catalog"\n', encoding="utf-8")
    (repo / "docs").mkdir()
    monkeypatch.chdir(repo / "docs")
    assert run_cli("validate").err == "../catalog: valid (0 error(s), 0 warning(s))\n"
    shown = run_cli("show", "--provider", "acme")
    assert (shown.code, shown.out.splitlines()[0]) == (0, "acme (Acme AI): 3 model(s)")
    assert run_cli("new", "acme/fresh", "--capability", "chat").out == "wrote ../catalog/acme/fresh.yaml\n"
    assert run_cli("compile").out.startswith("wrote ../build/registry.json: ")


def test_a_bad_setting_stops_every_command_at_its_line(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "modelreg.toml").write_text('catalog = "models.d"\ncatalouge = "x"\n', encoding="utf-8")
    monkeypatch.chdir(repo)
    for argv in (["validate"], ["show"], ["history", "acme/coder"]):
        run = run_cli(*argv)
        assert (run.code, run.out, run.err) == (
            1, "", "modelreg.toml:2:1: error[config-key]: unknown key `catalouge` in modelreg.toml; the one key is "
                   "`catalog`\n"), argv


def test_the_positional_catalog_still_works_with_a_deprecation_note(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    monkeypatch.chdir(repo)
    out = tmp_path / "out.json"
    compiled = run_cli("compile", "models.d", "-o", str(out))
    assert compiled.code == 0 and out.is_file()
    assert compiled.err == ("modelreg: note: `modelreg compile CATALOG` is deprecated; write `modelreg compile "
                            "--catalog models.d`, or leave the catalog out to have it found\n")
    shown = run_cli("show", "models.d", "--provider", "acme")
    assert shown.code == 0 and shown.err.startswith("modelreg: note: `modelreg show CATALOG` is deprecated;")
    validated = run_cli("validate", "models.d")
    assert validated.err == ("modelreg: note: `modelreg validate CATALOG` is deprecated; write `modelreg validate "
                             "--catalog models.d`, or leave the catalog out to have it found\n"
                             "models.d: valid (0 error(s), 0 warning(s))\n")
    twice = run_cli("compile", "models.d", "--catalog", "models.d")
    assert (twice.code, twice.err) == (2, "modelreg: error: the catalog is given twice (`models.d` and `--catalog "
                                          "models.d`); give --catalog alone\n")


def test_validate_files_checks_their_whole_catalog(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    # The file pre-commit passes is fine; the one it broke is not passed (a deleted provider's model).
    write(repo / "models.d", "acme/chat-small.yaml", CHAT.replace("chat-large", "chat-small"))
    write(repo / "models.d", "other/lost.yaml", "name: other/lost\nprovider: other\ncapabilities: [chat]\n")
    run = run_cli("validate", "models.d/acme/chat-small.yaml", "models.d/acme/coder.yaml")
    assert run.code == 1
    assert run.err == ("models.d/other/lost.yaml:2:11: error[unknown-provider]: unknown provider `other`; add "
                       "`other/provider.yaml` to the catalog\n"
                       "models.d: invalid (1 error(s), 0 warning(s))\n")
    (repo / "models.d" / "other" / "lost.yaml").unlink()
    assert run_cli("validate", "models.d/acme/chat-small.yaml").err == "models.d: valid (0 error(s), 0 warning(s))\n"


def test_validate_files_of_two_catalogs_checks_both_in_one_report(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    write(repo / "examples", "capabilities.yaml", "capabilities:\n  chat:\n    description: Talk.\n")
    write(repo / "examples", "acme/provider.yaml", "name: acme\ndisplay_name: Acme\n")
    write(repo / "examples", "acme/bot.yaml", "name: acme/bot\nprovider: acme\ncapabilities: [chatt]\n")
    run = run_cli("validate", "examples/acme/bot.yaml", "models.d/acme/coder.yaml", "examples/acme/provider.yaml")
    assert run.code == 1
    assert run.err == ("examples/acme/bot.yaml:3:16: error[unknown-capability]: unknown capability `chatt`; did you "
                       "mean `chat`?\n"
                       "examples: invalid (1 error(s), 0 warning(s))\n"
                       "models.d: valid (0 error(s), 0 warning(s))\n")
    as_json = run_cli("validate", "examples/acme/bot.yaml", "models.d/acme/coder.yaml", "--format", "json")
    report = json.loads(as_json.out)
    assert report["summary"] == {"errors": 1, "warnings": 0, "files": 8}
    assert [d["file"] for d in report["diagnostics"]] == ["examples/acme/bot.yaml"]


@pytest.mark.parametrize(("argv", "message"), [
    (["validate", "README.yaml"], "README.yaml is not in a catalog: no capabilities.yaml in its directory or above "
                                  "it, and no catalog set for the repository"),
    (["validate", "models.d/acme/missing.yaml"], "no such file or directory: models.d/acme/missing.yaml"),
    (["validate", "models.d/acme/coder.yaml", "--catalog", "models.d"],
     "name the files to check, or give --catalog, not both"),
])
def test_validate_files_refuses_what_it_cannot_place(repo: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str],
                                                     message: str) -> None:
    monkeypatch.chdir(repo)
    (repo / "README.yaml").write_text("title: not a catalog file\n", encoding="utf-8")
    run = run_cli(*argv)
    assert (run.code, run.out, run.err) == (2, "", f"modelreg: error: {message}\n")
