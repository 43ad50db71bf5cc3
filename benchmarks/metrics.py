"""Turn raw measurements into the table's rows: names, units, baselines and targets.

The targets come from the performance issue; they live here, beside the keys the JSON uses,
so a reader sees in one screen what each row means and what it is held to.
"""

from __future__ import annotations

import math

from benchmarks.cold_start import StartRuns
from benchmarks.first_paint import PaintRuns
from benchmarks.idle import IdleRun
from benchmarks.inprocess import LiveRefreshRuns, RefreshRuns
from benchmarks.key_latency import KeyRuns
from benchmarks.list_cache_speed import CacheRuns
from benchmarks.report import Metric, Target, median
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


def first_paint_metrics(runs: PaintRuns, tasks: int) -> list[Metric]:
    rows = []
    for kind, limit, what in (("cached", 1.0, "the cached last list"), ("fresh", 1.5, "the fetched list"),
                              ("fresh-after-cache", 1.5, "the fetched list after the cached one")):
        for mode, where in (("headless", "headless"), ("pty", "100x30 pty")):
            rows.append(Metric(
                key=f"first_paint_{kind.replace('-', '_')}_{mode}_s", label=f"First paint of {what} ({tasks} tasks), {where}", unit="s",
                runs=runs.seconds.get(f"app-{kind}-{mode}", []), baseline_runs=runs.seconds.get(f"baseline-{mode}", []),
                baseline_label=f"baseline_app.py first frame with its rows, {mode}",
                target=Target(limit, f"<= {limit:.1f}x baseline", on_ratio=True, inclusive=True),
                unavailable=runs.unavailable.get(f"app-{kind}-{mode}"),
                note="spawn until the first row is on the screen (pty: its text on the terminal; headless: the "
                     "first frame holding it, benchmarks.paint_probe)",
            ))
    return rows


def cache_metrics(runs: CacheRuns) -> list[Metric]:
    rows = []
    for size, steps in runs.runs.items():
        rows.append(Metric(
            key=f"list_cache_{size_name(size)}_load_ms", label=f"Cached list: read + parse {size:,} tasks (a thread)",
            unit="ms", runs=[a + b for a, b in zip(steps["load"], steps["parse"], strict=True)],
            note=f"list_cache.load + CachedList.task_list; file {runs.file_bytes[size] / 1e6:.2f} MB",
        ))
        rows.append(Metric(
            key=f"list_cache_{size_name(size)}_save_ms", label=f"Cached list: save {size:,} tasks (a thread)",
            unit="ms", runs=steps["save"], note="list_cache.save: encode + atomic write with fsync",
        ))
    return rows


def refresh_stall_metrics(runs: RefreshRuns) -> list[Metric]:
    rows = []
    for size, steps in runs.stall_ms.items():
        for step in ("no_change", "change_1pct", "change_all"):
            rows.append(Metric(
                key=f"refresh_{size_name(size)}_{step}_max_stall_ms",
                label=f"{_STEP_LABELS[step]} ({size:,} tasks): longest loop stall", unit="ms", runs=steps[step],
                target=Target(50.0, "< 50 ms") if size >= 50_000 else None,
                note="stall monitor from the list handed to the screen until it is on screen and repainted",
            ))
    return rows


def live_refresh_metrics(runs: LiveRefreshRuns, size: int, added: int = 0) -> list[Metric]:
    what = f"{added:,} new tasks" if added else "nothing changed"
    tag = f"_add{size_name(added) if added >= 1000 else added}" if added else ""
    return [
        Metric(key=f"refresh_{size_name(size)}_live{tag}_s", label=f"Refresh through the app's path, {what} "
               f"({size:,} tasks)", unit="s", runs=runs.seconds,
               note="MainScreen.run_refresh() until the list is stored and repainted (HTTP, decode, parse, diff)"),
        Metric(key=f"refresh_{size_name(size)}_live{tag}_max_stall_ms", label=f"Refresh through the app's path, "
               f"{what} ({size:,} tasks): longest loop stall", unit="ms", runs=runs.stall_ms,
               target=Target(50.0, "< 50 ms"), note="stall monitor across the whole refresh"),
    ]


def live_refresh_note(live: LiveRefreshRuns, grown: LiveRefreshRuns, size: int, added: int) -> str:
    def one(runs: LiveRefreshRuns) -> str:
        return ", ".join(f"{stall:.0f} ms ({cause}; longest collection {gc:.0f} ms)"
                         for stall, cause, gc in zip(runs.stall_ms, runs.stall_causes, runs.gc_ms, strict=True))
    return (f"Refresh through the app's path, {size:,} tasks: longest stall of each run, nothing changed: {one(live)}; "
            f"{added:,} new tasks queued before each: {one(grown)}.")


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
                note="main-thread CPU from the fetched list handed to the screen (ListFetched) until it is on "
                     "screen and repainted; from 2,000 tasks the comparison runs in a thread; parsed beforehand",
            ))
        compares = runs.compare_ms.get(size)
        if compares:
            for step in ("no_change", "change_1pct", "change_all"):
                rows.append(Metric(
                    key=f"refresh_{size_name(size)}_{step}_compare_ms",
                    label=f"{_STEP_LABELS[step]} ({size:,} tasks): the comparison alone", unit="ms",
                    runs=compares[step],
                    note="CPU of TaskTable.compare (in a thread from 2,000 tasks, so not on the loop)",
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


def _ms(values: list[float]) -> list[float]:
    return [v * 1000 for v in values]


def _median_of(values: list[float]) -> float:
    return median(values) if values else math.nan


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
        Metric(key="triage_max_stall_gc_ms", label="Triage: longest stall that was mostly garbage collection", unit="ms",
               runs=[r.worst("GC") * 1000 for r in app], baseline_runs=[r.worst("GC") * 1000 for r in baseline],
               baseline_label="baseline: the same during its keys",
               note="stalls in which gc.callbacks-timed collections took at least half the time"),
        Metric(key="triage_max_stall_other_ms", label="Triage: longest stall that was other work on the loop",
               unit="ms", runs=[r.worst("other") * 1000 for r in app],
               baseline_runs=[r.worst("other") * 1000 for r in baseline],
               baseline_label="baseline: the same during its keys",
               note="stalls in which collections took less than half the time: handlers, layout, disk, HTTP"),
        Metric(key="triage_stalls_over_50ms", label="Triage: stalls over 50 ms (GC / other: see note)", unit="",
               runs=[float(r.over(0.050)) for r in app], baseline_runs=[float(r.over(0.050)) for r in baseline],
               baseline_label="baseline: the same during its keys", target=Target(0.5, "0"),
               note="count per run of monitor overshoots over 50 ms"),
        Metric(key="triage_max_gc_pause_ms", label="Triage: longest garbage collection", unit="ms",
               runs=[max((c.seconds for c in r.collections), default=0.0) * 1000 for r in app],
               baseline_runs=[max((c.seconds for c in r.collections), default=0.0) * 1000 for r in baseline],
               baseline_label="baseline: the same during its keys",
               note="any generation, any thread of the app's process (a collection holds the interpreter lock)"),
        Metric(key="triage_key_to_frame_ms", label="Triage: key to the next frame, median", unit="ms",
               runs=[_median_of(_ms(r.key_to_frame)) for r in app],
               baseline_runs=[_median_of(_ms(r.key_to_frame)) for r in baseline],
               baseline_label="baseline: cursor key to the next frame", target=Target(16.0, "< 16 ms median"),
               note="per run: median over its keys of the time until a frame was handed to the driver"),
        Metric(key="triage_key_to_frame_p95_ms", label="Triage: key to the next frame, 95th percentile", unit="ms",
               runs=[_percentile(_ms(r.key_to_frame), 95) for r in app],
               baseline_runs=[_percentile(_ms(r.key_to_frame), 95) for r in baseline],
               baseline_label="baseline: the same"),
        loop_cpu_metric(app, baseline, tasks),
    ]


def loop_cpu_metric(app: list[TriageRun], baseline: list[TriageRun], tasks: int) -> Metric:
    return Metric(key="triage_loop_cpu_per_key_ms", label="Triage: event-loop CPU per approval", unit="ms",
                  runs=[r.loop_cpu * 1000 / tasks for r in app], baseline_runs=[r.loop_cpu * 1000 / tasks for r in baseline],
                  baseline_label="baseline: event-loop CPU per cursor key",
                  note="time.thread_time of the loop's thread over the run / keys: the cost of a key whatever else "
                       "the machine does (the harness's key polling is in both)")


def paced_triage_metrics(run: TriageRun, baseline: list[TriageRun], tasks: int, pace: float) -> list[Metric]:
    """The paced run: keys no faster than a held key's auto-repeat, so the loop is not saturated by design."""
    every = f"a key every {pace * 1000:.0f} ms"
    return [
        Metric(key="triage_paced_max_stall_ms", label=f"Triage at {every}: longest event-loop stall", unit="ms",
               runs=[run.worst_stall * 1000], baseline_runs=[r.worst_stall * 1000 for r in baseline],
               baseline_label="baseline: longest stall during its keys (unpaced)", target=Target(50.0, "< 50 ms"),
               note="one run; the unpaced runs send each key as soon as the previous is taken, which keeps the loop "
                    "saturated by construction"),
        Metric(key="triage_paced_stalls_over_50ms", label=f"Triage at {every}: stalls over 50 ms", unit="",
               runs=[float(run.over(0.050))], target=Target(0.5, "0")),
        Metric(key="triage_paced_key_to_frame_ms", label=f"Triage at {every}: key to the next frame, median", unit="ms",
               runs=[_median_of(_ms(run.key_to_frame))],
               baseline_runs=[_median_of(_ms(r.key_to_frame)) for r in baseline],
               baseline_label="baseline: cursor key to the next frame", target=Target(16.0, "< 16 ms median")),
    ]


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share / 100 * (len(ordered) - 1))))]


def stall_note(runs: list[TriageRun]) -> str:
    """Each run's stalls over 50 ms by cause, and its collections by generation."""
    parts = []
    for n, run in enumerate(runs, start=1):
        over = [s for s in run.stalls if s.seconds > 0.050]
        gc_over = sum(1 for s in over if s.cause == "GC")
        by_gen: dict[int, list[float]] = {}
        for c in run.collections:
            by_gen.setdefault(c.generation, []).append(c.seconds * 1000)
        gens = ", ".join(f"gen{g} {len(v)}x (max {max(v):.0f} ms)" for g, v in sorted(by_gen.items()))
        parts.append(f"run {n}: {len(over)} stalls over 50 ms ({gc_over} GC, {len(over) - gc_over} other); {gens}")
    return "Triage stalls and collections: " + "; ".join(parts) + "."
