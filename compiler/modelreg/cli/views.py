"""What `show` and `route` print: one document per answer, written as text tables or as versioned
JSON (`schemas/show.schema.json`, `schemas/route.schema.json`).

The text is made from the JSON document, so the two never say different things. This lives with
the CLI because a route is the runtime's answer, and only the CLI stands on the runtime.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from modelreg.build.snapshot import Snapshot
from modelreg.errors import UsageError
from modelreg.runtime import Route, SnapshotModel, SnapshotRegistry

SHOW_FORMAT = "modelreg-show"
ROUTE_FORMAT = "modelreg-route"
VERSION = 1

Document = dict[str, Any]


def to_json(document: Mapping[str, Any]) -> str:
    """A document as the JSON that `--format json` prints (sorted keys, one final newline)."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _record_row(record: Mapping[str, Any]) -> Document:
    return {"name": record["name"], "provider": record["provider"], "model_id": record["model_id"],
            "status": record["lifecycle"].get("status", "active"), "priority": record["priority"],
            "context_window": record["limits"].get("context_window")}


def _model_row(model: SnapshotModel) -> Document:
    return {"name": model.name, "provider": model.provider, "model_id": model.model_id, "status": model.status,
            "priority": model.priority, "context_window": model.context_window}


def show_document(snapshot: Snapshot, source: str, *, capability: str | None = None, provider: str | None = None,
                  model_id: str | None = None) -> Document:
    """What `show` answers: the tree with pool sizes, one pool (of one provider), one provider's
    models, or the models a provider calls `model_id`. UsageError for an unknown provider (outside
    a lookup by model ID, which may find none), UnknownCapability for an unknown capability."""
    records: Mapping[str, Any] = snapshot.document["models"]
    pools = snapshot.pools
    non_empty = sum(1 for members in pools.values() if members)
    document: Document = {
        "format": SHOW_FORMAT, "version": VERSION,
        "snapshot": {"source": source, "label": snapshot.version["label"], "commit": snapshot.version["commit"],
                     "digest": snapshot.digest},
        "summary": {"models": len(records), "providers": len(snapshot.providers), "pools": len(pools),
                    "non_empty_pools": non_empty, "text": snapshot.summary()},
        "view": "tree", "capability": None, "provider": None, "model_id": model_id, "models": None,
        "capabilities": None, "discovered": None,
    }
    if model_id is not None:
        chosen = [rec for _, rec in sorted(records.items())
                  if rec["model_id"] == model_id and (not provider or rec["provider"] == provider)]
        document.update(view="model-id", models=[_record_row(rec) for rec in chosen])
        if provider and provider in snapshot.providers:
            document["provider"] = _provider(snapshot, provider)
        return document
    if provider and provider not in snapshot.providers:
        raise UsageError(f"unknown provider `{provider}`; known: {', '.join(sorted(snapshot.providers))}")
    if provider:
        document["provider"] = _provider(snapshot, provider)
    if capability:
        path = snapshot.tree.resolve(capability)
        members = [records[name] for name in pools[path]]
        # With a provider too: the pool's members of that provider, in pool order.
        chosen = [rec for rec in members if not provider or rec["provider"] == provider]
        document.update(view="pool", capability={"path": path, "pool_size": len(members)},
                        models=[_record_row(rec) for rec in chosen])
        return document
    if provider:
        document.update(view="provider", models=[_record_row(rec) for _, rec in sorted(records.items())
                                                 if rec["provider"] == provider])
        return document
    tree = snapshot.tree
    nodes = []
    for root in tree.roots():
        for path in [root.path, *tree.descendants(root.path)]:
            node = tree.nodes[path]
            nodes.append({"path": path, "depth": node.depth, "description": node.description,
                          "aliases": list(node.aliases), "deprecated": node.deprecated is not None,
                          "pool_size": len(pools[path])})
    discovered = [name for name, rec in sorted(records.items()) if rec["lifecycle"].get("status") == "discovered"]
    document.update(capabilities=nodes, discovered=discovered)
    return document


def _provider(snapshot: Snapshot, name: str) -> Document:
    return {"name": name, "display_name": snapshot.providers[name].get("display_name")}


def show_text(document: Mapping[str, Any]) -> str:
    """The text `show` prints for a `show_document`."""
    lines: list[str] = []
    view, models = document["view"], document["models"]
    provider = document["provider"]
    if view == "model-id":
        lines.append(f"model ID `{document['model_id']}`: {len(models)} model(s)")
        if models:
            lines += _table(models)
    elif view == "pool":
        capability = document["capability"]
        if provider:
            lines.append(f"{capability['path']}, provider {provider['name']}: {len(models)} of "
                         f"{capability['pool_size']} model(s)")
        else:
            lines.append(f"{capability['path']}: {capability['pool_size']} model(s)")
        lines += _table(models)
    elif view == "provider":
        lines.append(f"{provider['name']} ({provider['display_name'] or ''}): {len(models)} model(s)")
        lines += _table(models)
    else:
        for node in document["capabilities"]:
            label = "  " * node["depth"] + node["path"].rsplit(".", 1)[-1]
            extra = f"  aliases: {', '.join(node['aliases'])}" if node["aliases"] else ""
            if node["deprecated"]:
                extra += "  (deprecated)"
            lines.append(f"{label:<44} {node['pool_size']:>5}{extra}")
        if document["discovered"]:
            lines += ["", f"discovered, in no pool until their capabilities are filled in: "
                          f"{', '.join(document['discovered'])}"]
        lines += ["", document["summary"]["text"]]
    return "".join(line + "\n" for line in lines)


def route_document(route: Route, registry: SnapshotRegistry, source: str, request: Mapping[str, Any]) -> Document:
    """What `route` answers: the request as asked (`request`, the capability as typed included),
    the models that would serve it in routing order, and why every other member of the pool would not."""
    version = registry.version
    return {
        "format": ROUTE_FORMAT, "version": VERSION,
        "snapshot": {"source": source, "label": version.label, "commit": version.commit, "digest": version.digest},
        "request": dict(request),
        "capability": route.capability,
        "pool_size": route.pool_size,
        "candidates": [_model_row(model) for model in route.candidates],
        "excluded": [{"model": _model_row(model), "reason": why} for model, why in route.excluded],
    }


def route_text(document: Mapping[str, Any]) -> str:
    """The text `route` prints for a `route_document`."""
    asked, path = document["request"]["capability"], document["capability"]
    candidates, excluded = document["candidates"], document["excluded"]
    alias = f" (alias `{asked}`)" if path != asked else ""
    lines = [f"{path}{alias}: {len(candidates)} of {document['pool_size']} model(s) can serve, in routing order"]
    if candidates:
        lines += _rows([("#", "MODEL", "PROVIDER", "STATUS", "PRIORITY", "CONTEXT", "MODEL ID"),
                        *((str(i), m["name"], m["provider"], m["status"], str(m["priority"]),
                           _context(m["context_window"]), m["model_id"]) for i, m in enumerate(candidates, 1))])
    else:
        lines.append("no model can serve this request")
    if excluded:
        lines += ["", f"excluded ({len(excluded)}):"]
        lines += _rows([("MODEL", "REASON"), *((e["model"]["name"], e["reason"]) for e in excluded)])
    return "".join(line + "\n" for line in lines)


def _context(tokens: int | None) -> str:
    return f"{tokens:,}" if tokens is not None else "-"


def _table(models: Sequence[Mapping[str, Any]]) -> list[str]:
    return _rows([("MODEL", "STATUS", "PRIORITY", "CONTEXT", "MODEL ID"),
                  *((m["name"], m["status"], str(m["priority"]), _context(m["context_window"]), m["model_id"])
                    for m in models)])


def _rows(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
