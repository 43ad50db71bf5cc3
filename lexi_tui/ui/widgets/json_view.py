"""A scrollable, syntax-highlighted JSON view that opens a 1 MB object without a stall.

Pretty-printing runs in a thread worker; each visible line is then highlighted on demand
with a small tokenizer and cached, so the cost of showing any object is the cost of the
lines on screen, not of the whole document (Rich's Syntax would lex all of it up front).
Strings are cleaned of control characters after `json.dumps`, which escapes C0 controls
itself but lets DEL, C1 controls and bidirectional overrides through.

A line longer than `MAX_LINE_CHARS` (a metadata value of megabytes) is cut, with a note of
what was left out. `show_all` (⏎ or `f` while the view has focus) shows everything instead: the
task's description and its metadata, long lines wrapped rather than cut, formatted in a thread;
each line on screen is still at most one wrap width long, so no frame costs more than another.
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
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from lexi_tui.api.text import clean
from lexi_tui.ui.text import size_words

MAX_LINE_CHARS = 4_000
"""Longer lines are cut with a note: a single 1 MB string must not be one 1 MB strip."""
WRAP_CHARS = 4_000
"""Widest line of the "everything" view; longer lines continue on the next line."""

_TOKEN = re.compile(
    r'(?P<key>"(?:[^"\\]|\\.)*"(?=\s*:))'
    r'|(?P<string>"(?:[^"\\]|\\.)*"?)'
    r"|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<literal>\b(?:true|false|null)\b)"
    r"|(?P<punct>[{}\[\],:])"
)


CUT_NOTE = "(⏎ shows it all)"


def _dumps(value: Any) -> list[str] | str:
    """`value` as indented JSON lines, or a line saying why it cannot be."""
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    except (RecursionError, ValueError) as error:
        return f"(metadata cannot be shown as JSON: {type(error).__name__})"
    return text.split("\n")


def format_json(value: Any) -> list[str]:
    """Pretty-print `value` as display lines: indented, cleaned, long lines cut.

    Each line is cleaned after it is cut, so the work per line is bounded whatever the size
    of one value (a regular-expression pass over 30 MB would hold the interpreter lock for
    as long and stall the event loop even from a thread).
    """
    lines = _dumps(value)
    if isinstance(lines, str):
        return [lines]
    for number, line in enumerate(lines):
        if len(line) > MAX_LINE_CHARS:
            left = len(line) - MAX_LINE_CHARS
            lines[number] = f"{clean(line[:MAX_LINE_CHARS])} … {size_words(left)} more {CUT_NOTE}"
        elif not line.isprintable():
            lines[number] = clean(line)
    return lines


def wrap_lines(text: str, width: int = WRAP_CHARS) -> list[str]:
    """`text` cleaned as display lines of at most `width` characters (long lines continue)."""
    width = max(20, width)
    out: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(clean(line, multiline=False))
            continue
        out.extend(clean(line[start:start + width], multiline=False) for start in range(0, len(line), width))
    return out


def format_everything(description: str, value: Any, width: int = WRAP_CHARS) -> tuple[list[str], int]:
    """The "everything" view: the description in full, then the metadata with nothing cut.

    Returns the lines and how many of them come first as plain text (not highlighted as JSON).
    """
    lines = ["Description:", *wrap_lines(description or "(no description)", width), "", "Metadata:"]
    plain_count = len(lines)
    dumped = _dumps(value)
    if isinstance(dumped, str):
        return [*lines, dumped], plain_count
    for line in dumped:
        lines.extend(wrap_lines(line, width) if len(line) > width else [clean(line, multiline=False)])
    return lines, plain_count


def is_cut(lines: list[str]) -> bool:
    """Whether formatting left something out (a line ends with the cut note)."""
    return any(line.endswith(CUT_NOTE) for line in lines)


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
        Binding("enter,f", "show_all", "Show all", id="detail.show_all",
                tooltip="Show the whole description and metadata, nothing cut (again: back to the short view)"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "json-view--key",
        "json-view--string",
        "json-view--number",
        "json-view--literal",
        "json-view--punct",
        "json-view--note",
    }

    class ShowAll(Message):
        """⏎ or f on the view: show everything (or, when it already does, the short view)."""

        def __init__(self, view: JsonView) -> None:
            super().__init__()
            self.view = view

        @property
        def control(self) -> JsonView:
            return self.view

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._lines: list[str] = []
        self._note: str | None = "(no task selected)"
        self._cache: LRUCache[int, Strip] = LRUCache(512)
        self._generation = 0
        self.cut = False
        """Something is left out of the lines shown (a value longer than `MAX_LINE_CHARS`)."""
        self.everything = False
        """The view shows everything (`show_everything`), not the short form."""
        self.more_to_show = False
        """Set by the detail pane: its description was cut, so `show_all` has more to show."""
        self._plain_count = 0
        """Leading lines shown as plain text, not highlighted (the description)."""

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
        self.everything = False
        if is_small(value):
            lines = format_json(value)
            self._set_lines(lines, width=max((cell_len(line) for line in lines), default=0), cut=False)
            return
        self._set_lines([], note="formatting…")
        self._format(format_json, (value,), self._generation)

    def show_everything(self, description: str, value: Any) -> None:
        """Show the description and `value` with nothing cut, formatted in a thread."""
        self._generation += 1
        self.everything = True
        self._set_lines([], note="formatting everything…")
        # The width on screen, less the vertical scrollbar the long result will bring.
        region = self.scrollable_content_region.width
        width = WRAP_CHARS if not region else max(20, region - (0 if self.show_vertical_scrollbar else 1))
        self._format(format_everything, (description, value, width), self._generation)

    def show_note(self, note: str) -> None:
        self._generation += 1
        self.everything = False
        self._set_lines([], note=note)

    def action_show_all(self) -> None:
        self.post_message(self.ShowAll(self))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """⏎/f is offered only when something is left out (or everything is shown)."""
        if action == "show_all":
            return self.cut or self.more_to_show or self.everything
        return True

    @work(thread=True, exclusive=True, group="json-format")
    def _format(self, formatter: Any, args: tuple[Any, ...], generation: int) -> None:
        result = formatter(*args)
        lines, plain_count = result if isinstance(result, tuple) else (result, 0)
        width = max((cell_len(line) for line in lines), default=0)
        cut = formatter is format_json and is_cut(lines)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._finish, lines, width, generation, cut, plain_count)

    def _finish(self, lines: list[str], width: int, generation: int, cut: bool, plain_count: int) -> None:
        if generation == self._generation:
            self._set_lines(lines, width=width, cut=cut)
            self._plain_count = plain_count

    def _set_lines(self, lines: list[str], *, width: int = 0, note: str | None = None, cut: bool | None = None) -> None:
        self._lines = lines
        self._note = note
        self._plain_count = 0
        was = self.cut
        self.cut = is_cut(lines) if cut is None else cut
        if self.cut != was:
            self.refresh_bindings()  # ⏎ "Show all" comes and goes with it.
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
            strip = self._highlight(self._lines[line], plain=line < self._plain_count)
            self._cache[line] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _highlight(self, line: str, *, plain: bool = False) -> Strip:
        text = Text(line, no_wrap=True, end="", style=self.rich_style)
        for match in () if plain else _TOKEN.finditer(line):
            kind = match.lastgroup
            if kind:
                text.stylize(self.get_component_rich_style(f"json-view--{kind}", partial=True), *match.span())
        segments = list(text.render(self.app.console))
        return Strip(segments, Segment.get_line_length(segments))
