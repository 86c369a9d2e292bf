"""The capability tree: a part of the contract the runtime ships alone, and which lives there
(`modelreg.runtime.capability_tree`). The compiler's modules import it by this name.
"""

from modelreg.runtime.capability_tree import (
    CapabilityNode,
    CapabilityTree,
)

__all__ = ["CapabilityNode", "CapabilityTree"]
