"""Longest event-loop stall: a coroutine that asks for 2 ms sleeps and records the overshoot.

Anything that holds the loop (a slow handler, a big repaint, a synchronous call) delays the
monitor's wake-up by the same amount, so its worst overshoot is the longest time a key would
have waited during the measured stretch.
"""

from __future__ import annotations

import asyncio
import time

TICK = 0.002


class StallMonitor:
    """Start with `start()` inside the loop to watch; `stop()` returns the worst overshoot (s)."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(TICK)
            overshoot = time.perf_counter() - asked - TICK
            self.samples += 1
            if overshoot > self.worst:
                self.worst = overshoot

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        return self.worst
