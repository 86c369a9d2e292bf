"""Pausing the collector: a part of the contract the runtime ships alone, and which lives there
(`modelreg.runtime.gc_pause`). The compiler's modules import it by this name.
"""

from modelreg.runtime.gc_pause import (
    CollectorPause,
    collector_paused,
)

__all__ = ["CollectorPause", "collector_paused"]
