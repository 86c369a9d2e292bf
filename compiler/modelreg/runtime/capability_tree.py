"""The capability tree: what a model can be asked to do, as a hierarchy of dotted paths.

`generation.text-generation` is the node `text-generation` under `generation`. A model registered
at a node belongs to the pool of that node and of every ancestor. Nodes may carry aliases (`chat`
-> `generation.text-generation`) and a deprecation. Standard library only: the runtime shares it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import UnknownCapability


@dataclass(frozen=True)
class CapabilityNode:
    """One node of the tree."""

    path: str
    parent: str | None
    children: tuple[str, ...] = ()
    description: str = ""
    aliases: tuple[str, ...] = ()
    deprecated: Mapping[str, str] | None = None

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    @property
    def depth(self) -> int:
        return self.path.count(".")


@dataclass
class CapabilityTree:
    """The parsed tree: nodes by path, aliases, and the feature vocabulary.

    Lookups accept a canonical path or an alias; an unknown one raises `UnknownCapability` with
    "did you mean" suggestions, so a typo never looks like an empty pool.
    """

    nodes: dict[str, CapabilityNode]
    aliases: dict[str, str] = field(default_factory=dict)
    features: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CapabilityTree:
        """Build the tree from the content of `capabilities.yaml` (already schema-valid).

        Alias clashes are resolved first-come; `check_tree` reports them as diagnostics.
        """
        nodes: dict[str, CapabilityNode] = {}
        aliases: dict[str, str] = {}

        def walk(children: Mapping[str, Any], parent: str | None) -> tuple[str, ...]:
            paths = []
            for name, spec in children.items():
                spec = spec or {}
                path = f"{parent}.{name}" if parent else name
                kids = walk(spec.get("children") or {}, path)
                nodes[path] = CapabilityNode(
                    path=path,
                    parent=parent,
                    children=kids,
                    description=spec.get("description", ""),
                    aliases=tuple(spec.get("aliases") or ()),
                    deprecated=dict(spec["deprecated"]) if spec.get("deprecated") is not None else None,
                )
                for alias in spec.get("aliases") or ():
                    aliases.setdefault(alias, path)
                paths.append(path)
            return tuple(paths)

        walk(data.get("capabilities") or {}, None)
        features = dict(data.get("features") or {})
        return cls(nodes=nodes, aliases=aliases, features=features)

    @classmethod
    def from_snapshot(
        cls, capabilities: Mapping[str, Any], aliases: Mapping[str, str], features: Mapping[str, str]
    ) -> CapabilityTree:
        """Rebuild the tree from a snapshot's `capabilities`, `aliases` and `features`."""
        nodes = {
            path: CapabilityNode(
                path=path,
                parent=rec["parent"],
                children=tuple(rec["children"]),
                description=rec["description"],
                aliases=tuple(rec["aliases"]),
                deprecated=rec["deprecated"],
            )
            for path, rec in capabilities.items()
        }
        return cls(nodes=nodes, aliases=dict(aliases), features=dict(features))

    def __contains__(self, path: object) -> bool:
        return path in self.nodes or path in self.aliases

    def __iter__(self) -> Iterator[CapabilityNode]:
        return iter(self.nodes.values())

    def __len__(self) -> int:
        return len(self.nodes)

    def paths(self) -> list[str]:
        """Every canonical path, sorted."""
        return sorted(self.nodes)

    def roots(self) -> list[CapabilityNode]:
        return [n for n in self.nodes.values() if n.parent is None]

    def resolve(self, path: str) -> str:
        """The canonical path for a path or alias; raises UnknownCapability."""
        if path in self.nodes:
            return path
        target = self.aliases.get(path)
        if target is not None:
            return target
        raise UnknownCapability(path, self.suggest(path))

    def lookup(self, path: str) -> CapabilityNode:
        """The node at a path or alias; raises UnknownCapability."""
        return self.nodes[self.resolve(path)]

    def ancestors(self, path: str) -> list[str]:
        """Paths of the node's ancestors, nearest first (the node itself excluded)."""
        node = self.lookup(path)
        result = []
        while node.parent is not None:
            result.append(node.parent)
            node = self.nodes[node.parent]
        return result

    def descendants(self, path: str) -> list[str]:
        """Paths of every node below this one, depth first in declaration order."""
        result: list[str] = []
        stack = list(reversed(self.lookup(path).children))
        while stack:
            current = stack.pop()
            result.append(current)
            stack.extend(reversed(self.nodes[current].children))
        return result

    def suggest(self, name: str, *, limit: int = 3) -> list[str]:
        """Close matches for a misspelt path or alias, best first."""
        candidates = list(self.nodes) + list(self.aliases)
        # Someone writing only the leaf (`text-generation`) means the full path.
        leaf = [p for p in self.nodes if p.rsplit(".", 1)[-1] == name]
        close = difflib.get_close_matches(name, candidates, n=limit, cutoff=0.6)
        if not close:
            by_leaf = {p.rsplit(".", 1)[-1]: p for p in self.nodes}
            close = [by_leaf[m] for m in difflib.get_close_matches(name.rsplit(".", 1)[-1], list(by_leaf), n=1)]
        merged: list[str] = []
        for candidate in leaf + close:
            canonical = self.aliases.get(candidate, candidate)
            if canonical not in merged:
                merged.append(canonical)
        return merged[:limit]

    def suggest_feature(self, name: str) -> list[str]:
        """Close matches for a misspelt feature name."""
        return difflib.get_close_matches(name, list(self.features), n=3, cutoff=0.6)

    def to_snapshot(self) -> dict[str, Any]:
        """The tree as the snapshot stores it: path -> node record."""
        return {
            node.path: {
                "path": node.path,
                "parent": node.parent,
                "children": list(node.children),
                "aliases": list(node.aliases),
                "description": node.description,
                "deprecated": dict(node.deprecated) if node.deprecated is not None else None,
            }
            for node in self.nodes.values()
        }
