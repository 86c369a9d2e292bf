"""Atomic writes: temporary files named for their writer, and the leftovers of a killed writer
removed by the next one (a live writer's never)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelreg.atomic_files import _host, is_running, link_atomic, remove_leftovers, temp_writer, write_atomic
from modelreg.pause import PAUSE_AT, PAUSE_FILE

WRITER = "import sys; from modelreg.atomic_files import write_atomic; write_atomic(sys.argv[1], b'new')"


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout)


HOST = _host()


def test_temporary_files_are_named_for_their_writer_and_its_host() -> None:
    assert temp_writer(f".registry.json.modelreg-4242@{HOST}-ab_c9.tmp") == 4242
    assert temp_writer(f".gpt-4o.yaml.modelreg-17@{HOST}-x.tmp") == 17
    for other in ("registry.json", ".registry.json.abc.tmp", f"x.modelreg-1@{HOST}-a.tmp",
                  f".x.modelreg-a@{HOST}-b.tmp", ".x.modelreg-1-b.tmp", f".x.modelreg-17@{HOST}x-a.tmp"):
        assert temp_writer(other) is None, other
    assert is_running(os.getpid()) and not is_running(_dead_pid()) and not is_running(0)


def test_the_next_write_removes_what_a_dead_writer_left_and_keeps_a_live_ones(tmp_path: Path) -> None:
    dead, live = _dead_pid(), os.getppid()
    (tmp_path / f".registry.json.modelreg-{dead}@{HOST}-abc.tmp").write_bytes(b"half")
    (tmp_path / f".other.json.modelreg-{dead}@{HOST}-def.tmp").write_bytes(b"half")
    (tmp_path / f".registry.json.modelreg-{live}@{HOST}-ghi.tmp").write_bytes(b"being written")
    (tmp_path / f".registry.json.modelreg-{dead}@elsewhere-jkl.tmp").write_bytes(b"another host's")
    (tmp_path / ".registry.json.abc.tmp").write_bytes(b"not ours")
    write_atomic(tmp_path / "registry.json", b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([
        ".registry.json.abc.tmp", f".registry.json.modelreg-{dead}@elsewhere-jkl.tmp",
        f".registry.json.modelreg-{live}@{HOST}-ghi.tmp", "registry.json"])
    assert (tmp_path / "registry.json").read_bytes() == b"whole"
    assert oct((tmp_path / "registry.json").stat().st_mode & 0o777) == "0o644"
    assert remove_leftovers(tmp_path / "missing") == []


def test_a_writer_killed_before_the_rename_leaves_the_old_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "registry.json"
    target.write_bytes(b"old")
    fifo = tmp_path / "paused"
    os.mkfifo(fifo)
    env = {**os.environ, PAUSE_AT: "write-atomic:written", PAUSE_FILE: str(fifo)}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], env=env)
    try:
        assert fifo.read_text(encoding="utf-8") == "write-atomic:written"  # blocks until it is there
        (leftover,) = [p for p in tmp_path.iterdir() if temp_writer(p.name) == writer.pid]
        assert leftover.read_bytes() == b"new"
        assert target.read_bytes() == b"old"
    finally:
        writer.kill()
        writer.wait()
    assert remove_leftovers(tmp_path) == [leftover.name]
    write_atomic(target, b"next")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paused", "registry.json"]


@pytest.mark.parametrize("step", ["", "another-step"])
def test_a_pause_point_not_named_does_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    monkeypatch.setenv(PAUSE_AT, step)
    write_atomic(tmp_path / "x", b"1")
    assert (tmp_path / "x").read_bytes() == b"1"


def test_a_link_puts_the_same_file_under_the_new_name_or_changes_nothing(tmp_path: Path) -> None:
    source, target = tmp_path / "cache" / "copy", tmp_path / "out" / "registry.json"
    source.parent.mkdir()
    source.write_bytes(b"new")
    target.parent.mkdir()
    target.write_bytes(b"old")
    written = source.stat()
    # Another file took the source's name since: refused, the old output stands, nothing left over.
    assert not link_atomic(target, source, lambda info: info.st_mtime_ns != written.st_mtime_ns)
    assert target.read_bytes() == b"old" and sorted(os.listdir(target.parent)) == ["registry.json"]
    assert link_atomic(target, source, lambda info: info.st_ino == written.st_ino)
    assert target.read_bytes() == b"new" and target.stat().st_ino == written.st_ino
    assert sorted(os.listdir(target.parent)) == ["registry.json"]
    # No file to link: nothing changed.
    assert not link_atomic(target, tmp_path / "missing", lambda info: True)
    assert target.read_bytes() == b"new"

