"""This project's own coordinates, for what points back at it from a catalog repository (the
pre-commit hook, the reusable workflow): its repository URL and the release a catalog pins.

Both come from the package's metadata, whose source is `[project]` in `pyproject.toml`: read from
that file in a checkout (an installed copy's metadata may be older than the checkout), from the
installed metadata otherwise.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.metadata import PackageNotFoundError, metadata
from pathlib import Path

from modelreg.errors import ModelregError

_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


@cache
def _project() -> tuple[str, dict[str, str]]:
    """(version, [project.urls])."""
    if _PYPROJECT.is_file():
        project = tomllib.loads(_PYPROJECT.read_text(encoding="utf-8")).get("project", {})
        if project.get("name") == "modelreg":
            return str(project.get("version", "")), {str(k): str(v) for k, v in project.get("urls", {}).items()}
    try:
        meta = metadata("modelreg")
    except PackageNotFoundError:
        return "", {}
    urls = dict(entry.split(", ", 1) for entry in meta.get_all("Project-URL") or [] if ", " in entry)
    return str(meta["Version"] or ""), urls


def repository_url() -> str:
    """The project's repository (`https://github.com/<owner>/modelreg`), from `[project.urls]`."""
    url = _project()[1].get("Repository")
    if not url:
        raise ModelregError("modelreg's metadata names no Repository URL ([project.urls] in its pyproject.toml)")
    return url.rstrip("/")


def github_repository() -> str:
    """`<owner>/<name>` of the repository, as `uses:` and `repo:` name it on GitHub."""
    url = repository_url()
    prefix = "https://github.com/"
    if not url.startswith(prefix) or url[len(prefix):].count("/") != 1:
        raise ModelregError(f"modelreg's Repository URL `{url}` is not a GitHub repository")
    return url[len(prefix):].removesuffix(".git")


def release_tag() -> str:
    """The tag of the release this modelreg is (`v0.1.0`), which a catalog repository pins."""
    version = _project()[0]
    if not version:
        raise ModelregError("modelreg's metadata has no version")
    return f"v{version}"
