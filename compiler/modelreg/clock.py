"""The date a change made by modelreg stamps (a deprecation found by sync, one an import reads):
`SOURCE_DATE_EPOCH` when set, so runs are reproducible, else today in UTC."""

from __future__ import annotations

import os
from datetime import UTC, datetime


def today() -> str:
    """`YYYY-MM-DD`: `SOURCE_DATE_EPOCH`'s date, or today's in UTC."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    when = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    return when.strftime("%Y-%m-%d")
