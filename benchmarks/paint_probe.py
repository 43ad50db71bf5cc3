"""Headless first paint: run the real app (or the baseline) and say when its list was first drawn.

Headless there is no terminal to watch, so this wrapper runs the same entry point as the console
script (`lexi_tui.cli.main.entry`, or the baseline app) after hooking `App._display`, the call
that hands each finished frame to the driver. After every frame it looks at what the screen
holds and, the first time the list is there, appends one line to the file named by
`LEXI_PAINT_PROBE` ("<what> <time.monotonic()>"): `cached` when the first row is a task from the
cached list (the harness tags their descriptions with `CACHED_TAG`), `fresh` for a fetched one,
`baseline` for the baseline's first frame. The harness subtracts its own `time.monotonic()` at
spawn (one clock for every process on Linux). After the fresh list, the process leaves at once:
teardown is not part of a first paint.

`python -m benchmarks.paint_probe app ARGS...` (ARGS as for `lexi-tui`) or
`python -m benchmarks.paint_probe baseline`.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

CACHED_TAG = "CACHED "
"""Starts the description of every task the harness writes into the list cache."""
TRIAGE_SCREENS = ("MainScreen", "CachedListScreen")
"""The screens whose `table` is the task list (by name: the probe imports nothing of the app early)."""


def _report(what: str) -> None:
    with open(os.environ["LEXI_PAINT_PROBE"], "a", encoding="utf-8") as out:
        out.write(f"{what} {time.monotonic():.6f}\n")


def _first_row(app: Any) -> str | None:
    """The description of the first row of the app's task list, or None while it shows none.

    Reads the table the way a person reads the screen, through the widget's public surface
    (`visible_ids`, `get`); the probe is harness code, not part of the app.
    """
    screen = app.screen
    # The triage screen, or the cached queue the app paints at start before it connects
    # (`lexi_tui.ui.main.cached.CachedListScreen`): both show the list in `table`.
    table = getattr(screen, "table", None) if type(screen).__name__ in TRIAGE_SCREENS else None
    if table is None:
        return None
    try:
        ids = table.visible_ids()
    except Exception:  # Not mounted yet.
        return None
    if not ids:
        return None
    task = table.get(ids[0])
    return None if task is None else str(task.description)


def run_app(argv: list[str]) -> None:
    from textual.app import App

    seen: set[str] = set()
    original = App._display

    def display(self: Any, screen: Any, renderable: Any) -> None:
        original(self, screen, renderable)
        if renderable is None or self._batch_count:
            return
        row = _first_row(self)
        if row is None:
            return
        what = "cached" if row.startswith(CACHED_TAG) else "fresh"
        if what not in seen:
            seen.add(what)
            _report(what)
            if what == "fresh":
                sys.stdout.flush()
                os._exit(0)

    App._display = display  # type: ignore[method-assign]
    from lexi_tui.cli.main import entry

    sys.argv = ["lexi-tui", *argv]
    entry()


def run_baseline() -> None:
    from benchmarks.baseline_app import BaselineApp

    app = BaselineApp(exit_after_first_frame=True)
    original = app._display
    done = False

    def display(screen: Any, renderable: Any) -> None:
        nonlocal done
        original(screen, renderable)
        if renderable is not None and not app._batch_count and not done:
            done = True
            _report("baseline")
            os._exit(0)

    app._display = display  # type: ignore[method-assign]
    app.run()


if __name__ == "__main__":
    if sys.argv[1] == "baseline":
        run_baseline()
    else:
        run_app(sys.argv[2:])
