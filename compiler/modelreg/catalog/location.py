"""Where the catalog is: named by the caller, set once for the repository, or found from the
current directory as git finds its repository.

The repository says where its catalog is in one place: `modelreg.toml` or the `[tool.modelreg]`
table of `pyproject.toml`, with `catalog = "<directory>"` relative to that file. Without a
setting, the catalog is found by walking up from the current directory to the first directory
that is a catalog (it holds `capabilities.yaml`), says where one is (the setting), or holds
`models.d/` with a `capabilities.yaml`; the walk stops at the top of the git work tree. The
directory the catalog was found from is the project's root: defaults such as
`build/registry.json` are read and written there, whichever subdirectory a command runs in.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelreg.catalog.paths import CAPABILITIES_FILE, DEFAULT_CATALOG
from modelreg.diagnostics import Diagnostic
from modelreg.errors import CatalogInvalid
from modelreg.git.on_disk import find_top_level

CONFIG_FILE = "modelreg.toml"
PYPROJECT_FILE = "pyproject.toml"
CONFIG_KEYS = ("catalog",)
# Not a setting of anyone else's: a pyproject.toml without this table says nothing about catalogs.
_TABLE = ("tool", "modelreg")
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True)
class CatalogLocation:
    """A catalog directory and the project it belongs to (both absolute)."""

    catalog: Path
    # Where the project's defaults live (`build/registry.json`): the directory holding the setting,
    # or the one the catalog was found from.
    root: Path
    # The file that set it, when one did.
    config: Path | None = None


def read_config(directory: str | os.PathLike[str]) -> tuple[Path, Path] | None:
    """The setting in `directory`, if it has one: (the file, the catalog directory it names).

    Raises CatalogInvalid, with a diagnostic at the line, for a file that is not TOML, an unknown
    key, a `catalog` that is not a relative path, and a catalog set in both files.
    """
    base = Path(directory)
    found: list[tuple[Path, Path]] = []
    for name in (CONFIG_FILE, PYPROJECT_FILE):
        path = base / name
        if not path.is_file():
            continue
        setting = _setting(path, name == PYPROJECT_FILE)
        if setting is not None:
            found.append((path, setting))
    if len(found) == 2:
        raise _invalid(found[0][0], 1, 1, "config-conflict",
                       f"the catalog is set here and in {PYPROJECT_FILE}'s [tool.modelreg]; keep one of them")
    return found[0] if found else None


def _setting(path: Path, pyproject: bool) -> Path | None:
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        position = _TOML_POSITION.search(str(exc))
        line, column = (int(position[1]), int(position[2])) if position else (1, 1)
        reason = _TOML_POSITION.sub("", str(exc)).rstrip()
        raise _invalid(path, line, column, "config-syntax", f"not valid TOML: {reason}") from None
    table: object = data
    if pyproject:
        for key in _TABLE:
            table = table.get(key) if isinstance(table, dict) else None
        if table is None:
            return None
    where = f"{PYPROJECT_FILE}'s [tool.modelreg]" if pyproject else path.name
    if not isinstance(table, dict):
        raise _invalid(path, *_line_of(text, "modelreg"), "config-type", f"{where} must be a table")
    for key in table:
        if key not in CONFIG_KEYS:
            raise _invalid(path, *_line_of(text, key), "config-key",
                           f"unknown key `{key}` in {where}; the one key is `catalog`")
    if "catalog" not in table:
        raise _invalid(path, 1, 1, "config-key", f"{where} has no `catalog = \"<directory>\"`")
    value = table["catalog"]
    line, column = _line_of(text, "catalog")
    if not isinstance(value, str) or not value.strip():
        raise _invalid(path, line, column, "config-type", "`catalog` is a directory, as a string: "
                       "catalog = \"models.d\"")
    if os.path.isabs(value):
        raise _invalid(path, line, column, "config-path", f"`catalog = \"{value}\"` is absolute; write it relative "
                       f"to {path.name}, so that the setting holds in every clone")
    return (path.parent / value).resolve()


def _line_of(text: str, key: str) -> tuple[int, int]:
    # tomllib gives no positions: the first line that assigns the key is where it is set.
    pattern = re.compile(rf"^(\s*)(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*[=.\]]")
    for number, line in enumerate(text.splitlines(), 1):
        match = pattern.match(line)
        if match:
            return number, len(match[1]) + 1
    return 1, 1


def _invalid(path: Path, line: int, column: int, code: str, message: str) -> CatalogInvalid:
    return CatalogInvalid([Diagnostic(shown(path), line, column, code, message)])


def _is_catalog(directory: Path) -> bool:
    return (directory / CAPABILITIES_FILE).is_file()


def _upward(start: Path) -> list[Path]:
    # `start` and its parents, up to and including the top of its git work tree.
    chain = []
    for directory in (start, *start.parents):
        chain.append(directory)
        if os.path.lexists(directory / ".git"):
            break
    return chain


def _marked(directory: Path) -> tuple[Path, Path | None] | None:
    """The catalog a directory says is there, by a setting or a `models.d/`, and the setting."""
    setting = read_config(directory)
    if setting is not None:
        return setting[1], setting[0]
    default = directory / DEFAULT_CATALOG
    return (default, None) if _is_catalog(default) else None


def find_catalog(start: str | os.PathLike[str] | None = None) -> CatalogLocation | None:
    """The catalog found from `start` (the current directory by default), as described above;
    None when nothing on the way up is or names one."""
    chain = _upward(Path(start if start is not None else os.getcwd()).resolve())
    for index, directory in enumerate(chain):
        if _is_catalog(directory):
            # Inside a catalog: its project is the directory above that names it, if one does.
            for above in chain[index + 1:]:
                marked = _marked(above)
                if marked is not None and marked[0] == directory:
                    return CatalogLocation(directory, above, marked[1])
            return CatalogLocation(directory, directory.parent)
        marked = _marked(directory)
        if marked is not None:
            return CatalogLocation(marked[0], directory, marked[1])
    return None


def locate_catalog(explicit: str | os.PathLike[str] | None = None, *,
                   cwd: str | os.PathLike[str] | None = None) -> CatalogLocation:
    """The catalog a command works on: `explicit` when given (relative to `cwd`), else the one
    found from `cwd`, else `models.d` there (which the command then reports missing). The root
    is the found project's when that is the same catalog, else `cwd`."""
    here = Path(cwd if cwd is not None else os.getcwd()).resolve()
    found = find_catalog(here)
    if explicit is None:
        return found if found is not None else CatalogLocation(here / DEFAULT_CATALOG, here)
    catalog = (here / explicit).resolve()
    if found is not None and found.catalog == catalog:
        return found
    return CatalogLocation(catalog, here)


def catalog_holding(path: str | os.PathLike[str]) -> CatalogLocation | None:
    """The catalog that holds `path` (a file or directory in it, or its project's root), or None."""
    target = Path(path).resolve()
    found = find_catalog(target if target.is_dir() else target.parent)
    if found is None:
        return None
    if target.is_relative_to(found.catalog) or target == found.root:
        return found
    return None


def shown(path: Path, cwd: str | os.PathLike[str] | None = None) -> str:
    """A path as commands print it: relative to the current directory when one holds the other or
    both are in the same git work tree (`../../models.d`, as git prints paths), else absolute."""
    here = Path(cwd if cwd is not None else os.getcwd()).resolve()
    if path.is_relative_to(here) or here.is_relative_to(path):
        return os.path.relpath(path, here)
    top = find_top_level(here)
    if top is not None and path.is_relative_to(top):
        return os.path.relpath(path, here)
    return os.fspath(path)
