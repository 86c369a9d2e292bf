"""The compiled registry snapshot (`build/registry.json`): building, writing and reading it."""

from __future__ import annotations

import os
from array import array
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelreg import snapshot_format
from modelreg.atomic_files import write_atomic
from modelreg.build.encoding import Earlier, encode_records
from modelreg.build.version import VersionInfo
from modelreg.capability_tree import CapabilityTree
from modelreg.diagnostics import Diagnostic
from modelreg.errors import SnapshotError
from modelreg.gc_pause import collector_paused

if TYPE_CHECKING:
    # Only named here: a command that takes a snapshot from a cache never loads the checker.
    from modelreg.check.catalog_check import CatalogCheck
    from modelreg.models import Model

DEFAULT_OUTPUT = Path("build") / "registry.json"

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
    spans: array[int] | None = field(default=None, repr=False, compare=False)
    """Where each model's record lies in `raw`, when it was encoded record by record
    (`modelreg.build.encoding`): what a snapshot derived from this one copies."""

    @classmethod
    def from_document(cls, document: dict[str, Any], warnings: list[Diagnostic] | None = None) -> Snapshot:
        """Seal a snapshot document (without `$digest`): serialise it and compute the digest."""
        raw, digest = snapshot_format.encode(document)
        return cls({"$digest": digest, **document}, raw, digest, list(warnings or []))

    @classmethod
    def from_records(cls, document: dict[str, Any], warnings: list[Diagnostic] | None = None, *,
                     earlier: Snapshot | None = None) -> Snapshot:
        """`from_document`, to the same bytes, encoded record by record with the spans kept; the
        records `document` shares with `earlier` (a snapshot with spans) are copied, not encoded."""
        reuse = Earlier(earlier.document["models"], earlier.raw, earlier.spans) \
            if earlier is not None and earlier.spans is not None else None
        encoded = encode_records(document, reuse)
        return cls({"$digest": encoded.digest, **document}, encoded.raw, encoded.digest, list(warnings or []),
                   encoded.spans)

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
        if _holds(path, self.raw):
            return
        write_atomic(path, self.raw)

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
        non_empty = sum(1 for members in self.pools.values() if members)
        return (f"{len(self.document['models'])} models from {len(self.providers)} providers; "
                f"{len(self.pools)} capability pools ({non_empty} non-empty); "
                f"version {self.version['label']}, {self.digest[:19]}")


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


def _holds(path: str | os.PathLike[str], raw: bytes) -> bool:
    # Sized first: a changed snapshot rarely keeps its length, and then it is not read.
    try:
        with open(path, "rb") as existing:
            return os.fstat(existing.fileno()).st_size == len(raw) and existing.read() == raw
    except OSError:
        return False
