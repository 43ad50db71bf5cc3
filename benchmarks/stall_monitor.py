"""Longest event-loop stall: a coroutine that asks for 2 ms sleeps and records the overshoot.

Anything that holds the loop (a slow handler, a big repaint, a synchronous call) delays the
monitor's wake-up by the same amount, so its worst overshoot is the longest time a key would
have waited during the measured stretch. Each overshoot over `record_over` is also kept with
its start and end, and `GcTimer` keeps every garbage collection of the process, so a stall can
be told apart: mostly a collection ("GC"), or work done on the loop ("other").
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from dataclasses import dataclass
from typing import Any

TICK = 0.002
RECORD_OVER = 0.010


@dataclass(frozen=True)
class Stall:
    """One overshoot of the monitor's sleep: when it began and ended (perf_counter seconds) and
    how much of it a garbage collection took."""

    start: float
    end: float
    gc_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        return self.end - self.start - TICK

    @property
    def cause(self) -> str:
        """"GC" when collections took at least half of the stall, else "other"."""
        return "GC" if self.gc_seconds >= self.seconds / 2 else "other"


class StallMonitor:
    """Start with `start()` inside the loop to watch; `stop()` returns the worst overshoot (s)."""

    def __init__(self, record_over: float = RECORD_OVER) -> None:
        self.worst = 0.0
        self.samples = 0
        self.record_over = record_over
        self.stalls: list[Stall] = []
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(TICK)
            woke = time.perf_counter()
            overshoot = woke - asked - TICK
            self.samples += 1
            if overshoot > self.worst:
                self.worst = overshoot
            if overshoot > self.record_over:
                self.stalls.append(Stall(asked, woke))

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


@dataclass(frozen=True)
class Collection:
    """One garbage collection: its generation, the thread it ran in, when it began and ended."""

    generation: int
    thread: str
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


class GcTimer:
    """Times every garbage collection between `start()` and `stop()` (`gc.callbacks`).

    A collection in any thread holds the interpreter lock, so it stops the event loop too;
    each is kept with the thread it ran in.
    """

    def __init__(self) -> None:
        self.collections: list[Collection] = []
        self._begun: dict[int, tuple[float, int]] = {}

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter()
        ident = threading.get_ident()
        if phase == "start":
            self._begun[ident] = (now, int(info["generation"]))
            return
        begun = self._begun.pop(ident, None)
        if begun is not None:
            self.collections.append(Collection(begun[1], threading.current_thread().name, begun[0], now))

    def start(self) -> None:
        gc.callbacks.append(self._callback)

    def stop(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def attribute(self, stalls: list[Stall]) -> list[Stall]:
        """`stalls` with the time collections took inside each."""
        out = []
        for stall in stalls:
            inside = sum(max(0.0, min(stall.end, c.end) - max(stall.start, c.start)) for c in self.collections)
            out.append(Stall(stall.start, stall.end, inside))
        return out
