"""Hot reload: a watcher that keeps the latest good snapshot and swaps in new ones atomically.

For a file it polls the modification time (and size and inode, so an atomic rename is seen even
within one mtime tick); for a URL it sends `If-None-Match` with the last ETag and
`If-Modified-Since` with the last `Last-Modified` (`modelreg.runtime.fetch` bounds every
request in time and size). A new snapshot is
fully loaded and verified before it replaces the current one in a single reference assignment, so
a reader holds either the old registry or the new one, never a mix. A snapshot that fails to load
(corrupt, truncated, unknown format, unreadable) is reported through `on_error` and the log, and
the last good one keeps serving. Standard library only.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from types import TracebackType

from .errors import SnapshotError
from .fetch import Fetched, fetch_snapshot
from .log import logger
from .snapshot_registry import (
    SnapshotModel,
    SnapshotRegistry,
    SnapshotVersion,
    load_snapshot,
    read_file,
)
from .snapshot_source import DEFAULT_FETCH_TIMEOUT, DEFAULT_MAX_BYTES, is_url

_Signature = tuple[int, int, int]


class SnapshotWatcher:
    """Serves the latest good snapshot of `source` (a path or http(s) URL) as `current`.

    The first load happens in the constructor and raises if it fails: there is nothing to serve
    yet. Afterwards call `check()` yourself, or `start()` a daemon thread that checks every
    `interval` seconds (`stop()` or `with` ends it). `on_reload(old, new)` is called after a swap,
    `on_error(exc)` when a new snapshot is rejected.
    """

    def __init__(
        self,
        source: str | os.PathLike[str],
        *,
        interval: float = 5.0,
        on_reload: Callable[[SnapshotRegistry, SnapshotRegistry], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        timeout: float = DEFAULT_FETCH_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.source = source if is_url(source) else os.fspath(source)
        self.interval = interval
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._on_reload = on_reload
        self._on_error = on_error
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._etag: str | None = None
        self._last_modified: str | None = None
        self._signature: _Signature | None = None
        self.last_error: Exception | None = None
        if is_url(self.source):
            fetched = self._fetch()
            if fetched.raw is None:  # nothing to compare with yet: the request was not conditional
                raise SnapshotError(f"{self.source}: the server answered 304 Not Modified to a request that was "
                                    "not conditional", "http-status")
            self._current = SnapshotRegistry.from_bytes(fetched.raw, source=str(self.source),
                                                        body_digest=fetched.body_digest)
            self._etag, self._last_modified = fetched.etag, fetched.last_modified
        else:
            self._signature = self._stat()
            self._current = load_snapshot(self.source, max_bytes=max_bytes)

    @property
    def current(self) -> SnapshotRegistry:
        """The latest good registry. Read it once per request and use that object throughout."""
        return self._current

    def check(self) -> bool:
        """Look for a new snapshot now; True if one was swapped in.

        Never raises for a bad or unreachable snapshot: it is reported and the current one stays.
        """
        with self._lock:
            try:
                new = self._fetch_new()
            except Exception as exc:
                # Whatever went wrong with the new snapshot (unreadable, cut short, not a snapshot,
                # or a bug it triggers), the one in service is still good: report and keep it.
                self._report(exc)
                return False
            if new is None:
                return False
            old, self._current = self._current, new
            self.last_error = None
        logger.info("%s: reloaded snapshot %s (was %s)", self.source, new.version, old.version)
        if self._on_reload is not None:
            try:
                self._on_reload(old, new)
            except Exception:
                logger.warning("snapshot reload callback failed", exc_info=True)
        return True

    def _fetch_new(self) -> SnapshotRegistry | None:
        if is_url(self.source):
            fetched = self._fetch()
            if fetched.raw is None:
                return None
            # Remember the validators even for a bad body: the same bad body is reported once, not
            # per poll. A server that sends neither is downloaded whole on every poll (and a body
            # the same as the one serving is not swapped in).
            self._etag, self._last_modified = fetched.etag, fetched.last_modified
            return self._parse(fetched.raw, fetched.body_digest)
        signature = self._stat()
        if signature == self._signature:
            return None
        self._signature = signature
        return self._parse(read_file(self.source, self.max_bytes))

    def _fetch(self) -> Fetched:
        return fetch_snapshot(str(self.source), etag=self._etag, last_modified=self._last_modified,
                              timeout=self.timeout, max_bytes=self.max_bytes)

    def _parse(self, raw: bytes, body_digest: str | None = None) -> SnapshotRegistry | None:
        registry = SnapshotRegistry.from_bytes(raw, source=str(self.source), body_digest=body_digest)
        if registry.digest == self._current.digest:
            return None
        return registry

    def _stat(self) -> _Signature:
        st = os.stat(self.source)
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _report(self, exc: Exception) -> None:
        self.last_error = exc
        # A traceback only for the unexpected: a bad or unreachable snapshot is told in one line.
        logger.error("%s: new snapshot rejected, still serving %s: %s", self.source, self._current.version, exc,
                     exc_info=not isinstance(exc, SnapshotError | OSError))
        if self._on_error is not None:
            try:
                self._on_error(exc)
            except Exception:
                logger.warning("snapshot error callback failed", exc_info=True)

    def start(self) -> SnapshotWatcher:
        """Check every `interval` seconds in a daemon thread until `stop()`."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"modelreg-watch:{self.source}", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # keep watching whatever happens; the current snapshot still serves
                logger.exception("snapshot watcher: unexpected error")

    def stop(self) -> None:
        """Stop the polling thread and wait for it."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    close = stop

    def __enter__(self) -> SnapshotWatcher:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # The registry's queries, answered by the current snapshot.

    @property
    def version(self) -> SnapshotVersion:
        return self._current.version

    def get_model(self, name: str) -> SnapshotModel | None:
        return self._current.get_model(name)

    def list_models(self) -> tuple[SnapshotModel, ...]:
        return self._current.list_models()

    def find_by_capability(self, path: str) -> tuple[SnapshotModel, ...]:
        return self._current.find_by_capability(path)

    def find_by_provider(self, provider: str) -> tuple[SnapshotModel, ...]:
        return self._current.find_by_provider(provider)

    def pool(self, path: str) -> tuple[str, ...]:
        return self._current.pool(path)
