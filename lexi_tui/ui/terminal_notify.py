"""Telling the person that new tasks arrived while the terminal is not focused (`notify`).

`notify = "bell"` rings the terminal bell (BEL); `notify = "desktop"` asks the terminal for a
desktop notification with an escape sequence, which travels over SSH like any output:

* `OSC 777 ; notify ; title ; body` (rxvt's, read by WezTerm, foot, Ghostty, Windows Terminal
  since its OSC 777 support, and VTE where the distribution carries Fedora's notify patch);
* `OSC 9 ; text` (iTerm2's; kitty reads it too) when the terminal says it is iTerm2 or kitty
  (`LC_TERMINAL`, which ssh forwards with `LC_*`; `TERM_PROGRAM`; `TERM=xterm-kitty`;
  `KITTY_WINDOW_ID`). Sending both would show two notifications where both are read.

Inside tmux (`TMUX` set) the sequence is wrapped for passthrough (`ESC P tmux; … ESC \\`,
every ESC doubled): tmux drops OSC 9 and 777 otherwise, and passes the wrapped form only with
`set -g allow-passthrough on` (tmux 3.3 and later). The bell needs nothing.

The words are the app's own: a count and a task type from the provider's fixed vocabulary,
never text from the server, and only letters, digits, spaces and a few signs, so nothing in
them can end the sequence early or start another one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from lexi_tui.api.models import Task

MODES = ("off", "bell", "desktop")
TITLE = "lexi-tui"
_SAFE = re.compile(r"[^A-Za-z0-9 _().,:-]")


def safe(text: str, limit: int = 120) -> str:
    """`text` with anything but letters, digits, spaces and `_().,:-` removed, clipped.

    Args:
        text: app-made words.
        limit: the longest result.
    """
    return _SAFE.sub("", text)[:limit]


def new_tasks_text(tasks: Iterable[Task], *, known_types: bool, profile: str = "") -> str:
    """"3 new tasks to approve (prospect search)" for the notification's body.

    Args:
        tasks: the tasks that arrived (at least one).
        known_types: whether task types come from the provider's fixed vocabulary (Lexi's):
            only then is a type named; free-text types (a workflow's name) never are.
        profile: the profile's name, said when it is not the default.
    """
    tasks = list(tasks)
    count = len(tasks)
    noun = "task" if count == 1 else "tasks"
    types = {str(task.type) for task in tasks}
    kind = ""
    if known_types and len(types) == 1:
        word = safe(next(iter(types)).replace("_", " "), 40).strip()
        kind = f" ({word})" if word else ""
    where = f" in {safe(profile, 40)}" if profile and profile != "default" else ""
    return f"{count} new {noun} to approve{kind}{where}"


def terminal_wants_osc9(env: Mapping[str, str]) -> bool:
    """Whether the terminal says it is one that reads OSC 9 (iTerm2, kitty).

    Args:
        env: the environment (`os.environ`).
    """
    names = " ".join(env.get(name, "") for name in ("LC_TERMINAL", "TERM_PROGRAM", "TERM")).lower()
    return "iterm" in names or "kitty" in names or bool(env.get("KITTY_WINDOW_ID"))


def sequence(body: str, env: Mapping[str, str], title: str = TITLE) -> str:
    """The escape sequence asking the terminal for a desktop notification.

    Args:
        body: the words (passed through `safe` again here).
        env: the environment, to choose the sequence and see tmux.
        title: the notification's title (OSC 777 only).
    """
    body, title = safe(body), safe(title, 40)
    if terminal_wants_osc9(env):
        seq = f"\x1b]9;{title}: {body}\x07"  # Starts with a letter: never read as ConEmu's 9;N.
    else:
        seq = f"\x1b]777;notify;{title};{body}\x07"
    if env.get("TMUX"):
        seq = "\x1bPtmux;" + seq.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return seq
