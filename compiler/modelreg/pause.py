"""Pause points: named steps where a process can be held, so that a test can kill it exactly there
(`MODELREG_PAUSE_AT=<step>`) and check what the kill leaves behind. Standard library only.

A held process writes the step's name to the file that `MODELREG_PAUSE_FILE` names (a FIFO the
test reads, so it knows without polling that the process got there) and waits to be killed.
Unset, a pause point is one dictionary lookup.
"""

from __future__ import annotations

import os
import time

PAUSE_AT = "MODELREG_PAUSE_AT"
PAUSE_FILE = "MODELREG_PAUSE_FILE"


def pause_at(step: str) -> None:
    """Hold the process here if `MODELREG_PAUSE_AT` names `step`."""
    if os.environ.get(PAUSE_AT) != step:
        return
    marker = os.environ.get(PAUSE_FILE)
    if marker:
        with open(marker, "w", encoding="utf-8") as fh:
            fh.write(step)
    while True:
        time.sleep(60)
