"""Validation of a whole catalog: YAML, schemas, then the checks that span files.

`check_catalog` collects every diagnostic of every file (one bad file never hides the next) and,
for the files that are valid, the resolved models and pools.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any

from compiler.capability_tree import CapabilityTree
from compiler.catalog import CAPABILITIES_FILE, PROVIDER_FILE, CatalogFiles
from compiler.diagnostics import Diagnostic, Severity, has_errors
from compiler.errors import UnknownCapability, did_you_mean
from compiler.gc_pause import collector_paused
from compiler.models import Model
from compiler.parallel import iter_chunks
from compiler.pools import CapabilityPool, build_pools
from compiler.resolve import resolve_model
from compiler.schemas import schema_diagnostics
from compiler.yaml_loader import UNLOADED, YamlDocument, YamlLoadError, load_yaml, too_large


@dataclass
class CatalogCheck:
    """The outcome of checking a catalog: diagnostics, and what could be built."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    tree: CapabilityTree | None = None
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    models: dict[str, Model] = field(default_factory=dict)
    pools: dict[str, CapabilityPool] = field(default_factory=dict)
    documents: dict[str, YamlDocument] = field(default_factory=dict)

    def ok(self, *, strict: bool = False) -> bool:
        """True when there is no error (and, under `strict`, no warning either)."""
        return not has_errors(self.diagnostics, strict=strict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]


def _at(doc: YamlDocument, path: list[str | int], code: str, message: str, *, key: bool = False,
        severity: Severity = Severity.ERROR) -> Diagnostic:
    line, column = doc.locate(path, key=key)
    return Diagnostic(doc.file, line, column, code, message, severity)


def _kind(rel: str) -> str:
    parts = rel.split("/")
    if rel == CAPABILITIES_FILE:
        return "capabilities"
    if len(parts) == 1:
        return "unexpected"
    if len(parts) == 2 and parts[1] == PROVIDER_FILE:
        return "provider"
    return "model"


def check_catalog(files: CatalogFiles, *, pool_warnings: bool = True) -> CatalogCheck:
    """Check every file of a catalog and resolve what is valid.

    Model files are checked one by one (over several processes for a large catalog, see
    `compiler.parallel`), then the checks that span files run here. Without `pool_warnings`, the
    warnings about empty pools are left out (for a part of a catalog, or a check that only
    compares).
    """
    with collector_paused:
        return _check_catalog(files, pool_warnings)


def _check_catalog(files: CatalogFiles, pool_warnings: bool) -> CatalogCheck:
    check = CatalogCheck(diagnostics=list(files.diagnostics))
    diags = check.diagnostics
    capabilities_doc: YamlDocument | None = None
    provider_docs: dict[str, YamlDocument] = {}

    # Files that exist but failed to load: others naming them get no second, misleading error.
    broken_providers: set[str] = set()
    broken_models: set[str] = set()
    shared_files: list[tuple[str, str]] = []
    model_files: list[str] = []
    misplaced: list[tuple[str, Diagnostic]] = []
    for rel in files.paths():
        shown = files.display(rel)
        if not rel.endswith(".yaml"):
            misplaced.append((rel, Diagnostic(shown, 1, 1, "file-name", "catalog files end in `.yaml`; rename it")))
            continue
        kind = _kind(rel)
        if kind == "unexpected":
            misplaced.append((rel, Diagnostic(
                shown, 1, 1, "unexpected-file", f"only `{CAPABILITIES_FILE}` and provider directories belong at the "
                "top of the catalog; move this file into a provider's directory")))
            continue
        if kind == "model" and rel.rsplit("/", 1)[-1] == PROVIDER_FILE:
            misplaced.append((rel, Diagnostic(
                shown, 1, 1, "unexpected-file", f"`{PROVIDER_FILE}` belongs directly in the provider's directory: "
                f"move it to `{rel.split('/', 1)[0]}/{PROVIDER_FILE}`")))
            continue
        if kind == "model":
            model_files.append(rel)
        else:
            shared_files.append((rel, kind))

    # A file over the size cap is refused whatever else is wrong with it, and is not a catalog
    # file after that (a source that knows sizes up front never lists it): the rule either way.
    shared = dict(files.take([rel for rel, _ in misplaced] + [rel for rel, _ in shared_files]))
    for rel, problem in misplaced:
        raw = shared[rel]
        diags.append(too_large(problem.file, raw) if isinstance(raw, int) else problem)
    for rel, kind in shared_files:
        raw = shared[rel]
        if isinstance(raw, int):
            diags.append(too_large(files.display(rel), raw))
            continue
        doc = _load_valid(kind, files.display(rel), raw, diags)
        if doc is None:
            if kind == "provider":
                broken_providers.add(rel.split("/")[0])
            continue
        check.documents[rel] = doc
        if kind == "capabilities":
            capabilities_doc = doc
        else:
            provider_docs[rel.split("/")[0]] = doc

    if CAPABILITIES_FILE not in files.contents:
        diags.append(Diagnostic(files.display(CAPABILITIES_FILE), 1, 1, "missing-file",
                                "the catalog has no capabilities.yaml; the capability tree is required"))
    tree = _check_tree(capabilities_doc, diags) if capabilities_doc is not None else None
    check.tree = tree

    for directory, doc in sorted(provider_docs.items()):
        if doc.data["name"] != directory:
            diags.append(_at(doc, ["name"], "name-path-mismatch",
                             f"provider name `{doc.data['name']}` does not match its directory `{directory}`; "
                             f"write `name: {directory}`"))
            continue
        if tree is not None:
            features = (doc.data.get("defaults") or {}).get("features") or {}
            diags.extend(_check_features(doc, tree, features, ["defaults", "features"]))
        check.providers[directory] = doc.data

    context = _ModelContext(files, tree, check.providers, frozenset(provider_docs), frozenset(broken_providers))
    seen: dict[str, YamlDocument] = {}
    valid: dict[str, Model] = {}
    # Outcomes come a process's share at a time: this process's own is taken in while the others
    # finish theirs.
    inherited = {provider: (doc.data.get("defaults") or {}).get("lifecycle") or {}
                 for provider, doc in provider_docs.items()}
    lifecycles: list[tuple[YamlDocument, str, Mapping[str, Any]]] = []
    rels = iter(model_files)
    with contextlib.closing(iter_chunks(context.check_all, model_files)) as chunks:
        for chunk in chunks:
            for (state, payload, found, raw), rel in zip(chunk, rels, strict=False):  # rels: all chunks
                if raw is not None:  # read by another process
                    if isinstance(raw, int):
                        files.oversized[rel] = raw
                    else:
                        files.contents[rel] = raw
                    files.deferred.pop(rel, None)
                diags.extend(Diagnostic(d[0], d[1], d[2], d[3], d[4], Severity(d[5])) for d in found)
                if state == _BROKEN:
                    broken_models.add(rel.removesuffix(".yaml"))
                    continue
                if state == _OVERSIZED:
                    continue
                model: Model | None = None
                if state == _RESOLVED:
                    # Its data is not sent back: the model holds what is needed of it.
                    model = Model(*payload)
                    doc = YamlDocument(files.display(rel), UNLOADED, files.contents[rel])
                    name, lifecycle = model.name, model.lifecycle
                else:
                    doc = YamlDocument(files.display(rel), payload, files.contents[rel])
                    name = payload["name"]
                    own = payload.get("lifecycle")
                    defaults = inherited.get(payload["provider"], {})
                    # Read-only: a model without a lifecycle of its own shares its provider's.
                    lifecycle = {**defaults, **own} if own else defaults
                check.documents[rel] = doc
                lifecycles.append((doc, name, lifecycle))
                folded = name.lower()
                if folded in seen:
                    line, _ = seen[folded].locate(["name"])
                    diags.append(_at(doc, ["name"], "duplicate-name",
                                     f"model `{name}` is already defined in {seen[folded].file}:{line}; names "
                                     "are unique (ignoring case)"))
                    continue
                seen[folded] = doc
                if model is not None:
                    valid[name] = model

    _check_replacements(lifecycles, broken_models, diags)

    if tree is not None and not has_errors(diags):
        check.models = dict(sorted(valid.items()))
        check.pools = build_pools(tree, check.models.values())
        assert capabilities_doc is not None
        for path, pool in check.pools.items() if pool_warnings else ():
            node = tree.nodes[path]
            # Name only the topmost empty node: everything below an empty node is empty too.
            parent_empty = node.parent is not None and not check.pools[node.parent]
            if not pool and node.deprecated is None and not parent_empty:
                below = " (nor any node below it)" if node.children else ""
                diags.append(_at(capabilities_doc, _node_path(path), "empty-pool",
                                 f"no model serves `{path}`{below}; add one or remove the node",
                                 key=True, severity=Severity.WARNING))
    check.diagnostics = sorted(diags)
    return check


def _load_valid(kind: str, shown: str, raw: bytes | int, diags: list[Diagnostic]) -> YamlDocument | None:
    """A file loaded and valid against its schema, or None with the reasons in `diags`. `raw` is
    the file's bytes, or its size when it was too large to read."""
    if isinstance(raw, int):
        diags.append(too_large(shown, raw))
        return None
    try:
        doc = load_yaml(shown, raw)
    except YamlLoadError as exc:
        diags.append(exc.diagnostic)
        return None
    if doc.data is None:
        diags.append(Diagnostic(shown, 1, 1, "empty-file", "the file is empty; write a mapping of keys, or delete it"))
        return None
    if not isinstance(doc.data, dict):
        line, column = doc.locate([])
        diags.append(Diagnostic(shown, line, column, "not-a-mapping",
                                f"the file holds a {'list' if isinstance(doc.data, list) else 'scalar'}; "
                                "it must be a mapping of keys"))
        return None
    schema_errors = schema_diagnostics(kind, doc)
    diags.extend(schema_errors)
    return None if schema_errors else doc


# What checking one model file gives, as plain values (it may cross a process boundary):
# (_OVERSIZED, None, ...): over the size cap, not read; (_BROKEN, None, ...): the file is unusable;
# (_LOADED, its data, ...): loaded, but not a valid model on its own; (_RESOLVED, the resolved
# Model's fields, ...): a valid model. Then its diagnostics as tuples and, when the check read the
# file, its bytes, or its size when it was too large to read.
_OVERSIZED, _BROKEN, _LOADED, _RESOLVED = 0, 1, 2, 3
ModelOutcome = tuple[int, Any, list[tuple[Any, ...]], "bytes | int | None"]
_model_fields = attrgetter(*(f.name for f in fields(Model)))


@dataclass(frozen=True)
class _ModelContext:
    """What checking a model file needs from the rest of the catalog."""

    files: CatalogFiles
    tree: CapabilityTree | None
    providers: dict[str, dict[str, Any]]
    provider_files: frozenset[str]
    broken_providers: frozenset[str]

    def check_all(self, rels: Sequence[str]) -> list[ModelOutcome]:
        # Files not read yet are read here, in whichever process this runs: their bytes go back
        # with the outcome.
        unread = set(self.files.deferred)
        return [(*self.check(rel, raw), raw if rel in unread else None) for rel, raw in self.files.take(rels)]

    def check(self, rel: str, raw: bytes | int) -> tuple[int, Any, list[tuple[Any, ...]]]:
        """Everything about one model file that does not need the other model files."""
        if isinstance(raw, int):
            return _OVERSIZED, None, [_plain(too_large(self.files.display(rel), raw))]
        found: list[Diagnostic] = []
        doc = _load_valid("model", self.files.display(rel), raw, found)
        if doc is None:
            return _BROKEN, None, [_plain(d) for d in found]
        data = doc.data
        name: str = data["name"]
        expected = rel.removesuffix(".yaml")
        ok = True
        if name != expected:
            found.append(_at(doc, ["name"], "name-path-mismatch",
                             f"name `{name}` does not match the file's path; write `name: {expected}` "
                             f"or move the file to {name}.yaml"))
            ok = False
        provider = data["provider"]
        if name.split("/", 1)[0] != provider:
            found.append(_at(doc, ["provider"], "provider-mismatch",
                             f"provider `{provider}` does not match the name's prefix "
                             f"`{name.split('/', 1)[0]}/`"))
            ok = False
        if provider in self.broken_providers:
            ok = False  # its provider.yaml has errors of its own, reported there
        elif provider not in self.provider_files:
            close = difflib.get_close_matches(provider, sorted(self.provider_files), n=1)
            hint = did_you_mean(close) or f"; add `{provider}/{PROVIDER_FILE}` to the catalog"
            found.append(_at(doc, ["provider"], "unknown-provider", f"unknown provider `{provider}`{hint}"))
            ok = False
        if self.tree is not None:
            local = _check_capabilities(doc, self.tree) + _check_features(doc, self.tree, data.get("features") or {},
                                                                         ["features"])
            found.extend(local)
            ok = ok and not any(d.is_error for d in local)
        else:
            ok = False
        if ok and self.tree is not None and provider in self.providers:
            resolved = resolve_model(data, self.providers[provider], self.tree, rel)
            return _RESOLVED, _model_fields(resolved), [_plain(d) for d in found]
        return _LOADED, data, [_plain(d) for d in found]


def _plain(d: Diagnostic) -> tuple[Any, ...]:
    return (d.file, d.line, d.column, d.code, d.message, d.severity.value)


def _node_path(path: str) -> list[str | int]:
    steps: list[str | int] = ["capabilities"]
    for i, part in enumerate(path.split(".")):
        if i:
            steps.append("children")
        steps.append(part)
    return steps


def _check_tree(doc: YamlDocument, diags: list[Diagnostic]) -> CapabilityTree:
    tree = CapabilityTree.from_mapping(doc.data)
    owners: dict[str, str] = {}
    for node in tree:
        for i, alias in enumerate(node.aliases):
            where = [*_node_path(node.path), "aliases", i]
            if alias in tree.nodes:
                diags.append(_at(doc, where, "alias-conflict",
                                 f"alias `{alias}` of `{node.path}` is also a capability path; rename it"))
            elif alias in owners:
                diags.append(_at(doc, where, "alias-conflict",
                                 f"alias `{alias}` of `{node.path}` is already an alias of `{owners[alias]}`"))
            else:
                owners[alias] = node.path
        if node.deprecated and node.deprecated.get("replacement"):
            replacement = node.deprecated["replacement"]
            where = [*_node_path(node.path), "deprecated", "replacement"]
            if replacement not in tree:
                hint = did_you_mean(tree.suggest(replacement))
                diags.append(_at(doc, where, "unknown-capability",
                                 f"replacement `{replacement}` is not a capability{hint}"))
            elif tree.resolve(replacement) == node.path:
                diags.append(_at(doc, where, "bad-replacement", "a capability cannot be its own replacement"))
            elif tree.lookup(replacement).deprecated is not None:
                diags.append(_at(doc, where, "bad-replacement",
                                 f"replacement `{replacement}` is itself deprecated; name a live capability"))
    return tree


def _check_capabilities(doc: YamlDocument, tree: CapabilityTree) -> list[Diagnostic]:
    found = []
    for i, capability in enumerate(doc.data["capabilities"]):
        try:
            node = tree.lookup(capability)
        except UnknownCapability as exc:
            found.append(_at(doc, ["capabilities", i], "unknown-capability", str(exc)))
            continue
        if node.deprecated is not None:
            replacement = node.deprecated.get("replacement")
            hint = f"; use `{replacement}`" if replacement else ""
            found.append(_at(doc, ["capabilities", i], "deprecated-capability",
                             f"capability `{node.path}` is deprecated{hint}", severity=Severity.WARNING))
    return found


def _check_features(doc: YamlDocument, tree: CapabilityTree, features: dict[str, bool],
                    path: list[str | int]) -> list[Diagnostic]:
    found = []
    for feature in features:
        if feature not in tree.features:
            hint = did_you_mean(tree.suggest_feature(feature))
            found.append(_at(doc, [*path, feature], "unknown-feature",
                             f"unknown feature `{feature}`{hint} (features are listed in capabilities.yaml)",
                             key=True))
    return found


def _check_replacements(models: list[tuple[YamlDocument, str, Mapping[str, Any]]], broken: set[str],
                        diags: list[Diagnostic]) -> None:
    """Every replacement names a live model, and following replacements never loops. `models`:
    each model file's document, name and lifecycle (its provider's defaults applied)."""
    lifecycles: dict[str, tuple[YamlDocument, str, Mapping[str, Any]]] = {}
    for doc, name, lifecycle in models:
        lifecycles[name.lower()] = (doc, name, lifecycle)
    for doc, name, lifecycle in lifecycles.values():
        replacement = lifecycle.get("replacement")
        where: list[str | int] = ["lifecycle", "replacement"]
        if replacement is None:
            if lifecycle.get("status") == "retired":
                diags.append(_at(doc, ["lifecycle", "status"], "retired-without-replacement",
                                 "a retired model must name its `replacement` so callers can move"))
            continue
        if replacement == name:
            diags.append(_at(doc, where, "bad-replacement", "a model cannot be its own replacement"))
            continue
        target = lifecycles.get(replacement.lower())
        if target is None:
            if replacement not in broken:  # a file with errors of its own is reported there
                known = [known_name for _, known_name, _ in lifecycles.values()]
                close = difflib.get_close_matches(replacement, known, n=1)
                diags.append(_at(doc, where, "unknown-replacement",
                                 f"replacement `{replacement}` is not a model in the catalog{did_you_mean(close)}"))
            continue
        status = target[2].get("status", "active")
        if status == "retired":
            diags.append(_at(doc, where, "bad-replacement",
                             f"replacement `{replacement}` is itself retired; name the model that replaces it"))
            continue
        chain = [name, replacement]
        current = target
        while (following := current[2].get("replacement")) is not None and following.lower() in lifecycles:
            if following in chain:
                loop = " -> ".join([*chain[chain.index(following):], following])
                diags.append(_at(doc, where, "bad-replacement", f"replacements loop: {loop}"))
                break
            chain.append(following)
            current = lifecycles[following.lower()]
        else:
            if status == "deprecated":
                diags.append(_at(doc, where, "deprecated-replacement",
                                 f"replacement `{replacement}` is itself deprecated; consider `{chain[-1]}`",
                                 severity=Severity.WARNING))
