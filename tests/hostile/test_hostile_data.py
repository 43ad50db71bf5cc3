"""Everything the server sends is untrusted: hostile tasks are shown inertly and legibly.

The corpus (`tests/fixtures/hostile_tasks.json`) holds markup, ANSI/OSC/C1 escapes,
control characters, bidi overrides, zero-width and wide characters. Larger cases
(a 100,000-character description, metadata nested 400 deep, 2 MB of metadata) are
generated here. Shapes the service refuses to store (wrong types, missing fields,
duplicated ids) come through a mock transport.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import httpx
import pytest
from hostile_lexi import read_until_quiet

from lexi_tui.providers import LexiProvider
from lexi_tui.server.options import ServerOptions
from lexi_tui.server.runner import start_server
from lexi_tui.ui.app import AppSettings, LexiApp
from lexi_tui.ui.main.screen import MainScreen

KEY = "wbk_hostile_000000000000000beef"
CORPUS = json.loads((Path(__file__).parent.parent / "fixtures" / "hostile_tasks.json").read_text())["tasks"]


def nested(depth: int) -> dict:
    value: dict = {"bottom": "\x1b]2;deep\x07"}
    for level in range(depth):
        value = {f"level{level}": value}
    return value


GENERATED = [
    {"id": "gen-long", "type": "prospect_search", "status": "pending", "description": "long " * 20_000, "metadata": {}},
    {"id": "gen-deep", "type": "list_operation", "status": "pending", "description": "metadata nested 400 deep", "metadata": nested(400)},
    {"id": "gen-big", "type": "contact_update", "status": "pending", "description": "2 MB of metadata",
     "metadata": {"contacts": [{"n": n, "email": f"person{n}@example.com", "note": "x" * 120} for n in range(12_000)]}},
]

FORBIDDEN = {"\x1b", "\x07", "\x9b", "\x9d", "\x9c", "\x85", "\x00", "\x08", "\r", "\u202e", "\u2066", "\ufeff", "\u200b"}


def assert_inert(text: str) -> None:
    bad = {ch for ch in text if ch in FORBIDDEN or (unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n\u200d")}
    assert not bad, f"control or format characters reached the screen: {sorted(map(ascii, bad))}"


@pytest.fixture
def hostile_service():
    options = ServerOptions(keys=(KEY,), tasks=tuple(CORPUS + GENERATED), exec_delay=0, failure_rate=0, admin=True)
    with start_server(options) as server:
        yield server


async def test_every_hostile_task_renders_inertly_in_the_list_and_detail(hostile_service) -> None:
    app = LexiApp(AppSettings(base_url=hostile_service.base_url, api_key=KEY, use_keyring=False, refresh_interval=0))
    async with app.run_test(size=(100, 30)) as pilot:
        while not (isinstance(app.screen, MainScreen) and app.screen.state.fetched_at is not None):
            await pilot.pause(0.05)
        screen = app.screen
        table = screen.table
        pending = len([t for t in CORPUS + GENERATED if t["status"] == "pending"])
        assert table.task_count == pending
        for _ in range(pending):
            await pilot.pause(0.05)
            width = table.scrollable_content_region.width
            for y in range(table.scrollable_content_region.height):
                strip = table.render_line(y)
                assert strip.cell_length == width  # The layout holds: one row is one line.
                assert_inert(strip.text)
            fields = screen.query_one("#detail-fields")
            assert_inert(str(fields.render()))
            await pilot.press("down")
        # The deep and the large metadata were formatted without freezing the app.
        table.select("gen-big")
        view = screen.detail.json_view
        for _ in range(200):
            if len(view.lines) > 1000:
                break
            await pilot.pause(0.05)
        assert len(view.lines) > 1000
        for y in range(10):
            assert_inert(view.render_line(y).text)
        table.select("gen-deep")
        for _ in range(200):
            if any('"level0"' in line for line in view.lines):
                break
            await pilot.pause(0.05)
        # JSON shows C0 escapes as \u001b; the deepest value is there, legible and inert.
        assert any("\\u001b]2;deep\\u0007" in line for line in view.lines)
        assert app.is_running


def test_nothing_reaches_a_real_terminal_that_the_app_did_not_write(hostile_service, tmp_path) -> None:
    """Run the real console script under a pseudo-terminal and read every byte it writes."""
    master, slave = pty.openpty()
    import fcntl
    import struct
    import termios

    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", LEXI_API_KEY=KEY)
    env.pop("COLORTERM", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "lexi_tui", "--base-url", hostile_service.base_url, "--refresh", "0"],
        stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
    )
    os.close(slave)
    output = bytearray()
    try:
        output += read_until_quiet(master, quiet=1.0, limit=20)
        pending = len([t for t in CORPUS + GENERATED if t["status"] == "pending"])
        for _ in range(pending):
            os.write(master, b"j")
            output += read_until_quiet(master, quiet=0.15, limit=5)
        os.write(master, b"q")
        output += read_until_quiet(master, quiet=0.5, limit=10)
        process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    text = output.decode("utf-8", errors="replace")
    assert "hostile" in text or "markup" in text  # The tasks were drawn...
    # ...and none of their escapes reached the terminal. The only OSC sequences are
    # Textual's own (OSC 22 sets the mouse pointer shape): no title, clipboard or
    # hyperlink sequence, no stray BEL, no C1 controls, no bidi overrides.
    oscs = set(re.findall(r"\x1b\](\d+);", text))
    assert oscs <= {"22"}, f"unexpected OSC sequences: {oscs}"
    assert "\x07" not in re.sub(r"\x1b\]22;[a-z-]*\x07", "", text)
    assert not any(ch in text for ch in "\x9b\x9d\x9c\x85\u202e\u2066\ufeff")
    assert "pwned" not in text or "\u241b]2;pwned" in text
    assert process.returncode == 0


@pytest.mark.parametrize(
    "body",
    [
        {"data": {"tasks": [{"id": 42, "type": None, "status": 7, "description": ["a", "list"], "created_at": 5, "metadata": "x"}]}},
        {"data": {"tasks": [{}, None, "a string", 12, [], {"id": "dup", "description": "first"}, {"id": "dup", "description": "second"}]}},
        {"data": {"tasks": {"not": "a list"}}},
        {"data": None},
        {"data": {"tasks": [{"id": "t", "created_at": "not a date", "metadata": {"a": float("1e308")}}]}},
    ],
)
async def test_wrong_types_missing_fields_and_duplicate_ids_do_not_crash(body) -> None:
    payload = json.dumps(body).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=payload)

    provider = LexiProvider(KEY, "https://lexi.invalid", transport=httpx.MockTransport(handler), read_retries=0)
    app = LexiApp(AppSettings(base_url="https://lexi.invalid", api_key=KEY, use_keyring=False, refresh_interval=0))
    async with app.run_test(size=(100, 30)) as pilot:
        app._provider = provider  # The mock stands in for a server the local service refuses to be.
        while not isinstance(app.screen, MainScreen):
            await pilot.pause(0.05)
        screen = app.screen
        screen.run_refresh()
        for _ in range(100):
            if screen.state.fetched_at is not None or screen.state.failures:
                break
            await pilot.pause(0.05)
        ids = screen.table.visible_ids()
        assert len(ids) == len(set(ids))  # A duplicated id is one row, not two.
        for _ in range(len(ids) + 1):
            await pilot.press("down")
        assert app.is_running
