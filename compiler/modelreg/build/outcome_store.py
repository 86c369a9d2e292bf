"""Where the per-file outcome cache of a catalog lives, and whether there is one.

Inside a git repository, in `.git/modelreg/outcomes.bin` (the common directory, so every work
tree of a clone shares it; `compile --rev`, `diff` and the work tree use the same entries). For a
catalog outside git, in the user's cache directory (`$XDG_CACHE_HOME/modelreg/`, else
`~/.cache/modelreg/`), one file per catalog directory. `MODELREG_CACHE=0` turns it off.

Finding the repository reads `.git` itself (a directory, or a work tree's `gitdir:` file) rather
than running git, so a work-tree `validate` starts no git process.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from modelreg.build.cache import compiler_fingerprint
from modelreg.check.outcome_cache import OutcomeCache

CACHE_ENV = "MODELREG_CACHE"
FILE_NAME = "outcomes.bin"


def cache_enabled() -> bool:
    """False under MODELREG_CACHE=0."""
    return os.environ.get(CACHE_ENV, "").strip() != "0"


def outcomes_in_git(common_dir: Path) -> OutcomeCache | None:
    """The outcome cache of a repository whose git common directory is `common_dir`."""
    if not cache_enabled():
        return None
    return OutcomeCache(common_dir / "modelreg" / FILE_NAME, compiler_fingerprint())


def outcomes_for(catalog: str | os.PathLike[str]) -> OutcomeCache | None:
    """The outcome cache of the catalog directory `catalog` (None when the cache is off)."""
    if not cache_enabled():
        return None
    real = Path(os.path.realpath(catalog))
    common = _git_common_dir(real)
    if common is not None:
        return outcomes_in_git(common)
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    home = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    name = hashlib.sha256(os.fsencode(real)).hexdigest()[:16]
    return OutcomeCache(home / "modelreg" / f"outcomes-{name}.bin", compiler_fingerprint())


def _git_common_dir(start: Path) -> Path | None:
    # The nearest `.git` above `start`: a directory, or a file naming one (a linked work tree or a
    # submodule), whose `commondir` names the shared one.
    for directory in (start, *start.parents):
        dot_git = directory / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():
            try:
                text = dot_git.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                return None
            if not text.startswith("gitdir:"):
                return None
            git_dir = (directory / text.removeprefix("gitdir:").strip()).resolve()
            try:
                common = (git_dir / "commondir").read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                return git_dir
            return (git_dir / common).resolve()
    return None
