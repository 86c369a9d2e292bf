"""Where the catalog is: a setting in modelreg.toml or pyproject.toml, or found walking up."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelreg.catalog.location import CatalogLocation, catalog_holding, find_catalog, locate_catalog, read_config
from modelreg.diagnostics import Diagnostic
from modelreg.errors import CatalogInvalid
from tests.conftest import write
from tests.git_helpers import init_repo


@pytest.fixture
def repo(catalog: Path, tmp_path: Path) -> Path:
    """A git work tree holding the small catalog at models.d/."""
    root = init_repo(tmp_path / "repo")
    catalog.rename(root / "models.d")
    return root


def test_the_catalog_is_found_from_anywhere_below_the_repository(repo: Path) -> None:
    expected = CatalogLocation(repo / "models.d", repo)
    (repo / "docs" / "deep").mkdir(parents=True)
    for start in (repo, repo / "models.d", repo / "models.d" / "acme", repo / "docs" / "deep"):
        assert find_catalog(start) == expected, start


def test_the_walk_stops_at_the_top_of_the_work_tree(repo: Path, tmp_path: Path) -> None:
    # A catalog beside the repository, in the directory that holds it, is not this repository's.
    inner = init_repo(repo / "vendor" / "other")
    assert find_catalog(inner) is None
    assert locate_catalog(cwd=inner) == CatalogLocation(inner / "models.d", inner)


def test_modelreg_toml_says_where_the_catalog_is(repo: Path) -> None:
    (repo / "models.d").rename(repo / "catalog")
    (repo / "modelreg.toml").write_text('catalog = "catalog/"\n', encoding="utf-8")
    config = repo / "modelreg.toml"
    assert read_config(repo) == (config, repo / "catalog")
    (repo / "docs").mkdir()
    expected = CatalogLocation(repo / "catalog", repo, config)
    # From inside the catalog, the project is still the directory whose setting names it.
    for start in (repo, repo / "docs", repo / "catalog", repo / "catalog" / "acme"):
        assert find_catalog(start) == expected, start


def test_pyproject_toml_says_it_in_tool_modelreg_and_says_nothing_without_it(repo: Path) -> None:
    pyproject = repo / "pyproject.toml"
    pyproject.write_text('[project]\nname = "team-catalog"\n', encoding="utf-8")
    assert read_config(repo) is None
    assert find_catalog(repo) == CatalogLocation(repo / "models.d", repo)
    (repo / "models.d").rename(repo / "data")
    pyproject.write_text('[project]\nname = "team-catalog"\n\n[tool.modelreg]\ncatalog = "data"\n', encoding="utf-8")
    assert find_catalog(repo / "data" / "acme") == CatalogLocation(repo / "data", repo, pyproject)


def _diagnostic(directory: Path) -> Diagnostic:
    with pytest.raises(CatalogInvalid) as caught:
        read_config(directory)
    (diagnostic,) = caught.value.diagnostics
    return diagnostic


@pytest.mark.parametrize(("name", "text", "where", "code", "message"), [
    ("modelreg.toml", 'catalog = "models.d"\ncatalog = "x"\n', (2, 14), "config-syntax",
     "not valid TOML: Cannot overwrite a value"),
    ("modelreg.toml", 'catalog = "models.d"\ncatalogue = "x"\n', (2, 1), "config-key",
     "unknown key `catalogue` in modelreg.toml; the one key is `catalog`"),
    ("modelreg.toml", "# nothing yet\n", (1, 1), "config-key", 'modelreg.toml has no `catalog = "<directory>"`'),
    ("modelreg.toml", "\n  catalog = 3\n", (2, 3), "config-type",
     '`catalog` is a directory, as a string: catalog = "models.d"'),
    ("modelreg.toml", 'catalog = "/srv/catalog"\n', (1, 1), "config-path",
     '`catalog = "/srv/catalog"` is absolute; write it relative to modelreg.toml, so that the setting holds in '
     "every clone"),
    ("pyproject.toml", '[tool.modelreg]\ncatalog = ""\n', (2, 1), "config-type",
     '`catalog` is a directory, as a string: catalog = "models.d"'),
    ("pyproject.toml", '[tool.modelreg]\ncatalog = "models.d"\nstrict = true\n', (3, 1), "config-key",
     "unknown key `strict` in pyproject.toml's [tool.modelreg]; the one key is `catalog`"),
])
def test_a_bad_setting_is_a_diagnostic_at_its_line(tmp_path: Path, name: str, text: str, where: tuple[int, int],
                                                   code: str, message: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    diagnostic = _diagnostic(tmp_path)
    assert (diagnostic.file, diagnostic.line, diagnostic.column, diagnostic.code) == (
        str(tmp_path / name), *where, code)
    assert diagnostic.message == message


def test_a_catalog_set_in_both_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "modelreg.toml").write_text('catalog = "a"\n', encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[tool.modelreg]\ncatalog = "b"\n', encoding="utf-8")
    diagnostic = _diagnostic(tmp_path)
    assert (diagnostic.file, diagnostic.code) == (str(tmp_path / "modelreg.toml"), "config-conflict")
    assert diagnostic.message == "the catalog is set here and in pyproject.toml's [tool.modelreg]; keep one of them"


def test_an_explicit_catalog_keeps_the_projects_root_only_when_it_is_the_projects_catalog(repo: Path) -> None:
    below = repo / "models.d" / "acme"
    assert locate_catalog("..", cwd=below) == CatalogLocation(repo / "models.d", repo)
    write(repo / "elsewhere", "capabilities.yaml", "capabilities: {}\n")
    assert locate_catalog("../../elsewhere", cwd=below) == CatalogLocation(repo / "elsewhere", below)
    assert locate_catalog(cwd=below) == CatalogLocation(repo / "models.d", repo)


def test_the_catalog_holding_a_path(repo: Path) -> None:
    found = CatalogLocation(repo / "models.d", repo)
    assert catalog_holding(repo / "models.d" / "acme" / "coder.yaml") == found
    assert catalog_holding(repo / "models.d" / "acme") == found
    assert catalog_holding(repo / "models.d") == found
    assert catalog_holding(repo) == found  # the project's root stands for its catalog
    (repo / "README.yaml").write_text("x: 1\n", encoding="utf-8")
    assert catalog_holding(repo / "README.yaml") is None
    other = init_repo(repo.parent / "plain")
    assert catalog_holding(other) is None
