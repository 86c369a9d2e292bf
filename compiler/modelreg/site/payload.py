"""The data the site's script reads (`data.js`): the catalog as compact rows, so that a page per
model, every pool and the table of models cost one file however many models there are.

A model is a row of values in the order of `MODEL_FIELDS` (the script names them from the
payload's `fields`); providers, capabilities, features and commits are listed once and referred
to by their index.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from modelreg.build.snapshot import Snapshot
from modelreg.site.history import SiteHistory

PAYLOAD_VERSION = 1
# The global the script reads the payload from.
GLOBAL = "MODELREG_SITE"
MODEL_FIELDS = (
    "name", "display_name", "description", "provider", "model_id", "status", "priority", "delivery", "batch",
    "context_window", "max_output_tokens", "input_cost", "output_cost", "currency", "capabilities", "features",
    "inputs", "outputs", "released", "deprecated_at", "retires_at", "replacement", "registered_at", "last_commit",
    "last_change", "commits",
)


def tree_order(snapshot: Snapshot) -> list[str]:
    """Every capability path, each root followed by its descendants depth first, as `modelreg
    show` lists the tree."""
    tree = snapshot.tree
    return [path for root in tree.roots() for path in (root.path, *tree.descendants(root.path))]


def build_payload(snapshot: Snapshot, history: SiteHistory) -> dict[str, Any]:
    """The payload as JSON-ready data."""
    document = snapshot.document
    providers = sorted(document["providers"])
    provider_index = {name: i for i, name in enumerate(providers)}
    capabilities = tree_order(snapshot)
    capability_index = {path: i for i, path in enumerate(capabilities)}
    features = sorted(document["features"])
    feature_index = {name: i for i, name in enumerate(features)}
    names = sorted(document["models"])
    commits: list[list[Any]] = []
    commit_index: dict[str, int] = {}
    rows = []
    for name in names:
        model = document["models"][name]
        lifecycle, limits, cost = model["lifecycle"], model["limits"], model["cost"]
        change = history.changes.get(model["source"])
        last_commit = None
        if change is not None:
            last_commit = commit_index.get(change.commit)
            if last_commit is None:
                last_commit = commit_index[change.commit] = len(commits)
                commits.append([change.commit, int(change.date.timestamp()), change.author, change.subject])
        registered = model["registered_at"]
        values = {
            "name": name,
            "display_name": model.get("display_name"),
            "description": model.get("description"),
            "provider": provider_index[model["provider"]],
            "model_id": model["model_id"],
            "status": lifecycle.get("status"),
            "priority": model["priority"],
            "delivery": model["delivery"],
            "batch": model["batch"],
            "context_window": limits.get("context_window"),
            "max_output_tokens": limits.get("max_output_tokens"),
            "input_cost": cost.get("input_per_mtok"),
            "output_cost": cost.get("output_per_mtok"),
            "currency": cost.get("currency"),
            "capabilities": [capability_index[path] for path in model["capabilities"]],
            "features": [feature_index[f] for f, on in sorted(model["features"].items()) if on and f in feature_index],
            "inputs": model["modalities"].get("input", []),
            "outputs": model["modalities"].get("output", []),
            "released": lifecycle.get("released"),
            "deprecated_at": lifecycle.get("deprecated_at"),
            "retires_at": lifecycle.get("retires_at"),
            "replacement": lifecycle.get("replacement"),
            # Seconds since the epoch: a tenth of an ISO date's bytes, formatted by the script.
            "registered_at": int(datetime.fromisoformat(registered).timestamp()) if registered else None,
            "last_commit": last_commit,
            "last_change": change.change if change is not None else None,
            "commits": change.commits if change is not None else None,
        }
        rows.append([values[f] for f in MODEL_FIELDS])
    model_index = {name: i for i, name in enumerate(names)}
    version = snapshot.version
    return {
        "version": PAYLOAD_VERSION,
        "snapshot": {"label": version["label"], "commit": version.get("commit"), "dirty": version.get("dirty"),
                     "history": version.get("history"), "digest": snapshot.digest},
        "history_note": history.changes_note,
        "providers": [[name, document["providers"][name].get("display_name") or name] for name in providers],
        "capabilities": capabilities,
        "features": features,
        "commits": commits,
        "fields": list(MODEL_FIELDS),
        "models": rows,
        # Pools in the order of `capabilities`, each in routing order, as indexes into `models`.
        "pools": [[model_index[n] for n in document["pools"][path]] for path in capabilities],
    }


def render_payload(payload: dict[str, Any]) -> bytes:
    """`data.js`: one assignment of the payload to a global. `<`, `>` and `&` are written as
    escapes, so no catalog string can end a script element or open a comment wherever the text
    lands; `ensure_ascii` escapes U+2028 and U+2029 too."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"), sort_keys=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"window.{GLOBAL} = {text};\n".encode("ascii")
