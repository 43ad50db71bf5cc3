"""The last-known queue at start: painted before the network, never acted on until confirmed.

At start the app reads the profile's last pending list (`core.list_cache`: before Textual
loads, where `ui.first_frame` draws its top on the terminal at once, else in the disk thread)
and shows it on `CachedListScreen`, a light copy of the triage screen's layout (the list and its
tabs as they will be; a one-line header and a details pane that say what there is to say about
an unconfirmed list) that imports neither httpx, the clients, the keyring, the dialogs nor the
refresh engine: every widget and every import less is a shorter first frame. Once the key, the
client and the undo journal are ready, the real `MainScreen` replaces it holding the same list, the cursor
on the same task. Until the first fresh list of the queue arrives, the header says how old the
list is ("as of 14:02, refreshing…", or "the refresh failed"), and nothing on it can be acted
on: approve, dismiss, cancel, chat and marks are refused with one sentence
(`refusal`; the header's words are `first_frame.cached_marker`). The fresh list replaces the cached one as any refresh does (diffed by id: tasks
gone from the queue vanish, the cursor stays on its task) and the marker goes.

The same light screen shows the server's first list when it came before the triage screen is
up (`fresh`: fetched by the child process while the app loaded, `providers.first_fetch`): the
header says "online · starting…", and a key that acts is refused for that moment (`STARTING`).

After each fresh list of the queue the triage screen hands it to `ListSaver`, which writes it
in the disk thread, never on the event loop, and not more often than it changes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Label, Static

from lexi_tui.api.models import Task
from lexi_tui.core import list_cache
from lexi_tui.ui.first_frame import StartList, header_pieces, tab_lines
from lexi_tui.ui.text import plain, toast
from lexi_tui.ui.widgets.footer import QuietFooter
from lexi_tui.ui.widgets.task_table import TaskTable

if TYPE_CHECKING:
    from rich.console import OverflowMethod

    from lexi_tui.providers.capabilities import Capabilities
    from lexi_tui.ui.app import LexiApp


STYLES = {"title": "bold reverse", "marker": "bold", "tab-active": "bold", "rule-active": "bold", "rule": "dim"}
"""The Rich style of each of `first_frame`'s style names this screen uses."""


def _styled(pieces: list[tuple[str, str]], overflow: OverflowMethod = "crop") -> Text:
    text = Text(no_wrap=True, overflow=overflow)
    for piece, style in pieces:
        text.append(piece, STYLES.get(style, ""))
    return text


def refusal(as_of: str) -> str:
    """Why a key was refused on the cached list."""
    return (f"This list is from {as_of}: waiting for the server to confirm the task is still pending. "
            "Nothing was sent.")


STARTING = "Starting: the keys that act work in a moment. Nothing was sent."
"""Why a key was refused on the server's first list, shown before the triage screen is up."""


class GuardedTable(TaskTable):
    """The task list, whose marks are refused while its screen shows an unconfirmed list."""

    def action_toggle_mark(self) -> None:
        if not _refused(self.screen):
            super().action_toggle_mark()

    def action_mark_visible(self) -> None:
        if not _refused(self.screen):
            super().action_mark_visible()


def _refused(screen: object) -> bool:
    refuse = getattr(screen, "refuse_unconfirmed", None)
    return bool(refuse()) if refuse is not None else False


class CachedListScreen(Screen[None]):
    """The cached queue, painted at start while the app connects; replaced by `MainScreen`.

    The layout is the triage screen's (the same ids, so the same styles): the header line,
    the tabs, the list and the details, the footer. The list moves; every key that would act
    is refused (`refusal`). The header and the details pane are plain text here: the status
    bar (the refresh engine's words) and the metadata view come with the triage screen.
    """

    DEFAULT_CSS = """
    CachedListScreen #detail {
        height: 1fr;
        border: round $primary-muted;
        border-title-color: $text-primary;
        padding: 0 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "refuse", "Approve", id="task.approve", tooltip="Approve the task (once the list is confirmed)"),
        Binding("d", "refuse", "Dismiss", id="task.dismiss", tooltip="Dismiss the task (once the list is confirmed)"),
        Binding("x", "refuse", "Cancel", show=False, id="task.cancel"),
        Binding("c", "refuse", "Chat", id="chat.open", tooltip="Open the chat (once the list is confirmed)"),
    ]

    def __init__(self, start: StartList, capabilities: Capabilities, location: str, *, fresh: bool = False) -> None:
        """
        Args:
            start: the list to show.
            capabilities: the provider's (its views are the tabs).
            location: "profile @ host", for the header.
            fresh: `start` is the server's first list (fetched while the app loaded), not a kept
                one: the header says so, and keys that act are refused until the triage screen
                is up a moment later (`STARTING`).
        """
        super().__init__()
        self.start = start
        self.capabilities = capabilities
        self.location = location
        self.fresh = fresh

    def compose(self) -> ComposeResult:
        yield Static(self._header(), id="status-bar")
        with Horizontal(id="body"):
            with Vertical(id="list-pane"):
                yield Static(self._tabs(), id="views")
                yield GuardedTable(id="tasks", empty_text=self.empty_text)
            with Vertical(id="side"):
                yield Static("", id="detail")
        with Horizontal(id="bottom"):
            yield QuietFooter()
            yield Label("", id="updated")

    @property
    def table(self) -> TaskTable:
        return self.query_one(TaskTable)

    def _header(self) -> Text:
        """`first_frame.header_pieces`, the words the first frame drew before Textual loaded."""
        return _styled(header_pieces(self.location, self.start.as_of, fresh=self.fresh), "ellipsis")

    def _tabs(self) -> Text:
        """The views as the triage screen's tabs show them (`first_frame.tab_lines`): drawn as
        text, since `Tabs` and its animated underline cost a first frame ~25 ms here."""
        top, rule = tab_lines(self.capabilities.views, len(self.start.tasks))
        return Text("\n", no_wrap=True, overflow="crop").join([_styled(top), _styled(rule)])

    def _show(self, task: Task | None) -> None:
        """The details pane: what the row says, and that the rest comes once confirmed."""
        pane = self.query_one("#detail", Static)
        if task is None:
            pane.update(self.empty_text())
            return
        text = plain(task.description or "", limit=2_000)
        text.append("\n\n")
        text.append_text(plain(f"{task.type} · {task.display_id}", "dim", limit=400, single_line=True))
        text.append("\n\n")
        text.append("The details come in a moment." if self.fresh else
                    f"From the list as of {self.start.as_of}; the details come once the server has confirmed it.",
                    "italic")
        pane.update(text)

    @property
    def selected(self) -> str | None:
        """The id of the task under the cursor (the triage screen keeps it there)."""
        task = self.table.current if self.is_mounted else None
        return task.id if task is not None else None

    def empty_text(self) -> str:
        return f"No pending tasks as of {self.start.as_of}"

    def on_mount(self) -> None:
        self.query_one("#detail", Static).border_title = "Details"
        self.query_one("#updated", Label).update(f"as of {self.start.as_of}")
        table = self.table
        table.set_tasks(self.start.tasks, mark_new=False)
        table.focus()
        self._show(table.current)

    def show_fresh(self, start: StartList) -> None:
        """The server's first list arrived while this screen shows the kept one: show it (diffed by
        id, the cursor stays on its task) and say so."""
        self.start, self.fresh = start, True
        self.query_one("#status-bar", Static).update(self._header())
        self.query_one("#views", Static).update(self._tabs())
        self.query_one("#updated", Label).update(f"as of {start.as_of}")
        self.table.set_tasks(start.tasks, mark_new=False)
        self._show(self.table.current)

    def on_task_table_highlighted(self, event: TaskTable.Highlighted) -> None:
        self._show(event.task)

    def refuse_unconfirmed(self) -> bool:
        if self.fresh:
            toast(self, STARTING, title="One moment", severity="warning", timeout=3)
        else:
            toast(self, refusal(self.start.as_of), title="Not confirmed yet", severity="warning", timeout=5)
        return True

    def action_refuse(self) -> None:
        self.refuse_unconfirmed()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "refuse" and self.table.current is None:
            return None
        return True


class ListSaver:
    """Keeps the queue of a profile on disk after each fresh list, off the event loop.

    A refresh every 5 s of a list that did not change writes nothing: the disk thread compares
    the list with the one it wrote last and skips it, unless that file is older than
    `REFRESH_AGE` (so the next start says a true age). Writes of a changing list are at least
    `MIN_GAP` seconds apart; the newest list offered meanwhile is the one written.
    """

    MIN_GAP = 30.0
    REFRESH_AGE = 600.0

    def __init__(self, app: LexiApp, profile: str, base_url: str, secrets: Callable[[], Sequence[str]],
                 folder: Path | None = None) -> None:
        self.app = app
        self.profile = profile
        self.base_url = base_url
        self.folder = folder
        self.secrets = secrets
        self._latest: tuple[list[dict[str, Any]], float] | None = None
        self._running = False
        self._written: list[dict[str, Any]] | None = None
        """What the disk thread wrote last (read and set only there)."""
        self._written_at = 0.0
        self._last_write = -1e9
        self._said: set[str] = set()
        self.writes = 0
        """Files written this session (tests and the harness read it)."""

    def offer(self, tasks: Sequence[Task]) -> None:
        """A fresh list of the queue: keep it (soon, off the loop)."""
        self._latest = ([task.raw for task in tasks], time.time())
        if not self._running:
            self._running = True
            self.app.run_worker(self._drain(), group="list-cache", name="keep the list")

    async def _drain(self) -> None:
        try:
            while self._latest is not None:
                wait = self.MIN_GAP - (time.monotonic() - self._last_write)
                if wait > 0 and self._written is not None:
                    await asyncio.sleep(wait)
                raws, fetched_at = self._latest
                self._latest = None
                future = self.app.write_in_background(self._write, raws, fetched_at, list(self.secrets()),
                                                      what="the list for the next start", report=False)
                try:
                    written, problem = await asyncio.wrap_future(future)
                except (OSError, ValueError, TypeError) as error:
                    self._say(f"The list could not be kept for the next start: {error}")
                    continue
                if written:
                    self._last_write = time.monotonic()
                    self.writes += 1
                if problem:
                    self._say(problem)
        finally:
            self._running = False

    def _write(self, raws: list[dict[str, Any]], fetched_at: float, secrets: list[str]) -> tuple[bool, str | None]:
        """In the disk thread: write unless it is the list written last and that is recent."""
        if raws == self._written and fetched_at - self._written_at < self.REFRESH_AGE:
            return False, None
        problem = list_cache.save(self.profile, self.base_url, raws, fetched_at=fetched_at, secrets=secrets,
                                  folder=self.folder)
        self._written, self._written_at = raws, fetched_at
        return problem is None, problem

    def _say(self, sentence: str) -> None:
        if sentence not in self._said:  # Once a session: never a toast per refresh.
            self._said.add(sentence)
            toast(self.app, sentence, severity="warning", timeout=6)
