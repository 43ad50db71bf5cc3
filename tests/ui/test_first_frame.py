"""Issue 16: the kept queue is on the terminal before Textual is imported (`ui.first_frame`).

The first frame stands for the cached-list screen the app paints a moment later, so the tests
hold the two together: every line the first frame draws is, cell for cell, the line Textual
draws there (at several sizes, narrow and wide, with wide characters and notes), and in a real
pty the frame reaches the terminal before Textual's driver has started, a key typed over it
reaches the app, and the terminal is the person's own again afterwards.
"""

from __future__ import annotations

import sys
import termios
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.app import App

from lexi_tui.api.models import parse_tasks
from lexi_tui.core import list_cache
from lexi_tui.providers.capabilities import LEXI_CAPABILITIES
from lexi_tui.ui import clock
from lexi_tui.ui.app import LexiApp
from lexi_tui.ui.first_frame import Layout, StartList, frame_lines, location, render
from lexi_tui.ui.main.cached import CachedListScreen
from support.app import FIXTURE_TASKS, make_service, pty_env, wait_for

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
WHERE = location("test", "http://127.0.0.1:8765/functions/v1/api-gateway")


def _task(n: int, description: str, kind: str = "prospect_search", **metadata: object) -> dict[str, object]:
    return {"id": f"t-{n}", "type": kind, "status": "pending", "description": description,
            "created_at": (NOW - timedelta(minutes=7 * n)).isoformat(), "metadata": metadata}


TASKS = [
    _task(0, "東京の物流会社で人事部長を40人探す、東京の物流会社で人事部長を40人探す、そして大阪でも"),
    _task(1, "Start campaign 'Intro' for 12,345 founders across the whole of Europe and beyond", "campaign_start",
          contact_count=12_345),
    _task(2, ""),
    _task(3, "Tag 👩‍💻 engineers 🇩🇪 in Berlin with the list 'Q4 devs' and more words to cut"),
    *[{**task, "created_at": (NOW - timedelta(hours=n + 1)).isoformat()}
      for n, task in enumerate(t for t in FIXTURE_TASKS if t["status"] == "pending")],
    *[_task(10 + n, f"Filler task number {n} with a description of ordinary length") for n in range(40)],
]


class _Host(App[None]):
    """The cached-list screen alone, with the app's stylesheet and breakpoints."""

    CSS_PATH = LexiApp.CSS_PATH
    HORIZONTAL_BREAKPOINTS = LexiApp.HORIZONTAL_BREAKPOINTS

    def __init__(self, start: StartList) -> None:
        super().__init__()
        self.start = start

    def on_mount(self) -> None:
        self.push_screen(CachedListScreen(self.start, LEXI_CAPABILITIES, WHERE))


@pytest.mark.parametrize("size", [(60, 20), (80, 24), (100, 30), (111, 25), (120, 40), (160, 50)],
                         ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("count", [len(TASKS), 3, 0], ids=["overflowing", "few", "empty"])
async def test_every_line_of_the_first_frame_is_the_line_the_app_draws_there(
        size: tuple[int, int], count: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)
    start = StartList(list(parse_tasks(TASKS[:count])), NOW.timestamp() - 600)
    drawn = frame_lines(start, WHERE, LEXI_CAPABILITIES.views, *size)
    app = _Host(start)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CachedListScreen) and app.screen.table.size.height > 0)
        await pilot.pause()
        strips = app.screen._compositor.render_strips()
        for line, pieces in drawn.items():
            text = "".join(piece for piece, _ in pieces)
            assert cell_len(text) <= size[0]
            assert strips[line].crop(0, cell_len(text)).text == text, f"line {line}"
        rows = {line for line in drawn if line >= 3}
        table = app.screen.table
        assert len(rows) == min(count, table.size.height) or (count == 0 and rows == {4})
        if count:
            assert (table.region.y, table.size.height) == (3, Layout.of(*size).table_rows)


def test_the_terminal_output_places_each_line_and_carries_no_text_of_its_own() -> None:
    start = StartList(list(parse_tasks(TASKS[:2])), time.time())
    drawn = frame_lines(start, WHERE, LEXI_CAPABILITIES.views, 80, 24)
    out = render(drawn)
    assert out.startswith("\x1b[?1049h")  # The alternate screen: the shell's screen is untouched.
    for line in drawn:
        assert f"\x1b[{line + 1};1H" in out
    assert "\x07" not in out and "\x1b]" not in out  # No bell, no OSC: nothing but place and colour.


# -- in a real pty ----------------------------------------------------------------------------------

def _keep(env: dict[str, str], base_url: str) -> str:
    tasks = [{**task, "description": f"KEPT {task['description']}"} for task in FIXTURE_TASKS
             if task["status"] == "pending"]
    folder = Path(env["XDG_DATA_HOME"]) / "lexi-tui" / list_cache.FOLDER_NAME
    assert list_cache.save("default", base_url, tasks, fetched_at=time.time() - 300, folder=folder) is None
    return str(tasks[0]["description"])[:30]


def test_the_kept_list_is_on_the_terminal_before_textual_starts_and_a_key_typed_over_it_counts(
        tmp_path: Path) -> None:
    from benchmarks.pty_probe import PtyChild, visible_text

    env = pty_env(tmp_path)
    with make_service(latency_ms=(3000.0, 3000.0)) as service:
        first_row = _keep(env, service.base_url)
        command = [sys.executable, "-m", "lexi_tui", "--base-url", service.base_url, "--refresh", "0"]
        with PtyChild(command, env, cols=100, rows=30) as child:
            assert child.wait_text(first_row, 30), visible_text(bytes(child.output[-2000:]))
            output = bytes(child.output)
            mouse_on = output.find(b"\x1b[?1000h")  # Textual's driver enabling the mouse: Textual has started.
            assert mouse_on == -1 or output.find(first_row.encode()) < mouse_on
            assert b"as of " in output and "refreshing" in visible_text(output)
            child.send(b"q")  # Typed over the first frame, before Textual reads the terminal.
            ended = child.wait_exit(30)
            modes = termios.tcgetattr(child.master)
    assert ended.code == 0, visible_text(bytes(child.output[-2000:]))
    assert modes[3] & termios.ECHO  # Echo is on again: the shell is the person's own.
    assert b"\x1b[?1049l" in bytes(child.output)[-300:]  # Out of the alternate screen.


def test_no_first_frame_without_a_kept_list_or_headless(tmp_path: Path) -> None:
    from benchmarks.pty_probe import PtyChild

    env = pty_env(tmp_path)
    with make_service() as service:
        command = [sys.executable, "-m", "lexi_tui", "--base-url", service.base_url, "--refresh", "0",
                   "--exit-after-load"]
        with PtyChild(command, env, cols=100, rows=30) as child:  # Nothing kept yet: Textual draws first.
            assert child.wait_exit(30).code == 0
            output = bytes(child.output)
        started = output.find(b"\x1b[?1000h")
        assert started >= 0 and b"Pending" not in output[:started]
        _keep(env, service.base_url)
        env["TEXTUAL_DRIVER"] = "textual.drivers.headless_driver:HeadlessDriver"
        with PtyChild(command, env, cols=100, rows=30) as child:  # Headless: no terminal to draw on.
            assert child.wait_exit(30).code == 0
            assert b"KEPT" not in bytes(child.output)
