"""Ctrl-C and SIGTERM for commands that send: finish the request in flight, then stop."""

from __future__ import annotations

import asyncio
import signal
from typing import Any


class StopOnSignal:
    """While active, SIGINT and SIGTERM set `event` (the command stops before its next send).
    With `hard_second`, a second Ctrl-C interrupts at once (KeyboardInterrupt: exit 130)."""

    def __init__(self, event: asyncio.Event, hard_second: bool = True) -> None:
        self.event, self.hard_second = event, hard_second
        self.installed: list[int] = []
        self.loop: Any = None

    def __enter__(self) -> StopOnSignal:
        self.loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                self.loop.add_signal_handler(signum, self._handle, signum)
                self.installed.append(signum)
            except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread.
                pass
        return self

    def _handle(self, signum: int) -> None:
        self.event.set()
        if self.hard_second and signum == signal.SIGINT and signum in self.installed:
            self.loop.remove_signal_handler(signum)
            self.installed.remove(signum)

    def __exit__(self, *exc_info: object) -> None:
        for signum in self.installed:
            self.loop.remove_signal_handler(signum)
