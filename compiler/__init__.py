"""modelreg: capability-driven AI model routing, compiled from a GitOps catalog.

The public API is importable from here (`from compiler import ModelDefinition, compile_catalog`).
Names load lazily, so `compiler.runtime` can be imported without the compiler's dependencies.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compiler.capability_tree import CapabilityNode as CapabilityNode
    from compiler.capability_tree import CapabilityTree as CapabilityTree
    from compiler.compile import compile_catalog as compile_catalog
    from compiler.compile import validate_catalog as validate_catalog
    from compiler.diagnostics import Diagnostic as Diagnostic
    from compiler.diagnostics import Severity as Severity
    from compiler.errors import BusyError as BusyError
    from compiler.errors import CatalogInvalid as CatalogInvalid
    from compiler.errors import ModelregError as ModelregError
    from compiler.errors import SnapshotError as SnapshotError
    from compiler.errors import StateError as StateError
    from compiler.errors import UnknownCapability as UnknownCapability
    from compiler.errors import UsageError as UsageError
    from compiler.models import Model as Model
    from compiler.models import ModelDefinition as ModelDefinition
    from compiler.pools import CapabilityPool as CapabilityPool
    from compiler.registry import ModelRegistry as ModelRegistry
    from compiler.snapshot import Snapshot as Snapshot
    from compiler.validate import CatalogCheck as CatalogCheck

_EXPORTS = {
    "CapabilityNode": "compiler.capability_tree",
    "CapabilityTree": "compiler.capability_tree",
    "CapabilityPool": "compiler.pools",
    "CatalogCheck": "compiler.validate",
    "Diagnostic": "compiler.diagnostics",
    "Severity": "compiler.diagnostics",
    "Model": "compiler.models",
    "ModelDefinition": "compiler.models",
    "ModelRegistry": "compiler.registry",
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
