"""A scrollable, syntax-highlighted JSON view that opens a 1 MB object without a stall.

Pretty-printing runs in a thread worker; each visible line is then highlighted on demand
with a small tokenizer and cached, so the cost of showing any object is the cost of the
lines on screen, not of the whole document (Rich's Syntax would lex all of it up front).
Strings are cleaned of control characters after `json.dumps`, which escapes C0 controls
itself but lets DEL, C1 controls and bidirectional overrides through.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from lexi_tui.api.text import clean

MAX_LINE_CHARS = 4_000
"""Longer lines are cut with a note: a single 1 MB string must not be one 1 MB strip."""

_TOKEN = re.compile(
    r'(?P<key>"(?:[^"\\]|\\.)*"(?=\s*:))'
    r'|(?P<string>"(?:[^"\\]|\\.)*"?)'
    r"|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<literal>\b(?:true|false|null)\b)"
    r"|(?P<punct>[{}\[\],:])"
)


def format_json(value: Any) -> list[str]:
    """Pretty-print `value` as display lines: indented, cleaned, long lines cut."""
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    except (RecursionError, ValueError) as error:
        return [f"(metadata cannot be shown as JSON: {type(error).__name__})"]
    lines = clean(text).split("\n")
    for number, line in enumerate(lines):
        if len(line) > MAX_LINE_CHARS:
            lines[number] = f"{line[:MAX_LINE_CHARS]} … ({len(line) - MAX_LINE_CHARS:,} more characters)"
    return lines


SMALL_BUDGET = 2_000
"""Nodes plus characters of strings and keys up to which a value is formatted inline."""


def is_small(value: Any, budget: int = SMALL_BUDGET) -> bool:
    """Whether `value` is cheap to format on the event loop; stops counting at `budget`,
    so deciding about a 1 MB object costs no more than deciding about a small one."""
    stack = [value]
    while stack:
        item = stack.pop()
        budget -= 1
        if isinstance(item, (dict, list, tuple)) and len(item) > budget:
            return False
        if isinstance(item, dict):
            budget -= sum(len(key) if isinstance(key, str) else 8 for key in item)
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, str):
            budget -= len(item)
        if budget < 0:
            return False
    return True


class JsonView(ScrollView, can_focus=True):
    """Shows one JSON value; `show()` replaces it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Up", show=False),
        Binding("down,j", "scroll_down", "Down", show=False),
        Binding("left,h", "scroll_left", "Left", show=False),
        Binding("right,l", "scroll_right", "Right", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown,space", "page_down", "Page down", show=False),
        Binding("home,g", "scroll_home", "Top", show=False),
        Binding("end,G", "scroll_end", "Bottom", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "json-view--key",
        "json-view--string",
        "json-view--number",
        "json-view--literal",
        "json-view--punct",
        "json-view--note",
    }

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._lines: list[str] = []
        self._note: str | None = "(no task selected)"
        self._cache: LRUCache[int, Strip] = LRUCache(512)
        self._generation = 0

    @property
    def lines(self) -> list[str]:
        """The formatted lines currently shown (empty while formatting)."""
        return self._lines

    @property
    def plain_text(self) -> str:
        return "\n".join(self._lines)

    def show(self, value: Any) -> None:
        """Show `value`: a small one at once, a large one formatted in a thread (stale
        results are dropped). Formatting the usual few-line metadata inline saves a frame of
        "formatting…" and a second layout pass on every cursor move."""
        self._generation += 1
        if is_small(value):
            lines = format_json(value)
            self._set_lines(lines, width=max((cell_len(line) for line in lines), default=0))
            return
        self._set_lines([], note="formatting…")
        self._format(value, self._generation)

    def show_note(self, note: str) -> None:
        self._generation += 1
        self._set_lines([], note=note)

    @work(thread=True, exclusive=True, group="json-format")
    def _format(self, value: Any, generation: int) -> None:
        lines = format_json(value)
        width = max((cell_len(line) for line in lines), default=0)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._finish, lines, width, generation)

    def _finish(self, lines: list[str], width: int, generation: int) -> None:
        if generation == self._generation:
            self._set_lines(lines, width=width)

    def _set_lines(self, lines: list[str], *, width: int = 0, note: str | None = None) -> None:
        self._lines = lines
        self._note = note
        self._cache.clear()
        self.virtual_size = Size(width, len(lines) if lines else 1)
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        line = scroll_y + y
        base = self.rich_style
        if not self._lines:
            if y == 0 and self._note:
                text = Text(self._note, style=self.get_component_rich_style("json-view--note", partial=True))
                return Strip(list(text.render(self.app.console)), text.cell_len).crop_extend(0, width, base)
            return Strip.blank(width, base)
        if line >= len(self._lines):
            return Strip.blank(width, base)
        strip = self._cache.get(line)
        if strip is None:
            strip = self._highlight(self._lines[line])
            self._cache[line] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _highlight(self, line: str) -> Strip:
        text = Text(line, no_wrap=True, end="", style=self.rich_style)
        for match in _TOKEN.finditer(line):
            kind = match.lastgroup
            if kind:
                text.stylize(self.get_component_rich_style(f"json-view--{kind}", partial=True), *match.span())
        segments = list(text.render(self.app.console))
        return Strip(segments, Segment.get_line_length(segments))
