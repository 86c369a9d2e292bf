"""Where the per-file outcome cache of a catalog lives, and whether there is one.

Inside a git repository, in `.git/modelreg/outcomes.bin` (the common directory, so every work
tree of a clone shares it; `compile --rev`, `diff` and the work tree use the same entries). For a
catalog outside git, in the user's cache directory (`$XDG_CACHE_HOME/modelreg/`, else
`~/.cache/modelreg/`), one file per catalog directory. The memos of a directory's last compile
and of its last `validate` (`modelreg.build.worktree_memo`) lie beside it. `MODELREG_CACHE=0`
turns them all off.

Finding the repository reads `.git` itself (a directory, or a work tree's `gitdir:` file) rather
than running git, so a work-tree `validate` starts no git process.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from modelreg.build.fingerprint import compiler_fingerprint
from modelreg.build.worktree_memo import WorktreeMemo
from modelreg.check.outcome_cache import OutcomeCache
from modelreg.git.on_disk import git_common_dir

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
    directory, common = _home(catalog)
    if common is not None:
        return outcomes_in_git(common)
    return OutcomeCache(directory / f"outcomes-{_name(catalog)}.bin", compiler_fingerprint())


def worktree_memo_for(catalog: str | os.PathLike[str]) -> WorktreeMemo | None:
    """The memo of the last compile of the catalog directory `catalog` (None when the cache is
    off): beside the outcome cache, one per catalog directory."""
    if not cache_enabled():
        return None
    directory, _ = _home(catalog)
    return WorktreeMemo(directory / f"worktree-{_name(catalog)}.bin", compiler_fingerprint())


def worktree_check_memo_for(catalog: str | os.PathLike[str]) -> WorktreeMemo | None:
    """The memo of the last `validate` of the catalog directory `catalog` (None when the cache is
    off): beside the memo of its last compile."""
    if not cache_enabled():
        return None
    directory, _ = _home(catalog)
    return WorktreeMemo(directory / f"checked-{_name(catalog)}.bin", compiler_fingerprint())


def _name(catalog: str | os.PathLike[str]) -> str:
    return hashlib.sha256(os.fsencode(os.path.realpath(catalog))).hexdigest()[:16]


def _home(catalog: str | os.PathLike[str]) -> tuple[Path, Path | None]:
    # The directory the caches of `catalog` live in, and the git common directory it is in (None
    # outside git).
    common = git_common_dir(Path(os.path.realpath(catalog)))
    if common is not None:
        return common / "modelreg", common
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    home = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return home / "modelreg", None
