"""The catalog's path rules: one home, so a work tree and a revision of it read the same files and
refuse the same ones, each once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelreg.catalog.directory import DirectorySource
from modelreg.catalog.paths import (
    file_kind,
    in_hidden_directory,
    is_catalog_file,
    is_model_path,
    is_yaml_name,
    link_target,
    model_path,
    status_changes_catalog,
)
from modelreg.catalog.revision import GitSource
from modelreg.errors import UsageError
from tests.conftest import run_cli, write
from tests.git_helpers import catalog_repo, commit_all, init_repo


@pytest.mark.parametrize(("rel", "read", "model"), [
    ("acme/chat.yaml", True, True),
    ("acme/chat.YAML", True, False),   # read, to be told to rename
    ("acme/chat.yml", True, False),
    ("acme/notes.md", False, False),
    ("acme/.drafts/chat.yaml", False, False),
    (".cache/x.yaml", False, False),
    ("acme/provider.yaml", True, False),
    ("acme/sub/provider.yaml", True, True),  # a model file's place: told to move
    ("capabilities.yaml", True, False),
])
def test_which_files_are_read_and_which_are_models(rel: str, read: bool, model: bool) -> None:
    assert is_catalog_file(rel) is read
    assert is_model_path(rel) is model


def test_what_each_file_is() -> None:
    assert [file_kind(rel) for rel in ("capabilities.yaml", "notes.yaml", "acme/provider.yaml", "acme/x.yaml",
                                       "acme/a/provider.yaml")] == [
        "capabilities", "unexpected", "provider", "model", "model"]
    assert is_yaml_name("X.YML") and not is_yaml_name("x.yaml.txt")
    assert in_hidden_directory("a/.b/c.yaml") and not in_hidden_directory("a/.c.yaml")


def test_a_name_never_leads_out_of_the_catalog() -> None:
    assert model_path("openai/gpt-4o") == "openai/gpt-4o.yaml"
    for bad in ("../../etc/x", "/etc/x", "a\\b", "acme/../../x"):
        with pytest.raises(UsageError, match="leads out of the catalog"):
            model_path(bad)
    assert link_target("acme/x.yaml", "../openai/y.yaml") == "openai/y.yaml"
    assert link_target("acme/x.yaml", "../../y.yaml") is None
    assert link_target("acme/x.yaml", "/etc/passwd") is None


def test_which_uncommitted_changes_change_what_is_compiled() -> None:
    assert not status_changes_catalog({"acme/NOTES.txt": "??", ".cache/x.yaml": "??"})
    assert status_changes_catalog({"acme/x.yaml": " M"})
    assert status_changes_catalog({"acme/drafts/": "!!"})
    assert not status_changes_catalog({"acme/x.yaml": " M"}, ignore={"acme/x.yaml"})


def _both(catalog: Path) -> tuple[list[str], list[str]]:
    """The refusals of reading the work tree and of reading HEAD, as `file: code: message` lines."""
    repo = catalog.parent
    commit = commit_all(repo, "catalog")
    on_disk = DirectorySource(catalog, str(catalog)).read().diagnostics
    at_head = GitSource(catalog_repo(catalog), commit).read().diagnostics
    return ([f"{d.file}: {d.code}: {d.message}" for d in on_disk],
            [f"{d.file}: {d.code}: {d.message}" for d in at_head])


@pytest.mark.parametrize("name", ["linked.YAML", "linked.yaml", "linked.yml", "linked"])
def test_a_symlinked_directory_is_reported_once_whatever_its_name(catalog: Path, name: str) -> None:
    init_repo(catalog.parent)
    write(catalog, "drafts/x.yaml", "name: drafts/x\n")
    os.symlink("drafts", catalog / name)
    on_disk, at_head = _both(catalog)
    expected = f"{catalog}/{name}: symlink: symlinked directories are not read; move the files into the catalog"
    assert expected in on_disk
    assert on_disk == at_head
    assert on_disk.count(expected) == 1


def test_a_hidden_symlinked_directory_is_not_reported_either_way(catalog: Path) -> None:
    init_repo(catalog.parent)
    write(catalog, "drafts/x.yaml", "name: drafts/x\n")
    os.symlink("drafts", catalog / ".linked")
    os.symlink("../drafts", catalog / "acme" / ".also.yaml")
    on_disk, at_head = _both(catalog)
    assert on_disk == at_head == []


def test_a_link_to_a_hidden_link_to_a_directory_is_a_symlinked_directory_either_way(catalog: Path) -> None:
    init_repo(catalog.parent)
    write(catalog, "drafts/x.yaml", "name: drafts/x\n")
    os.symlink("drafts", catalog / ".hidden")
    os.symlink(".hidden", catalog / "linked")
    on_disk, at_head = _both(catalog)
    assert on_disk == at_head
    assert [line.split(": ")[0] for line in on_disk if "symlink" in line] == [f"{catalog}/linked"]


def test_compile_rev_and_validate_report_a_symlinked_directory_alike(catalog: Path, tmp_path: Path) -> None:
    init_repo(catalog.parent)
    os.symlink("acme", catalog / "x.YAML")
    commit_all(catalog.parent, "catalog")
    validate = run_cli("validate", "--catalog", str(catalog))
    compiled = run_cli("compile", "--catalog", str(catalog), "--rev", "HEAD", "-o", str(tmp_path / "out.json"))
    line = f"{catalog}/x.YAML:1:1: error[symlink]: symlinked directories are not read; move the files into the catalog"
    assert (validate.code, compiled.code) == (1, 1)
    assert validate.err.splitlines().count(line) == 1
    assert compiled.err.splitlines().count(line) == 1
    assert [x for x in validate.err.splitlines() if "error[" in x] == [
        x for x in compiled.err.splitlines() if "error[" in x]
