"""Writing a file so that readers see the old content or the new, never a part, and so that a
writer killed mid-write leaves nothing that outlives the next write.

The temporary file sits beside its target (a rename is atomic only within one file system) and
is named for its writer: `.<target>.modelreg-<pid>@<host>-<random>.tmp`. `write_atomic` removes
such files of this host whose writer is no longer running before it writes (another host's, on a
shared file system, are not this host's to judge); nothing that reads a catalog or a snapshot
takes them for anything (they are hidden, and not YAML or JSON by name). A directory of many
files (a static site) is written the same way, as a temporary directory renamed into place.
Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import TypeVar

from modelreg.pause import pause_at

T = TypeVar("T")
_LEFTOVER = re.compile(r"^\..+\.modelreg-(\d+)@([A-Za-z0-9-]*)-[a-z0-9_]+\.tmp$")


@cache
def _host() -> str:
    import socket  # here: a command that writes nothing need not load it

    return re.sub(r"[^A-Za-z0-9-]", "", socket.gethostname())[:32]


def is_running(pid: int) -> bool:
    """Whether a process with this id is running (another user's counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def temp_writer(name: str) -> int | None:
    """The pid of the writer, on this host, of a temporary file named `name`; None for any other
    name, and for another host's file."""
    match = _LEFTOVER.match(name)
    return int(match[1]) if match and match[2] == _host() else None


def remove_leftovers(directory: str | os.PathLike[str]) -> list[str]:
    """Remove the temporary files in `directory` whose writer is gone; returns their names.
    A directory that cannot be listed has none to remove."""
    removed: list[str] = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        pid = temp_writer(name)
        if pid is None or pid == os.getpid() or is_running(pid):
            continue
        path = os.path.join(directory, name)
        try:
            if os.path.isdir(path) and not os.path.islink(path):  # a killed `write_tree_atomic`'s
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except OSError:  # gone meanwhile, or not ours to remove (another user's, in a shared directory)
            continue
        removed.append(name)
    return sorted(removed)


def write_atomic(path: str | os.PathLike[str], data: bytes, *, durable: bool = True) -> os.stat_result:
    """Write a file so that readers see either the old content or the new, never a part, and
    return its stat as written (another writer may have replaced it by the time it is looked at
    by its name); the leftovers of killed writers in its directory are removed first. Not
    `durable`, the content is not forced to disk before the rename: for a cache, which a crash
    may cost but a reader checks (a file its seal refuses is no cache)."""
    target = _prepared(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.modelreg-{os.getpid()}@{_host()}-", suffix=".tmp",
                               dir=target.parent)

    def fill() -> os.stat_result:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o644)  # mkstemp makes 0600; a snapshot is meant to be read
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
            return os.fstat(fh.fileno())
    return _rename_over(tmp, target, fill)


def link_atomic(path: str | os.PathLike[str], source: str | os.PathLike[str],
                expect: Callable[[os.stat_result], bool], *, durable: bool = True) -> bool:
    """Put the file `source` at `path` as another name of it (a hard link): readers see the old
    content or the new, never a part, as with `write_atomic`, and not a byte is copied. False,
    with nothing changed, when the file system cannot link it, or the file linked is not the one
    `expect` accepts (another took its name meanwhile)."""
    target = _prepared(path)
    tmp = target.parent / f".{target.name}.modelreg-{os.getpid()}@{_host()}-{secrets.token_hex(6)}.tmp"
    try:
        os.link(source, tmp)
    except OSError:
        return False
    if not expect(os.stat(tmp)):
        os.unlink(tmp)
        return False

    def flush() -> None:  # the link's content is the source's: only made durable
        if durable:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _rename_over(tmp, target, flush)
    return True


def _prepared(path: str | os.PathLike[str]) -> Path:
    # The target, its directory made and rid of what killed writers left.
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(target.parent)
    return target


def _rename_over(tmp: str | os.PathLike[str], target: Path, prepare: Callable[[], T]) -> T:
    # `prepare` the temporary file, then rename it over `target`; it is removed should either fail.
    try:
        prepared = prepare()
        pause_at("write-atomic:written")
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return prepared


def write_atomic_many(files: Mapping[Path, bytes]) -> None:
    """Write many files as `write_atomic` writes one, at the cost of one: each directory's
    leftovers are removed once, the temporary files are made durable with one `sync`, then each
    is renamed over its target. A failure removes the temporary files not yet renamed; the
    renamed ones are the caller's to put back."""
    temps: list[tuple[str, Path]] = []
    try:
        for directory in sorted({path.parent for path in files}):
            if not directory.is_dir():  # a stat, where mkdir would be a failed system call
                directory.mkdir(parents=True, exist_ok=True)
            remove_leftovers(directory)
        for target, data in files.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.modelreg-{os.getpid()}@{_host()}-", suffix=".tmp",
                                       dir=target.parent)
            temps.append((tmp, target))
            with os.fdopen(fd, "wb") as fh:
                os.fchmod(fh.fileno(), 0o644)
                fh.write(data)
        os.sync()
        pause_at("write-atomic:written")
        while temps:
            tmp, target = temps[0]
            os.replace(tmp, target)
            temps.pop(0)
    except BaseException:
        for tmp, _ in temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise


def _temp_name(target: Path) -> str:
    return f".{target.name}.modelreg-{os.getpid()}@{_host()}-"


def write_tree_atomic(path: str | os.PathLike[str], files: Mapping[str, bytes]) -> None:
    """Make the directory `path` hold exactly `files` (relative path -> content), so that it is
    never seen half-written: they are written into a temporary directory beside it, which then
    takes its place. An existing `path` is moved aside first and removed last, so for the instant
    between the two renames it is absent; a failure before the second rename puts it back. The
    leftovers of killed writers beside it are removed first.

    The caller decides whether an existing directory is one it may replace."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(target.parent)
    staging = Path(tempfile.mkdtemp(prefix=_temp_name(target), suffix=".tmp", dir=target.parent))
    old: Path | None = None
    try:
        os.chmod(staging, 0o755)  # mkdtemp makes 0700; a site is meant to be served
        for rel, data in sorted(files.items()):
            file = staging / rel
            if not file.resolve().is_relative_to(staging.resolve()):
                raise ValueError(f"{rel} leads out of {target}")
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(data)
        os.sync()
        pause_at("write-tree:written")
        if target.exists():
            # rename(2) replaces an empty directory: the fresh one mkdtemp makes holds its place.
            old = Path(tempfile.mkdtemp(prefix=_temp_name(target), suffix=".tmp", dir=target.parent))
            os.replace(target, old)
            pause_at("write-tree:moved-aside")
        os.replace(staging, target)
    except BaseException:
        if old is not None and not target.exists():
            os.replace(old, target)
            old = None
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
