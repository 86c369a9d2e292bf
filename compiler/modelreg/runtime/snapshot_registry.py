"""The runtime registry: a compiled snapshot loaded into immutable, indexed objects.

`load_snapshot(source)` reads `build/registry.json` (a path or an http(s) URL), checks its format
marker and digest through `modelreg.snapshot_format`, checks that the document agrees with itself
(the tree's links, pools for exactly its nodes naming only known models, the types of what routing
reads), and builds every index once: pools by capability path *and* alias, models by name and by
provider, a feature bitmask per model. Every query afterwards is a dictionary lookup that returns a
precomputed tuple. Standard library only.
"""

from __future__ import annotations

import difflib
import json
import os
import reprlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from itertools import compress
from operator import itemgetter
from types import MappingProxyType
from typing import Any

from . import snapshot_format
from .capability_tree import CapabilityTree
from .errors import SnapshotError, UnknownFeature, UnknownProvider
from .gc_pause import collector_paused
from .snapshot_source import DEFAULT_FETCH_TIMEOUT, DEFAULT_MAX_BYTES, is_url

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_NO_ITEMS: list[Any] = []  # the default of an absent list field; never modified
_NoneType = type(None)


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
class SnapshotModel:
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
    # Read-only views of `_record`, made on first access and kept: freezing every record at load
    # would take as long as the rest of the load, for views most models never need. Two threads
    # racing to fill them build equal values; either one may stay.
    _frozen: Mapping[str, Any] | None = field(default=None, init=False, repr=False, compare=False)
    _extensions: Mapping[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def __repr__(self) -> str:
        return f"<SnapshotModel {self.name} ({self.status}, priority {self.priority})>"

    def __hash__(self) -> int:
        # Equal models have equal names. Hashing the name alone is cheap, and cannot fail on a
        # record whose lists hold something unhashable.
        return hash(self.name)

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
        # An object in the record is a proxy once frozen; anything else (absent, not an object)
        # reads as empty.
        return value if type(value) is MappingProxyType else _EMPTY


def _fast_factory(cls: type[SnapshotModel]) -> Callable[..., SnapshotModel]:
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


_new_model = _fast_factory(SnapshotModel)


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


class SnapshotRegistry:
    """An immutable, indexed view of one snapshot. Build it with `load_snapshot` or `from_bytes`.

    Safe to share between threads: nothing in it changes after construction.
    """

    __slots__ = ("_by_capability", "_by_name", "_by_provider", "_feature_bits", "_models", "_pools",
                 "_providers", "source", "tree", "version")

    source: str
    tree: CapabilityTree
    version: SnapshotVersion
    _by_capability: dict[str, tuple[SnapshotModel, ...]]
    _by_name: dict[str, SnapshotModel]
    _by_provider: dict[str, tuple[SnapshotModel, ...]]
    _feature_bits: dict[str, int]
    _models: tuple[SnapshotModel, ...]
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
        records: dict[str, Any] = _get(document, "models", (dict,))

        bits = {name: 1 << i for i, name in enumerate(sorted(tree.features))}
        # Models share feature and modality sets: each distinct one is built once and shared, as
        # the collector's first pass after a load visits every container the load made. Keys are
        # tuples in the record's order, cheaper to build than the frozensets they stand for.
        # (Capability paths are JSON values, not memoised like keys: looking their tuples up
        # compares strings byte by byte and costs more than the collector saves.)
        features_of: dict[tuple[str, ...], tuple[frozenset[str], int]] = {}
        modalities_of: dict[tuple[str, ...], frozenset[str]] = {}
        models: list[SnapshotModel] = []
        append = models.append
        by_provider: dict[str, list[SnapshotModel]] = {name: [] for name in providers}
        new_model = _new_model
        fields_of = itemgetter("provider", "model_id", "capabilities", "features", "limits", "modalities",
                               "lifecycle", "priority", "pools", "delivery", "batch")
        get_provider = providers.get
        join = "".join
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
                values = flags.values()
                # One test of every field's type, so a bad record cannot load; `_model_problem`
                # says which field it was. (Chained `is`: each type equals the next.)
                if not (endpoint is not None and _FLAG_VALUES.issuperset(values)
                        and type(capabilities) is list is type(pools_of) is type(inputs) is type(outputs)
                        and type(model_id) is str is type(delivery) is type(status)
                        and type(priority) is int and type(batch) is bool
                        and (context is None or type(context) is int)
                        and (output is None or type(output) is int)
                        and (display_name is None or type(display_name) is str)
                        and (registered_at is None or type(registered_at) is str)):
                    raise _bad_model(name, rec, providers, None)
                # Lists of strings: `join` refuses any other item at C speed (TypeError, described below).
                join(capabilities)
                join(pools_of)
                key = tuple(compress(flags, values))
                shared = features_of.get(key)
                if shared is None:
                    enabled = frozenset(key)
                    mask = 0
                    for f in enabled:
                        bit = bits.get(f)
                        if bit is None:  # a flag outside the vocabulary still filters exactly
                            bit = bits[f] = 1 << len(bits)
                        mask |= bit
                    shared = features_of[key] = (enabled, mask)
                key = tuple(inputs)
                input_set = modalities_of.get(key)
                if input_set is None:
                    join(key)
                    input_set = modalities_of[key] = frozenset(key)
                key = tuple(outputs)
                output_set = modalities_of.get(key)
                if output_set is None:
                    join(key)
                    output_set = modalities_of[key] = frozenset(key)
                model = new_model(
                    name, provider, model_id, tuple(capabilities), shared[0], context, output,
                    input_set, output_set, status, priority, tuple(pools_of), delivery, batch,
                    display_name, registered_at, endpoint, shared[1], rec,
                )
                append(model)
                by_provider[provider].append(model)
        except (KeyError, TypeError, AttributeError) as exc:
            raise _bad_model(name, records[name], providers, exc) from None

        # Filled in one pass in C: cheaper than a store per model in the loop above.
        by_name = dict(zip(records, models, strict=True))
        pools = _pools(document, tree.nodes, by_name)
        by_capability = dict(pools)
        for alias, target in tree.aliases.items():
            by_capability.setdefault(alias, pools[target])
        sets(self, "_by_name", by_name)
        sets(self, "_models", tuple(models))
        sets(self, "_providers", providers)
        sets(self, "_by_provider", {name: tuple(group) for name, group in by_provider.items()})
        sets(self, "_pools", {path: tuple(document["pools"][path]) for path in pools})
        sets(self, "_by_capability", by_capability)
        sets(self, "_feature_bits", bits)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    @classmethod
    def from_bytes(cls, raw: bytes, *, source: str = "snapshot", body_digest: str | None = None) -> SnapshotRegistry:
        """Verify (format marker, digest) and index snapshot bytes; raises SnapshotError.
        `body_digest` is the digest of bytes hashed as they arrived (`fetch_snapshot`)."""
        with collector_paused:
            return cls(snapshot_format.decode(raw, source=source, body_digest=body_digest), source=source)

    @property
    def current(self) -> SnapshotRegistry:
        """The registry itself (a watcher's `current` is the latest good registry)."""
        return self

    @property
    def digest(self) -> str:
        return self.version.digest

    @property
    def providers(self) -> Mapping[str, Provider]:
        """Providers by name."""
        return MappingProxyType(self._providers)

    def get_model(self, name: str) -> SnapshotModel | None:
        """The model called `name`, or None."""
        return self._by_name.get(name)

    def list_models(self) -> tuple[SnapshotModel, ...]:
        """Every model (retired ones included), by name."""
        return self._models

    def find_by_capability(self, path: str) -> tuple[SnapshotModel, ...]:
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

    def find_by_provider(self, provider: str) -> tuple[SnapshotModel, ...]:
        """The models of one provider, by name; raises UnknownProvider for a name the snapshot lacks."""
        try:
            return self._by_provider[provider]
        except KeyError:
            raise UnknownProvider(provider, difflib.get_close_matches(provider, list(self._by_provider))) from None

    def find_by_model_id(self, model_id: str) -> tuple[SnapshotModel, ...]:
        """The models whose provider calls them `model_id` (`gpt-4o`: OpenAI's, and Azure's if it
        serves the same ID), by name; empty when none does."""
        return tuple(m for m in self._models if m.model_id == model_id)

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

    def __iter__(self) -> Iterator[SnapshotModel]:
        return iter(self._models)

    def __repr__(self) -> str:
        return f"<SnapshotRegistry {len(self._models)} models, version {self.version}>"


# -- checks of the snapshot document ---------------------------------------------------------
#
# A snapshot that passes its digest check was still written by some program, maybe not ours or
# not this version of it. Whatever the router relies on is checked here, at load, so a bad file
# is refused with a message instead of failing requests later.


class _Invalid(Exception):
    """The document breaks the snapshot contract; the message says where and how."""


_REQUIRED: Any = object()
_STR_OR_NULL = (str, _NoneType)
_INT_OR_NULL = (int, _NoneType)
_TYPE_WORDS = {str: "a string", int: "an integer", bool: "a boolean", dict: "an object", list: "an array",
               _NoneType: "null"}
# SnapshotModel fields: required ones with their types, then (object, key, types) of the nested ones.
_MODEL_FIELDS: tuple[tuple[str, tuple[type, ...]], ...] = (
    ("provider", (str,)), ("model_id", (str,)), ("capabilities", (list,)), ("features", (dict,)),
    ("limits", (dict,)), ("modalities", (dict,)), ("lifecycle", (dict,)), ("priority", (int,)),
    ("pools", (list,)), ("delivery", (str,)), ("batch", (bool,)))
_MODEL_NESTED: tuple[tuple[str, str, tuple[type, ...]], ...] = (
    ("limits", "context_window", _INT_OR_NULL), ("limits", "max_output_tokens", _INT_OR_NULL),
    ("modalities", "input", (list,)), ("modalities", "output", (list,)), ("lifecycle", "status", (str,)))
# A feature flag is true or false; a JSON 1 or 0 in its place means the same to the router and
# passes: telling them apart takes a type test per flag, about 5% of a 10,000-model load.
_FLAG_VALUES = frozenset((True, False))


def _show(value: Any) -> str:
    """A JSON value as the file spells it, shortened."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = reprlib.repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _problem(record: Mapping[str, Any], key: str, types: tuple[type, ...], default: Any = _REQUIRED,
             *, label: str | None = None) -> str | None:
    """What is wrong with `record[key]`: missing though required, or of none of `types` (exactly:
    JSON's `true` is no integer). None when nothing is."""
    label = label or key
    if key not in record:
        return f"`{label}` is missing" if default is _REQUIRED else None
    value = record[key]
    if type(value) in types:
        return None
    return f"`{label}` must be {' or '.join(_TYPE_WORDS[t] for t in types)}, not {_show(value)}"


def _get(record: Mapping[str, Any], key: str, types: tuple[type, ...], where: str = "",
         default: Any = _REQUIRED) -> Any:
    """`record[key]`, or `default` when it is absent and may be; raises _Invalid otherwise."""
    problem = _problem(record, key, types, default)
    if problem is not None:
        raise _Invalid(f"{where}: {problem}" if where else problem)
    return record.get(key, default)


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if type(value) is not dict:
        raise _Invalid(f"{where} must be an object, not {_show(value)}")
    return value  # type: ignore[no-any-return]


def _strings(record: Mapping[str, Any], key: str, where: str) -> list[str]:
    """`record[key]`, which must be an array of strings."""
    items: list[Any] = _get(record, key, (list,), where)
    for item in items:
        if type(item) is not str:
            raise _Invalid(f"{where}: `{key}` must hold strings, not {_show(item)}")
    return items


def _names(items: Iterable[str]) -> str:
    return ", ".join(f"`{item}`" for item in sorted(items))


def _version(document: Mapping[str, Any]) -> SnapshotVersion:
    version = _get(document, "version", (dict,))
    marker = _get(document, "format", (dict,))
    return SnapshotVersion(
        label=_get(version, "label", (str,), "`version`"),
        commit=_get(version, "commit", _STR_OR_NULL, "`version`", None),
        dirty=_get(version, "dirty", (bool, _NoneType), "`version`", None),
        number=_get(version, "number", _INT_OR_NULL, "`version`", None),
        history=_get(version, "history", (str,), "`version`", "none"),
        digest=_get(document, "$digest", (str,), "", ""),
        format_minor=_get(marker, "minor", (int,), "`format`", 0))


def _tree(document: Mapping[str, Any]) -> CapabilityTree:
    """The capability tree, once every parent and child it names exists and agrees with it."""
    nodes: dict[str, Any] = _get(document, "capabilities", (dict,))
    aliases: dict[str, Any] = _get(document, "aliases", (dict,))
    features: dict[str, Any] = _get(document, "features", (dict,))
    for path, rec in nodes.items():
        where = f"capability `{path}`"
        _object(rec, where)
        _get(rec, "parent", _STR_OR_NULL, where)
        _strings(rec, "children", where)
        _strings(rec, "aliases", where)
        _get(rec, "description", _STR_OR_NULL, where)
        _get(rec, "deprecated", (dict, _NoneType), where)
    # Every node it names exists first, so that a dangling name is reported as such rather than as
    # the disagreement it also causes.
    for path, rec in nodes.items():
        parent = rec["parent"]
        if parent is not None and parent not in nodes:
            raise _Invalid(f"capability `{path}`: its parent `{parent}` is not in the tree")
        for child in rec["children"]:
            if child not in nodes:
                raise _Invalid(f"capability `{path}`: its child `{child}` is not in the tree")
    for path, rec in nodes.items():
        parent = rec["parent"]
        if parent is not None and path not in nodes[parent]["children"]:
            raise _Invalid(f"capability `{path}`: its parent `{parent}` does not list it as a child")
    for path, rec in nodes.items():
        for child in rec["children"]:
            if nodes[child]["parent"] != path:
                raise _Invalid(f"capability `{path}`: its child `{child}` names another parent, "
                               f"{_show(nodes[child]['parent'])}")
    # Links that agree can still form a loop, which would make every walk up the tree endless.
    rooted: set[str] = set()
    for path in nodes:
        lineage = []
        node: str | None = path
        while node is not None and node not in rooted:
            if node in lineage:
                raise _Invalid(f"capability `{path}`: its ancestors form a cycle")
            lineage.append(node)
            node = nodes[node]["parent"]
        rooted.update(lineage)
    for alias, target in aliases.items():
        if type(target) is not str or target not in nodes:
            raise _Invalid(f"alias `{alias}` points to {_show(target)}, which is not in the tree")
    return CapabilityTree.from_snapshot(nodes, aliases, features)


def _providers(document: Mapping[str, Any]) -> dict[str, Provider]:
    records: dict[str, Any] = _get(document, "providers", (dict,))
    providers = {}
    for name, rec in records.items():
        where = f"provider `{name}`"
        _object(rec, where)
        providers[name] = Provider(
            name=name, display_name=_get(rec, "display_name", (str,), where, name),
            api=_get(rec, "api", _STR_OR_NULL, where, None), api_base=_get(rec, "api_base", _STR_OR_NULL, where, None),
            api_key_env=_get(rec, "api_key_env", _STR_OR_NULL, where, None), data=_freeze(rec))
    return providers


def _model_problem(rec: Any, providers: Mapping[str, Provider]) -> str | None:
    """What is wrong with a model record, in words; None when nothing is."""
    if type(rec) is not dict:
        return f"the record must be an object, not {_show(rec)}"
    for key, types in _MODEL_FIELDS:
        problem = _problem(rec, key, types)
        if problem is not None:
            return problem
    for key in ("display_name", "registered_at"):
        problem = _problem(rec, key, _STR_OR_NULL, None)
        if problem is not None:
            return problem
    if rec["provider"] not in providers:
        return f"its provider `{rec['provider']}` is not in `providers`"
    for outer, key, types in _MODEL_NESTED:
        problem = _problem(rec[outer], key, types, None, label=f"{outer}.{key}")
        if problem is not None:
            return problem
    for name, value in rec["features"].items():
        try:
            flag = value in _FLAG_VALUES
        except TypeError:  # unhashable
            flag = False
        if not flag:
            return f"`features.{name}` must be true or false, not {_show(value)}"
    for key in ("capabilities", "pools"):
        for path in rec[key]:
            if type(path) is not str:
                return f"`{key}` must hold strings, not {_show(path)}"
    for key in ("input", "output"):
        for item in rec["modalities"].get(key, ()):
            if type(item) is not str:
                return f"`modalities.{key}` must hold strings, not {_show(item)}"
    return None


def _bad_model(name: str, rec: Any, providers: Mapping[str, Provider], error: Exception | None) -> _Invalid:
    problem = _model_problem(rec, providers)
    if problem is None:
        problem = f"{type(error).__name__}: {error}" if error is not None else "not a valid model record"
    return _Invalid(f"model `{name}`: {problem}")


def _pools(document: Mapping[str, Any], nodes: Mapping[str, Any], by_name: Mapping[str, SnapshotModel]
           ) -> dict[str, tuple[SnapshotModel, ...]]:
    """Every pool as models, once the pools are exactly the tree's nodes and name only known models."""
    pools: dict[str, Any] = _get(document, "pools", (dict,))
    if pools.keys() != nodes.keys():
        missing = nodes.keys() - pools.keys()
        if missing:
            raise _Invalid(f"no pool for {'capability' if len(missing) == 1 else 'capabilities'} {_names(missing)}")
        extra = pools.keys() - nodes.keys()
        raise _Invalid(f"{'pool' if len(extra) == 1 else 'pools'} for {_names(extra)}, which "
                       f"{'is' if len(extra) == 1 else 'are'} not in the capability tree")
    lookup = by_name.__getitem__
    result = {}
    for path, names in pools.items():
        if type(names) is not list:
            raise _Invalid(f"pool `{path}` must be an array, not {_show(names)}")
        try:
            result[path] = tuple(map(lookup, names))
        except (KeyError, TypeError):
            unknown = next(n for n in names if type(n) is not str or n not in by_name)
            raise _Invalid(f"pool `{path}` names {_show(unknown)}, which is not in `models`") from None
    return result


def load_snapshot(source: str | os.PathLike[str], *, timeout: float = DEFAULT_FETCH_TIMEOUT,
                  max_bytes: int = DEFAULT_MAX_BYTES) -> SnapshotRegistry:
    """Load a snapshot from a file path or an http(s) URL into an immutable `SnapshotRegistry`.

    Raises SnapshotError when the file is not a snapshot, has a format major version this runtime
    does not read, fails its digest check (truncated or modified), is over `max_bytes`, or
    contradicts itself; for a URL also when the server answers anything but 200 with a whole body
    within `timeout` seconds (see `fetch_snapshot`). OSError when a file cannot be read at all.
    """
    if is_url(source):
        from .fetch import fetch_snapshot  # the HTTP client, only for a URL

        url = str(source)
        fetched = fetch_snapshot(url, timeout=timeout, max_bytes=max_bytes)
        if fetched.raw is None:
            raise SnapshotError(f"{url}: the server answered 304 Not Modified to a request that was not conditional",
                                "http-status")
        return SnapshotRegistry.from_bytes(fetched.raw, source=url, body_digest=fetched.body_digest)
    return SnapshotRegistry.from_bytes(read_file(source, max_bytes), source=os.fspath(source))


def read_file(path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """A snapshot file's bytes; SnapshotError when it is over `max_bytes` (refused before reading)."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            raise SnapshotError(f"{os.fspath(path)}: the snapshot is {size:,} bytes, over the limit of {max_bytes:,}",
                                "too-large")
        return fh.read()
