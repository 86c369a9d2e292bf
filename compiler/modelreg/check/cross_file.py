"""The rules that span files: the capability tree's own consistency, replacements that name
live models without looping, and the capabilities that no model serves."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sized
from typing import Any

from modelreg.capability_tree import CapabilityTree
from modelreg.catalog.yaml_loader import YamlDocument
from modelreg.check.located import at_node, node_path
from modelreg.diagnostics import Diagnostic, Severity
from modelreg.errors import did_you_mean


def check_tree(doc: YamlDocument, diags: list[Diagnostic]) -> CapabilityTree:
    tree = CapabilityTree.from_mapping(doc.data)
    owners: dict[str, str] = {}
    for node in tree:
        for i, alias in enumerate(node.aliases):
            where = [*node_path(node.path), "aliases", i]
            if alias in tree.nodes:
                diags.append(at_node(doc, where, "alias-conflict",
                                 f"alias `{alias}` of `{node.path}` is also a capability path; rename it"))
            elif alias in owners:
                diags.append(at_node(doc, where, "alias-conflict",
                                 f"alias `{alias}` of `{node.path}` is already an alias of `{owners[alias]}`"))
            else:
                owners[alias] = node.path
        if node.deprecated and node.deprecated.get("replacement"):
            replacement = node.deprecated["replacement"]
            where = [*node_path(node.path), "deprecated", "replacement"]
            if replacement not in tree:
                hint = did_you_mean(tree.suggest(replacement))
                diags.append(at_node(doc, where, "unknown-capability",
                                 f"replacement `{replacement}` is not a capability{hint}"))
            elif tree.resolve(replacement) == node.path:
                diags.append(at_node(doc, where, "bad-replacement", "a capability cannot be its own replacement"))
            elif tree.lookup(replacement).deprecated is not None:
                diags.append(at_node(doc, where, "bad-replacement",
                                 f"replacement `{replacement}` is itself deprecated; name a live capability"))
    return tree


def check_replacements(models: list[tuple[YamlDocument, str, Mapping[str, Any]]], broken: set[str],
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
                diags.append(at_node(doc, ["lifecycle", "status"], "retired-without-replacement",
                                 "a retired model must name its `replacement` so callers can move"))
            continue
        if replacement == name:
            diags.append(at_node(doc, where, "bad-replacement", "a model cannot be its own replacement"))
            continue
        target = lifecycles.get(replacement.lower())
        if target is None:
            if replacement not in broken:  # a file with errors of its own is reported there
                known = [known_name for _, known_name, _ in lifecycles.values()]
                close = difflib.get_close_matches(replacement, known, n=1)
                diags.append(at_node(doc, where, "unknown-replacement",
                                 f"replacement `{replacement}` is not a model in the catalog{did_you_mean(close)}"))
            continue
        status = target[2].get("status", "active")
        if status == "retired":
            diags.append(at_node(doc, where, "bad-replacement",
                             f"replacement `{replacement}` is itself retired; name the model that replaces it"))
            continue
        chain = [name, replacement]
        current = target
        while (following := current[2].get("replacement")) is not None and following.lower() in lifecycles:
            if following in chain:
                loop = " -> ".join([*chain[chain.index(following):], following])
                diags.append(at_node(doc, where, "bad-replacement", f"replacements loop: {loop}"))
                break
            chain.append(following)
            current = lifecycles[following.lower()]
        else:
            if status == "deprecated":
                diags.append(at_node(doc, where, "deprecated-replacement",
                                 f"replacement `{replacement}` is itself deprecated; consider `{chain[-1]}`",
                                 severity=Severity.WARNING))


def empty_pool_warnings(doc: YamlDocument, tree: CapabilityTree, pools: Mapping[str, Sized]) -> list[Diagnostic]:
    """A warning at each live capability that no model serves (in `capabilities.yaml`, `doc`),
    naming only the topmost empty node: everything below an empty node is empty too. `pools`
    holds each node's members (pools, or lists of names)."""
    found = []
    for path, pool in pools.items():
        node = tree.nodes[path]
        parent_empty = node.parent is not None and not pools[node.parent]
        if not pool and node.deprecated is None and not parent_empty:
            below = " (nor any node below it)" if node.children else ""
            found.append(at_node(doc, node_path(path), "empty-pool",
                                 f"no model serves `{path}`{below}; add one or remove the node",
                                 key=True, severity=Severity.WARNING))
    return found
