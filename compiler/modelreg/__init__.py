"""modelreg: capability-driven AI model routing, compiled from a GitOps catalog.

The public API is importable from here (`from modelreg import ModelDefinition, compile_catalog`).
Names load lazily, so `modelreg.runtime` can be imported without the compiler's dependencies.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelreg.build.compile import compile_catalog as compile_catalog
    from modelreg.build.compile import validate_catalog as validate_catalog
    from modelreg.build.snapshot import Snapshot as Snapshot
    from modelreg.capability_tree import CapabilityNode as CapabilityNode
    from modelreg.capability_tree import CapabilityTree as CapabilityTree
    from modelreg.check.catalog_check import CatalogCheck as CatalogCheck
    from modelreg.diagnostics import Diagnostic as Diagnostic
    from modelreg.diagnostics import Severity as Severity
    from modelreg.errors import BusyError as BusyError
    from modelreg.errors import CatalogInvalid as CatalogInvalid
    from modelreg.errors import ModelregError as ModelregError
    from modelreg.errors import SnapshotError as SnapshotError
    from modelreg.errors import StateError as StateError
    from modelreg.errors import UnknownCapability as UnknownCapability
    from modelreg.errors import UsageError as UsageError
    from modelreg.models import Model as Model
    from modelreg.models import ModelDefinition as ModelDefinition
    from modelreg.registry import ModelRegistry as ModelRegistry
    from modelreg.resolve.pools import CapabilityPool as CapabilityPool

_EXPORTS = {
    "CapabilityNode": "modelreg.capability_tree",
    "CapabilityTree": "modelreg.capability_tree",
    "CapabilityPool": "modelreg.resolve.pools",
    "CatalogCheck": "modelreg.check.catalog_check",
    "Diagnostic": "modelreg.diagnostics",
    "Severity": "modelreg.diagnostics",
    "Model": "modelreg.models",
    "ModelDefinition": "modelreg.models",
    "ModelRegistry": "modelreg.registry",
    "Snapshot": "modelreg.build.snapshot",
    "compile_catalog": "modelreg.build.compile",
    "validate_catalog": "modelreg.build.compile",
    "ModelregError": "modelreg.errors",
    "CatalogInvalid": "modelreg.errors",
    "UnknownCapability": "modelreg.errors",
    "SnapshotError": "modelreg.errors",
    "StateError": "modelreg.errors",
    "BusyError": "modelreg.errors",
    "UsageError": "modelreg.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'modelreg' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
