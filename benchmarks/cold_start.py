"""Cold start: spawn the real `lexi-tui` until its task list is painted; and its peak memory.

`--exit-after-load` makes the app quit right after the frame that shows the fetched list,
and the baseline quits after its first frame, so spawn-to-exit times the same journey for
both (interpreter start, imports, first fetch, first paint, teardown). Runs alternate app
and baseline so drift on a shared machine hits both alike.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field

from benchmarks.child_env import app_command, baseline_command, child_env
from benchmarks.headless_probe import run_headless
from benchmarks.pty_probe import PtyChild
from benchmarks.rss_probe import peak_rss_kb

CHILD_TIMEOUT = 60.0


@dataclass
class StartRuns:
    """Seconds from spawn to exit after the first painted list, per run."""

    seconds: list[float] = field(default_factory=list)


def start_once(argv: list[str], *, headless: bool) -> float:
    """One spawn-to-exit run, headless or on a 100x30 pty; returns seconds.

    Each run has a data folder of its own: nothing cached from an earlier run (the app keeps
    each fetched list for its next start), so every run times the same journey. A start from
    the cached list is `first_paint`'s "fresh after cached"."""
    with tempfile.TemporaryDirectory(prefix="lexi-bench-cold-") as data:
        return _start_once(argv, headless=headless, data=data)


def _start_once(argv: list[str], *, headless: bool, data: str) -> float:
    if headless:
        return run_headless(argv, dict(child_env(headless=True), XDG_DATA_HOME=data), CHILD_TIMEOUT)
    with PtyChild(argv, dict(child_env(headless=False), XDG_DATA_HOME=data)) as child:
        ended = child.wait_exit(CHILD_TIMEOUT)
        if ended.code != 0:
            raise RuntimeError(f"{' '.join(argv)} exited with {ended.code}")
        assert child.exited_at is not None
        return child.exited_at - child.started


def app_argv(base_url: str) -> list[str]:
    """The cold-start probe: fetch the pending list, paint it, exit (live refresh off)."""
    return app_command(base_url, "--exit-after-load", "--refresh", "0")


def measure_cold_start(base_url: str, runs: int, warmup: bool) -> dict[str, StartRuns]:
    """App and baseline, headless and under a pty: {"app-headless": ..., "baseline-pty": ...}."""
    commands = {"app": app_argv(base_url), "baseline": baseline_command()}
    results = {f"{who}-{mode}": StartRuns() for who in commands for mode in ("headless", "pty")}
    for n in range(runs + (1 if warmup else 0)):
        for who, argv in commands.items():
            for mode in ("headless", "pty"):
                seconds = start_once(argv, headless=mode == "headless")
                if warmup and n == 0:
                    continue
                results[f"{who}-{mode}"].seconds.append(seconds)
    return results


def measure_peak_rss(argv: list[str], runs: int) -> list[int]:
    """Peak RSS (KB) of `argv` run headless to its own exit (see rss_probe for why a spawner)."""
    return [peak_rss_kb(argv, child_env(headless=True), CHILD_TIMEOUT) for _ in range(runs)]
