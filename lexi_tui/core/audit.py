"""The one writer of audit lines: every path (a key press, bulk, a rule, a command) records
what the server did to a task through `record`, so the history says the same thing whichever
path acted.

The line is built from the outcome (`lexi_tui.core.outcomes.Outcome`, or `DRY_RUN` for a rule's
dry run) and the error the call raised: `detail` is the error's message (or the caller's own
text, for an outcome settled by reading the task back), masked by `redact` so no key reaches
the file, and `request_id` is the error's, or the caller's for a success.

I/O: `record` and `preflight` write or probe the history file (a `write` on an O_APPEND
descriptor; the history may fsync). They block: call them from a thread
(`await asyncio.to_thread(audit.record, ...)`, a Textual thread worker), never on the event
loop; `apreflight` is `preflight` in a thread. `entry` and `reason_text` are pure.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

from lexi_tui.api.text import redact
from lexi_tui.core import history
from lexi_tui.core.outcomes import ACTIONS, DRY_RUN, Outcome

if TYPE_CHECKING:
    from lexi_tui.api.errors import LexiError
    from lexi_tui.api.models import Task

OUTCOMES = history.OUTCOMES
"""Every `outcome` the history can hold: ok, already_handled, not_found, failed, unknown,
not_sent, dry_run."""

__all__ = ["ACTIONS", "DRY_RUN", "OUTCOMES", "Outcome", "apreflight", "entry", "preflight", "reason_text", "record"]


class _LocalHistoryUnwritable(OSError):
    """The history cannot be written (until `history.HistoryUnwritable` exists on this branch)."""


HistoryUnwritable: type[OSError] = getattr(history, "HistoryUnwritable", _LocalHistoryUnwritable)
"""What `preflight` raises: `history.HistoryUnwritable` once the history module has it."""


def entry(
    profile: str,
    task: Task,
    action: str,
    outcome: str,
    *,
    reason: str | None = None,
    comment: str | None = None,
    error: LexiError | None = None,
    detail: str | None = None,
    request_id: str | None = None,
    source: str = "manual",
) -> history.HistoryEntry:
    """The audit line for one action on one task (pure: nothing is written).

    Args:
        profile: the profile the action was sent with.
        task: the task as the caller saw it (id, type and description are recorded).
        action: "approve", "dismiss" or "cancel".
        outcome: an `Outcome` (or its value), `NOT_SENT` or `DRY_RUN`.
        reason: the dismiss/reject reason sent to the server, if any.
        comment: a note kept with the line (a rule's explanation, a person's comment).
        error: what the call raised, if it raised; its message becomes `detail` and its
            request id `request_id` unless those are given.
        detail: the text to record instead of the error's message (an outcome settled by
            reading the task back says what the read showed).
        request_id: the request id of a call that returned normally.
        source: "manual", "bulk", "cli", "rule:<name>"...
    """
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    text = detail if detail is not None else (error.message if error is not None else None)
    if request_id is None and error is not None:
        request_id = error.request_id
    return history.HistoryEntry(
        time=history.now_iso(),
        profile=profile,
        task_id=task.id,
        task_type=str(task.type),
        description=task.description,
        action=action,
        reason=reason,
        comment=comment,
        outcome=str(outcome),
        detail=redact(text) if text else None,
        request_id=request_id,
        source=source,
    )


def record(
    profile: str,
    task: Task,
    action: str,
    outcome: str,
    *,
    reason: str | None = None,
    comment: str | None = None,
    error: LexiError | None = None,
    detail: str | None = None,
    request_id: str | None = None,
    source: str = "manual",
    path: Path | None = None,
) -> history.HistoryEntry:
    """Build the audit line (see `entry` for the arguments) and append it to the history.

    Blocking disk I/O: run it in a thread. Raises OSError when the line cannot be written;
    the caller decides what that means (bulk and the rule runner stop sending).

    Args:
        path: the history file (default: the app's, `history.history_path()`).
    """
    line = entry(profile, task, action, outcome, reason=reason, comment=comment, error=error,
                 detail=detail, request_id=request_id, source=source)
    history.append(line, path)
    return line


def preflight(path: Path | None = None) -> None:
    """Raise `HistoryUnwritable` (an OSError) with a message a person can read when a line
    could not be written to the history now: the folder or file is read-only, the path is a
    folder, the disk is full. Blocking I/O: run it in a thread.

    Uses `history.preflight` when the history module has it; until then a local check:
    open the file for appending (creating it 0600 as `append` would, nothing is written) and
    ask the file system for free space.
    """
    check = getattr(history, "preflight", None)
    if check is not None:
        check(path)
        return
    file = history.history_path() if path is None else Path(path)
    try:
        file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            space = os.fstatvfs(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise HistoryUnwritable(
            f"the history cannot be written: {exc.strerror or exc} ({exc.filename or file})"
        ) from exc
    if space.f_bavail * space.f_frsize < _MIN_FREE_BYTES:
        raise HistoryUnwritable(f"the history cannot be written: the disk holding {file} is full")


async def apreflight(path: Path | None = None) -> None:
    """`preflight` in a worker thread, for callers on the event loop."""
    await asyncio.to_thread(preflight, path)


_MIN_FREE_BYTES = 64 * 1024
"""Below this much free space a line may not fit: say so before sending, not after."""


def reason_text(error: BaseException) -> str:
    """Why the history could not be written, as one clause for a summary or a log line
    ("the history cannot be written: No space left on device (/home/…/history.jsonl)")."""
    text = str(error)
    if isinstance(error, OSError) and error.strerror:  # A plain OSError from `append`.
        text = f"{error.strerror} ({error.filename})" if error.filename else error.strerror
    return text if text.lower().startswith("the history") else f"the history cannot be written: {text}"
