"""Pausing Python's garbage collector while a large structure is built.

Loading a snapshot or checking a catalog allocates hundreds of thousands of objects that all stay
alive; the collector would walk them again and again as they pile up (a third of a 10,000-model
compile), finding nothing to free. Standard library only: the runtime uses it too.
"""

from __future__ import annotations

import gc
import threading


class CollectorPause:
    """A context manager that pauses the collector while any holder is inside, however many
    threads enter at once.

    Builds overlap (a watcher's thread reloads while a service loads another snapshot): the first
    to enter remembers whether the collector was on, and only the last to leave turns it back on,
    and only if it was.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._resume = False

    def __enter__(self) -> None:
        with self._lock:
            if self._holders == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._holders += 1

    def __exit__(self, *exc: object) -> None:
        # Not `with self._lock`: leaving it allocates right after `gc.enable()`, and that would
        # start a pass over everything just built before the caller gets it, not after.
        self._lock.acquire()
        try:
            self._holders -= 1
            if self._holders == 0 and self._resume:
                gc.enable()
        finally:
            self._lock.release()


collector_paused = CollectorPause()
"""The process's one pause: `with collector_paused: ...`."""
