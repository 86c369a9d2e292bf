"""Capability pools: for each node of the tree, the ordered models that can serve it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from modelreg.capability_tree import CapabilityTree
from modelreg.models import Model


class CapabilityPool:
    """The ordered members of one capability node.

    Members are the models registered at the node or any descendant. Active and preview models
    come before deprecated ones, then lower `priority` first, then name; retired models, and
    models discovery found but could not place (`discovered`), are never members.
    """

    def __init__(self, path: str, models: Iterable[Model] = (), *, ordered: bool = False) -> None:
        """`ordered`: the models are already members (`Model.in_pools`) and in pool order."""
        self.path = path
        if ordered:
            self._members: tuple[Model, ...] = tuple(models)
            return
        members = [m for m in models if m.in_pools]
        members.sort(key=Model.pool_key)
        self._members = tuple(members)

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
    # Sorted once, then dealt out in order: every pool comes out ordered without a sort of its own.
    serving: list[Model] = []
    for model in models:
        if not model.in_pools:
            model.pools = []
        else:
            serving.append(model)
    serving.sort(key=Model.pool_key)
    # Models share their capability lists: each distinct one is traced up the tree once.
    lineages: dict[tuple[str, ...], list[str]] = {}
    for model in serving:
        capabilities = tuple(model.capabilities)
        lineage = lineages.get(capabilities)
        if lineage is None:
            found = set(capabilities)
            for capability in capabilities:
                found.update(tree.ancestors(capability))
            lineage = lineages[capabilities] = sorted(found)
        model.pools = list(lineage)
        for path in lineage:
            members[path].append(model)
    return {path: CapabilityPool(path, group, ordered=True) for path, group in members.items()}
