"""Local, Lexi-compatible HTTP service (an independent peer of the API client).

It speaks the documented LeadLex Lexi API under `/functions/v1/api-gateway`, so a client only
changes the host. It shares no code with `lexi_tui.api` or `lexi_tui.ui`: the contract is HTTP.

Heavy imports (uvicorn, starlette) are deferred until `start_server` is used, so importing
this package (e.g. to build the CLI parser) stays cheap on the TUI's start-up path.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .options import DEMO_KEY, GATEWAY_PREFIX, ServerOptions

if TYPE_CHECKING:
    from .runner import RunningServer, start_server

logging.getLogger("lexi_tui.server").addHandler(logging.NullHandler())

__all__ = ["DEMO_KEY", "GATEWAY_PREFIX", "RunningServer", "ServerOptions", "start_server"]


def __getattr__(name: str) -> Any:
    """Load the runner on first use of `start_server` / `RunningServer`."""
    if name in ("start_server", "RunningServer"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
