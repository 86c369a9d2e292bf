"""Colour for a person at a terminal, and nowhere else.

A stream is coloured when it is a terminal, unless `NO_COLOR` is set to anything but the empty
string (https://no-color.org); `FORCE_COLOR`, set likewise, colours it even when it is not
(https://force-color.org), and `NO_COLOR` wins over it. `TERM=dumb` means no colour unless forced.
The library's output is plain text: colour is added here, as it is printed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

from modelreg.diagnostics import Diagnostic

_RESET = "\x1b[0m"
# Select Graphic Rendition codes: bold red, bold yellow, bold green, bold, faint.
_CODES = {"error": "1;31", "warning": "1;33", "ok": "1;32", "strong": "1", "faint": "2"}


def colour_enabled(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether text written to `stream` is coloured (see the module's rules)."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    if env.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # not a file, or closed
        return False


def paint(text: str, role: str, stream: TextIO) -> str:
    """`text` in the colour of `role` (error, warning, ok, strong, faint) when `stream` is coloured."""
    return f"\x1b[{_CODES[role]}m{text}{_RESET}" if colour_enabled(stream) else text


def diagnostic(d: Diagnostic, stream: TextIO) -> str:
    """A diagnostic's text line (`str(d)`), its place strong and its severity in its colour."""
    text = str(d)
    if not colour_enabled(stream):
        return text
    place = f"{d.file}:{d.line}:{d.column}"
    kind = f"{d.severity.value}[{d.code}]"
    rest = text[len(place) + 2 + len(kind):]  # the message, after ": "
    return f"{paint(place, 'strong', stream)}: {paint(kind, 'error' if d.is_error else 'warning', stream)}{rest}"


def message(level: str, text: str, stream: TextIO) -> str:
    """`modelreg: <level>: <text>` (level: error, warning or note), the level in its colour."""
    role = {"error": "error", "warning": "warning"}.get(level, "faint")
    return f"modelreg: {paint(level, role, stream)}: {text}"
