"""Where a snapshot comes from, a file path or an http(s) URL, and the bounds on loading one.

Apart from `fetch`, so that a service loading a file never imports the HTTP client.
"""

from __future__ import annotations

DEFAULT_FETCH_TIMEOUT = 30.0
# Above a 100,000-model snapshot (about 90 MB).
DEFAULT_MAX_BYTES = 128 * 1024 * 1024


def is_url(source: object) -> bool:
    """True for an http:// or https:// source."""
    return isinstance(source, str) and source.startswith(("http://", "https://"))
