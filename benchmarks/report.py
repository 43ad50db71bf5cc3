"""The one results table: figures, their baselines, ratios, targets, and the JSON file.

Each metric records its raw runs beside the median so a surprising figure can be checked
against its spread, and the target is evaluated here, in one place, so the table and the
JSON can never disagree about PASS/MISS.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


def median(values: Sequence[float]) -> float:
    """Median of the runs (the harness's one summary statistic); NaN for no runs."""
    return float(statistics.median(values)) if values else math.nan


@dataclass
class Target:
    """A goal for one figure: `value` (or the ratio, when `on_ratio`) must be below/at `limit`."""

    limit: float
    text: str
    on_ratio: bool = False
    inclusive: bool = False

    def met(self, value: float, ratio: float | None) -> bool | None:
        subject = ratio if self.on_ratio else value
        if subject is None or math.isnan(subject):
            return None
        return subject <= self.limit if self.inclusive else subject < self.limit


@dataclass
class Metric:
    """One row of the table."""

    key: str
    label: str
    unit: str
    runs: list[float]
    baseline_runs: list[float] = field(default_factory=list)
    baseline_label: str = ""
    target: Target | None = None
    note: str = ""
    summary: float | None = None
    """The figure when it is not the median of `runs` (idle: the whole window; runs are slices)."""
    unavailable: str | None = None
    """Why there is no figure (the app cannot do what is measured yet); the row says "n/a"."""

    @property
    def value(self) -> float:
        if self.unavailable is not None:
            return math.nan
        return self.summary if self.summary is not None else median(self.runs)

    @property
    def baseline(self) -> float | None:
        return median(self.baseline_runs) if self.baseline_runs else None

    @property
    def ratio(self) -> float | None:
        base = self.baseline
        if base is None or base <= 0 or math.isnan(base) or math.isnan(self.value):
            return None
        return self.value / base

    @property
    def passed(self) -> bool | None:
        return self.target.met(self.value, self.ratio) if self.target else None

    def to_json(self) -> dict[str, Any]:
        value = self.value
        return {
            "label": self.label,
            "unit": self.unit,
            "value": None if math.isnan(value) else value,
            "unavailable": self.unavailable,
            "runs": self.runs,
            "baseline": self.baseline,
            "baseline_runs": self.baseline_runs,
            "baseline_label": self.baseline_label,
            "ratio": self.ratio,
            "target": asdict(self.target) if self.target else None,
            "pass": self.passed,
            "note": self.note,
        }


def _number(value: float | None, unit: str = "") -> str:
    if value is None or math.isnan(value):
        return "—"
    if unit == "s":
        text = f"{value:.3f}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".rstrip()


def render_table(metrics: Sequence[Metric], title: str, notes: Sequence[str] = ()) -> str:
    """A plain-text table (fixed columns, no colour) that reads the same in CI logs."""
    head = ("Metric", "Median", "Baseline", "x base", "Target", "Result")
    rows = [head]
    for m in metrics:
        ratio = m.ratio
        result = "N/A" if m.unavailable else {True: "PASS", False: "MISS", None: ""}[m.passed]
        rows.append((
            m.label,
            "n/a" if m.unavailable else _number(m.value, m.unit),
            _number(m.baseline, m.unit) if m.baseline is not None else "—",
            f"{ratio:.2f}x" if ratio is not None else "—",
            m.target.text if m.target else "",
            result,
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    align: list[Callable[[str, int], str]] = [str.ljust, str.rjust, str.rjust, str.rjust, str.ljust, str.ljust]
    lines = [title, ""]
    for n, row in enumerate(rows):
        lines.append("  ".join(align[i](cell, widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    if notes:
        lines.append("")
        lines.extend(f"* {note}" for note in notes)
    return "\n".join(lines)


def write_json(path: Path, metrics: Sequence[Metric], meta: dict[str, Any]) -> None:
    """Write every metric (keyed by `Metric.key`) with its runs, baseline, ratio and verdict."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"meta": meta, "metrics": {m.key: m.to_json() for m in metrics}}
    path.write_text(json.dumps(body, indent=2, allow_nan=False, default=_nan_free) + "\n", encoding="utf-8")


def _nan_free(value: object) -> object:  # pragma: no cover - json only calls it for unknown types
    return str(value)
