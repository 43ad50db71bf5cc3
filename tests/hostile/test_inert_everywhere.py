"""Server text with markup and escapes, through every place it can appear: nothing interpreted.

Textual interprets markup in a `str` given to `notify`, `Static`, `Label` and `Button`
(field notes: `[/b]` raises MarkupError, `[@click=app.quit]…[/]` becomes a clickable action),
and lets ESC through to the terminal. One hostile text goes into a task's description, an
error message, a chat reply and a login failure; it must show up literally in the list, the
detail pane, the toasts, the history, the chat, the login screen and the dialogs' subjects,
and, run in a real pseudo-terminal, no escape of it may reach the terminal.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

from hostile_lexi import RATE, HostileLexi, error, read_until_quiet, task
from textual.widgets import Input, Static
from textual.widgets._toast import Toast

from lexi_tui.ui.dialogs.confirm_dialog import ConfirmDialog
from lexi_tui.ui.dialogs.dismiss_dialog import DismissDialog
from lexi_tui.ui.main.screen import MainScreen
from lexi_tui.ui.screens.history_screen import HistoryScreen
from lexi_tui.ui.screens.login_screen import LoginScreen
from support.app import loaded, wait_for
from support.hostile_server import Reply

HOSTILE = "[b]bold[/b] [@click=app.quit]quit[/] [/i] \x1b]2;pwned\x07 \x1b[31mred"
"""Markup (an unclosed tag, a click action, a stray closing tag), an OSC title and an SGR."""
LITERAL = ("[b]bold[/b]", "[@click=app.quit]quit[/]", "[/i]", "\u241b]2;pwned\u2407")
"""How it must read on screen: as written, with ESC and BEL as visible pictures."""


def assert_literal(text: str, where: str) -> None:
    for piece in LITERAL:
        assert piece in text, f"{where}: {piece!r} is not shown as written in {text!r}"
    bad = {ch for ch in text if unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n"}
    assert not bad, f"{where}: control characters reached the screen: {sorted(map(ascii, bad))}"


def assert_no_actions_on_screen(app: Any) -> None:
    """No segment on screen carries a click action (what `[@click=…]` markup makes)."""
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            meta = segment.style.meta if segment.style is not None else {}
            assert not any(str(key).startswith("@") for key in meta), f"an action on screen: {meta}"


def rendered(widget: Static) -> str:
    return str(widget.render())


def hostile_lexi() -> HostileLexi:
    lexi = HostileLexi(pending=[task("t-1", HOSTILE), task("t-2", f"campaign {HOSTILE}", type="campaign_start",
                                                           metadata={"contact_count": 150})])
    lexi.act = lambda request, task_id: error(500, "server_error", HOSTILE)
    lexi.chat = lambda request: Reply.json({"data": {"response": HOSTILE, "task_id": None, "requires_approval": False,
                                                     "conversation_id": "c-1"}}, headers=RATE)
    return lexi


async def test_markup_and_escapes_are_shown_as_written_everywhere() -> None:
    with hostile_lexi() as lexi:
        app = lexi.app()
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = await loaded(pilot)
            # The list and the detail pane.
            row = screen.table.render_line(0).text
            assert "[b]bold[/b]" in row and "\x1b" not in row
            assert_literal(rendered(screen.detail.query_one("#detail-fields", Static)), "detail")
            # A dialog's subject.
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, DismissDialog))
            assert_literal(rendered(app.screen.query_one(".dialog-subject", Static)), "dismiss dialog")
            await pilot.press("escape")
            await pilot.press("down", "a")  # campaign_start asks first.
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            assert_literal(rendered(app.screen.query_one(".dialog-subject", Static)), "confirm dialog")
            await pilot.press("escape", "up")
            # A toast from an error: the approve fails with the hostile message.
            await pilot.press("a")
            await wait_for(pilot, lambda: any("bold" in n.message for n in app._notifications))
            note = next(n for n in app._notifications if "bold" in n.message)
            assert not note.markup
            await wait_for(pilot, lambda: bool(app.screen.query(Toast)))
            toasts = " ".join(str(toast.render()) for toast in app.screen.query(Toast))
            assert_literal(toasts, "toast")
            assert_no_actions_on_screen(app)
            # The history: the failed action, its description and the error.
            await pilot.press("h")
            await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and bool(app.screen.entries))
            history = app.screen
            assert_literal(rendered(history.query_one("#history-detail", Static)), "history detail")
            cell = history.query_one("#history-table").get_cell_at((0, 3))
            assert "[b]bold[/b]" in cell.plain
            assert_no_actions_on_screen(app)
            await pilot.press("escape")
            # The chat: Lexi's reply.
            await pilot.press("c")
            screen.chat.query_one("#chat-input", Input).value = "hello"
            await pilot.press("enter")
            await wait_for(pilot, lambda: bool(screen.chat.query(".chat-lexi")))
            assert_literal(rendered(screen.chat.query_one(".chat-lexi", Static)), "chat")
            assert_no_actions_on_screen(app)
            assert app.is_running and isinstance(app.screen, MainScreen)


async def test_a_login_error_with_markup_is_shown_as_written() -> None:
    with hostile_lexi() as lexi:
        lexi.override = lambda request: error(500, "server_error", HOSTILE)
        app = lexi.app(api_key=None)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen) and bool(app.screen.query("#login-key")))
            box = app.screen.query_one("#login-key", Input)
            box.value = "wbk_some_key_00000000000000"
            await pilot.press("enter")
            status = app.screen.query_one("#login-status", Static)
            await wait_for(pilot, lambda: status.has_class("-error"))
            assert_literal(rendered(status), "login error")
            assert_no_actions_on_screen(app)


def test_no_escape_from_server_text_reaches_a_real_terminal(tmp_path: Path) -> None:
    """The real console script in a pseudo-terminal: list, detail, an error toast, a dialog, the
    chat and the history all show the hostile text; only the app's own sequences are written."""
    import fcntl
    import struct
    import termios

    config = tmp_path / "config.toml"
    config.write_text("undo_window = 0\nconfirm_types = []\n", encoding="utf-8")
    with hostile_lexi() as lexi:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 110, 0, 0))
        env = dict(os.environ, TERM="xterm-256color", LEXI_API_KEY="wbk_hostile_lexi_0000000000beef")
        env.pop("COLORTERM", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "lexi_tui", "--config", str(config), "--base-url", lexi.url, "--refresh", "0"],
            stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
        )
        os.close(slave)
        output = bytearray()
        try:
            output += read_until_quiet(master, quiet=1.0, limit=20)
            for keys in (b"a", b"d", b"\x1b", b"c", b"h", b"i", b"\r", b"\x1b", b"h", b"\x1b", b"j", b"q"):
                os.write(master, keys)
                output += read_until_quiet(master, quiet=0.4, limit=6)
            process.wait(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
            os.close(master)
    text = output.decode("utf-8", errors="replace")
    assert len(lexi.sent("POST", "/approve")) == 1 and lexi.sent("POST", "/v1/lexi/chat")  # The keys were acted on.
    assert "\u241b]2;pwned" in text  # Drawn, as a picture of ESC...
    assert "\x1b]2;pwned" not in text and "\x1b[31mred" not in text  # ...and never as the sequence.
    oscs = set(re.findall(r"\x1b\](\d+);", text))
    assert oscs <= {"22"}, f"unexpected OSC sequences: {oscs}"  # Textual's pointer shape only.
    assert "\x07" not in re.sub(r"\x1b\]22;[a-z-]*\x07", "", text)
    assert process.returncode == 0
