"""Checking one file on its own: loaded, valid against its schema, and for a model file,
agreeing with its path, its provider and the capability tree, then resolved. Outcomes are plain
values, so the check can run in another process (`modelreg.check.parallel`)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any

from modelreg.capability_tree import CapabilityTree
from modelreg.catalog.files import CatalogFiles
from modelreg.catalog.paths import CATALOG_SUFFIX, PROVIDER_FILE, model_name
from modelreg.catalog.yaml_loader import YamlDocument, YamlLoadError, load_yaml, too_large
from modelreg.check.located import at_node
from modelreg.check.schema_errors import schema_diagnostics
from modelreg.diagnostics import Diagnostic, Severity
from modelreg.errors import UnknownCapability, did_you_mean
from modelreg.models import Model
from modelreg.resolve.resolver import resolve_model


def load_valid(kind: str, shown: str, raw: bytes | int, diags: list[Diagnostic]) -> YamlDocument | None:
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
        doc = load_valid("model", self.files.display(rel), raw, found)
        if doc is None:
            return BROKEN, None, [plain(d) for d in found]
        data = doc.data
        name: str = data["name"]
        expected = model_name(rel)
        ok = True
        if name != expected:
            found.append(at_node(doc, ["name"], "name-path-mismatch",
                             f"name `{name}` does not match the file's path; write `name: {expected}` "
                             f"or move the file to {name}{CATALOG_SUFFIX}"))
            ok = False
        provider = data["provider"]
        if name.split("/", 1)[0] != provider:
            found.append(at_node(doc, ["provider"], "provider-mismatch",
                             f"provider `{provider}` does not match the name's prefix "
                             f"`{name.split('/', 1)[0]}/`"))
            ok = False
        if provider in self.broken_providers:
            ok = False  # its provider.yaml has errors of its own, reported there
        elif provider not in self.provider_files:
            close = difflib.get_close_matches(provider, sorted(self.provider_files), n=1)
            hint = did_you_mean(close) or f"; add `{provider}/{PROVIDER_FILE}` to the catalog"
            found.append(at_node(doc, ["provider"], "unknown-provider", f"unknown provider `{provider}`{hint}"))
            ok = False
        if self.tree is not None:
            local = check_capabilities(doc, self.tree) + check_features(doc, self.tree, data.get("features") or {},
                                                                         ["features"])
            found.extend(local)
            ok = ok and not any(d.is_error for d in local)
        else:
            ok = False
        if ok and self.tree is not None and provider in self.providers:
            resolved = resolve_model(data, self.providers[provider], self.tree, rel)
            return RESOLVED, model_fields(resolved), [plain(d) for d in found]
        return LOADED, data, [plain(d) for d in found]


def plain(d: Diagnostic) -> tuple[Any, ...]:
    return (d.file, d.line, d.column, d.code, d.message, d.severity.value)


def check_capabilities(doc: YamlDocument, tree: CapabilityTree) -> list[Diagnostic]:
    found = []
    if (doc.data.get("lifecycle") or {}).get("status") == "discovered":
        found.append(at_node(doc, ["lifecycle", "status"], "discovered-model",
                             "discovery found this model but not what it can do: fill in capabilities, then set "
                             "`lifecycle.status` (it is in no pool until then)", severity=Severity.WARNING))
    for i, capability in enumerate(doc.data["capabilities"]):
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


def check_features(doc: YamlDocument, tree: CapabilityTree, features: dict[str, bool],
                    path: list[str | int]) -> list[Diagnostic]:
    found = []
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
    for i, rule in enumerate((doc.data.get("discovery") or {}).get("rules", ())):
        for j, capability in enumerate(rule.get("capabilities", ())):
            try:
                tree.lookup(capability)
            except UnknownCapability as exc:
                found.append(at_node(doc, ["discovery", "rules", i, "capabilities", j], "unknown-capability", str(exc)))
        found.extend(check_features(doc, tree, rule.get("features") or {}, ["discovery", "rules", i, "features"]))
    return found
