"""The runtime registry: a compiled snapshot loaded into immutable, indexed objects.

`load_snapshot(source)` reads `build/registry.json` (a path or an http(s) URL), checks its format
marker and digest through `compiler.snapshot_format`, and builds every index once: pools by
capability path *and* alias, models by name and by provider, a feature bitmask per model. Every
query afterwards is a dictionary lookup that returns a precomputed tuple. Standard library only.
"""

from __future__ import annotations

import difflib
import gc
import os
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from compiler import snapshot_format
from compiler.capability_tree import CapabilityTree
from compiler.runtime.errors import UnknownFeature, UnknownProvider

_EMPTY: Mapping[str, Any] = MappingProxyType({})
DEFAULT_FETCH_TIMEOUT = 30.0


def _freeze(value: Any) -> Any:
    """A read-only deep copy of decoded JSON: mappings become proxies, lists tuples."""
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _proxy(value: dict[str, Any]) -> Mapping[str, Any]:
    # Values of these mappings are scalars in the schema; only `x-` extensions nest.
    if not value:
        return _EMPTY
    if any(isinstance(v, dict | list) for v in value.values()):
        return _freeze(value)  # type: ignore[no-any-return]
    return MappingProxyType(value)


@dataclass(frozen=True, slots=True)
class Provider:
    """A provider as the snapshot describes it: how to reach its API."""

    name: str
    display_name: str
    api: str | None = None
    """Wire protocol: `openai` means OpenAI-compatible chat completions."""
    api_base: str | None = None
    api_key_env: str | None = None
    """The environment variable that holds the API key."""
    data: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, repr=False, compare=False)
    """The provider's whole snapshot record, read-only."""


@dataclass(frozen=True, slots=True)
class Model:
    """A resolved model, read-only. Equal fields mean equal models; hashable."""

    name: str
    provider: str
    model_id: str
    """The provider's own ID for the model, sent in API requests."""
    capabilities: tuple[str, ...]
    features: frozenset[str]
    """The features the model has (the snapshot's `true` flags)."""
    context_window: int | None
    max_output_tokens: int | None
    input_modalities: frozenset[str]
    output_modalities: frozenset[str]
    status: str
    """Lifecycle status: preview, active, deprecated or retired."""
    priority: int
    pools: tuple[str, ...]
    """Every capability path whose pool holds the model (its capabilities and their ancestors)."""
    delivery: str
    batch: bool
    display_name: str | None
    registered_at: str | None
    """ISO 8601 time of the commit that added the model, when known."""
    limits: Mapping[str, Any] = field(repr=False, compare=False)
    cost: Mapping[str, Any] = field(repr=False, compare=False)
    lifecycle: Mapping[str, Any] = field(repr=False, compare=False)
    constraints: Mapping[str, Any] = field(repr=False, compare=False)
    extensions: Mapping[str, Any] = field(repr=False, compare=False)
    """The record's `x-` keys."""
    endpoint: Provider | None = field(repr=False, compare=False)
    """The model's provider record (API base, key variable), None if the snapshot lacks it."""
    feature_mask: int = field(repr=False, compare=False)
    """The features as a bitmask over the registry's feature vocabulary (for fast filtering)."""

    @property
    def deprecated(self) -> bool:
        return self.status == "deprecated"


@dataclass(frozen=True, slots=True)
class SnapshotVersion:
    """Where a snapshot came from: its git commit and label, its digest and format version."""

    label: str
    commit: str | None
    dirty: bool | None
    number: int | None
    history: str
    digest: str
    format_minor: int

    def __str__(self) -> str:
        return f"{self.label} ({self.digest[:19]})"


class Registry:
    """An immutable, indexed view of one snapshot. Build it with `load_snapshot` or `from_bytes`.

    Safe to share between threads: nothing in it changes after construction.
    """

    __slots__ = ("_by_capability", "_by_name", "_by_provider", "_feature_bits", "_models", "_pools",
                 "_providers", "source", "tree", "version")

    source: str
    tree: CapabilityTree
    version: SnapshotVersion

    def __init__(self, document: Mapping[str, Any], *, source: str = "snapshot") -> None:
        """Index an already verified snapshot document (see `snapshot_format.decode`)."""
        sets = object.__setattr__
        sets(self, "source", source)
        version = document["version"]
        sets(self, "version", SnapshotVersion(
            label=version["label"], commit=version.get("commit"), dirty=version.get("dirty"),
            number=version.get("number"), history=version.get("history", "none"),
            digest=document.get("$digest", ""), format_minor=document["format"].get("minor", 0)))
        tree = CapabilityTree.from_snapshot(document["capabilities"], document["aliases"], document["features"])
        sets(self, "tree", tree)

        bits = {name: 1 << i for i, name in enumerate(sorted(tree.features))}
        providers = {
            name: Provider(name=name, display_name=rec.get("display_name", name), api=rec.get("api"),
                           api_base=rec.get("api_base"), api_key_env=rec.get("api_key_env"),
                           data=_freeze(rec))
            for name, rec in document["providers"].items()
        }
        # Models of one provider often share a feature set: compute each distinct set once.
        feature_sets: dict[tuple[tuple[str, bool], ...], tuple[frozenset[str], int]] = {}
        no_modalities: frozenset[str] = frozenset()
        by_name: dict[str, Model] = {}
        by_provider: dict[str, list[Model]] = {name: [] for name in providers}
        for name, rec in document["models"].items():
            flags = rec["features"]
            key = tuple(flags.items())
            computed = feature_sets.get(key)
            if computed is None:
                enabled = frozenset(f for f, on in key if on)
                mask = 0
                for f in enabled:
                    bit = bits.get(f)
                    if bit is None:  # a flag outside the vocabulary still filters exactly
                        bit = bits[f] = 1 << len(bits)
                    mask |= bit
                computed = feature_sets[key] = (enabled, mask)
            limits = rec["limits"]
            modalities = rec["modalities"]
            inputs = modalities.get("input")
            outputs = modalities.get("output")
            # 16 keys are required, 2 optional; any more are `x-` extensions.
            extensions = ({k: v for k, v in rec.items() if k[:2] == "x-"}
                          if len(rec) > 16 + ("display_name" in rec) + ("description" in rec) else None)
            model = Model(
                name, rec["provider"], rec["model_id"], tuple(rec["capabilities"]), computed[0],
                limits.get("context_window"), limits.get("max_output_tokens"),
                frozenset(inputs) if inputs else no_modalities, frozenset(outputs) if outputs else no_modalities,
                rec["lifecycle"].get("status", "active"), rec["priority"], tuple(rec["pools"]),
                rec["delivery"], rec["batch"], rec.get("display_name"), rec.get("registered_at"),
                _proxy(limits), _proxy(rec["cost"]), _proxy(rec["lifecycle"]), _proxy(rec["constraints"]),
                _freeze(extensions) if extensions else _EMPTY, providers.get(rec["provider"]), computed[1],
            )
            by_name[name] = model
            group = by_provider.get(model.provider)
            if group is None:
                group = by_provider[model.provider] = []
            group.append(model)

        pools = {path: tuple(by_name[n] for n in names) for path, names in document["pools"].items()}
        by_capability = dict(pools)
        for alias, target in tree.aliases.items():
            if target in pools:
                by_capability.setdefault(alias, pools[target])
        sets(self, "_by_name", by_name)
        sets(self, "_models", tuple(by_name.values()))
        sets(self, "_providers", providers)
        sets(self, "_by_provider", {name: tuple(group) for name, group in by_provider.items()})
        sets(self, "_pools", {path: tuple(document["pools"][path]) for path in pools})
        sets(self, "_by_capability", by_capability)
        sets(self, "_feature_bits", bits)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    @classmethod
    def from_bytes(cls, raw: bytes, *, source: str = "snapshot") -> Registry:
        """Verify (format marker, digest) and index snapshot bytes; raises SnapshotError."""
        # Parsing allocates hundreds of thousands of containers, none of them garbage: collector
        # passes during the load would only scan them again and again.
        paused = gc.isenabled()
        gc.disable()
        try:
            return cls(snapshot_format.decode(raw, source=source), source=source)
        finally:
            if paused:
                gc.enable()

    @property
    def current(self) -> Registry:
        """The registry itself (a watcher's `current` is the latest good registry)."""
        return self

    @property
    def digest(self) -> str:
        return self.version.digest

    @property
    def providers(self) -> Mapping[str, Provider]:
        """Providers by name."""
        return MappingProxyType(self._providers)

    def get_model(self, name: str) -> Model | None:
        """The model called `name`, or None."""
        return self._by_name.get(name)

    def list_models(self) -> tuple[Model, ...]:
        """Every model (retired ones included), by name."""
        return self._models

    def find_by_capability(self, path: str) -> tuple[Model, ...]:
        """The ordered pool of a capability path or alias: models at the node or any descendant.

        Raises UnknownCapability (with a did-you-mean suggestion) for a path the tree does not know.
        """
        try:
            return self._by_capability[path]
        except KeyError:
            self.tree.resolve(path)  # raises UnknownCapability with suggestions
            raise

    def pool(self, path: str) -> tuple[str, ...]:
        """The ordered model names of a capability pool (path or alias)."""
        return self._pools[self.tree.resolve(path)]

    def find_by_provider(self, provider: str) -> tuple[Model, ...]:
        """The models of one provider, by name; raises UnknownProvider for a name the snapshot lacks."""
        try:
            return self._by_provider[provider]
        except KeyError:
            raise UnknownProvider(provider, difflib.get_close_matches(provider, list(self._by_provider))) from None

    def feature_mask(self, features: Iterable[str]) -> int:
        """The bitmask of feature names; raises UnknownFeature (with suggestions) for a name outside the vocabulary."""
        mask = 0
        bits = self._feature_bits
        for name in features:
            bit = bits.get(name)
            if bit is None:
                raise UnknownFeature(name, self.tree.suggest_feature(name))
            mask |= bit
        return mask

    def __len__(self) -> int:
        return len(self._models)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Model]:
        return iter(self._models)

    def __repr__(self) -> str:
        return f"<Registry {len(self._models)} models, version {self.version}>"


def is_url(source: str | os.PathLike[str]) -> bool:
    """True for an http:// or https:// source."""
    return isinstance(source, str) and source.startswith(("http://", "https://"))


def fetch_url(url: str, *, etag: str | None = None,
              timeout: float = DEFAULT_FETCH_TIMEOUT) -> tuple[bytes | None, str | None]:
    """GET a snapshot; with `etag`, a conditional GET. Returns (body, etag), body None on 304."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if etag is not None:
        request.add_header("If-None-Match", etag)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read(), response.headers.get("ETag")
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 304:
            return None, etag
        raise


def load_snapshot(source: str | os.PathLike[str], *, timeout: float = DEFAULT_FETCH_TIMEOUT) -> Registry:
    """Load a snapshot from a file path or an http(s) URL into an immutable `Registry`.

    Raises SnapshotError when the file is not a snapshot, has a format major version this runtime
    does not read, or fails its digest check (truncated or modified); OSError or urllib's errors
    when it cannot be read at all.
    """
    if is_url(source):
        url = str(source)
        raw, _ = fetch_url(url, timeout=timeout)
        assert raw is not None  # an unconditional GET never answers 304
        return Registry.from_bytes(raw, source=url)
    return Registry.from_bytes(Path(source).read_bytes(), source=os.fspath(source))
