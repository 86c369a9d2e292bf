"""Validation of a whole catalog: YAML, schemas, then the checks that span files.

`check_catalog` collects every diagnostic of every file (one bad file never hides the next) and,
for the files that are valid, the resolved models and pools.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from modelreg.capability_tree import CapabilityTree
from modelreg.catalog.file_size import too_large
from modelreg.catalog.files import CatalogFiles
from modelreg.catalog.paths import CAPABILITIES_FILE, CATALOG_SUFFIX, PROVIDER_FILE, file_kind, model_name
from modelreg.catalog.yaml_loader import UNLOADED, YamlDocument
from modelreg.check.cross_file import check_replacements, check_tree, empty_pool_warnings
from modelreg.check.file_check import (
    BROKEN,
    LOADED,
    OVERSIZED,
    RESOLVED,
    ModelContext,
    ModelOutcome,
    beside,
    check_discovery_rules,
    check_features,
    load_document,
)
from modelreg.check.located import at_node
from modelreg.check.outcome_cache import NO_DEPENDENCY, OutcomeCache, digest
from modelreg.check.parallel import iter_chunks
from modelreg.diagnostics import Diagnostic, Findings, Severity, has_errors
from modelreg.gc_pause import collector_paused
from modelreg.models import Model
from modelreg.resolve.pools import CapabilityPool, build_pools


@dataclass
class CatalogCheck(Findings):
    """The outcome of checking a catalog: diagnostics, and what could be built."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    tree: CapabilityTree | None = None
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    models: dict[str, Model] = field(default_factory=dict)
    pools: dict[str, CapabilityPool] = field(default_factory=dict)
    documents: dict[str, YamlDocument] = field(default_factory=dict)



def check_catalog(files: CatalogFiles, *, pool_warnings: bool = True,
                  outcomes: OutcomeCache | None = None) -> CatalogCheck:
    """Check every file of a catalog and resolve what is valid.

    Model files are checked one by one (over several processes for a large catalog, see
    `modelreg.check.parallel`), then the checks that span files run here. Without `pool_warnings`, the
    warnings about empty pools are left out (for a part of a catalog, or a check that only
    compares). With `outcomes`, a model file whose outcome is cached is not parsed or checked
    again (see `modelreg.check.outcome_cache`); the result is the same either way.
    """
    with collector_paused:
        check = _check_catalog(files, pool_warnings, outcomes)
    if outcomes is not None:
        outcomes.save()
    return check


def _provider_checks(doc: YamlDocument, directory: str, tree: CapabilityTree | None, diags: list[Diagnostic]) -> bool:
    """A provider file's name agrees with its directory (False when not), and what it names is
    in the tree. Reads the file as far as it goes: one its schema refuses is checked too."""
    name = doc.data.get("name")
    agrees = not isinstance(name, str) or name == directory
    if not agrees:
        diags.append(at_node(doc, ["name"], "name-path-mismatch",
                             f"provider name `{name}` does not match its directory `{directory}`; "
                             f"write `name: {directory}`"))
    if tree is not None:
        defaults = doc.data.get("defaults")
        features = defaults.get("features") if isinstance(defaults, dict) else None
        diags.extend(check_features(doc, tree, features, ["defaults", "features"]))
        diags.extend(check_discovery_rules(doc, tree))
    return agrees


def _model_outcomes(context: ModelContext, model_files: list[str], outcomes: OutcomeCache | None,
                    tree_bytes: bytes) -> Generator[list[Any], None, None]:
    """The outcomes of `model_files`, in order, a share at a time: from `outcomes` where they are
    cached, the others checked (over several processes when there are many)."""
    if outcomes is None:
        with contextlib.closing(iter_chunks(context.check_all, model_files)) as chunks:
            yield from chunks
        return
    files = context.files
    shared = digest(files.display_root.encode(), tree_bytes,
                    "\0".join(sorted(context.provider_files)).encode(),
                    "\0".join(sorted(context.broken_providers)).encode())

    def dependency(provider: str | None) -> bytes:
        if provider is None or provider not in context.providers:
            return NO_DEPENDENCY
        return digest(files.contents[f"{provider}/{PROVIDER_FILE}"])

    known: dict[str, ModelOutcome] = {}
    keys: dict[str, tuple[bytes, bytes]] = {}
    for rel, raw in files.take(model_files):
        if isinstance(raw, int):
            continue  # refused unread: nothing to save
        content = digest(raw)
        key = digest(shared, rel.encode(), content)
        hit = outcomes.get(key, rel, content, dependency)
        if hit is not None:
            known[rel] = (*hit, None)
        else:
            keys[rel] = (key, content)
    missing = [rel for rel in model_files if rel not in known]
    with contextlib.closing(iter_chunks(context.check_all, missing)) as chunks:
        for chunk in chunks:
            for rel, outcome in zip(missing, chunk, strict=False):
                known[rel] = outcome
                if rel in keys:
                    state, payload, found, _ = outcome
                    provider = _provider_of(state, payload)
                    key, content = keys[rel]
                    outcomes.put(key, rel, content, provider, dependency(provider), (state, payload, found))
            missing = missing[len(chunk):]
    yield [known[rel] for rel in model_files]


_PROVIDER_FIELD = [f.name for f in fields(Model)].index("provider")


def _provider_of(state: int, payload: Any) -> str | None:
    # The provider whose file an outcome was resolved with (None: it read no provider's file).
    provider = payload[_PROVIDER_FIELD] if state == RESOLVED else payload.get("provider") if state == LOADED else None
    return provider if isinstance(provider, str) else None


def _check_catalog(files: CatalogFiles, pool_warnings: bool, outcomes: OutcomeCache | None) -> CatalogCheck:
    check = CatalogCheck(diagnostics=list(files.diagnostics))
    diags = check.diagnostics
    capabilities_doc: YamlDocument | None = None
    provider_docs: dict[str, YamlDocument] = {}
    broken_provider_docs: dict[str, tuple[YamlDocument, list[Diagnostic]]] = {}

    # Files that exist but failed to load: others naming them get no second, misleading error.
    broken_providers: set[str] = set()
    broken_models: set[str] = set()
    shared_files: list[tuple[str, str]] = []
    model_files: list[str] = []
    misplaced: list[tuple[str, Diagnostic]] = []
    for rel in files.paths():
        shown = files.display(rel)
        if not rel.endswith(CATALOG_SUFFIX):
            misplaced.append((rel, Diagnostic(shown, 1, 1, "file-name", "catalog files end in `.yaml`; rename it")))
            continue
        kind = file_kind(rel)
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
        start = len(diags)
        doc, fits_schema, clean = load_document(kind, files.display(rel), raw, diags)
        if kind == "capabilities":
            # A tree the schema accepts is built despite YAML problems, to check the models against it.
            if fits_schema and doc is not None:
                check.documents[rel] = capabilities_doc = doc
            continue
        if clean:
            assert doc is not None
            check.documents[rel] = provider_docs[rel.split("/")[0]] = doc
            continue
        broken_providers.add(rel.split("/")[0])
        if doc is not None:
            broken_provider_docs[rel.split("/")[0]] = (doc, diags[start:])

    if CAPABILITIES_FILE not in files.contents:
        diags.append(Diagnostic(files.display(CAPABILITIES_FILE), 1, 1, "missing-file",
                                "the catalog has no capabilities.yaml; the capability tree is required"))
    tree = check_tree(capabilities_doc, diags) if capabilities_doc is not None else None
    check.tree = tree

    for directory, doc in sorted(provider_docs.items()):
        if not _provider_checks(doc, directory, tree, diags):
            continue
        check.providers[directory] = doc.data
    # A provider file with errors of its own is checked as far as it can be read; its models are not.
    for directory, (doc, earlier) in sorted(broken_provider_docs.items()):
        later: list[Diagnostic] = []
        _provider_checks(doc, directory, tree, later)
        diags.extend(beside(earlier, later))

    context = ModelContext(files, tree, check.providers, frozenset(provider_docs), frozenset(broken_providers))
    seen: dict[str, YamlDocument] = {}
    valid: dict[str, Model] = {}
    # Outcomes come a process's share at a time: this process's own is taken in while the others
    # finish theirs.
    inherited = {provider: (doc.data.get("defaults") or {}).get("lifecycle") or {}
                 for provider, doc in provider_docs.items()}
    lifecycles: list[tuple[YamlDocument, str, Mapping[str, Any]]] = []
    rels = iter(model_files)
    tree_bytes = files.contents.get(CAPABILITIES_FILE, b"") if tree is not None else b""
    with contextlib.closing(_model_outcomes(context, model_files, outcomes, tree_bytes)) as chunks:
        for chunk in chunks:
            for (state, payload, found, raw), rel in zip(chunk, rels, strict=False):  # rels: all chunks
                if raw is not None:  # read by another process
                    if isinstance(raw, int):
                        files.oversized[rel] = raw
                    else:
                        files.contents[rel] = raw
                    files.deferred.pop(rel, None)
                diags.extend(Diagnostic(d[0], d[1], d[2], d[3], d[4], Severity(d[5])) for d in found)
                if state == BROKEN:
                    broken_models.add(model_name(rel))
                    continue
                if state == OVERSIZED:
                    continue
                model: Model | None = None
                if state == RESOLVED:
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
                    first = seen[folded]
                    line, _ = first.locate(["name"])
                    diags.append(at_node(doc, ["name"], "duplicate-name",
                                     f"model `{name}` is already defined in {first.file}:{line}; names "
                                     "are unique (ignoring case)"))
                    # On both files, each naming the other: a copy made in a pull request is the file
                    # its review shows, whichever of the two sorts first.
                    again, _ = doc.locate(["name"])
                    diags.append(at_node(first, ["name"], "duplicate-name",
                                     f"model `{first.data['name']}` is defined again in {doc.file}:{again}; names "
                                     "are unique (ignoring case)"))
                    continue
                seen[folded] = doc
                if model is not None:
                    valid[name] = model

    check_replacements(lifecycles, broken_models, diags)

    if tree is not None and not has_errors(diags):
        check.models = dict(sorted(valid.items()))
        check.pools = build_pools(tree, check.models.values())
        assert capabilities_doc is not None
        if pool_warnings:
            diags.extend(empty_pool_warnings(capabilities_doc, tree, check.pools))
    check.diagnostics = sorted(diags)
    return check
