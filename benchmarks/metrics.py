"""Turn raw measurements into the table's rows: names, units, baselines and targets.

The targets come from the performance issue; they live here, beside the keys the JSON uses,
so a reader sees in one screen what each row means and what it is held to.
"""

from __future__ import annotations

from benchmarks.cold_start import StartRuns
from benchmarks.idle import IdleRun
from benchmarks.inprocess import RefreshRuns
from benchmarks.key_latency import KeyRuns
from benchmarks.report import Metric, Target
from benchmarks.triage import TriageRun


def size_name(size: int) -> str:
    """1000 -> "1k", 50000 -> "50k" (the JSON keys use these)."""
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def cold_start_metrics(runs: dict[str, StartRuns]) -> list[Metric]:
    rows = []
    for mode, label in (("headless", "Cold start, headless (200 tasks)"), ("pty", "Cold start, 100x30 pty (200 tasks)")):
        rows.append(Metric(
            key=f"cold_start_{mode}_s", label=label, unit="s",
            runs=runs[f"app-{mode}"].seconds, baseline_runs=runs[f"baseline-{mode}"].seconds,
            baseline_label=f"baseline_app.py, {mode}, spawn to exit after first frame",
            target=Target(1.25, "<= 1.25x baseline", on_ratio=True, inclusive=True),
            note="spawn until exit right after the list is painted (--exit-after-load)",
        ))
    return rows


_STEP_LABELS = {
    "no_change": "Refresh, nothing changed",
    "change_1pct": "Refresh, 1% changed",
    "change_all": "Refresh, everything changed",
    "first_paint": "First paint of the full list",
}


def _refresh_target(step: str, size: int) -> Target | None:
    if size == 10_000 and step == "no_change":
        return Target(10.0, "< 10 ms")
    if size == 10_000 and step == "change_1pct":
        return Target(30.0, "< 30 ms")
    if size == 10_000 and step == "first_paint":
        return Target(300.0, "< 300 ms")
    if size == 50_000 and step == "first_paint":
        return Target(1500.0, "< 1.5 s")
    return None


def refresh_metrics(runs: RefreshRuns, baseline_reload_ms: list[float]) -> list[Metric]:
    rows = []
    for size, steps in runs.runs.items():
        for step in ("no_change", "change_1pct", "change_all", "first_paint"):
            name = size_name(size)
            key = f"first_paint_{name}_ms" if step == "first_paint" else f"refresh_{name}_{step}_ms"
            rows.append(Metric(
                key=key, label=f"{_STEP_LABELS[step]} ({size:,} tasks)", unit="ms",
                runs=steps[step], baseline_runs=baseline_reload_ms,
                baseline_label="baseline DataTable: clear + add its 200 rows + repaint (main-thread CPU)",
                target=_refresh_target(step, size),
                note="main-thread CPU of _store() + the repaint; tasks parsed beforehand (no HTTP)",
            ))
    return rows


def key_metrics(app: KeyRuns, baseline: KeyRuns, tasks: int) -> list[Metric]:
    return [
        Metric(
            key=f"key_cursor_{size_name(tasks)}_ms", label=f"Key j -> first output byte ({tasks:,} tasks, pty)",
            unit="ms", runs=[s * 1000 for s in app.first_byte], baseline_runs=[s * 1000 for s in baseline.first_byte],
            baseline_label="baseline DataTable, Down -> first output byte",
            target=Target(16.0, "< 16 ms median"),
        ),
        Metric(
            key=f"filter_key_{size_name(tasks)}_ms", label=f"Filter keystroke -> output quiet ({tasks:,} tasks, pty)",
            unit="ms", runs=[s * 1000 for s in app.filter_settle], baseline_runs=[s * 1000 for s in baseline.settle],
            baseline_label="baseline DataTable, Down -> output quiet",
            target=Target(50.0, "< 50 ms"),
            note="last byte before 30 ms of silence; the 30 ms are not counted",
        ),
    ]


def idle_metrics(run: IdleRun) -> list[Metric]:
    return [
        Metric(key="idle_cpu_percent", label=f"Idle CPU, --refresh 5 ({run.seconds:.0f} s window)", unit="%",
               runs=run.slice_cpu_percent, summary=run.cpu_percent, target=Target(0.5, "< 0.5% of a core"),
               note="utime+stime from /proc over the whole window; runs are 10 s slices"),
        Metric(key="idle_bytes_per_min", label="Idle terminal output, --refresh 5", unit="B/min",
               runs=run.slice_bytes_per_minute, summary=run.bytes_per_minute, target=Target(2048.0, "< 2 KB/min"),
               note="pty master bytes over the window, scaled to a minute; runs are 10 s slices"),
    ]


def memory_metrics(by_size: dict[int, list[int]], baseline_kb: list[int]) -> list[Metric]:
    rows = []
    for size, kbs in by_size.items():
        rows.append(Metric(
            key=f"peak_rss_{size_name(size)}_mb", label=f"Peak RSS ({size:,} tasks, --exit-after-load)", unit="MB",
            runs=[kb / 1024 for kb in kbs], baseline_runs=[kb / 1024 for kb in baseline_kb],
            baseline_label="baseline_app.py peak RSS (headless)",
            target=Target(80.0, "< 80 MB") if size == 10_000 else None,
            note="ru_maxrss from os.wait4; MB = 2^20 bytes",
        ))
    return rows


def triage_metrics(app: list[TriageRun], baseline: list[TriageRun], tasks: int) -> list[Metric]:
    return [
        Metric(key="triage_total_s", label=f"Triage: approve {tasks} tasks, one key each", unit="s",
               runs=[r.seconds for r in app], baseline_runs=[r.seconds for r in baseline],
               baseline_label=f"baseline DataTable, {tasks} cursor keys through the same path",
               note="first key until the last approval is confirmed"),
        Metric(key="triage_max_stall_ms", label="Triage: longest event-loop stall", unit="ms",
               runs=[r.worst_stall * 1000 for r in app], baseline_runs=[r.worst_stall * 1000 for r in baseline],
               baseline_label="baseline: longest stall during its keys",
               target=Target(50.0, "< 50 ms"),
               note="worst overshoot of a 2 ms sleep loop on the app's event loop"),
    ]
