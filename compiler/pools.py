"""Capability pools: for each node of the tree, the ordered models that can serve it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from compiler.capability_tree import CapabilityTree
from compiler.models import Model


class CapabilityPool:
    """The ordered members of one capability node.

    Members are the models registered at the node or any descendant. Active and preview models
    come before deprecated ones, then lower `priority` first, then name; retired models are
    never members.
    """

    def __init__(self, path: str, models: Iterable[Model] = ()) -> None:
        self.path = path
        members = [m for m in models if m.status != "retired"]
        members.sort(key=Model.pool_key)
        self._members: tuple[Model, ...] = tuple(members)

    @property
    def members(self) -> Sequence[Model]:
        return self._members

    @property
    def names(self) -> list[str]:
        return [m.name for m in self._members]

    def __iter__(self) -> Iterator[Model]:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, name: object) -> bool:
        return any(m.name == name for m in self._members)

    def __repr__(self) -> str:
        return f"CapabilityPool({self.path!r}, {self.names!r})"


def build_pools(tree: CapabilityTree, models: Iterable[Model]) -> dict[str, CapabilityPool]:
    """One pool per node of the tree (empty ones included), and each model's `pools` set.

    A model is a member of the node it declares and of every ancestor of it.
    """
    members: dict[str, list[Model]] = {path: [] for path in tree.nodes}
    for model in models:
        lineage: set[str] = set()
        for capability in model.capabilities:
            lineage.add(capability)
            lineage.update(tree.ancestors(capability))
        model.pools = sorted(lineage) if model.status != "retired" else []
        for path in lineage:
            members[path].append(model)
    return {path: CapabilityPool(path, group) for path, group in members.items()}
