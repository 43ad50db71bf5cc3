"""The last-known queue at start: painted before the network, never acted on until confirmed.

At start the app reads the profile's last pending list (`core.list_cache`, in the disk thread)
and shows it at once on `CachedListScreen`, a light copy of the triage screen's layout (the
list and its tabs as they will be; a one-line header and a details pane that say what there is
to say about an unconfirmed list) that imports neither httpx, the clients, the keyring, the
dialogs nor the refresh engine: every widget and every import less is a shorter first frame. Once the key, the client and
the undo journal are ready, the real `MainScreen` replaces it holding the same list, the cursor
on the same task. Until the first fresh list of the queue arrives, the header says how old the
list is ("as of 14:02, refreshing…", or "the refresh failed"), and nothing on it can be acted
on: approve, dismiss, cancel, chat and marks are refused with one sentence
(`refusal`; the header's words are `ui.text.cached_marker`). The fresh list replaces the cached one as any refresh does (diffed by id: tasks
gone from the queue vanish, the cursor stays on its task) and the marker goes.

After each fresh list of the queue the triage screen hands it to `ListSaver`, which writes it
in the disk thread, never on the event loop, and not more often than it changes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
from lexi_tui.ui.text import cached_marker, plain, toast
from lexi_tui.ui.widgets.footer import QuietFooter
from lexi_tui.ui.widgets.task_table import TaskTable

if TYPE_CHECKING:
    from lexi_tui.providers.capabilities import Capabilities
    from lexi_tui.ui.app import LexiApp


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
    Disk I/O and parsing: call it in a thread. Never raises for the file (a bad profile name
    is no cache).

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


def refusal(as_of: str) -> str:
    """Why a key was refused on the cached list."""
    return (f"This list is from {as_of}: waiting for the server to confirm the task is still pending. "
            "Nothing was sent.")


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

    def __init__(self, start: StartList, capabilities: Capabilities, location: str) -> None:
        super().__init__()
        self.start = start
        self.capabilities = capabilities
        self.location = location

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
        return Text.assemble((" lexi-tui ", "bold reverse"), "  ", self.location, "  ",
                             (cached_marker(self.start.as_of, "connecting"), "bold"), no_wrap=True,
                             overflow="ellipsis")

    def _tabs(self) -> Text:
        """The views as the triage screen's tabs show them (the queue first, with its count, and
        underlined): drawn as text, since `Tabs` and its animated underline cost a first frame
        ~25 ms here."""
        labels = [view.replace("_", " ").title() for view in self.capabilities.views]
        labels[0] += f" {len(self.start.tasks)}"
        top = Text(no_wrap=True, overflow="crop")
        for number, label in enumerate(labels):
            top.append(f" {label} ", "bold" if number == 0 else "")
        bottom = Text("━" * (len(labels[0]) + 2), "bold", no_wrap=True, overflow="crop")
        bottom.append("─" * max(0, 300 - len(labels[0]) - 2), "dim")
        return Text("\n", no_wrap=True, overflow="crop").join([top, bottom])

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
        text.append(f"From the list as of {self.start.as_of}; the details come once the server has confirmed it.",
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

    def on_task_table_highlighted(self, event: TaskTable.Highlighted) -> None:
        self._show(event.task)

    def refuse_unconfirmed(self) -> bool:
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
