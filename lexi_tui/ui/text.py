"""Text for widgets, inert by construction: never markup, never a terminal escape, never huge.

Textual interprets markup in a `str` given to `notify`, `Static`, `Label` and `Button`
(field notes: `[/b]` raises MarkupError, `[@click=app.quit]…[/]` becomes a clickable action),
and Rich lets ESC and most control characters through to the terminal. Every widget of the
app that shows text it did not write itself takes it through this module:

* `plain(text)` is a `rich.text.Text` that is cleaned (`api.text.clean`: control and format
  characters made visible) and cut to a bounded length: pass it where a widget takes a
  renderable, and it is shown exactly as written;
* `toast(node, message, ...)` is `notify` with `markup=False` and a cleaned, bounded
  message and title;
* `cut(text, limit)` is the part of a huge value that is shown, with what was left out, for
  a note such as "… 28.6 MB more";
* ids are shown with `api.text.show_id` / `Task.display_id` (injective), never cleaned.

Cleaning twice is harmless (`clean` is idempotent), so text the API client already cleaned
costs one `str.isprintable()` here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from rich.style import Style
from rich.text import Text

from lexi_tui.api.text import clean

if TYPE_CHECKING:
    from textual.dom import DOMNode

DISPLAY_LIMIT = 20_000
"""Characters of one value shown inline (a toast, a field, a chat line); the rest is left out
with a note. Rendering and wrapping cost grows with the text, so a 30 MB description must not
reach a widget whole."""

TOAST_LIMIT = 2_000
"""Characters of a toast's message (a toast is a few lines high)."""


def cut(text: str, limit: int) -> tuple[str, int]:
    """The first `limit` characters of `text` and how many were left out.

    Args:
        text: any string, possibly tens of megabytes.
        limit: characters to keep.
    """
    if len(text) <= limit:
        return text, 0
    return text[:limit], len(text) - limit


def size_words(characters: int) -> str:
    """A length for a person: "850 characters", "12,345 characters", "28.6 MB" (a character
    is counted as a byte: an estimate, said as such by the callers' wording)."""
    if characters < 100_000:
        return f"{characters:,} character{'s' if characters != 1 else ''}"
    megabytes = characters / 1_000_000
    return f"{megabytes:.1f} MB" if megabytes < 100 else f"{megabytes:,.0f} MB"


def plain(text: str, style: str | Style = "", *, limit: int = DISPLAY_LIMIT, single_line: bool = False,
          no_wrap: bool = False) -> Text:
    """`text` as an inert `Text`: cleaned, never markup, at most `limit` characters (with "… N
    more characters" when cut).

    Args:
        text: text from anywhere (the server, the disk, an exception).
        style: the style of the whole text.
        limit: characters kept.
        single_line: collapse newlines and tabs to spaces (rows, one-line labels).
        no_wrap: do not wrap (the widget crops instead).
    """
    shown, left = cut(text, limit)
    body = clean(shown, multiline=not single_line)
    if left:
        body += f" … {size_words(left)} more"
    return Text(body, style=style, no_wrap=no_wrap, end="")


def inert(text: str, *, limit: int = TOAST_LIMIT) -> str:
    """`text` cleaned and bounded, as a `str` for APIs that take one (a toast's title, a
    border title, a tooltip). Still pass `markup=False` where the API interprets markup."""
    shown, left = cut(text, limit)
    body = clean(shown)
    return body + (f" … {size_words(left)} more" if left else "")


def toast(node: DOMNode, message: str, *, title: str = "",
          severity: Literal["information", "warning", "error"] = "information",
          timeout: float | None = None) -> None:
    """`node.notify` with the message shown exactly as written (never markup), cleaned and
    bounded.

    Args:
        node: the app, a screen or a widget.
        message: the toast's text (may hold server text).
        title: its title (Textual shows titles as plain text; cleaned here too).
        severity: information, warning or error.
        timeout: seconds on screen; None: Textual's default.
    """
    kwargs: dict[str, float] = {} if timeout is None else {"timeout": timeout}
    node.notify(inert(message), title=inert(title, limit=200), severity=severity, markup=False, **kwargs)


