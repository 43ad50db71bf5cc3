"""Idle cost: CPU share and terminal bytes of a loaded app left alone with live refresh on.

An idle TUI left open all day over SSH should cost neither battery nor bandwidth: CPU comes
from /proc/PID/stat (utime + stime, all threads) and bytes from the pty master, both over a
window that starts once the first list is painted and the screen has gone quiet. The window
is one long run (a minute of a 5 s refresh is what the target is about), read in slices so
the spread is visible too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from benchmarks.pty_probe import CLOCK_TICKS, PtyChild, cpu_ticks

LOAD_TIMEOUT = 60.0
SLICE = 10.0


@dataclass
class IdleRun:
    """CPU as % of one core and bytes scaled to a minute: whole window and per slice."""

    cpu_percent: float
    bytes_per_minute: float
    seconds: float
    slice_cpu_percent: list[float] = field(default_factory=list)
    slice_bytes_per_minute: list[float] = field(default_factory=list)


def measure_idle(argv: list[str], env: dict[str, str], marker: str, seconds: float) -> IdleRun:
    """Start `argv` on a pty, wait for `marker` and 1 s of calm, then watch it for `seconds`."""
    with PtyChild(argv, env) as child:
        if not child.wait_text(marker, LOAD_TIMEOUT):
            raise RuntimeError(f"{argv[0]}: {marker!r} never appeared on the terminal")
        child.wait_quiet(1.0, 15.0)
        marks = [(cpu_ticks(child.pid), child.bytes_read, time.perf_counter())]
        slices = max(1, round(seconds / SLICE))
        for _ in range(slices):
            child.pump(seconds / slices)
            if child.exited_at is not None:
                raise RuntimeError(f"{argv[0]} exited while idle")
            marks.append((cpu_ticks(child.pid), child.bytes_read, time.perf_counter()))

    def rates(a: tuple[int, int, float], b: tuple[int, int, float]) -> tuple[float, float]:
        elapsed = b[2] - a[2]
        return 100.0 * (b[0] - a[0]) / CLOCK_TICKS / elapsed, (b[1] - a[1]) * 60.0 / elapsed

    cpu, per_minute = rates(marks[0], marks[-1])
    pairs = [rates(a, b) for a, b in zip(marks, marks[1:], strict=False)]
    return IdleRun(cpu, per_minute, marks[-1][2] - marks[0][2],
                   [p[0] for p in pairs], [p[1] for p in pairs])
