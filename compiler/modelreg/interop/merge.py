"""What an import writes: each entry matched to a catalog model by (provider, `model_id`), new
models and providers as files in the catalog's style, and for a model the catalog has, only the
fields it does not set yet (every field with `overwrite`). Every entry ends up imported, merged
or skipped with its reason, so the three counts add up to the file's entries."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from modelreg.capability_tree import CapabilityTree
from modelreg.catalog.dotted import ABSENT, copy, get, put, same
from modelreg.catalog.model_file import CatalogModel, dump_model_file, dump_yaml, schema_comment
from modelreg.catalog.paths import PROVIDER_FILE, is_discovery_record, is_model_path, model_path, slug_model_name
from modelreg.errors import UsageError
from modelreg.interop.entries import Parsed, ProviderInfo
from modelreg.models import ModelDefinition
from modelreg.schemas import first_error


@dataclass
class ImportPlan:
    """The files an import writes and what each entry became."""

    source: str
    total: int
    writes: dict[str, bytes] = field(default_factory=dict)
    imported: list[tuple[str, str]] = field(default_factory=list)
    """(key, model name) of entries that became new model files."""
    merged: list[tuple[str, str, list[str]]] = field(default_factory=list)
    """(key, model name, the fields written) of entries matched to a model the catalog has."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    providers_added: list[str] = field(default_factory=list)

    def summary(self) -> str:
        why: dict[str, int] = {}
        for _, reason in self.skipped:
            # Grouped by kind: the names and values in a reason tell entries apart, not kinds.
            kind = re.sub(r"`[^`]*`", "`…`", reason.split(" (")[0].split(": ")[0])
            why[kind] = why.get(kind, 0) + 1
        reasons = "; ".join(f"{n} {kind}" for kind, n in sorted(why.items(), key=lambda kv: (-kv[1], kv[0])))
        text = (f"{self.total} entries: {len(self.imported)} imported, {len(self.merged)} merged into a model "
                f"already there, {len(self.skipped)} skipped")
        return text + (f" ({reasons})" if reasons else "")


def plan_import(parsed: Parsed, models: Mapping[str, CatalogModel], providers: Mapping[str, Mapping[str, Any]],
                tree: CapabilityTree, *, overwrite: bool = False, only: Collection[str] = ()) -> ImportPlan:
    """The plan for `parsed` against the catalog's model files (`models`, by name) and provider
    files (`providers`, by name), resolved against `tree`; `only` keeps the entries of those
    catalog providers."""
    plan = ImportPlan(parsed.source, parsed.total, skipped=list(parsed.skipped))
    by_id = {(m.data.get("provider"), m.model_id): name for name, m in sorted(models.items())}
    docs: dict[str, dict[str, Any]] = {}
    origin: dict[str, str] = {}  # new model name -> the entry's key that made it
    changed: dict[str, list[str]] = {}
    for entry in parsed.entries:
        if only and entry.provider not in only:
            plan.skipped.append((entry.key, f"provider `{entry.provider}` not selected (--provider)"))
            continue
        facts = _known(entry.facts, tree)
        name = by_id.get((entry.provider, entry.model_id))
        defaults = (providers.get(entry.provider) or {}).get("defaults") or {}
        if name is not None:
            doc = docs.setdefault(name, copy(models[name].data) if name in models else {})
            written = _merge(doc, facts, defaults, overwrite=overwrite, new=name not in models)
            changed.setdefault(name, []).extend(written)
            plan.merged.append((entry.key, name, written))
            continue
        name = slug_model_name(entry.provider, entry.model_id)
        if name is None:
            plan.skipped.append((entry.key, "no model name can be made of this key"))
            continue
        if name in models or name in docs:
            other = origin.get(name) or models[name].model_id
            plan.skipped.append((entry.key, f"name collision: `{name}` is already `{other}`"))
            continue
        try:
            rel = model_path(name)
        except UsageError as exc:
            plan.skipped.append((entry.key, f"no valid model name: {exc}"))
            continue
        if not is_model_path(rel) or is_discovery_record(rel):
            plan.skipped.append((entry.key, f"name collision: `{rel}` is the provider's own file"))
            continue
        doc = {"name": name, "provider": entry.provider, "model_id": entry.model_id}
        _merge(doc, facts, defaults, overwrite=True, new=True)
        if not doc.get("capabilities"):
            doc["capabilities"] = []
            put(doc, "lifecycle.status", "discovered")  # in no pool until a person places it
        problem = first_error("model", doc)
        if problem is not None:
            plan.skipped.append((entry.key, f"the entry's values do not fit a model file ({problem})"))
            continue
        docs[name] = doc
        origin[name] = entry.key
        by_id[(entry.provider, entry.model_id)] = name
        plan.imported.append((entry.key, name))
    for name, doc in sorted(docs.items()):
        if name in models and not changed.get(name):
            continue
        rel = model_path(name)
        plan.writes[rel] = dump_model_file(ModelDefinition.from_document(doc), rel).encode("utf-8")
    needed = sorted({doc["provider"] for doc in docs.values()} - set(providers))
    for provider in needed:
        rel = f"{provider}/{PROVIDER_FILE}"
        info = parsed.providers.get(provider) or ProviderInfo(provider)
        plan.writes[rel] = provider_file(provider, info, rel).encode("utf-8")
        plan.providers_added.append(provider)
    return plan


def provider_file(provider: str, info: ProviderInfo, rel: str) -> str:
    """A new `provider.yaml` in the catalog's style."""
    data: dict[str, Any] = {"name": provider, "display_name": info.display_name}
    if info.homepage:
        data["homepage"] = info.homepage
    if info.api_base:
        data["api_base"] = info.api_base
    if info.api_key_env:
        data["api_key_env"] = info.api_key_env
    return schema_comment(rel, "provider.schema.json") + "\n" + dump_yaml(data)


def _known(facts: Mapping[str, Any], tree: CapabilityTree) -> dict[str, Any]:
    # What the catalog's tree and vocabulary can hold; the rest is unknown to it.
    kept = {k: v for k, v in facts.items()
            if not k.startswith("features.") or k.removeprefix("features.") in tree.features}
    kept["capabilities"] = [c for c in facts.get("capabilities", []) if c in tree]
    return kept


def _merge(doc: dict[str, Any], facts: Mapping[str, Any], defaults: Mapping[str, Any], *, overwrite: bool,
           new: bool) -> list[str]:
    """Write `facts` into `doc`: only where neither it nor the provider's defaults say anything,
    or everywhere with `overwrite`. Capabilities are a person's choice in a
    model the catalog has: only `overwrite` replaces them, and never with none."""
    written = []
    for dotted in sorted(facts):
        value = facts[dotted]
        if dotted == "capabilities" and not new and (not overwrite or not value):
            continue
        current = get(doc, dotted)
        if current is not ABSENT and not overwrite:
            continue
        inherited = get(defaults, dotted)
        if current is ABSENT and inherited is not ABSENT and (not overwrite or same(inherited, value)):
            continue  # the provider's defaults set it for every model of the provider
        if not same(current, value):
            put(doc, dotted, value)
            written.append(dotted)
    return written
