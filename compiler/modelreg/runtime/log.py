"""The runtime's one logger, `modelreg.runtime`: every router event and watcher reload goes to it."""

from __future__ import annotations

import logging

logger = logging.getLogger("modelreg.runtime")
