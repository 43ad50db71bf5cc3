"""The benchmark harness runs end to end (`python -m benchmarks --quick`) and writes every metric.

Behaviour only: CI machines differ too much for thresholds on the numbers, so this checks
that each measurement produced a number, not what the number is.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

METRIC_KEYS = (
    "cold_start_headless_s",
    "cold_start_pty_s",
    *(f"refresh_{size}_{step}_ms" for size in ("1k", "10k", "50k") for step in ("no_change", "change_1pct", "change_all")),
    "first_paint_1k_ms",
    "first_paint_10k_ms",
    "first_paint_50k_ms",
    "key_cursor_10k_ms",
    "filter_key_10k_ms",
    "idle_cpu_percent",
    "idle_bytes_per_min",
    "peak_rss_10k_mb",
    "peak_rss_50k_mb",
    "triage_total_s",
    "triage_max_stall_ms",
)
DAY_KEYS = tuple(f"day_starter_daily_{figure}" for figure in (
    "polls", "429s", "calls_left", "person_failures", "max_age_min", "max_late_s", "old_budget_min"))
"""The compressed day (--quick: Starter under daily headers only, a day in 5 s)."""
UNTIMED = {"idle_cpu_percent", "idle_bytes_per_min", *DAY_KEYS}  # Shares, counts, virtual times: no baseline ratio.


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@pytest.mark.slow
def test_quick_benchmark_writes_every_metric(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL_")}
    user_data = tmp_path / "user-data"  # Stands for the user's real data folder.
    env.update(XDG_DATA_HOME=str(user_data), XDG_CONFIG_HOME=str(tmp_path / "user-config"))
    env.pop("LEXI_TUI_DATA_DIR", None)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    body = json.loads(out.read_text(encoding="utf-8"))
    metrics = body["metrics"]
    assert set(METRIC_KEYS + DAY_KEYS) <= set(metrics), f"missing: {sorted(set(METRIC_KEYS + DAY_KEYS) - set(metrics))}"
    for key in METRIC_KEYS + DAY_KEYS:
        entry = metrics[key]
        assert _is_number(entry["value"]), (key, entry["value"])
        assert entry["runs"] and all(_is_number(v) for v in entry["runs"]), (key, entry["runs"])
        if key not in UNTIMED:
            assert _is_number(entry["baseline"]) and _is_number(entry["ratio"]), (key, entry)
        if entry["target"] is not None:
            assert entry["pass"] in (True, False), key
    days = body["meta"]["extras"]["days"]
    assert [(d["plan"], d["headers"]) for d in days] == [("starter", "daily")]
    assert len(days[0]["polls_by_hour"]) == 24 and "polls by UTC hour" in done.stdout
    for key in METRIC_KEYS + DAY_KEYS:  # The printed table names every row too.
        assert metrics[key]["label"] in done.stdout
    # The triage phase approves tasks in the harness's own process: its audit log and undo
    # journal belong to the harness's temporary home, not the user's.
    assert not list(user_data.rglob("*")), sorted(user_data.rglob("*"))
