"""`python -m benchmarks [--quick] [--json PATH]`: run every measurement, print one table.

Progress goes to stderr so stdout holds just the table (and its footnotes); the same rows
go to the JSON file with their raw runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import textual

from benchmarks.child_env import isolate_this_process
from benchmarks.phases import PHASES, Outcome, progress
from benchmarks.plan import Plan
from benchmarks.report import Metric, render_table, write_json

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"
ORDER = ("cold_start", "first_paint_fresh", "first_paint_cached", "refresh_1k", "refresh_10k", "refresh_50k",
         "first_paint", "list_cache", "key_", "filter_", "idle_", "peak_rss", "triage_", "day_")


def ordered(rows: list[Metric]) -> list[Metric]:
    """Rows in reading order (the issue's order), whatever order the phases ran in."""
    def rank(metric: Metric) -> int:
        return next((n for n, prefix in enumerate(ORDER) if metric.key.startswith(prefix)), len(ORDER))

    return sorted(rows, key=rank)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="Measure lexi-tui against a bare "
                                     "Textual app and print one table.")
    parser.add_argument("--quick", action="store_true", help="CI smoke test: every metric, fewest repetitions")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, metavar="PATH",
                        help="where to write the results (default: benchmarks/results/latest.json)")
    args = parser.parse_args(argv)
    isolate_this_process()
    plan = Plan.quick_smoke() if args.quick else Plan.full()
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    out = Outcome()
    for phase in PHASES:
        phase(plan, out)
    elapsed = time.perf_counter() - started
    load_after = os.getloadavg()[0]
    out.notes.append("x base = the figure / the baseline app's figure for the matching operation, same session.")
    out.notes.append(f"Machine: {os.cpu_count()} cores; 1-min load average {load_before:.2f} at start, "
                     f"{load_after:.2f} at end (other processes on the machine add noise).")
    rows = ordered(out.rows)
    title = (f"lexi-tui benchmarks ({'quick' if plan.quick else 'full'}: medians of {plan.runs} run(s); "
             f"Textual {textual.__version__}, Python {platform.python_version()}; ran {elapsed:.0f} s)")
    print(render_table(rows, title, out.notes), flush=True)
    meta = {"quick": plan.quick, "runs": plan.runs, "elapsed_s": elapsed, "textual": textual.__version__,
            "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "load_average": [load_before, load_after], "time": time.time(), "extras": out.extras,
            "notes": out.notes}
    write_json(args.json, rows, meta)
    progress(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
