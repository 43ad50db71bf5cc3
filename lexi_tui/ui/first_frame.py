"""The first frame: the last-known queue on the terminal before Textual is even imported.

Importing Textual takes ~0.2 s here, as long as a bare Textual app takes to paint; no screen
built with it can show the queue sooner. So when the profile has a kept list
(`core.list_cache`), `lexi-tui` reads it and writes the top of the cached-list screen
(`ui.main.cached.CachedListScreen`) straight to the terminal, in the alternate screen, with
stdlib and `rich.cells` only: the header with the list's age ("as of 14:02, refreshing…"),
the tabs, and the rows the list pane holds at this size, the cursor on the first. Then
Textual loads and its first frame, the same rows in the same cells with the rest of the
screen around them, replaces it. Nothing here reads a key: keys typed meanwhile wait in the
terminal (echo off, so they do not scribble on the picture) for the app, which shows the
same unconfirmed list and refuses every action until the server has confirmed it.

The screen's own pieces come from here too (`StartList`, `header_pieces`, `tab_lines`, and
the rows from `ui.rows`), and `tests/ui/test_first_frame.py` holds the first frame's lines
against the app's at several sizes: the picture cannot drift from the screen it stands for.

Drawn only on a real terminal (stdin and Textual's stream, stderr, both ttys; not `TERM=dumb`,
not under `TEXTUAL_DRIVER`), for a provider whose queue is kept, and for a file small enough to
read before Textual (`MAX_FILE_BYTES`); otherwise the app reads the list in its disk thread as
before. `FirstFrame.hand_over` gives the terminal's modes back just before Textual takes it,
and `undo` leaves the alternate screen when the app never started.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from rich.cells import cell_len, set_cell_size

from lexi_tui.api.models import Task
from lexi_tui.core import list_cache
from lexi_tui.providers import info
from lexi_tui.ui.rows import fit, task_row

MAX_FILE_BYTES = 2 * 1024 * 1024
"""The largest kept list read before Textual loads (~7,000 tasks of the benchmark's shape,
~40 ms to read and parse): a larger one would delay the app more than the first frame gains."""
WIDE = 110
"""Columns from which the list and the details sit side by side (`LexiApp.HORIZONTAL_BREAKPOINTS`)."""
TITLE = " lexi-tui "
SGR: dict[str, str] = {
    "title": "1;7", "marker": "1", "tab": "", "tab-active": "1", "rule": "2", "rule-active": "1",
    "marked": "1", "new": "1", "busy": "3;33", "error": "1;31", "type": "36", "age": "2", "count": "1",
    "unknown": "35", "pending": "33", "approved": "34", "completed": "32", "dismissed": "2", "failed": "31",
    "outcome-approved": "32", "outcome-rejected": "31", "empty": "3", "cursor": "1;7",
}
"""Each style name's terminal attributes: the 16 colours every terminal has, close to the theme's."""


@dataclass(frozen=True)
class StartList:
    """The list read back at start.

    Args:
        tasks: the cached queue, parsed.
        fetched_at: when the server sent it (wall clock, epoch seconds).
        problems: what the parser skipped (as for a fetched list).
    """

    tasks: list[Task]
    fetched_at: float
    problems: tuple[str, ...] = ()

    @property
    def as_of(self) -> str:
        """"14:02" (today) or "Mon 3 Mar 14:02"."""
        return list_cache.describe_time(self.fetched_at)


def read_start_list(profile: str, base_url: str, folder: Path | None = None) -> tuple[StartList | None, str | None]:
    """The profile's cached queue from `base_url`, and a sentence when a file was ignored.
    Disk I/O and parsing: never on the event loop. Never raises for the file (a bad profile
    name is no cache).

    Args:
        profile: the profile's name.
        base_url: the server (or the name its cache is kept under, `AppSettings.list_cache_names`).
        folder: where the lists are kept (None: `<data dir>/lists`).
    """
    try:
        loaded = list_cache.load(profile, base_url, folder=folder)
    except ValueError:
        return None, None
    if loaded.cached is None:
        return None, loaded.problem
    parsed = loaded.cached.task_list()
    return StartList(list(parsed), loaded.cached.fetched_at, parsed.problems), None


def location(profile: str, base_url: str) -> str:
    """"default @ data.leadlex.com": the profile and the host the header names."""
    return f"{profile} @ {urlsplit(base_url).netloc or base_url}"


def cached_marker(as_of: str, link: str) -> str:
    """The header's words while the list on screen is the cached one.

    Args:
        as_of: when it is from ("14:02").
        link: the connection state in one word (`status_bar.CONNECTION_NAMES`).
    """
    if link in ("connecting", "online"):
        return f"as of {as_of}, refreshing…"
    if link in ("failing", "offline"):
        return f"list from {as_of}: the refresh failed"
    if link == "signed-out":
        return f"list from {as_of}: not refreshed (signed out)"
    return f"list from {as_of}: not refreshed yet ({link})"


FRESH_MARKER = "● online · starting…"
"""The header while the server's first list is shown on the light screen, before the triage
screen (and its status bar) is up."""


def header_pieces(where: str, as_of: str, *, fresh: bool = False) -> list[tuple[str, str]]:
    """The cached-list screen's header line, as (text, style name) pieces.

    Args:
        where: `location(...)`.
        as_of: when the list is from.
        fresh: the list is the server's first answer, not a kept one.
    """
    marker = FRESH_MARKER if fresh else cached_marker(as_of, "connecting")
    return [(TITLE, "title"), ("  ", ""), (where, ""), ("  ", ""), (marker, "marker")]


def tab_lines(views: Sequence[str], count: int, width: int = 300) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The views as the triage screen's tabs show them: the queue first, with its count, and
    underlined. Two lines of (text, style name) pieces; `width` is how far the rule runs."""
    labels = [view.replace("_", " ").title() for view in views]
    labels[0] += f" {count}"
    top = [(f" {label} ", "tab-active" if number == 0 else "tab") for number, label in enumerate(labels)]
    active = len(labels[0]) + 2
    return top, [("━" * active, "rule-active"), ("─" * max(0, width - active), "rule")]


@dataclass(frozen=True)
class Layout:
    """Where the list sits on a terminal of `columns` x `lines` (the stylesheet's: a header
    line, the body, the footer line; the body split between the list pane and the details,
    side by side from `WIDE` columns on (3fr : 2fr), else one above the other (1fr : 1fr);
    the list pane is the two tab lines over the table)."""

    columns: int
    lines: int
    list_width: int
    table_rows: int

    @classmethod
    def of(cls, columns: int, lines: int) -> Layout:
        body = max(0, lines - 2)
        if columns >= WIDE:
            width, height = columns * 3 // 5, body
        else:
            width, height = columns, body // 2
        return cls(columns, lines, width, max(0, height - 2))

    def row_width(self, tasks: int) -> int:
        """The table's width: the list pane's, less the scrollbar's column when the rows overflow."""
        return self.list_width - (1 if tasks > self.table_rows else 0)


def _cut(pieces: list[tuple[str, str]], width: int, *, ellipsis: bool) -> list[tuple[str, str]]:
    """The pieces that fit in `width` cells (the last one cut; with an ellipsis if asked)."""
    total = sum(cell_len(text) for text, _ in pieces)
    if total <= width:
        return pieces
    kept: list[tuple[str, str]] = []
    room = width - (1 if ellipsis else 0)
    for text, style in pieces:
        size = cell_len(text)
        if size >= room:
            kept.append((set_cell_size(text, max(0, room)), style))
            break
        kept.append((text, style))
        room -= size
    if ellipsis:
        kept.append(("…", kept[-1][1] if kept else ""))
    return kept


def frame_lines(start: StartList, where: str, views: Sequence[str], columns: int,
                lines: int) -> dict[int, list[tuple[str, str]]]:
    """What the first frame draws: screen line -> (text, style name) pieces, each line at most
    `columns` cells. Lines it leaves out are left blank until the app draws them."""
    layout = Layout.of(columns, lines)
    drawn: dict[int, list[tuple[str, str]]] = {0: _cut(header_pieces(where, start.as_of), columns, ellipsis=True)}
    if layout.table_rows <= 0 or lines < 4:
        return drawn
    top, rule = tab_lines(views, len(start.tasks))
    drawn[1] = _cut(top, layout.list_width, ellipsis=False)
    drawn[2] = _cut(rule, layout.list_width, ellipsis=False)
    width = layout.row_width(len(start.tasks))
    if not start.tasks:
        drawn[4] = [(fit(f"  No pending tasks as of {start.as_of}", width), "empty")]
        return drawn
    for number, task in enumerate(start.tasks[: layout.table_rows]):
        pieces = _cut(list(task_row(task, width).pieces), width, ellipsis=False)  # As the table cuts it.
        drawn[3 + number] = [(text, "cursor") for text, _ in pieces] if number == 0 else pieces
    return drawn


def render(drawn: dict[int, list[tuple[str, str]]]) -> str:
    """The terminal output of `frame_lines`: the alternate screen, cleared, each line placed."""
    out = ["\x1b[?1049h\x1b[?25l\x1b[?7l\x1b[H\x1b[2J"]
    for line, pieces in sorted(drawn.items()):
        out.append(f"\x1b[{line + 1};1H")
        for text, style in pieces:
            code = SGR.get(style, "")
            out.append(f"\x1b[{code}m{text}\x1b[0m" if code else text)
    out.append("\x1b[?7h")
    return "".join(out)


@dataclass
class FirstFrame:
    """A first frame on the terminal (or none), and how to give the terminal back.

    Attributes:
        start: the list as read (for the app, so it is not read twice), None when none was
            read here (the app reads it itself).
        drawn: the frame is on the terminal.
    """

    start: tuple[StartList | None, str | None] | None = None
    drawn: bool = False
    _stream: TextIO | None = None
    _modes: Any = None

    def hand_over(self) -> None:
        """Just before Textual takes the terminal: its modes as they were (echo on), so what
        Textual restores when it leaves is the person's own. From here on the alternate screen
        is Textual's (it leaves it when it stops, however it stops)."""
        self.drawn = False
        if self._modes is not None:
            import termios

            try:
                termios.tcsetattr(sys.stdin.fileno(), termios.TCSANOW, self._modes)
            except (OSError, termios.error):
                pass
            self._modes = None

    def undo(self) -> None:
        """The app never took the terminal (an error, Ctrl+C while it loaded): leave the
        alternate screen and show the cursor again."""
        drawn = self.drawn
        self.hand_over()
        if drawn and self._stream is not None:
            try:
                self._stream.write("\x1b[?1049l\x1b[?25h")
                self._stream.flush()
            except (OSError, ValueError):
                pass


def on_a_terminal(stream: TextIO | None) -> bool:
    """Textual will draw on a real terminal there (not headless, not a dumb terminal)."""
    if stream is None or os.environ.get("TEXTUAL_DRIVER") or os.environ.get("TERM", "dumb") in ("", "dumb"):
        return False
    try:
        return stream.isatty() and sys.stdin.isatty()
    except (OSError, ValueError):
        return False


def paint(profile: str, provider: str, base_url: str, *, keep_last_list: bool = True,
          folder: Path | None = None, stream: TextIO | None = None) -> FirstFrame:
    """Draw the profile's kept queue before Textual loads, when there is one to draw.

    Args:
        profile: the profile's name.
        provider: its provider ("lexi", "chamelio"): only a provider whose queue is listed is kept.
        base_url: the server its list was kept for.
        keep_last_list: the config's `keep_last_list` (false: no list is kept or read).
        folder: where the lists are kept (None: `<data dir>/lists`).
        stream: the terminal (default: stderr, where Textual draws).
    """
    stream = sys.__stderr__ if stream is None else stream
    try:
        capabilities = info(provider).capabilities
    except ValueError:
        return FirstFrame()
    if not keep_last_list or capabilities.add_by_reference or not on_a_terminal(stream):
        return FirstFrame()
    try:
        if list_cache.cache_path(profile, base_url, folder=folder).stat().st_size > MAX_FILE_BYTES:
            return FirstFrame()
    except (OSError, ValueError):
        return FirstFrame()  # No file (the app says nothing either), or a name no file can have.
    start = read_start_list(profile, base_url, folder)
    frame = FirstFrame(start=start)
    if start[0] is None:
        return frame
    assert stream is not None
    try:
        size = os.get_terminal_size(stream.fileno())
        _echo_off(frame)
        stream.write(render(frame_lines(start[0], location(profile, base_url), capabilities.views,
                                        size.columns, size.lines)))
        stream.flush()
        frame._stream, frame.drawn = stream, True
    except (OSError, ValueError):
        frame.hand_over()
    return frame


def _echo_off(frame: FirstFrame) -> None:
    """Keys typed before Textual reads them are not echoed over the picture (they wait for
    it in the terminal, which Textual reads from stdin)."""
    import termios

    try:
        modes = termios.tcgetattr(sys.stdin.fileno())
        quiet = termios.tcgetattr(sys.stdin.fileno())
        quiet[3] &= ~termios.ECHO
        termios.tcsetattr(sys.stdin.fileno(), termios.TCSANOW, quiet)
    except (OSError, ValueError, termios.error):
        return
    frame._modes = modes
