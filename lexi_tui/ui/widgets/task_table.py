"""The task list: a line-API view that stays smooth with tens of thousands of tasks.

No widget per row and no column measuring: each visible line is drawn on demand from the
task it shows, and cached until that task, the width or the cursor changes (Toolong's
approach). A refresh diffs by task id, so the cursor stays on the same task; when that
task disappears the cursor lands on its neighbour. Tasks that arrive after the first
load are marked new until the cursor visits them.

A refresh of a long list is compared in a thread and applied on the event loop
(`ui/main/refresh.py`): `compare` is pure and reads only a `snapshot()` (the table never
changes the dict and the list it holds in place, it replaces them), so it is safe in a thread;
`apply` then costs what changed, not the list's length. A diff made against an older
snapshot (`is_current` is False) must not be applied: compare again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from lexi_tui.api.models import Task
from lexi_tui.ui import clock
from lexi_tui.ui.rows import AGE_UNITS, AGE_WIDTH, format_age, task_row

HAYSTACK_CHARS = 4_000
"""Characters of a description the filter searches: a 30 MB description must not cost a
30 MB casefold on the event loop at every refresh (assumption: what a person filters for is
near the start of a description)."""


CACHED_ROWS = 256
"""Rendered rows kept (a screenful or two, each with and without the cursor). Each strip holds
a dozen small objects (its caches, segments) the garbage collector scans at every full
collection while they live: 1,024 of them, mostly rows drawn before a change, were a third of
what a full collection scanned during fast triage."""


def _age_changes_in(created: datetime | None, now: datetime) -> float | None:
    """Seconds until `format_age(created)` reads differently (None: never, e.g. no date)."""
    if created is None:
        return None
    seconds = (now - created).total_seconds()
    if seconds < 0:
        return -seconds
    size = next((size for _unit, size in AGE_UNITS if seconds >= size), 60)
    return size - seconds % size


def haystack(task: Task) -> str:
    """What the filter searches for a task: its id (as sent and as shown), type and the start
    of its description, folded."""
    shown = task.display_id
    ids = task.id if shown == task.id else f"{task.id} {shown}"
    return f"{ids} {task.type} {task.description[:HAYSTACK_CHARS]}".casefold()


@dataclass(frozen=True, slots=True)
class ListDiff:
    """What changes when a new list replaces the tasks a table shows (`TaskTable.compare`).

    Attributes:
        base: the table's `generation` the diff was made against.
        tasks: the new list (its identity: `TaskTable.shows`).
        incoming: task id -> task, in the new list's order (first of a duplicated id).
        order: the ids in that order.
        changed: ids that are new or whose task differs from the one shown.
        added: ids that were not shown at all (a subset of `changed`).
        haystacks: the filter's text of every changed task.
        gone: ids shown before and not in the new list.
        same: nothing to change (same ids in the same order, equal tasks).
        problems: the list's own problems (`TaskList.problems`), or None for a plain list.
    """

    base: int
    tasks: Sequence[Task]
    incoming: dict[str, Task]
    order: list[str]
    changed: list[str]
    added: list[str]
    haystacks: dict[str, str]
    gone: list[str]
    same: bool
    problems: tuple[str, ...] | None


def _by_id(tasks: Sequence[Task]) -> dict[str, Task]:
    """Task id -> task in list order; a duplicated id keeps its first task."""
    if not isinstance(tasks, list):
        tasks = list(tasks)
    incoming = dict(zip([task.id for task in tasks], tasks, strict=True))  # The common case: unique ids, C speed.
    if len(incoming) == len(tasks):
        return incoming
    first: dict[str, Task] = {}
    for task in tasks:
        first.setdefault(task.id, task)
    return first


Snapshot = tuple[int, dict[str, Task], list[str]]
"""(generation, task id -> task, ids in order) of a table: what `compare` reads."""


class TaskTable(ScrollView, can_focus=True):
    """The scrolling list of tasks in the current view."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="list.up", tooltip="Previous task"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="list.down", tooltip="Next task"),
        Binding("pageup,ctrl+b", "page(-1)", "Page up", show=False, id="list.page_up"),
        Binding("pagedown,ctrl+f", "page(1)", "Page down", show=False, id="list.page_down"),
        Binding("home,g", "jump(0)", "First", show=False, id="list.first", tooltip="First task"),
        Binding("end,G", "jump(-1)", "Last", show=False, id="list.last", tooltip="Last task"),
        Binding("space", "toggle_mark", "Mark", id="list.mark", tooltip="Mark the task and move down"),
        Binding("v", "mark_visible", "Mark all", show=False, id="list.mark_all",
                tooltip="Mark every task shown (after a filter: the filtered ones)"),
        Binding("V", "clear_marks", "Clear marks", show=False, id="list.clear_marks", tooltip="Clear all marks"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "task-table--cursor",
        "task-table--cursor-blurred",
        "task-table--new",
        "task-table--marked",
        "task-table--busy",
        "task-table--error",
        "task-table--type",
        "task-table--age",
        "task-table--pending",
        "task-table--approved",
        "task-table--completed",
        "task-table--dismissed",
        "task-table--failed",
        "task-table--unknown",
        "task-table--count",
        "task-table--outcome-approved",
        "task-table--outcome-rejected",
        "task-table--empty",
    }

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class MarksChanged(Message):
        """The set of marked tasks changed (bulk actions act on it)."""

        def __init__(self, table: TaskTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> TaskTable:
            return self.table

    class Listed(Message):
        """`set_tasks` was called (every refresh of the view on screen, changed or not):
        `problems` are the list's own, e.g. "The server sent 2 tasks with id t-1; only the
        first is shown." (`TaskList.problems`)."""

        def __init__(self, table: TaskTable, problems: tuple[str, ...]) -> None:
            super().__init__()
            self.table = table
            self.problems = problems

        @property
        def control(self) -> TaskTable:
            return self.table

    class Highlighted(Message):
        """The cursor moved to another task (or the list became empty: task is None)."""

        def __init__(self, table: TaskTable, task: Task | None) -> None:
            super().__init__()
            self.table = table
            self.task = task

        @property
        def control(self) -> TaskTable:
            return self.table

    def __init__(self, *, empty_text: Callable[[], str] | None = None, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        """
        Args:
            empty_text: what an empty list says ("No pending tasks: the queue is clear");
                asked when the list is drawn empty, so it can depend on the view and on
                whether it was fetched yet.
        """
        super().__init__(name=name, id=id, classes=classes)
        self.empty_text: Callable[[], str] = empty_text or (lambda: "No tasks")
        self.problems: tuple[str, ...] = ()
        """What the server sent for this list that could not be shown as it came."""
        self._empty_shown: str | None = None
        self._tasks: dict[str, Task] = {}
        self._all: list[str] = []  # Ids in server order, before the filter.
        self._order: list[str] = []  # Ids shown, after the filter.
        self._haystack: dict[str, str] = {}
        self._filter = ""
        self._seen: set[str] = set()
        self._loaded_once = False
        self.new_ids: set[str] = set()
        self.busy: dict[str, str] = {}
        """Task id -> what is in flight for it ("approving…"); drawn on the row."""
        self.errors: dict[str, str] = {}
        """Task id -> why the last action on it failed; drawn on the row."""
        self.marked: dict[str, None] = {}
        """Marked task ids, in the order they were marked (an ordered set)."""
        self._cache: LRUCache[tuple[str, int, int, bool, bool, int], Strip] = LRUCache(CACHED_ROWS)
        self._versions: dict[str, int] = {}
        """Task id -> how often its row was invalidated: part of its strips' cache key, so
        invalidating a row is one dict write, not a scan of the cache. Kept when a task leaves
        (a task that comes back must not meet a strip drawn before it left)."""
        self.generation = 0
        """Bumped whenever the tasks shown change (`apply`): a diff is current while it matches."""
        self._shown_list: object = None
        """The list object last given to `set_tasks`/`apply` (`shows`)."""
        self._drawn_ages: dict[str, str] = {}
        """Task id -> the age its row was last drawn with (`refresh_ages` redraws it when stale)."""
        self._last_highlighted: str | None = None

    # -- data ------------------------------------------------------------------------

    @property
    def task_count(self) -> int:
        return len(self._order)

    @property
    def list_size(self) -> int:
        """Tasks in the list, before the filter."""
        return len(self._all)

    @property
    def current(self) -> Task | None:
        if 0 <= self.cursor < len(self._order):
            return self._tasks[self._order[self.cursor]]
        return None

    def get(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def visible_ids(self) -> list[str]:
        return list(self._order)

    def set_tasks(self, tasks: Iterable[Task], *, mark_new: bool = True) -> bool:
        """Show `tasks` (in the given order), diffing by id. Returns whether anything changed.

        A task with an id seen twice keeps its first occurrence: a duplicated id from
        the server must not make two rows that act on one task.

        `tasks` may be a `TaskList`: its `problems` become `self.problems`. A plain list keeps
        the problems already known (it is the same answer with tasks taken out after an
        action), except an empty one (a view not fetched yet). Posts `Listed` every time.

        On the event loop: `compare` + `apply`. For long lists the refresh compares in a thread
        (`compare` on a `snapshot()`) and calls `apply` itself.
        """
        if not isinstance(tasks, list):
            tasks = list(tasks)
        return self.apply(self.compare(self.snapshot(), tasks), mark_new=mark_new)

    def snapshot(self) -> Snapshot:
        """What `compare` needs, safe to hand to a thread: the dict and the list are never
        changed in place (`apply` replaces them)."""
        return self.generation, self._tasks, self._all

    def is_current(self, diff: ListDiff) -> bool:
        """Whether `diff` was made against the tasks shown now (else compare again)."""
        return diff.base == self.generation

    def shows(self, tasks: object) -> bool:
        """Whether `tasks` (that very list object) is the one last applied."""
        return tasks is self._shown_list

    @staticmethod
    def compare(snapshot: Snapshot, tasks: Sequence[Task]) -> ListDiff:
        """The difference between a table's `snapshot()` and `tasks`. Pure: safe in a thread.

        A live refresh usually changes nothing: a task that is the very object shown, or whose
        raw JSON equals the shown one's (a C-level dict compare), is the same; the fields are
        compared only when those differ.
        """
        base, shown, shown_order = snapshot
        problems: Any = getattr(tasks, "problems", None)
        incoming = _by_id(tasks)
        order = list(incoming)
        changed: list[str] = []
        added: list[str] = []
        get = shown.get
        for task_id, task in incoming.items():
            old = get(task_id)
            if old is None:
                added.append(task_id)
                changed.append(task_id)
            elif old is not task and old.raw != task.raw and old != task:
                changed.append(task_id)
        if len(incoming) == len(shown) and not added:
            gone: list[str] = []
        else:
            gone = [task_id for task_id in shown if task_id not in incoming]
        same = not changed and not gone and order == shown_order
        haystacks = {task_id: haystack(incoming[task_id]) for task_id in changed}
        return ListDiff(base, tasks, incoming, order, changed, added, haystacks, gone, same,
                        None if problems is None else tuple(problems))

    def apply(self, diff: ListDiff, *, mark_new: bool = True) -> bool:
        """Show the list `diff` was made for (see `set_tasks`); on the event loop, costing what
        changed. Returns whether anything changed. Raises ValueError for a diff that is not
        `is_current`: applying it could bring back a task taken out since."""
        if not self.is_current(diff):
            raise ValueError("the list changed since this diff was made: compare again")
        if diff.problems is not None:
            self.problems = diff.problems
        elif not diff.incoming:
            self.problems = ()
        self._shown_list = diff.tasks
        self.post_message(self.Listed(self, self.problems))
        if diff.same:
            if not diff.incoming:
                self.refresh_empty()
            return False
        previous_id = self.current.id if self.current else None
        previous_index = self.cursor
        self._invalidate_many(diff.changed)
        self._haystack.update(diff.haystacks)
        if mark_new and self._loaded_once:
            seen = self._seen
            self.new_ids.update(task_id for task_id in diff.added if task_id not in seen)
        marks_before = len(self.marked)
        for gone in diff.gone:
            self._haystack.pop(gone, None)
            self._drawn_ages.pop(gone, None)
            self.new_ids.discard(gone)
            self.marked.pop(gone, None)  # A task that left the view cannot stay marked.
        if len(self.marked) != marks_before:
            self.post_message(self.MarksChanged(self))
        self._tasks = diff.incoming
        self._all = diff.order
        self.generation += 1
        self._loaded_once = True
        self._apply_filter(previous_id, previous_index)
        return True

    def refresh_empty(self) -> None:
        """Repaint an empty list if what it says has changed (fetched, another view); and
        tell the screen, whose detail pane says the same."""
        if self._order:
            return
        text = self.empty_text()
        if text != self._empty_shown:
            self._empty_shown = text
            self.refresh()
            self.post_message(self.Highlighted(self, None))

    def set_filter(self, text: str) -> None:
        """Show only tasks whose id, type or description contains `text` (any case)."""
        folded = text.casefold().strip()
        if folded == self._filter:
            return
        previous_id = self.current.id if self.current else None
        self._filter = folded
        self._apply_filter(previous_id, 0)

    @property
    def filter_text(self) -> str:
        return self._filter

    def _apply_filter(self, keep_id: str | None, fallback_index: int) -> None:
        if self._filter:
            needle = self._filter
            self._order = [i for i in self._all if needle in self._haystack[i]]
        else:
            self._order = list(self._all)
        target = -1
        if keep_id is not None and keep_id in self._tasks:
            try:
                target = self._order.index(keep_id)
            except ValueError:  # Filtered out.
                target = -1
        if target < 0:
            # The task under the cursor went away: its neighbour takes its place.
            target = min(fallback_index, len(self._order) - 1)
        self._set_rows(len(self._order))
        # No cache clear: strips are keyed by task id, so a new order or filter reuses them
        # (set_tasks has invalidated the tasks that changed).
        self.move_to(max(target, 0))
        self.refresh()

    def _set_rows(self, rows: int) -> None:
        """The list's virtual height. Assigning `virtual_size` lays out the whole screen (it is a
        layout reactive), ~10 ms at every approval that takes a row out; the list's own region
        does not change with its row count, so only its scrollbar and scroll offset are updated
        (Textual's `_scroll_update`, what a layout would do for it). When the scrollbar appears
        or goes, that reactive lays the screen out itself."""
        size = Size(self.size.width, rows)
        if size == self.virtual_size:
            return
        if not self.is_mounted or not self.container_size:
            self.virtual_size = size
            return
        self.set_reactive(TaskTable.virtual_size, size)
        self._scroll_update(size)

    def mark_busy(self, task_id: str, label: str | None) -> None:
        if label is None:
            self.busy.pop(task_id, None)
        else:
            self.busy[task_id] = label
            self.errors.pop(task_id, None)
        self.refresh_task(task_id)

    def mark_error(self, task_id: str, message: str | None) -> None:
        if message is None:
            self.errors.pop(task_id, None)
        else:
            self.errors[task_id] = message
        self.refresh_task(task_id)

    def refresh_task(self, task_id: str) -> None:
        self._invalidate(task_id)
        try:
            line = self._order.index(task_id)
        except ValueError:
            return
        self.refresh_line(line - self.scroll_offset.y)

    def select(self, task_id: str) -> bool:
        """Put the cursor on `task_id`, if it is shown."""
        try:
            line = self._order.index(task_id)
        except ValueError:
            return False
        self.move_to(line)
        return True

    def next_index_after(self, task_id: str, skip: set[str]) -> int | None:
        """The line of the next task after `task_id` that is not in `skip` (wrapping up)."""
        try:
            start = self._order.index(task_id)
        except ValueError:
            return None
        for line in range(start + 1, len(self._order)):
            if self._order[line] not in skip:
                return line
        for line in range(start - 1, -1, -1):
            if self._order[line] not in skip:
                return line
        return None

    # -- marks -------------------------------------------------------------------------

    def marked_tasks(self) -> list[Task]:
        return [self._tasks[task_id] for task_id in self.marked if task_id in self._tasks]

    def set_marks(self, task_ids: Iterable[str]) -> None:
        """Mark exactly `task_ids` (those shown); used to keep failed ones after a bulk run."""
        self.marked = {task_id: None for task_id in task_ids if task_id in self._tasks}
        self._cache.clear()
        self.refresh()
        self.post_message(self.MarksChanged(self))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Mark keys grey out when there is nothing to mark (or no mark to clear)."""
        if action in ("toggle_mark", "mark_visible") and not self._order:
            return None
        if action == "clear_marks" and not self.marked:
            return None
        return True

    def action_toggle_mark(self) -> None:
        task = self.current
        if task is None:
            return
        if task.id in self.marked:
            del self.marked[task.id]
        else:
            self.marked[task.id] = None
        self.refresh_task(task.id)
        self.post_message(self.MarksChanged(self))
        self.user_moves += 1
        self.move_to(self.cursor + 1)

    def action_mark_visible(self) -> None:
        self.set_marks([*self.marked, *self._order])

    def action_clear_marks(self) -> None:
        self.set_marks([])

    def _invalidate(self, task_id: str) -> None:
        """Its cached strips are not used again (they age out of the LRU cache)."""
        self._versions[task_id] = self._versions.get(task_id, 0) + 1

    def _invalidate_many(self, task_ids: list[str]) -> None:
        """Invalidate the rows of `task_ids` that have strips cached (at most the cache's 1,024
        keys to look at): rows on screen that did not change are not drawn again."""
        cached = {key[0] for key in self._cache.keys()}
        for task_id in cached.intersection(task_ids):
            self._invalidate(task_id)

    # -- cursor ----------------------------------------------------------------------

    def move_to(self, line: int) -> None:
        if not self._order:
            self.cursor = 0
        else:
            self.cursor = max(0, min(line, len(self._order) - 1))

    def watch_cursor(self, old: int, new: int) -> None:
        task = self.current
        if task is not None:
            self._seen.add(task.id)
            if task.id in self.new_ids:
                self.new_ids.discard(task.id)
                self._invalidate(task.id)
        self.scroll_to_region_line(new)
        self.refresh_line(old - self.scroll_offset.y)
        self.refresh_line(new - self.scroll_offset.y)
        task_id = task.id if task else None
        if task_id != self._last_highlighted or task is None:
            self._last_highlighted = task_id
            self.post_message(self.Highlighted(self, task))

    def scroll_to_region_line(self, line: int) -> None:
        height = self.scrollable_content_region.height or 1
        top = self.scroll_offset.y
        if line < top:
            self.scroll_to(y=line, animate=False)
        elif line >= top + height:
            self.scroll_to(y=line - height + 1, animate=False)

    user_moves = 0
    """How often the user has moved the cursor (keys, clicks): the app moves it back to a task
    whose action failed only if the user has not moved it since auto-advance."""

    def action_cursor(self, delta: int) -> None:
        self.user_moves += 1
        self.move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.user_moves += 1
        height = max(1, self.scrollable_content_region.height - 1)
        self.move_to(self.cursor + direction * height)

    def action_jump(self, line: int) -> None:
        self.user_moves += 1
        self.move_to(line if line >= 0 else len(self._order) - 1)

    async def _on_click(self, event: events.Click) -> None:
        line = self.scroll_offset.y + event.y
        if 0 <= line < len(self._order):
            self.user_moves += 1
            self.move_to(line)

    def on_focus(self) -> None:
        self._cache.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._cache.clear()
        self.refresh()

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._order))
        self._cache.clear()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def refresh_ages(self) -> float | None:
        """Redraw the rows on screen whose age ("12m") reads differently now, and nothing else.
        Returns the seconds until the next row's age changes (None: no dated rows on screen).
        Called coarsely by live refresh (`ui/main/refresh.py`)."""
        now = clock.now()
        top = self.scroll_offset.y
        height = self.scrollable_content_region.height
        width = self.scrollable_content_region.width
        soonest: float | None = None
        for line in range(top, min(top + height, len(self._order))):
            task = self._tasks[self._order[line]]
            drawn = self._drawn_ages.get(task.id)
            if drawn is not None and drawn != format_age(task.created_at, now):
                self._invalidate(task.id)
                if task.id in self.busy or task.id in self.errors:
                    continue  # The row shows what is in flight, not its age.
                # Only the age's cells are sent to the terminal (a few bytes, not the row).
                self.refresh(Region(max(0, width - AGE_WIDTH - 1), line - top, AGE_WIDTH + 1, 1))
            change = _age_changes_in(task.created_at, now)
            if change is not None and (soonest is None or change < soonest):
                soonest = change
        return soonest

    # -- rendering -------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        line = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        if not 0 <= line < len(self._order):
            if not self._order and y == 1:
                return self._render_empty(width)
            return Strip.blank(width, self.rich_style)
        task_id = self._order[line]
        is_cursor = line == self.cursor
        minute = int(clock.now().timestamp() // 60)  # Ages ("12m") move on once a minute.
        key = (task_id, self._versions.get(task_id, 0), width, is_cursor, self.has_focus, minute)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._render_task(self._tasks[task_id], width, is_cursor)
            self._cache[key] = strip
        return strip

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"task-table--{name}", partial=True)

    def _render_empty(self, width: int) -> Strip:
        """What an empty list says, on its second line."""
        text = self.empty_text()
        self._empty_shown = text
        line = Text("  " + text, no_wrap=True, overflow="ellipsis", end="", style=self.rich_style)
        line.stylize(self._style("empty"))
        line.truncate(width, overflow="ellipsis", pad=True)  # The padding keeps the list's background.
        segments = list(line.render(self.app.console))
        return Strip(Segment.adjust_line_length(segments, width, style=self.rich_style), width)

    def _render_task(self, task: Task, width: int, is_cursor: bool) -> Strip:
        base = self.rich_style
        marked = task.id in self.marked
        drawn = task_row(task, width, marked=marked, new=task.id in self.new_ids, busy=self.busy.get(task.id),
                         error=self.errors.get(task.id))
        self._drawn_ages[task.id] = drawn.age
        row = Text(no_wrap=True, end="")
        for piece, style in drawn.pieces:
            row.append(piece, self._style(style) if style else None)
        row.stylize_before(base)
        if marked:
            row.stylize(self._style("marked"), 0, 1)
        if is_cursor:
            row.stylize(self._style("cursor" if self.has_focus else "cursor-blurred"))
        segments = list(row.render(self.app.console))
        return Strip(Segment.adjust_line_length(segments, width, style=base), width)
