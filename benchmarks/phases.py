"""The harness's phases, in the order they run, each with the local service it needs.

Phases never overlap (they would measure each other on a 2-core machine), and each starts
a service holding exactly the tasks it needs, so no phase depends on another's leftovers.
Every phase returns the table rows it produced plus footnotes and extra figures for the JSON.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from benchmarks import (
    cold_start,
    day,
    first_paint,
    idle,
    inprocess,
    key_latency,
    list_cache_speed,
    metrics,
    triage,
    triage_child,
)
from benchmarks.baseline_app import baseline_rows
from benchmarks.child_env import COLUMNS, LINES, app_command, baseline_command, child_env
from benchmarks.plan import Plan
from benchmarks.report import Metric, median
from benchmarks.service import start_pending_service
from benchmarks.service_process import ServiceProcess
from benchmarks.task_data import pending_tasks

TRIAGE_BUDGET = 45.0
"""Seconds of triage after which no further triage run starts (a slow app must not blow 5 min)."""

T = TypeVar("T")


@dataclass
class Outcome:
    """What the phases produced so far."""

    rows: list[Metric] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


def progress(message: str) -> None:
    """One line on stderr, so a long run shows where it is while stdout keeps only the table."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def timed(name: str, action: Callable[[], T]) -> T:
    started = time.perf_counter()
    progress(f"{name}…")
    result = action()
    progress(f"{name}: {time.perf_counter() - started:.1f} s")
    return result


def app_marker() -> str:
    """Text of the first task's row: once it is on the terminal, the list has been painted."""
    return pending_tasks(1)[0]["description"][:30]


def baseline_marker() -> str:
    return baseline_rows(1)[0][2][:30]


def refresh_phase(plan: Plan, out: Outcome) -> None:
    """Refresh steps in-process against an empty service (the lists are fed to the screen)."""
    with start_pending_service(0) as service:
        refresh = timed("refresh (in-process)", lambda: inprocess.measure_refresh(
            service.base_url, service.api_key, plan.refresh_sizes, plan.runs, plan.stall_sizes))
    reload_ms = timed("baseline reload (in-process)", lambda: inprocess.measure_baseline_reload(max(plan.runs, 3)))
    size = plan.live_refresh_tasks
    added = size // 100
    with ServiceProcess(size, admin=True) as service:
        live = timed(f"refresh through the app's path, {size:,} tasks", lambda: inprocess.measure_live_refresh(
            service.base_url, service.api_key, size, plan.live_refresh_runs))
        grown = timed(f"refresh through the app's path, {size:,} tasks + {added:,} new", lambda: (
            inprocess.measure_live_refresh(service.base_url, service.api_key, size, plan.live_refresh_runs,
                                           add_per_run=added, root_url=service.root_url)))
    cache = timed("cached list save/load", lambda: list_cache_speed.measure_cache(plan.cache_sizes, plan.runs))
    out.rows += metrics.refresh_metrics(refresh, reload_ms)
    out.rows += metrics.refresh_stall_metrics(refresh)
    out.rows += metrics.live_refresh_metrics(live, size)
    out.rows += metrics.live_refresh_metrics(grown, size, added=added)
    out.notes.append(metrics.live_refresh_note(live, grown, size, added))
    out.rows += metrics.cache_metrics(cache)
    out.extras["pilot_pause_floor_ms"] = refresh.pause_floor_ms
    out.notes.append(
        "Refresh rows: main-thread CPU (time.thread_time) from a fetched list handed to the screen as the refresh "
        "engine hands it (ListFetched; from 2,000 tasks compared in a thread, the difference applied on the loop) "
        "until it is on screen, plus the repaint (await pilot.pause()), 120x36 headless; tasks parsed once "
        "beforehand, so HTTP and JSON parsing are excluded; the comparison alone is timed apart. "
        f"An idle pilot.pause() alone costs {median(refresh.pause_floor_ms):.1f} ms of that. The stall rows run the "
        "same steps again under the 2 ms stall monitor; the live rows refresh through MainScreen.run_refresh() "
        "against a service in its own process (from 1 MB a body is decoded value by value, with the collector "
        "paused and what it made frozen).")


def triage_phase(plan: Plan, out: Outcome) -> None:
    """Approve `plan.triage_tasks` tasks per run; more runs only while within TRIAGE_BUDGET."""
    runs: list[triage.TriageRun] = []
    spent = 0.0
    while len(runs) < plan.runs and (not runs or spent < TRIAGE_BUDGET):
        with ServiceProcess(plan.triage_tasks, seed=100 + len(runs)) as service:
            started = time.perf_counter()
            runs.append(timed(f"triage run {len(runs) + 1}", lambda: triage_child.run_in_child(
                "app", plan.triage_tasks, service.base_url, service.api_key)))
            spent += time.perf_counter() - started
    base = [timed("baseline keys", lambda: triage_child.run_in_child("baseline", plan.triage_tasks)) for _ in runs]
    with ServiceProcess(plan.triage_tasks, seed=99) as service:
        paced = timed(f"triage, a key every {plan.triage_pace * 1000:.0f} ms", lambda: triage_child.run_in_child(
            "app", plan.triage_tasks, service.base_url, service.api_key, pace=plan.triage_pace))
    out.rows += metrics.triage_metrics(runs, base, plan.triage_tasks)
    out.rows += metrics.paced_triage_metrics(paced, base, plan.triage_tasks, plan.triage_pace)
    out.notes.append(metrics.stall_note(runs))
    out.notes.append(metrics.stall_note([paced]).replace("Triage stalls", "Paced triage stalls"))
    out.extras["triage_stalls_ms"] = [[(round(s.seconds * 1000, 1), s.cause) for s in r.stalls if s.seconds > 0.02]
                                      for r in runs]
    if len(runs) < plan.runs:
        out.notes.append(f"Triage ran {len(runs)}x, not {plan.runs}x: no new run starts after {TRIAGE_BUDGET:.0f} s, "
                         "to keep the harness under 5 minutes.")
    out.notes.append(
        "Triage: keys enter as the pilot sends them (Key events through the driver); the next key follows once the "
        "app has marked the task in flight (pilot.press's idle wait never ends while the 2 ms stall monitor runs). "
        "Each run is a process of its own (benchmarks.triage_child: the collector sees the app's objects, not the "
        "harness's) and so is the service (until 2026-12-03 both ran in the harness's process, sharing the "
        "interpreter lock and the collector with the app). A stall is GC when gc.callbacks-timed collections took "
        "at least half of it; key to frame = until App._display got the next frame.")


def start_and_idle_phase(plan: Plan, out: Outcome) -> None:
    """Cold start (app and baseline, headless and pty) and idle cost, with 200 tasks."""
    with start_pending_service(plan.cold_start_tasks) as service:
        starts = timed("cold start", lambda: cold_start.measure_cold_start(service.base_url, plan.runs, plan.warmup))
        run = timed(f"idle ({plan.idle_seconds:.0f} s)", lambda: idle.measure_idle(
            app_command(service.base_url, "--refresh", "5"), child_env(headless=False), app_marker(),
            plan.idle_seconds))
    out.rows += metrics.cold_start_metrics(starts)
    out.rows += metrics.idle_metrics(run)
    out.notes.append(
        f"Cold start: spawn of the real `lexi-tui --exit-after-load` until it exits after painting the list; pty "
        f"{COLUMNS}x{LINES}, TERM=xterm-256color; headless = TEXTUAL_DRIVER=textual.drivers.headless_driver:"
        "HeadlessDriver." + (" One unmeasured warm-up spawn each first." if plan.warmup else ""))


def first_paint_phase(plan: Plan, out: Outcome) -> None:
    """First paint of the fetched and of the cached list (issue 16), headless and in a pty."""
    tasks = plan.cold_start_tasks
    with start_pending_service(tasks) as fresh, start_pending_service(
            tasks, latency_ms=first_paint.CACHED_LATENCY_MS) as slow:
        runs = timed("first paint (fresh and cached)", lambda: first_paint.measure_first_paint(
            fresh.base_url, slow.base_url, plan.runs, tasks, plan.warmup))
    out.rows += metrics.first_paint_metrics(runs, tasks)
    out.notes.append(
        "First paint: spawn until the first task's text is on the 100x30 pty, or (headless) until the first frame "
        "holding the list (benchmarks.paint_probe wraps the real entry points and hooks App._display). Fresh: empty "
        "data folder, service answering at once. Fresh after cached: the same, with a list_cache file for that "
        "service (renamed rows), until the fetched list replaces it. Cached: a list_cache file written beforehand "
        f"(descriptions tagged), service answering after {first_paint.CACHED_LATENCY_MS / 1000:g} s."
        + (" Cached: not available (" + next(iter(runs.unavailable.values())) + ")." if runs.unavailable else ""))


def keys_and_memory_phase(plan: Plan, out: Outcome) -> None:
    """Key latency with 10,000 tasks on a pty; peak RSS with 10,000 and 50,000 tasks."""
    sessions = plan.runs if plan.quick else min(plan.runs, 3)
    memory: dict[int, list[int]] = {}
    with start_pending_service(plan.key_latency_tasks) as service:
        keys = timed("key latency", lambda: key_latency.measure_keys(
            app_command(service.base_url, "--refresh", "0"), child_env(headless=False), app_marker(),
            sessions, plan.key_presses, plan.filter_letters))
        if plan.key_latency_tasks in plan.memory_sizes:
            memory[plan.key_latency_tasks] = timed(f"peak RSS {plan.key_latency_tasks:,}", lambda: (
                cold_start.measure_peak_rss(cold_start.app_argv(service.base_url), sessions)))
    base_keys = timed("baseline key latency", lambda: key_latency.measure_keys(
        baseline_command("--stay"), child_env(headless=False), baseline_marker(),
        sessions, plan.key_presses, (), key=b"\x1b[B"))
    for size in plan.memory_sizes:
        if size not in memory:
            with timed(f"service with {size:,} tasks", lambda: start_pending_service(size)) as service:
                memory[size] = timed(f"peak RSS {size:,}", lambda: cold_start.measure_peak_rss(
                    cold_start.app_argv(service.base_url), sessions))
    base_rss = timed("baseline peak RSS", lambda: cold_start.measure_peak_rss(baseline_command(), sessions))
    out.rows += metrics.key_metrics(keys, base_keys, plan.key_latency_tasks)
    out.rows += metrics.memory_metrics(dict(sorted(memory.items())), base_rss)
    out.extras["key_cursor_settle_ms"] = [s * 1000 for s in keys.settle]
    out.extras["key_cursor_bytes_per_key"] = keys.bytes_per_key
    out.notes.append(
        f"Key latency: {sessions} session(s) x {plan.key_presses} presses, median of session medians. The baseline "
        "DataTable has no `j` binding, so it gets Down. Filter = `/`, then one letter (then Backspace), timed to the "
        "last byte before 30 ms of silence (the 30 ms not counted).")


def day_phase(plan: Plan, out: Outcome) -> None:
    """Compressed days of live refresh (issue 12): each (plan, headers) in `plan.day_runs`."""
    runs = []
    for plan_name, headers in plan.day_runs:
        runs.append(timed(f"compressed day: {plan_name}, {headers} headers (x{plan.day_scale:g})", lambda: day.live_through_day(
            plan_name, headers, plan.day_scale, plan.day_approvals)))
    old = {(p, h): timed(f"old budget: {p}, {h} headers", lambda: day.old_budget_minutes(p, h, plan.day_scale))
           for p, h in plan.day_runs}
    out.rows += day.day_metrics(runs, old)
    out.extras["days"] = [run.summary() for run in runs]
    out.notes.append(
        f"Compressed days: the local service and the engine's clock run {plan.day_scale:g}x faster; a scripted person "
        f"works 09-17 UTC (a key every {day.KEY_EVERY / 60:g} min, focused; away otherwise) and approves "
        f"{plan.day_approvals} tasks through the engine's provider; figures are day 1's (a whole UTC day), in virtual "
        "time, after the rest of the day the service started in (day 0).")
    out.notes.extend(day.hours_note(run) for run in runs)


PHASES: tuple[Callable[[Plan, Outcome], None], ...] = (
    refresh_phase, triage_phase, start_and_idle_phase, first_paint_phase, keys_and_memory_phase, day_phase)
