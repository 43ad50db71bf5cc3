"""The local Lexi service, started in the harness process with exactly N pending tasks.

Running it in-process (a uvicorn thread) keeps the app's requests on loopback with no added
latency; its CPU is never charged to the app, which always runs in another process or is
timed with per-thread CPU clocks.
"""

from __future__ import annotations

from benchmarks.task_data import pending_tasks
from lexi_tui.server.options import ServerOptions
from lexi_tui.server.runner import RunningServer, start_server


def start_pending_service(count: int, *, seed: int = 1, latency_ms: float = 0.0, admin: bool = False) -> RunningServer:
    """A service holding `count` pending tasks (demo key, no faults, no rate limit); each answer
    is delayed by `latency_ms` (a slow link); `admin` opens /_admin (adding tasks mid-run)."""
    options = ServerOptions(tasks=tuple(pending_tasks(count, seed=seed)), exec_delay=3600.0, failure_rate=0.0,
                            latency_ms=(latency_ms, latency_ms), admin=admin)
    return start_server(options)
