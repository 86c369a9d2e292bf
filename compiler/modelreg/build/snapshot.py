"""The compiled registry snapshot (`build/registry.json`): building, writing and reading it."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from modelreg import snapshot_format
from modelreg.atomic_files import link_atomic, write_atomic
from modelreg.build.encoding import Encoded, encode_derived, encode_document, encode_records
from modelreg.build.snapshot_index import SnapshotIndex
from modelreg.build.version import VersionInfo
from modelreg.capability_tree import CapabilityTree
from modelreg.catalog.paths import DEFAULT_OUTPUT
from modelreg.diagnostics import Diagnostic
from modelreg.errors import SnapshotError
from modelreg.gc_pause import collector_paused

if TYPE_CHECKING:
    # Only named here: a command that takes a snapshot from a cache never loads the checker.
    from modelreg.build.derive import Derived
    from modelreg.build.output_ledger import OutputLedger
    from modelreg.check.catalog_check import CatalogCheck
    from modelreg.models import Model

# Provider keys carried into the snapshot: what a runtime needs to reach the provider.
_PROVIDER_KEYS = ("name", "display_name", "description", "homepage", "api", "api_base", "api_key_env", "discovery")


@dataclass
class Snapshot:
    """A compiled catalog: the snapshot document, its canonical bytes and digest.

    `warnings` are the diagnostics that did not fail the compile; they are not part of the bytes.
    """

    document: dict[str, Any]
    raw: bytes
    digest: str
    warnings: list[Diagnostic] = field(default_factory=list)
    index: SnapshotIndex | None = field(default=None, repr=False, compare=False)
    """What a derivation reads of the snapshot and where its records lie in `raw`, when it was
    encoded record by record (`modelreg.build.encoding`): what a snapshot derived from this one
    starts from."""
    outputs: OutputLedger | None = field(default=None, repr=False, compare=False)
    """The files earlier compiles of its catalog wrote (`modelreg.build.output_ledger`): one that
    holds this snapshot by its stat is not even read by `write`."""
    copy: tuple[Path, tuple[int, int, int, int]] | None = field(default=None, repr=False, compare=False)
    """A file this process wrote the bytes to (a cache's), with the inode, device, size and mtime
    it had then: `write` makes its output another name of it rather than writing them again."""

    @classmethod
    def from_document(cls, document: dict[str, Any], warnings: list[Diagnostic] | None = None) -> Snapshot:
        """Seal a snapshot document (without `$digest`): serialise it and compute the digest."""
        raw, digest = encode_document(document)
        return cls({"$digest": digest, **document}, raw, digest, list(warnings or []))

    @classmethod
    def from_records(cls, document: dict[str, Any], warnings: list[Diagnostic] | None = None) -> Snapshot:
        """`from_document`, to the same bytes, encoded record by record and indexed: what a later
        snapshot derives from."""
        encoded = encode_records(document)
        return cls({"$digest": encoded.digest, **document}, encoded.raw, encoded.digest, list(warnings or []),
                   _positioned(SnapshotIndex.of_document(document), encoded))

    @classmethod
    def from_bytes(cls, raw: bytes, *, source: str = "snapshot") -> Snapshot:
        """Read snapshot bytes, checking the format marker and digest (SnapshotError otherwise)."""
        document = snapshot_format.decode(raw, source=source)
        return cls(document, raw, document["$digest"])

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Snapshot:
        """Read a snapshot file: format marker, digest, and shape (`schemas/snapshot.schema.json`)."""
        snapshot = cls.from_bytes(Path(path).read_bytes(), source=os.fspath(path))
        # A sealed file can still come from another tool or an older build; check its shape too.
        from modelreg.schemas import first_error

        problem = first_error("snapshot", snapshot.document)
        if problem is not None:
            raise SnapshotError(f"{os.fspath(path)}: not a valid snapshot: {problem}")
        return snapshot

    def pool(self, path: str) -> list[str]:
        """The ordered model names of a capability's pool, by path or alias.

        An unknown path raises UnknownCapability with a "did you mean" suggestion.
        """
        return list(self.pools[self.tree.resolve(path)])

    def write(self, path: str | os.PathLike[str] = DEFAULT_OUTPUT) -> None:
        """Write the snapshot atomically: the old file stays whole until the new one replaces it.
        A file that already holds these bytes is left alone, its mtime too, so that nothing
        watching it reloads."""
        if self.outputs is not None and self.outputs.holds(path, self.digest):
            return
        # The file that holds the bytes now, by inode and device: the ledger vouches for it alone.
        held = self._held_by(path) or self._linked(path)
        if held is None:
            written = write_atomic(path, self.raw)
            held = (written.st_ino, written.st_dev)
        if self.outputs is not None:
            self.outputs.record(path, self.digest, held)

    def _linked(self, path: str | os.PathLike[str]) -> tuple[int, int] | None:
        # The output made another name of the copy, should that still be the file written.
        if self.copy is None:
            return None
        source, (inode, device, size, mtime) = self.copy
        linked = link_atomic(path, source, lambda info: (info.st_ino, info.st_dev, info.st_size, info.st_mtime_ns)
                             == (inode, device, size, mtime))
        return (inode, device) if linked else None

    def _held_by(self, path: str | os.PathLike[str]) -> tuple[int, int] | None:
        # The file at `path`, when it holds these bytes. Sized first, then the digest it starts
        # with: a changed snapshot is not read past them.
        try:
            with open(path, "rb") as existing:
                info = os.fstat(existing.fileno())
                if info.st_size != self.size() or not self._bytes_are(existing):
                    return None
        except OSError:
            return None
        return info.st_ino, info.st_dev

    def _bytes_are(self, existing: BinaryIO) -> bool:
        # Whether the open file, of this size, holds these bytes.
        raw = self.raw
        head = existing.read(snapshot_format.BODY_SHIFT)
        return head == raw[:len(head)] and existing.read() == memoryview(raw)[len(head):]

    def size(self) -> int:
        """How many bytes the snapshot is."""
        return len(self.raw)

    @property
    def version(self) -> dict[str, Any]:
        version: dict[str, Any] = self.document["version"]
        return version

    @cached_property
    def tree(self) -> CapabilityTree:
        return CapabilityTree.from_snapshot(self.document["capabilities"], self.document["aliases"],
                                            self.document["features"])

    @cached_property
    def models(self) -> dict[str, Model]:
        from modelreg.models import Model

        return {name: Model.from_snapshot(rec) for name, rec in self.document["models"].items()}

    @property
    def pools(self) -> dict[str, list[str]]:
        pools: dict[str, list[str]] = self.document["pools"]
        return pools

    @property
    def providers(self) -> dict[str, dict[str, Any]]:
        providers: dict[str, dict[str, Any]] = self.document["providers"]
        return providers

    def model_count(self) -> int:
        """How many models the snapshot holds."""
        return len(self.document["models"])

    def summary(self) -> str:
        """One paragraph for people: counts and version."""
        return describe(self.model_count(), len(self.providers), self.pools, self.version["label"], self.digest)


class LazySnapshot(Snapshot):
    """A snapshot whose document is loaded only when first asked for (`load`): a compile that
    writes the bytes and says what they hold never loads it. `count`, `summary` and `version` are
    what `model_count()`, `summary()` and `version` give; `index` gives the snapshot's index when
    asked. `raw` may be given as what reads the bytes (of `size`), when they are first needed: a
    file that already holds the snapshot, sealed to its digest, is not written again, and then
    they are not."""

    def __init__(self, load: Callable[[], dict[str, Any]], raw: bytes | Callable[[], bytes], digest: str,
                 warnings: list[Diagnostic], *, count: int, summary: str, version: dict[str, Any],
                 index: Callable[[], SnapshotIndex | None], size: int | None = None) -> None:
        self._read_raw = raw if callable(raw) else None
        self._raw = raw if isinstance(raw, bytes) else None
        self._size = len(raw) if isinstance(raw, bytes) else size
        self._version = version
        self._load_document = load
        self._loaded_document: dict[str, Any] | None = None
        self._load_index = index
        self._loaded_index: SnapshotIndex | None = None
        self._count = count
        self._summary = summary
        super().__init__({}, b"", digest, warnings)

    @property  # type: ignore[override]
    def document(self) -> dict[str, Any]:
        if self._loaded_document is None:
            self._loaded_document = self._load_document()
        return self._loaded_document

    @document.setter
    def document(self, value: dict[str, Any]) -> None:
        if value:
            self._loaded_document = value

    @property  # type: ignore[override]
    def index(self) -> SnapshotIndex | None:
        if self._loaded_index is None:
            self._loaded_index = self._load_index()
        return self._loaded_index

    @index.setter
    def index(self, value: SnapshotIndex | None) -> None:
        if value is not None:
            self._loaded_index = value

    @property  # type: ignore[override]
    def raw(self) -> bytes:
        if self._raw is None:
            assert self._read_raw is not None
            self._raw = self._read_raw()
        return self._raw

    @raw.setter
    def raw(self, value: bytes) -> None:
        if value:
            self._raw = value

    def size(self) -> int:
        return self._size if self._size is not None else len(self.raw)

    def _bytes_are(self, existing: BinaryIO) -> bool:
        if self._raw is not None:
            return super()._bytes_are(existing)
        # The bytes not at hand: a file sealed to this digest holds exactly these bytes.
        return snapshot_format.sealed_digest(existing.read()) == self.digest

    @property
    def version(self) -> dict[str, Any]:
        return self._version

    def model_count(self) -> int:
        return self._count

    def summary(self) -> str:
        return self._summary


def derived_snapshot(raw: bytes, base: SnapshotIndex, derived: Derived) -> Snapshot:
    """The snapshot `derived` describes, sealed from the bytes `raw` of its base (indexed by
    `base`): every record and section the two share is copied. Its document is decoded from its
    own bytes, should anybody ask for it (writing them needs none)."""
    index = derived.index
    encoded = encode_derived(raw, base, index, derived.records)
    _positioned(index, encoded)
    summary = describe(len(index.entries), index.providers, index.pools, index.version["label"], encoded.digest)
    return LazySnapshot(lambda: index.document(encoded.raw), encoded.raw, encoded.digest, derived.warnings,
                        count=len(index.entries),
                        summary=summary, version=index.version, index=lambda: index)


def describe(models: int, providers: int, pools: dict[str, list[str]], label: str, digest: str) -> str:
    """`Snapshot.summary` of a snapshot with these counts, pools, version label and digest."""
    non_empty = sum(1 for members in pools.values() if members)
    return (f"{models} models from {providers} providers; {len(pools)} capability pools ({non_empty} non-empty); "
            f"version {label}, {digest[:19]}")


def _positioned(index: SnapshotIndex, encoded: Encoded) -> SnapshotIndex:
    index.spans, index.sections = encoded.spans, encoded.sections
    return index


def build_snapshot(check: CatalogCheck, version: VersionInfo, *, spans: bool = False) -> Snapshot:
    """Turn a successful catalog check into a sealed snapshot; with `spans`, encoded record by
    record (`Snapshot.from_records`) for a later snapshot to derive from."""
    with collector_paused:
        document = snapshot_document(check, version)
        if spans:
            return Snapshot.from_records(document, check.warnings)
        return Snapshot.from_document(document, check.warnings)


def snapshot_document(check: CatalogCheck, version: VersionInfo) -> dict[str, Any]:
    """The document of the snapshot of a successful catalog check, before it is sealed."""
    if check.tree is None or not check.ok():
        raise ValueError("cannot build a snapshot from a catalog with errors")
    tree = check.tree
    providers = {
        name: {key: data[key] for key in _PROVIDER_KEYS if key in data}
        for name, data in sorted(check.providers.items())
    }
    document: dict[str, Any] = {
        "format": {"name": snapshot_format.FORMAT_NAME, "major": snapshot_format.FORMAT_MAJOR,
                   "minor": snapshot_format.FORMAT_MINOR},
        "version": version.to_snapshot(),
        "capabilities": tree.to_snapshot(),
        "aliases": dict(tree.aliases),
        "features": dict(tree.features),
        "providers": providers,
        "models": {name: model.to_snapshot() for name, model in check.models.items()},
        "pools": {path: pool.names for path, pool in check.pools.items()},
    }
    return document

