"""The one way modelreg runs git: binary-safe, never inheriting another repository from the
caller's environment (a hook's `GIT_DIR`, `GIT_INDEX_FILE`), never reading quoted or coloured
output, and finding the repository that holds a path without any library of its own.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import weakref
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

from modelreg.errors import StateError
from modelreg.git.on_disk import nearest_directory

# Variables that point git at another repository or index; ours are always found from the catalog.
_REPO_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
             "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_PREFIX")


DAMAGED = "the repository is damaged: `git fsck --full` lists what is missing or corrupt"
# What git says of an object it cannot read.
_DAMAGE = re.compile(r"corrupt|inflate|unable to (?:read|unpack|parse)|could not parse|invalid object|"
                     r"missing (?:blob|tree|commit)|object file .* is empty", re.IGNORECASE)


class MissingObject(StateError):
    """A git object that the repository should hold cannot be read (missing or corrupt)."""

    def __init__(self, sha: str | None, what: str | None = None, problem: str | None = None) -> None:
        self.sha = sha
        self.problem = problem or "it is missing or corrupt"
        where = f" ({what})" if what else ""
        name = f"git object {sha}" if sha else "a git object"
        super().__init__(f"cannot read {name}{where}: {self.problem}; {DAMAGED}")

    def about(self, what: str) -> MissingObject:
        """The same error, saying what the object is (`models.d/x.yaml at HEAD`)."""
        return MissingObject(self.sha, what, self.problem)


class GitFailed(StateError):
    """A git command failed; the message carries git's own explanation."""

    def __init__(self, args: Iterable[str], code: int, stderr: str) -> None:
        self.code = code
        self.stderr = stderr.strip()
        command = " ".join(list(args)[:2])
        hint = f"; {DAMAGED}" if _DAMAGE.search(self.stderr) else ""
        super().__init__(f"`git {command}` failed: {self.stderr or f'exit code {code}'}{hint}")


def _command(args: Iterable[str], env: Mapping[str, str] | None) -> tuple[list[str], dict[str, str]]:
    full = {k: v for k, v in os.environ.items() if k not in _REPO_ENV}
    full.update(LC_ALL="C", GIT_TERMINAL_PROMPT="0", **(env or {}))
    # The user's config must not change what is parsed: quoted paths, colours.
    return ["git", "-c", "core.quotePath=false", "-c", "color.ui=never", *args], full


class Git:
    """Runs git commands in one work tree (`find_work_tree` finds it)."""

    def __init__(self, root: Path, git_dir: Path, common_dir: Path) -> None:
        self.root = root
        self.git_dir = git_dir
        self.common_dir = common_dir
        # HEAD's commit as the same `git rev-parse` that found the work tree saw it, when asked.
        self.found_head: str | None = None

    def _command(self, args: Iterable[str], env: Mapping[str, str] | None) -> tuple[list[str], dict[str, str]]:
        return _command(args, env)

    def run(self, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None,
            ok: Collection[int] = (0,)) -> bytes:
        """Run `git ARGS` and return its stdout; GitFailed on an exit code outside `ok`."""
        command, full = self._command(args, env)
        proc = subprocess.run(command, cwd=self.root, input=input, capture_output=True, env=full, check=False)
        if proc.returncode not in ok:
            raise GitFailed(args, proc.returncode, proc.stderr.decode("utf-8", "replace"))
        return proc.stdout

    def stream_blobs(self, shas: Sequence[str], limit: int | None = None) -> Iterator[bytes | int]:
        """The content of each object of `shas`, in order, as `git cat-file --batch` writes it:
        the caller works on the first while git reads the next. An object over `limit` bytes is
        not kept: its size comes instead. StateError for a missing one."""
        if not shas:
            return
        command, env = self._command(["cat-file", "--batch"], None)
        with tempfile.TemporaryFile() as request, tempfile.TemporaryFile() as errors:
            request.write("".join(f"{sha}\n" for sha in shas).encode())
            request.seek(0)
            proc = subprocess.Popen(command, cwd=self.root, stdin=request, stdout=subprocess.PIPE, stderr=errors,
                                    env=env)
            assert proc.stdout is not None
            try:
                out = proc.stdout
                for sha in shas:
                    header = out.readline().split()
                    if len(header) != 3:
                        errors.seek(0)
                        problem = errors.read().decode("utf-8", "replace").strip()
                        raise MissingObject(sha, problem=problem or None)
                    size = int(header[2])
                    if limit is not None and size > limit:
                        left = size + 1  # with the newline after the object
                        while left > 0 and (skipped := out.read(min(left, 1 << 20))):
                            left -= len(skipped)
                        if left:
                            raise MissingObject(sha, problem="git stopped mid-object")
                        yield size
                        continue
                    content = out.read(size)
                    out.read(1)  # the newline after each object
                    if len(content) != size:
                        errors.seek(0)
                        problem = errors.read().decode("utf-8", "replace").strip()
                        raise MissingObject(sha, problem=problem or "git stopped mid-object")
                    yield content
            finally:
                proc.stdout.close()
                if proc.poll() is None:
                    proc.kill()
                proc.wait()

    def start(self, *args: str) -> GitRun:
        """Start `git ARGS` and return at once; `.result()` waits for its stdout (as `run`)."""
        return GitRun(self, args)

    def text(self, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None,
             ok: Collection[int] = (0,)) -> str:
        """`run` decoded, without the trailing newline."""
        return self.run(*args, input=input, env=env, ok=ok).decode("utf-8", "surrogateescape").rstrip("\n")

    def blobs(self, shas: Iterable[str]) -> dict[str, bytes]:
        """The content of many objects in one `git cat-file --batch`; MissingObject for one that
        is missing or corrupt."""
        wanted = list(dict.fromkeys(shas))
        if not wanted:
            return {}
        try:
            out = self.run("cat-file", "--batch", "--buffer", input="".join(f"{s}\n" for s in wanted).encode())
        except GitFailed as exc:  # git dies on a corrupt object
            raise MissingObject(wanted[0] if len(wanted) == 1 else None, problem=exc.stderr) from None
        found: dict[str, bytes] = {}
        pos = 0
        while pos < len(out):
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            if len(header) != 3:  # `<sha> missing`
                raise MissingObject(header[0].decode() if header else None)
            size = int(header[2])
            found[header[0].decode()] = out[end + 1:end + 1 + size]
            pos = end + 1 + size + 1
        return found


class GitRun:
    """A git command running in the background.

    Its output goes to an unnamed temporary file, not a pipe: git never waits for a reader, and
    no thread is needed to be one (a thread would keep `modelreg.check.parallel` from forking). A run
    whose result is never asked for is stopped and its files closed when it is dropped.
    """

    def __init__(self, git: Git, args: tuple[str, ...]) -> None:
        self.args = args
        command, env = git._command(args, None)
        # Open until `result()` or the finalizer: they outlive this call by design.
        self._out = tempfile.TemporaryFile()  # noqa: SIM115
        self._err = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(command, cwd=git.root, stdin=subprocess.DEVNULL, stdout=self._out,
                                          stderr=self._err, env=env)
        except BaseException:
            self._out.close()
            self._err.close()
            raise
        self._finalizer = weakref.finalize(self, _stop, self._proc, self._out, self._err)

    def result(self) -> bytes:
        """Wait for git; its stdout, or GitFailed."""
        try:
            code = self._proc.wait()
            self._err.seek(0)
            if code != 0:
                raise GitFailed(self.args, code, self._err.read().decode("utf-8", "replace"))
            self._out.seek(0)
            return self._out.read()
        finally:
            self._finalizer()


def _stop(proc: subprocess.Popen[bytes], *files: IO[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for file in files:
        file.close()


def find_work_tree(path: str | os.PathLike[str], *, head: bool = False) -> Git | None:
    """The runner for the git work tree that holds `path` (or its nearest existing parent); None
    when it is in none, in a bare repository, or git is not installed. With `head`, its
    `found_head` is HEAD's commit then (None before the first commit).

    One `git rev-parse`: git itself decides what a repository is (`.git` files of worktrees and
    submodules, `GIT_CEILING_DIRECTORIES`), and its refusals (a repository owned by another
    user) are reported, not taken for "no repository".
    """
    probe = nearest_directory(path)
    asked = ["rev-parse", "--path-format=absolute", "--show-toplevel", "--git-dir", "--git-common-dir"]
    # `--verify -q`: no commit yet is exit code 1 and no line, after the three paths.
    command, env = _command([*asked, "--verify", "-q", "HEAD^{commit}"] if head else asked, None)
    try:
        proc = subprocess.run(command, cwd=probe, capture_output=True, env=env, check=False)
    except OSError:  # no git on this machine: nothing can be in a repository
        return None
    stderr = proc.stderr.decode("utf-8", "replace")
    lines = proc.stdout.decode("utf-8", "surrogateescape").rstrip("\n").split("\n")
    if proc.returncode != 0 and not (head and proc.returncode == 1 and len(lines) == 3):
        if "dubious ownership" in stderr:
            raise GitFailed(["rev-parse"], proc.returncode, stderr)
        return None  # not a repository, or a bare one (no work tree to show)
    if len(lines) != (4 if head and proc.returncode == 0 else 3):
        return None
    root, git_dir, common_dir = (Path(line).resolve() for line in lines[:3])
    git = Git(root, git_dir, common_dir)
    git.found_head = lines[3] if len(lines) == 4 else None
    return git
