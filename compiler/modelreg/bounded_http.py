"""Bounded HTTP requests: a part of the contract the runtime ships alone, and which lives there
(`modelreg.runtime.bounded_http`). The compiler's modules import it by this name.
"""

from modelreg.runtime.bounded_http import (
    Deadline,
    is_loopback,
    open_connection,
    proxy_for,
    tls_context,
)

__all__ = ["Deadline", "is_loopback", "open_connection", "proxy_for", "tls_context"]
