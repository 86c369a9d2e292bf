"""modelreg: capability-driven AI model routing, compiled from a GitOps catalog.

The public API is importable from here (`from compiler import ModelDefinition, compile_catalog`).
Names load lazily, so `compiler.runtime` can be imported without the compiler's dependencies.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compiler.capability_tree import CapabilityNode, CapabilityTree
    from compiler.compile import compile_catalog, validate_catalog
    from compiler.diagnostics import Diagnostic, Severity
    from compiler.errors import (
        BusyError,
        CatalogInvalid,
        ModelregError,
        SnapshotError,
        StateError,
        UnknownCapability,
        UsageError,
    )
    from compiler.models import Model, ModelDefinition
    from compiler.pools import CapabilityPool
    from compiler.snapshot import Snapshot
    from compiler.validate import CatalogCheck

_EXPORTS = {
    "CapabilityNode": "compiler.capability_tree",
    "CapabilityTree": "compiler.capability_tree",
    "CapabilityPool": "compiler.pools",
    "CatalogCheck": "compiler.validate",
    "Diagnostic": "compiler.diagnostics",
    "Severity": "compiler.diagnostics",
    "Model": "compiler.models",
    "ModelDefinition": "compiler.models",
    "Snapshot": "compiler.snapshot",
    "compile_catalog": "compiler.compile",
    "validate_catalog": "compiler.compile",
    "ModelregError": "compiler.errors",
    "CatalogInvalid": "compiler.errors",
    "UnknownCapability": "compiler.errors",
    "SnapshotError": "compiler.errors",
    "StateError": "compiler.errors",
    "BusyError": "compiler.errors",
    "UsageError": "compiler.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'compiler' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
