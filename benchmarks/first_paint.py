"""First paint: from spawn until the list is on the screen, cached and fresh, headless and in a pty.

Issue 16 asks for two figures against the bare Textual app's first frame in the same run:

* **fresh**: the list fetched from the local service, nothing cached (a new data folder each
  run). Target: within 1.5x of the baseline's first frame.
* **fresh after cached**: the same fresh list, but with a cache file for that service on disk,
  as every start but the first has: the time until the *fetched* list replaces the cached one
  (what a person waits for before they can act). The cached tasks are renamed (`CACHED_TAG`
  and a row number) so no cached row can pass for the fetched one on the pty. Target: the
  fresh list's, within 1.5x.
* **cached**: the last list kept on disk (`lexi_tui.core.list_cache`), painted before the
  network answers. The harness writes the cache file itself, with every description starting
  `CACHED_TAG`, and the service delays every answer by `CACHED_LATENCY_MS` so a fresh list
  cannot be what is painted first. Target: within 1.0x. An app that does not paint its cache
  never shows a tagged row: the figure is then "not available" (after `CACHED_ATTEMPTS` tries,
  so an app without the feature costs the harness little).

In a pty the moment is when the row's text reaches the terminal (`PtyChild.wait_text`); the
baseline's is its first row. Headless there is no terminal: `benchmarks.paint_probe` runs the
same entry points and reports the first frame that holds the list (see there). Runs alternate
app and baseline so drift on a shared machine hits both alike.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.child_env import REPO, app_command, baseline_command, child_env
from benchmarks.paint_probe import CACHED_TAG
from benchmarks.pty_probe import PtyChild
from benchmarks.task_data import pending_tasks
from lexi_tui.core import list_cache

CHILD_TIMEOUT = 30.0
CACHED_LATENCY_MS = 1500.0
"""Delay of every answer of the service in the cached runs: longer than any cold start here."""
CACHED_ATTEMPTS = 2
"""Cached runs tried before the figure is declared not available."""
NO_CACHED_PAINT = "the app painted the fetched list first: it does not paint its cached list yet"
PROFILE = "default"
"""The profile `lexi-tui --base-url URL` runs as when there is no config file."""


@dataclass
class PaintRuns:
    """Seconds from spawn to first paint, per variant: "app-fresh-pty", "baseline-headless", ...;
    `unavailable[variant]` says why a variant has no runs."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)

    def add(self, variant: str, value: float | None) -> None:
        if value is not None:
            self.seconds.setdefault(variant, []).append(value)


def marker(description: str) -> str:
    """The text that shows a row is on the screen: the start of its description (a short one,
    so a narrow column cannot cut it)."""
    return description[:24]


def write_cache(data_home: Path, base_url: str, count: int, *, rename: bool = False) -> str:
    """Put `count` tagged tasks into the list cache the app would read for `base_url`; returns
    the first row's marker. `rename`: descriptions that share no text with the service's."""
    tasks = [{**task, "description": f"{CACHED_TAG}row {n} of the last run" if rename
              else CACHED_TAG + task["description"]} for n, task in enumerate(pending_tasks(count))]
    folder = data_home / "lexi-tui" / list_cache.FOLDER_NAME
    problem = list_cache.save(PROFILE, base_url, tasks, fetched_at=time.time() - 120, folder=folder)
    if problem is not None:
        raise RuntimeError(problem)
    return marker(tasks[0]["description"])


def _fresh_env(*, headless: bool) -> tuple[dict[str, str], tempfile.TemporaryDirectory[str]]:
    """The child environment with a data folder of its own (nothing cached, no journal)."""
    home = tempfile.TemporaryDirectory(prefix="lexi-bench-paint-")
    env = child_env(headless=headless)
    env["XDG_DATA_HOME"] = home.name
    return env, home


def pty_paint(argv: list[str], env: dict[str, str], needle: str, give_up: str | None = None) -> float | None:
    """Seconds from spawn until `needle` is on the pty's screen; None when `give_up` (another
    text) shows first, or the child exits without it."""
    with PtyChild(argv, env) as child:
        seen = child.wait_for(lambda: _shows(child, needle) or (give_up is not None and _shows(child, give_up)),
                              CHILD_TIMEOUT)
        at = child.last_output_at
        if not seen or not _shows(child, needle):
            return None
        return at - child.started


def _shows(child: PtyChild, text: str) -> bool:
    from benchmarks.pty_probe import visible_text

    return text in visible_text(bytes(child.output))


def headless_paint(kind: str, args: list[str], env: dict[str, str], want: str) -> float | None:
    """Seconds from spawn until the probe reports `want` ("fresh", "cached", "baseline");
    None when the child reported a fresh list first (no cached paint) or never `want`."""
    with tempfile.NamedTemporaryFile(prefix="lexi-paint-", suffix=".txt", delete=False) as report:
        path = report.name
    try:
        env = dict(env, LEXI_PAINT_PROBE=path)
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "benchmarks.paint_probe", kind, *args], cwd=REPO, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)
        try:
            _, errors = proc.communicate(timeout=CHILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise RuntimeError(f"the {kind} paint probe did not finish within {CHILD_TIMEOUT:.0f} s") from None
        events = {}
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                what, at = line.split()
                events.setdefault(what, float(at))
        if want not in events:
            if proc.returncode != 0 and not events:
                raise RuntimeError(f"the {kind} paint probe exited with {proc.returncode}: "
                                   f"{errors.decode('utf-8', 'replace')[-2000:]}")
            return None
        if want == "cached" and events.get("fresh", float("inf")) < events["cached"]:
            return None
        return events[want] - started
    finally:
        os.unlink(path)


def measure_first_paint(fresh_url: str, cached_url: str, runs: int, tasks: int, warmup: bool) -> PaintRuns:
    """Fresh and cached first paint of the app, and the baseline's first frame, headless and in a pty.

    Args:
        fresh_url: a service answering at once.
        cached_url: a service answering after CACHED_LATENCY_MS.
        runs: measured runs per variant.
        tasks: how many tasks the cache holds (as many as the services).
        warmup: one unmeasured round first (page cache, .pyc).
    """
    result = PaintRuns()
    fresh_marker = marker(pending_tasks(1)[0]["description"])
    base_marker = marker(_baseline_first_row())
    cached_tries = 0
    for n in range(runs + (1 if warmup else 0)):
        measured = not (warmup and n == 0)
        for mode in ("headless", "pty"):
            headless = mode == "headless"
            env, home = _fresh_env(headless=headless)
            with home:
                if headless:
                    fresh = headless_paint("app", ["--base-url", fresh_url, "--refresh", "0", "--exit-after-load"], env,
                                           "fresh")
                    base = headless_paint("baseline", [], env, "baseline")
                else:
                    fresh = pty_paint(app_command(fresh_url, "--refresh", "0", "--exit-after-load"), env, fresh_marker)
                    base = pty_paint(baseline_command(), env, base_marker)
                if fresh is None or base is None:
                    raise RuntimeError(f"no first paint in the {mode} run (app {fresh}, baseline {base})")
            if measured:
                result.add(f"app-fresh-{mode}", fresh)
                result.add(f"baseline-{mode}", base)
            env, home = _fresh_env(headless=headless)
            with home:
                write_cache(Path(home.name), fresh_url, tasks, rename=True)
                if headless:
                    after = headless_paint("app", ["--base-url", fresh_url, "--refresh", "0", "--exit-after-load"],
                                           env, "fresh")
                else:
                    after = pty_paint(app_command(fresh_url, "--refresh", "0", "--exit-after-load"), env, fresh_marker)
            if measured:
                result.add(f"app-fresh-after-cache-{mode}", after)
            variant = f"app-cached-{mode}"
            if variant in result.unavailable:
                continue
            env, home = _fresh_env(headless=headless)
            with home:
                needle = write_cache(Path(home.name), cached_url, tasks)
                if headless:
                    cached = headless_paint("app", ["--base-url", cached_url, "--refresh", "0", "--exit-after-load"],
                                            env, "cached")
                else:
                    cached = pty_paint(app_command(cached_url, "--refresh", "0", "--exit-after-load"), env, needle,
                                       give_up=fresh_marker)
            if cached is None:
                cached_tries += 1
                if cached_tries >= CACHED_ATTEMPTS * 2:
                    for each in ("headless", "pty"):
                        result.unavailable[f"app-cached-{each}"] = NO_CACHED_PAINT
                continue
            if measured:
                result.add(variant, cached)
    for mode in ("headless", "pty"):
        if f"app-cached-{mode}" not in result.seconds:
            result.unavailable.setdefault(f"app-cached-{mode}", NO_CACHED_PAINT)
    return result


def _baseline_first_row() -> str:
    from benchmarks.baseline_app import baseline_rows

    return baseline_rows(1)[0][2]
