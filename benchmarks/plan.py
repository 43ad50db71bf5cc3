"""How much to measure: the full run (under 5 minutes, plus up to 4 for the compressed days) and the
CI smoke run (--quick).

Keeping every count in one place makes the time budget of a run readable at a glance and
lets `--quick` exercise every code path with fewer repetitions rather than fewer metrics.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    """Repetitions and sizes for one harness run."""

    quick: bool
    runs: int
    """Repetitions per figure; the figure is their median."""
    warmup: bool
    """Run each cold start once unmeasured first, so the page cache and .pyc files are warm."""
    refresh_sizes: tuple[int, ...] = (1_000, 10_000, 50_000)
    stall_sizes: tuple[int, ...] = (50_000,)
    """Refresh sizes whose steps are also run under the stall monitor (issue 16: never over
    50 ms at 50,000 tasks)."""
    live_refresh_tasks: int = 50_000
    """A refresh through the app's real path (HTTP, decode, parse, store) of this many tasks."""
    live_refresh_runs: int = 3
    cache_sizes: tuple[int, ...] = (200, 10_000, 50_000)
    """Sizes of the cached last list whose save and load are timed."""
    key_presses: int = 30
    filter_letters: tuple[str, ...] = ("c", "e", "s")
    idle_seconds: float = 60.0
    triage_tasks: int = 500
    triage_pace: float = 1 / 30
    """Seconds between keys in the paced triage run: a held key's auto-repeat (~30 a second)."""
    cold_start_tasks: int = 200
    key_latency_tasks: int = 10_000
    memory_sizes: tuple[int, ...] = (10_000, 50_000)
    day_runs: tuple[tuple[str, str], ...] = (("starter", "daily"), ("starter", "minute"), ("pro", "daily"),
                                             ("pro", "minute"))
    """(plan, headers) of each compressed day (`benchmarks.day`)."""
    day_scale: float = 2_880.0
    """How much faster than real time a compressed day runs (2,880: a day in 30 s; a run lives
    through the rest of today and one whole day, so at most a minute)."""
    day_approvals: int = 20

    @classmethod
    def full(cls) -> Plan:
        return cls(quick=False, runs=5, warmup=True)

    @classmethod
    def quick_smoke(cls) -> Plan:
        """Every metric once, small counts: checks the harness works, not the numbers."""
        return cls(quick=True, runs=1, warmup=False, key_presses=8, filter_letters=("c",), live_refresh_runs=1,
                   idle_seconds=10.0, triage_tasks=50, day_runs=(("starter", "daily"),), day_scale=17_280.0,
                   day_approvals=10)
