"""The one table of exit codes: every command, login/logout, webhook-listen and the app.

Each meaning has one number, whichever command returns it, so a script can test `$?` the
same way after `lexi-tui approve`, `lexi-tui login` or the app. The `--help` epilogs are
generated from `MEANINGS` (`epilog`), so the help and the code cannot drift apart.

Stdlib only: `lexi_tui.cli.main` imports it on every start.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Exit(enum.IntEnum):
    """Exit statuses of `lexi-tui` (see `MEANINGS` for what each one says)."""

    OK = 0
    PARTIAL = 1
    USAGE = 2
    AUTH = 3
    FAILED = 4
    ALREADY_HANDLED = 5
    NOT_FOUND = 6
    UNKNOWN = 7
    UNAVAILABLE = 8
    QUOTA = 9
    NO_CREDITS = 10
    KEYRING = 11
    CRASHED = 12
    INTERRUPTED = 130


MEANINGS: dict[Exit, str] = {
    Exit.OK: "success: everything asked for was done",
    Exit.PARTIAL: "partial: some tasks were applied, others were not (the output says which and why); for tasks: "
    "some watched tasks could not be read",
    Exit.USAGE: "usage: bad arguments, config, rules or profile, or a command the profile's provider cannot do",
    Exit.AUTH: "authentication: no API key, or the key was refused (401/403); run `lexi-tui login` or set the "
    "profile's key variable (LEXI_API_KEY, CHAMELIO_API_KEY)",
    Exit.FAILED: "failed: nothing was applied (every task failed or was not sent, or the server answered an error)",
    Exit.ALREADY_HANDLED: "already handled: no task needed it; each was already approved, dismissed or moved on "
    "elsewhere (some ids may also be not found)",
    Exit.NOT_FOUND: "not found: no id given exists, or this key cannot see it",
    Exit.UNKNOWN: "unknown: an answer was lost and reading the task back did not settle it; it may have been "
    "applied (check with `lexi-tui tasks` before sending it again)",
    Exit.UNAVAILABLE: "unavailable: the server could not be reached (connection, TLS, time-out), or "
    "serve or webhook-listen could not open its port",
    Exit.QUOTA: "daily quota used up: the API allows no more calls today (the output says when it resets)",
    Exit.NO_CREDITS: "no Lexi credits remaining (chat): retrying cannot help until credits are added",
    Exit.KEYRING: "keyring unavailable: the system keyring could not store, read or delete the key",
    Exit.CRASHED: "crashed: the app stopped on an unexpected error (a crash report was written)",
    Exit.INTERRUPTED: "interrupted (Ctrl-C; a second Ctrl-C in approve, dismiss, reject or cancel)",
}

BULK = (Exit.OK, Exit.PARTIAL, Exit.USAGE, Exit.AUTH, Exit.FAILED, Exit.ALREADY_HANDLED, Exit.NOT_FOUND,
        Exit.UNKNOWN, Exit.UNAVAILABLE, Exit.QUOTA, Exit.NO_CREDITS, Exit.INTERRUPTED)
"""What approve, dismiss/reject and cancel can return."""
READ = (Exit.OK, Exit.PARTIAL, Exit.USAGE, Exit.AUTH, Exit.FAILED, Exit.UNAVAILABLE, Exit.QUOTA, Exit.INTERRUPTED)
"""What tasks can return."""
CHAT = (Exit.OK, Exit.USAGE, Exit.AUTH, Exit.FAILED, Exit.UNKNOWN, Exit.UNAVAILABLE, Exit.QUOTA, Exit.NO_CREDITS,
        Exit.INTERRUPTED)
WATCH = (Exit.OK, Exit.PARTIAL, Exit.USAGE, Exit.AUTH, Exit.FAILED, Exit.UNKNOWN, Exit.UNAVAILABLE, Exit.QUOTA,
         Exit.INTERRUPTED)
ACCOUNT = (Exit.OK, Exit.USAGE, Exit.AUTH, Exit.FAILED, Exit.UNAVAILABLE, Exit.KEYRING, Exit.INTERRUPTED)
"""What login and logout can return."""
LISTEN = (Exit.OK, Exit.USAGE, Exit.UNAVAILABLE, Exit.INTERRUPTED)
SERVE = (Exit.OK, Exit.USAGE, Exit.UNAVAILABLE)
APP = (Exit.OK, Exit.USAGE, Exit.CRASHED, Exit.INTERRUPTED)


PRECEDENCE = ("A run that stops early for a reason you must act on (3, 7, 8, 9, 10) exits with that code even "
              "when some tasks were applied; the output says which were.")
"""How approve/dismiss/reject/cancel choose between a stop reason and "partial"."""


def epilog(codes: Iterable[Exit] = tuple(Exit), *, title: str = "exit codes") -> str:
    """The `--help` epilog listing `codes` (shown as written: use RawDescriptionHelpFormatter)."""
    import textwrap

    codes = tuple(codes)
    lines = [f"{title}:"]
    for code in codes:
        head = f"  {int(code):>3}  "
        wrapped = textwrap.wrap(MEANINGS[code], width=96 - len(head), break_on_hyphens=False)
        lines.append(head + wrapped[0])
        lines.extend(" " * len(head) + more for more in wrapped[1:])
    if Exit.PARTIAL in codes and Exit.AUTH in codes and Exit.NOT_FOUND in codes:
        lines.extend(textwrap.wrap(PRECEDENCE, width=96, initial_indent="  ", subsequent_indent="  "))
    return "\n".join(lines)


def markdown_table() -> str:
    """The table as Markdown, for the README (kept here so it is generated, never retyped)."""
    rows = ["| Exit code | Meaning |", "| --- | --- |"]
    rows.extend(f"| `{int(code)}` | {MEANINGS[code]} |" for code in Exit)
    return "\n".join(rows)
