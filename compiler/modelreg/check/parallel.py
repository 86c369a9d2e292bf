"""Spreading per-file work of a large catalog over the machine's cores.

Parsing and checking 10,000 model files is pure Python and holds the GIL, so threads do not help;
forked processes do. `iter_chunks` runs a function over slices of a list, one slice in this
process and the others in forked children that send their results back as `marshal` data (plain
values only: a fraction of pickle's cost, and nothing but our own child writes to the pipe).

It degrades to a plain call whenever forking is not safe or not worth it: no `fork` (Windows),
other threads running (a child would inherit their locks mid-use), one usable core, a small list,
or `MODELREG_WORKERS=1`. A child that fails for any reason has its slice redone here, so the
result never depends on whether the work was split.
"""

from __future__ import annotations

import marshal
import os
import signal
import threading
import time
from collections.abc import Callable, Generator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

WORKERS_ENV = "MODELREG_WORKERS"
# How long a thread that Python has finished with may take to leave the OS's list of tasks.
_EXIT_GRACE = 1.0
# Tasks that outlived the grace: threads that Python does not know of, still there.
_foreign: set[str] = set()
# Below this many items per process, a fork and the transfer back cost more than they save.
MIN_PER_WORKER = 1000


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worker_count(items: int, min_per_worker: int | None = None) -> int:
    """How many processes to split `items` over (1: do not fork)."""
    configured = os.environ.get(WORKERS_ENV, "").strip()
    # An explicit setting wins (1 turns splitting off); by default, up to 8 of the usable cores.
    limit = int(configured) if configured.isdigit() and int(configured) > 0 else min(usable_cores(), 8)
    least = MIN_PER_WORKER if min_per_worker is None else min_per_worker
    count = max(1, min(limit, items // max(1, least)))
    # Threads are looked for last: only a split that is worth it needs to know.
    if count <= 1 or not hasattr(os, "fork") or not _single_threaded():
        return 1
    return count


def _single_threaded() -> bool:
    # Python's threads, and where the OS lists them (Linux), any other: a thread started by a C
    # library holds its locks as much as one of ours.
    if threading.active_count() > 1:
        return False
    try:
        others = _tasks() - {str(threading.get_native_id())}
    except OSError:
        return True
    # Python knows of no other thread, so a task the OS still lists is a thread that has finished
    # (the OS lists a joined thread a moment after `join()` returns, while it unwinds), or one of a
    # C library. The first is gone within the grace; the second outlives it, once.
    _foreign.intersection_update(others)
    pending = others - _foreign
    deadline = time.monotonic() + _EXIT_GRACE
    while pending:
        if time.monotonic() >= deadline:
            _foreign.update(pending)
            break
        time.sleep(0.001)
        try:
            pending &= _tasks()
        except OSError:
            return True
    return not _foreign


def _tasks() -> set[str]:
    return set(os.listdir("/proc/self/task"))


def iter_chunks(work: Callable[[Sequence[T]], list[Any]], items: Sequence[T], *,
                min_per_worker: int | None = None) -> Generator[list[Any], None, None]:
    """`work(items)`, computed slice by slice over forked processes, each slice's results
    yielded in order: the caller works on the first slice's while the other processes finish
    theirs. `work` must return marshal-able values and have no side effects the caller relies on
    (a child's are lost). Close it (`contextlib.closing`) when not running it to the end: that
    stops the children still at work."""
    workers = worker_count(len(items), min_per_worker)
    if workers <= 1:
        yield work(items)
        return
    size = -(-len(items) // workers)
    slices = [items[i:i + size] for i in range(0, len(items), size)]
    children: list[tuple[int, int, Sequence[T]] | Sequence[T]] = []
    try:
        for part in slices[1:]:
            children.append(_fork(work, part))
        yield work(slices[0])
        while children:
            child = children.pop(0)
            if isinstance(child, tuple):
                pid, fd, part = child
                yield _collect(pid, fd, work, part)
            else:  # no process could be had for it
                yield work(child)
    finally:
        for child in children:  # only when stopped early
            if isinstance(child, tuple):
                os.close(child[1])
                _reap(child[0], kill=True)


def _fork(work: Callable[[Sequence[T]], list[Any]],
          part: Sequence[T]) -> tuple[int, int, Sequence[T]] | Sequence[T]:
    # (pid, read end, slice) of a child at work; the slice alone when there is no child (out of
    # processes or memory), for this process to do.
    try:
        read_fd, write_fd = os.pipe()
    except OSError:
        return part
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return part
    if pid == 0:  # the child: compute, write, and leave without running the parent's cleanup
        try:
            os.close(read_fd)
            try:
                payload = marshal.dumps((True, work(part)))
            except BaseException:
                payload = marshal.dumps((False, None))
            view = memoryview(payload)
            while view:
                view = view[os.write(write_fd, view):]
        finally:
            os._exit(0)
    os.close(write_fd)
    return pid, read_fd, part


def _collect(pid: int, fd: int, work: Callable[[Sequence[T]], list[Any]], part: Sequence[T]) -> list[Any]:
    chunks = []
    try:
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(fd)
        _reap(pid)
    try:
        ok, result = marshal.loads(b"".join(chunks))
    except (EOFError, ValueError, TypeError):
        ok, result = False, None
    if ok and isinstance(result, list):
        return result
    return work(part)  # the child died or failed: its share is done here


def _reap(pid: int, *, kill: bool = False) -> None:
    if kill:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
