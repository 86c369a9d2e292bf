"""The runtime registry: a compiled snapshot loaded into immutable, indexed objects.

`load_snapshot(source)` reads `build/registry.json` (a path or an http(s) URL), checks its format
marker and digest through `compiler.snapshot_format`, and builds every index once: pools by
capability path *and* alias, models by name and by provider, a feature bitmask per model. Every
query afterwards is a dictionary lookup that returns a precomputed tuple. Standard library only.
"""

from __future__ import annotations

import difflib
import gc
import http.client
import json
import os
import reprlib
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from itertools import chain, compress
from operator import attrgetter, itemgetter
from pathlib import Path
from types import MappingProxyType
from typing import Any

from compiler import snapshot_format
from compiler.capability_tree import CapabilityTree
from compiler.errors import SnapshotError
from compiler.runtime.errors import UnknownFeature, UnknownProvider

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_NO_ITEMS: list[Any] = []  # the default of an absent list field; never modified
_NoneType = type(None)
DEFAULT_FETCH_TIMEOUT = 30.0


def _freeze(value: Any) -> Any:
    """A read-only deep copy of decoded JSON: mappings become proxies, lists tuples."""
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


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


@dataclass(frozen=True, slots=True, repr=False)
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
    endpoint: Provider = field(repr=False, compare=False)
    """The model's provider record (API base, key variable)."""
    feature_mask: int = field(repr=False, compare=False)
    """The features as a bitmask over the registry's feature vocabulary (for fast filtering)."""
    _record: Mapping[str, Any] = field(repr=False, compare=False)
    # Read-only views of `_record`, made on first access: freezing every record at load would
    # double the load time for views most models never need. Two threads racing to fill them
    # build equal values; either one may stay.
    _frozen: Mapping[str, Any] | None = field(default=None, init=False, repr=False, compare=False)
    _extensions: Mapping[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def __repr__(self) -> str:
        return f"<Model {self.name} ({self.status}, priority {self.priority})>"

    @property
    def deprecated(self) -> bool:
        return self.status == "deprecated"

    @property
    def limits(self) -> Mapping[str, Any]:
        return self._view("limits")

    @property
    def cost(self) -> Mapping[str, Any]:
        return self._view("cost")

    @property
    def lifecycle(self) -> Mapping[str, Any]:
        """Status, dates and replacement."""
        return self._view("lifecycle")

    @property
    def constraints(self) -> Mapping[str, Any]:
        return self._view("constraints")

    @property
    def description(self) -> str | None:
        value = self._record.get("description")
        return value if isinstance(value, str) else None

    @property
    def extensions(self) -> Mapping[str, Any]:
        """The record's `x-` keys."""
        extensions = self._extensions
        if extensions is None:
            extensions = MappingProxyType({k: v for k, v in self.record.items() if k.startswith("x-")})
            object.__setattr__(self, "_extensions", extensions)
        return extensions

    @property
    def record(self) -> Mapping[str, Any]:
        """The model's whole snapshot record, read-only (nested values too)."""
        frozen = self._frozen
        if frozen is None:
            frozen = _freeze(self._record)
            object.__setattr__(self, "_frozen", frozen)
        return frozen

    def _view(self, key: str) -> Mapping[str, Any]:
        value = self.record.get(key)
        return value if isinstance(value, Mapping) else _EMPTY


def _fast_factory(cls: type[Model]) -> Callable[..., Model]:
    """A positional constructor for a frozen slots dataclass, several times faster than its own.

    A frozen dataclass sets each field through `object.__setattr__`; loading 10,000 models spends
    most of its time there. This builds the object as an instance of a mutable class with the very
    same slots (plain attribute stores), then hands it over to `cls`: same layout, so Python allows
    the `__class__` assignment, and the result is an ordinary frozen instance of `cls`.
    """
    every = fields(cls)
    assert tuple(f.name for f in every) == cls.__slots__
    names = [f.name for f in every if f.init]
    assert all(f.default is None for f in every if not f.init)
    body = "".join(f"    self.{f.name} = {f.name if f.init else None}\n" for f in every)
    namespace: dict[str, Any] = {}
    exec(f"def __init__(self, {', '.join(names)}):\n{body}    self.__class__ = cls\n",
         {"cls": cls}, namespace)
    builder = type(f"_{cls.__name__}Builder", (), {"__slots__": cls.__slots__, "__init__": namespace["__init__"]})
    return builder  # type: ignore[return-value]


_new_model = _fast_factory(Model)


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
    _by_capability: dict[str, tuple[Model, ...]]
    _by_name: dict[str, Model]
    _by_provider: dict[str, tuple[Model, ...]]
    _feature_bits: dict[str, int]
    _models: tuple[Model, ...]
    _pools: dict[str, tuple[str, ...]]
    _providers: dict[str, Provider]

    def __init__(self, document: Mapping[str, Any], *, source: str = "snapshot") -> None:
        """Index an already verified snapshot document (see `snapshot_format.decode`).

        Raises SnapshotError naming the problem when the document breaks the snapshot contract:
        a missing or mistyped field, a tree whose links do not match, pools that are not exactly
        the tree's nodes or that name unknown models.
        """
        try:
            self._index(document, source)
        except _Invalid as exc:
            raise SnapshotError(f"{source}: not a valid snapshot: {exc}") from None
        except (KeyError, TypeError, AttributeError, ValueError, RecursionError) as exc:
            raise SnapshotError(f"{source}: not a valid snapshot: {type(exc).__name__}: {exc}") from None

    def _index(self, document: Mapping[str, Any], source: str) -> None:
        sets = object.__setattr__
        sets(self, "source", source)
        sets(self, "version", _version(document))
        tree = _tree(document)
        sets(self, "tree", tree)
        providers = _providers(document)
        records = _member(document, "models", dict, "the snapshot")

        bits = {name: 1 << i for i, name in enumerate(sorted(tree.features))}
        # Many models share a feature set: its bitmask is computed once per distinct set.
        masks: dict[frozenset[str], int] = {}
        by_name: dict[str, Model] = {}
        by_provider: dict[str, list[Model]] = {name: [] for name in providers}
        new_model = _new_model
        fields_of = itemgetter("provider", "model_id", "capabilities", "features", "limits", "modalities",
                               "lifecycle", "priority", "pools", "delivery", "batch")
        get_provider = providers.get
        name = ""
        try:
            for name, rec in records.items():
                (provider, model_id, capabilities, flags, limits, modalities, lifecycle, priority, pools_of,
                 delivery, batch) = fields_of(rec)
                context, output = limits.get("context_window"), limits.get("max_output_tokens")
                inputs, outputs = modalities.get("input", _NO_ITEMS), modalities.get("output", _NO_ITEMS)
                status = lifecycle.get("status", "active")
                display_name, registered_at = rec.get("display_name"), rec.get("registered_at")
                endpoint = get_provider(provider)
                # One test of every field's type, so a bad record cannot load; `_model_problem`
                # says which field it was. (Chained `is`: each type equals the next.)
                if not (endpoint is not None
                        and type(capabilities) is list is type(pools_of) is type(inputs) is type(outputs)
                        and type(model_id) is str is type(delivery) is type(status)
                        and type(priority) is int and type(batch) is bool
                        and (context is None or type(context) is int)
                        and (output is None or type(output) is int)
                        and (display_name is None or type(display_name) is str)
                        and (registered_at is None or type(registered_at) is str)):
                    raise _bad_model(name, rec, providers, None)
                enabled = frozenset(compress(flags, flags.values()))
                mask = masks.get(enabled)
                if mask is None:
                    mask = 0
                    for f in enabled:
                        bit = bits.get(f)
                        if bit is None:  # a flag outside the vocabulary still filters exactly
                            bit = bits[f] = 1 << len(bits)
                        mask |= bit
                    masks[enabled] = mask
                model = new_model(
                    name, provider, model_id, tuple(capabilities), enabled, context, output,
                    frozenset(inputs), frozenset(outputs), status, priority, tuple(pools_of), delivery, batch,
                    display_name, registered_at, endpoint, mask, rec,
                )
                by_name[name] = model
                by_provider[provider].append(model)
        except (KeyError, TypeError, AttributeError) as exc:
            raise _bad_model(name, records[name], providers, exc) from None
        _check_model_items(records, by_name, tree)

        pools = _pools(document, tree, by_name)
        by_capability = dict(pools)
        for alias, target in tree.aliases.items():
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
        with _COLLECTOR_PAUSE:
            return cls(snapshot_format.decode(raw, source=source), source=source)

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
