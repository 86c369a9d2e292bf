"""Checking one file on its own: loaded, valid against its schema, and for a model file,
agreeing with its path, its provider and the capability tree, then resolved. Outcomes are plain
values, so the check can run in another process (`modelreg.check.parallel`).

Every stage runs on what a file holds as far as it can be read, so one run reports the YAML
problems, the schema errors and the unknown capabilities of a file together. A place keeps the
first stage's diagnostic only: `batch: yes` is a YAML problem, not also a boolean the schema
misses.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any, NamedTuple

from modelreg.capability_tree import CapabilityTree
from modelreg.catalog.file_size import too_large
from modelreg.catalog.files import CatalogFiles
from modelreg.catalog.paths import CATALOG_SUFFIX, PROVIDER_FILE, model_name
from modelreg.catalog.yaml_loader import YamlDocument, YamlLoadError, load_yaml
from modelreg.check.located import at_node
from modelreg.check.schema_errors import schema_diagnostics
from modelreg.diagnostics import Diagnostic, Severity
from modelreg.errors import UnknownCapability, did_you_mean
from modelreg.models import Model
from modelreg.resolve.resolver import resolve_model


class Loaded(NamedTuple):
    """A file as far as it could be read: its document (None when there is nothing to check
    further), whether its data has the shape its schema gives, and whether nothing was wrong."""

    doc: YamlDocument | None
    fits_schema: bool
    valid: bool


def load_document(kind: str, shown: str, raw: bytes | int, diags: list[Diagnostic]) -> Loaded:
    """A file loaded and checked against its schema, the problems added to `diags`. `raw` is the
    file's bytes, or its size when it was too large to read. A document whose YAML or schema has
    errors is still returned while it is a mapping, for the later checks that can read it."""
    if isinstance(raw, int):
        diags.append(too_large(shown, raw))
        return Loaded(None, False, False)
    try:
        doc = load_yaml(shown, raw, recover=True)
    except YamlLoadError as exc:
        diags.extend(exc.diagnostics)
        return Loaded(None, False, False)
    diags.extend(doc.problems)
    if doc.data is None:
        diags.append(Diagnostic(shown, 1, 1, "empty-file", "the file is empty; write a mapping of keys, or delete it"))
        return Loaded(None, False, False)
    if not isinstance(doc.data, dict):
        line, column = doc.locate([])
        diags.append(Diagnostic(shown, line, column, "not-a-mapping",
                                f"the file holds a {'list' if isinstance(doc.data, list) else 'scalar'}; "
                                "it must be a mapping of keys"))
        return Loaded(None, False, False)
    schema_errors = schema_diagnostics(kind, doc)
    diags.extend(beside(doc.problems, schema_errors))
    return Loaded(doc, not schema_errors, not schema_errors and not doc.problems)


def beside(earlier: Sequence[Diagnostic], later: Sequence[Diagnostic]) -> Sequence[Diagnostic]:
    """`later`, a later stage's diagnostics of one file, without those at a place that `earlier`
    already reports: one problem a place, said by the first stage that finds it."""
    if not earlier:
        return later
    taken = {(d.line, d.column) for d in earlier}
    return [d for d in later if (d.line, d.column) not in taken]


# What checking one model file gives, as plain values (it may cross a process boundary):


# (OVERSIZED, None, ...): over the size cap, not read; (BROKEN, None, ...): the file is unusable;
# (LOADED, its data, ...): loaded, but not a valid model on its own; (RESOLVED, the resolved
# Model's fields, ...): a valid model. Then its diagnostics as tuples and, when the check read the
# file, its bytes, or its size when it was too large to read.
OVERSIZED, BROKEN, LOADED, RESOLVED = 0, 1, 2, 3
ModelOutcome = tuple[int, Any, list[tuple[Any, ...]], "bytes | int | None"]
model_fields = attrgetter(*(f.name for f in fields(Model)))


@dataclass(frozen=True)
class ModelContext:
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
            return OVERSIZED, None, [plain(too_large(self.files.display(rel), raw))]
        found: list[Diagnostic] = []
        doc, _, valid = load_document("model", self.files.display(rel), raw, found)
        if doc is None:
            return BROKEN, None, [plain(d) for d in found]
        data = doc.data
        # Read as the schema says where it does; a file it refuses is read as far as it goes.
        name, provider = data.get("name"), data.get("provider")
        local: list[Diagnostic] = []
        if isinstance(name, str):
            expected = model_name(rel)
            if name != expected:
                local.append(at_node(doc, ["name"], "name-path-mismatch",
                                     f"name `{name}` does not match the file's path; write `name: {expected}` "
                                     f"or move the file to {name}{CATALOG_SUFFIX}"))
            if isinstance(provider, str) and name.split("/", 1)[0] != provider:
                local.append(at_node(doc, ["provider"], "provider-mismatch",
                                     f"provider `{provider}` does not match the name's prefix "
                                     f"`{name.split('/', 1)[0]}/`"))
        ok = valid and not local
        if not isinstance(provider, str) or provider in self.broken_providers:
            ok = False  # its provider.yaml has errors of its own, reported there
        elif provider not in self.provider_files:
            close = difflib.get_close_matches(provider, sorted(self.provider_files), n=1)
            hint = did_you_mean(close) or f"; add `{provider}/{PROVIDER_FILE}` to the catalog"
            local.append(at_node(doc, ["provider"], "unknown-provider", f"unknown provider `{provider}`{hint}"))
            ok = False
        if self.tree is not None:
            semantic = check_capabilities(doc, self.tree) + check_features(doc, self.tree, data.get("features"),
                                                                            ["features"])
            local.extend(semantic)
            ok = ok and not any(d.is_error for d in semantic)
        else:
            ok = False
        found.extend(beside(found, local))
        if not valid:
            return BROKEN, None, [plain(d) for d in found]
        if ok and self.tree is not None and provider in self.providers:
            resolved = resolve_model(data, self.providers[provider], self.tree, rel)
            return RESOLVED, model_fields(resolved), [plain(d) for d in found]
        return LOADED, data, [plain(d) for d in found]


def plain(d: Diagnostic) -> tuple[Any, ...]:
    return (d.file, d.line, d.column, d.code, d.message, d.severity.value)


def check_capabilities(doc: YamlDocument, tree: CapabilityTree) -> list[Diagnostic]:
    """The capabilities a model file lists are in the tree, and live; what is not a list of
    text is the schema's to report."""
    found = []
    lifecycle = doc.data.get("lifecycle")
    if isinstance(lifecycle, dict) and lifecycle.get("status") == "discovered":
        found.append(at_node(doc, ["lifecycle", "status"], "discovered-model",
                             "discovery found this model but not what it can do: fill in capabilities, then set "
                             "`lifecycle.status` (it is in no pool until then)", severity=Severity.WARNING))
    for i, capability in _texts(doc.data.get("capabilities")):
        try:
            node = tree.lookup(capability)
        except UnknownCapability as exc:
            found.append(at_node(doc, ["capabilities", i], "unknown-capability", str(exc)))
            continue
        if node.deprecated is not None:
            replacement = node.deprecated.get("replacement")
            hint = f"; use `{replacement}`" if replacement else ""
            found.append(at_node(doc, ["capabilities", i], "deprecated-capability",
                             f"capability `{node.path}` is deprecated{hint}", severity=Severity.WARNING))
    return found


def _texts(items: object) -> list[tuple[int, str]]:
    # The strings of what should be a list of strings, with their indexes.
    return [(i, item) for i, item in enumerate(items) if isinstance(item, str)] if isinstance(items, list) else []


def check_features(doc: YamlDocument, tree: CapabilityTree, features: object,
                    path: list[str | int]) -> list[Diagnostic]:
    """The keys of `features` (the mapping at `path`) are features of the tree."""
    found: list[Diagnostic] = []
    if not isinstance(features, dict):
        return found
    for feature in features:
        if feature not in tree.features:
            hint = did_you_mean(tree.suggest_feature(feature))
            found.append(at_node(doc, [*path, feature], "unknown-feature",
                             f"unknown feature `{feature}`{hint} (features are listed in capabilities.yaml)",
                             key=True))
    return found


def check_discovery_rules(doc: YamlDocument, tree: CapabilityTree) -> list[Diagnostic]:
    """The capabilities and features a provider's discovery rules name are in the tree."""
    found = []
    discovery = doc.data.get("discovery")
    rules = discovery.get("rules") if isinstance(discovery, dict) else None
    for i, rule in enumerate(rules if isinstance(rules, list) else ()):
        if not isinstance(rule, dict):
            continue
        for j, capability in _texts(rule.get("capabilities")):
            try:
                tree.lookup(capability)
            except UnknownCapability as exc:
                found.append(at_node(doc, ["discovery", "rules", i, "capabilities", j], "unknown-capability", str(exc)))
        found.extend(check_features(doc, tree, rule.get("features") or {}, ["discovery", "rules", i, "features"]))
    return found
