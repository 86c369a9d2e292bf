"""Finding a git repository from the files on disk, without running git: for what must not start
a process (a work-tree `validate`, reporting, choosing where the caches live). What git itself
takes for a repository is `modelreg.git.runner.find_work_tree`'s to say.
"""

from __future__ import annotations

import os
from pathlib import Path


def find_top_level(path: str | os.PathLike[str]) -> Path | None:
    """The root of the git work tree that holds `path`, found on disk without running git: the
    nearest directory with a `.git` entry (a directory, or the file of a worktree or submodule)."""
    probe = nearest_directory(path)
    for directory in (probe, *probe.parents):
        if os.path.lexists(directory / ".git"):
            return directory
    return None


def nearest_directory(path: str | os.PathLike[str]) -> Path:
    """The path itself when it is a directory, else its nearest parent that is (a catalog or a
    file that does not exist yet is looked for from where it would be)."""
    probe = Path(path).resolve()
    while not probe.is_dir() and probe.parent != probe:
        probe = probe.parent
    return probe


def git_common_dir(start: Path) -> Path | None:
    """The git common directory of the repository holding `start` (a real path): the nearest
    `.git` above it, a directory, or a file naming one (a linked work tree or a submodule), whose
    `commondir` names the shared one."""
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
