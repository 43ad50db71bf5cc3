"""The local audit log: every approve and dismiss this machine sent, one JSON object a line.

Lexi's own API shows a task's current status but not who changed it, when, from which
tool, or why an automatic rule fired. When a person asks "why was that campaign started?",
this file answers: it records the action, the outcome the server gave (including
"already handled" and failures), the request id to quote to support, and the source
(a keypress, a bulk run, a named rule, a script).

The format is JSON Lines at `data_dir()/history.jsonl`, appended with one `write` per
entry on an `O_APPEND` descriptor, so concurrent writers (the app and a `lexi-tui watch`
in another terminal) never interleave within a line, and a crash loses at most the line
being written. The file is created 0600: task descriptions can name clients and campaigns.
It never holds the API key: only the fields of `HistoryEntry` are written, and anything in
them that looks like a LeadLex key is masked on the way in.

Never lose the user's intent:

* before an action is sent (a key press, each task of a bulk run, each rule action), the
  caller runs `preflight()`: it raises `HistoryUnwritable` (an OSError naming the file and the
  cause, "No space left on device", "Read-only file system", "Permission denied") when the log
  cannot be appended to, so an action that could not be recorded is not sent and the person
  is told why. It writes no line (it opens the file for appending, creating it empty if
  needed, and checks the free space);
* `append` raises `HistoryUnwritable` too when the line cannot be written;
* the log is append-only and never rewritten, not even to drop a damaged line: readers skip
  a corrupt or truncated line but count it, and `read_report` returns that count with a
  `Problem` the history screen can show. A file that exists but cannot be read raises
  `HistoryUnreadable` (an OSError whose message names the file and the cause).

Every function here except `filter_entries`, `now_iso` and `history_path` does disk I/O: the
UI calls them from a thread worker. Stdlib only (plus `lexi_tui.core.config` for the data
folder and `core.storage`), so importing it is cheap.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lexi_tui.api.text import redact
from lexi_tui.core.outcomes import ACTIONS as ACTIONS
from lexi_tui.core.outcomes import DRY_RUN, NOT_SENT, Outcome
from lexi_tui.core.storage import MIN_FREE_BYTES, Problem, check_writable, describe_error, ensure_folder

FILE_NAME = "history.jsonl"

OUTCOMES: tuple[str, ...] = (*(o.value for o in Outcome), NOT_SENT, DRY_RUN)
"""What `outcome` records: `core.outcomes.Outcome` values, "not_sent" for an action that was
never sent (it could not be journalled, or its run stopped first) and "dry_run" for a rule's
dry run. (`ACTIONS`, re-exported, is what `action` records.)"""


class HistoryUnwritable(OSError):
    """The history cannot be appended to; an action that cannot be recorded must not be sent.

    `str()` is a sentence for a person naming the file and the cause; `reason` is the cause
    alone and `filename` the file (as for any OSError, so `except OSError` still works).
    """

    def __init__(self, path: Path, cause: OSError) -> None:
        self.reason = describe_error(cause)
        self.message = f"The history {path} cannot be written ({self.reason}), so no action is sent."
        super().__init__(cause.errno or 0, self.reason, str(path))

    def __str__(self) -> str:
        return self.message


class HistoryUnreadable(OSError):
    """The history file exists but cannot be read; `str()` names it and the cause."""

    def __init__(self, path: Path, cause: OSError) -> None:
        self.reason = describe_error(cause)
        self.message = f"The history {path} cannot be read ({self.reason})."
        super().__init__(cause.errno or 0, self.reason, str(path))

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class HistoryRead:
    """What `read_report` found.

    Args:
        entries: the readable entries, newest first.
        skipped: lines that could not be read (damaged, truncated, foreign) among those scanned.
        path: the file.
    """

    entries: list[HistoryEntry]
    skipped: int
    path: Path

    @property
    def problem(self) -> Problem | None:
        """A message for the history screen when lines were skipped; None otherwise."""
        if not self.skipped:
            return None
        lines = "line" if self.skipped == 1 else "lines"
        return Problem(self.path, f"{self.skipped} {lines} of the history {self.path} could not be read and "
                       "are not shown (damaged, cut short by a crash, or written by another program). "
                       "The file is left as it is.")

_REQUIRED = ("time", "task_id", "action", "outcome")
_READ_BLOCK = 64 * 1024


@dataclass(frozen=True)
class HistoryEntry:
    """One action sent (or, for a dry run, one that would have been sent) for one task."""

    time: str
    """When, as ISO 8601 UTC (`2026-02-24T16:00:00.123Z`)."""
    profile: str
    task_id: str
    task_type: str
    description: str
    action: str
    """"approve" or "dismiss"."""
    reason: str | None
    """The dismiss reason sent to the API, if any."""
    comment: str | None
    """A local note that is not sent anywhere."""
    outcome: str
    """"ok", "failed", "already_handled", "not_found", "unknown", "not_sent" or "dry_run"
    (`OUTCOMES`)."""
    detail: str | None
    """The error message for anything but "ok"."""
    request_id: str | None
    source: str
    """"manual", "bulk", "rule:<name>" or "cli"."""

    def to_json(self) -> str:
        """The entry as one line of JSON (no newline), with key-like text masked."""
        data = {name: _redact(value) for name, value in asdict(self).items()}
        # ensure_ascii: the file stays plain ASCII, so `cat`/`tail -f` on it can never
        # send a control sequence (server text) to the terminal.
        return json.dumps(data, ensure_ascii=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> HistoryEntry | None:
        """Parse one line; None when it is not a usable entry (corrupt, truncated, foreign).

        Unknown keys are ignored and missing optional ones read as None, so a log written
        by a newer or older version stays readable.
        """
        try:
            data = json.loads(line)
        except (ValueError, RecursionError):
            return None
        if not isinstance(data, dict):
            return None
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = data.get(f.name)
            if value is not None and not isinstance(value, str):
                return None
            if value is None and (f.name in _REQUIRED):
                return None
            values[f.name] = value
        for name in ("profile", "task_type", "description", "source"):
            if values[name] is None:
                values[name] = ""
        return cls(**values)


def now_iso() -> str:
    """The current time as ISO 8601 UTC with milliseconds and a `Z`, as entries record it."""
    moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def history_path() -> Path:
    """Where the log lives by default: `history.jsonl` in the app's data folder."""
    from lexi_tui.core.config import data_dir

    return data_dir() / FILE_NAME


def preflight(path: Path | None = None, *, min_free: int = MIN_FREE_BYTES, statvfs: Any = None) -> None:
    """Check, without writing a line, that the log can take one more: raise HistoryUnwritable
    when it cannot. Disk I/O (cheap: a mkdir, an open for appending, a statvfs).

    Call it before sending an action (the bulk and rule runners do, before each task; the UI
    before holding or sending one). It catches a missing or unwritable folder or file, a
    read-only file system (also for root, for whom permission bits do not count) and a disk
    with less than `min_free` bytes free. It creates the folder (0700) and an empty file
    (0600) when they do not exist yet.

    Args:
        path: the log (default `history_path()`).
        min_free: free bytes required in its file system.
        statvfs: replaces `os.statvfs` (tests simulate a full or read-only file system).
    """
    file = history_path() if path is None else Path(path)
    try:
        ensure_folder(file.parent)
        fd = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        os.close(fd)
        check_writable(file.parent, min_free=min_free, statvfs=statvfs)
    except OSError as exc:
        raise HistoryUnwritable(file, exc) from exc


def append(entry: HistoryEntry, path: Path | None = None) -> None:
    """Add `entry` as one line at the end of the log, creating it (0600) if needed. Disk I/O.

    One `os.write` on an O_APPEND descriptor: the line lands whole even when another
    process appends at the same time, and it is on its way to disk when this returns
    (no user-space buffer to lose). Raises HistoryUnwritable (an OSError) when the log
    cannot be written; callers that must not fail because of the log (a bulk run) catch it.
    """
    file = history_path() if path is None else Path(path)
    data = (entry.to_json() + "\n").encode("ascii")
    try:
        ensure_folder(file.parent)
        fd = os.open(file, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as exc:
        raise HistoryUnwritable(file, exc) from exc
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            # The last write was cut short (a crash mid-line): end that fragment first, or
            # this entry would be glued to it and skipped as corrupt along with it.
            data = b"\n" + data
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
    except OSError as exc:
        raise HistoryUnwritable(file, exc) from exc
    finally:
        os.close(fd)


def read(path: Path | None = None, *, limit: int | None = None) -> list[HistoryEntry]:
    """The log's entries, newest first; at most `limit` of them when given. Disk I/O.

    `read_report` without the count of skipped lines: prefer that one where a person can be
    told about damage. Raises HistoryUnreadable for a file that exists but cannot be read.
    """
    return read_report(path, limit=limit).entries


def read_report(path: Path | None = None, *, limit: int | None = None) -> HistoryRead:
    """The log's entries, newest first (at most `limit` when given), and how many lines could
    not be read. Disk I/O.

    Corrupt or truncated lines (a crash mid-write, a hand edit) are skipped and counted; the
    file is never changed. A missing file is an empty history. With a limit the file is read
    backwards in blocks, so showing the last 200 entries of a years-long log stays fast (the
    count then covers the lines scanned). Raises HistoryUnreadable (an OSError) for a file
    that exists but cannot be read (permissions, a folder in its place, an I/O error).
    """
    file = history_path() if path is None else Path(path)
    entries: list[HistoryEntry] = []
    skipped = 0
    if limit is not None and limit <= 0:
        return HistoryRead(entries, skipped, file)
    try:
        for line in _lines_backwards(file):
            entry = HistoryEntry.from_json(line)
            if entry is None:
                skipped += 1
                continue
            entries.append(entry)
            if limit is not None and len(entries) >= limit:
                break
    except FileNotFoundError:
        return HistoryRead([], 0, file)
    except OSError as exc:
        raise HistoryUnreadable(file, exc) from exc
    return HistoryRead(entries, skipped, file)


def filter_entries(entries: Iterable[HistoryEntry], text: str) -> list[HistoryEntry]:
    """The entries matching `text`, case-insensitively, in their original order.

    Every whitespace-separated word of `text` must occur in some field (any field: a
    task id prefix, "dismiss", "rule:duplicates", a word of the description, a date),
    so "failed campaign" finds failed actions on campaigns. Empty text matches all.
    """
    terms = text.casefold().split()
    if not terms:
        return list(entries)
    matched: list[HistoryEntry] = []
    for entry in entries:
        haystack = "\n".join(value for value in asdict(entry).values() if value).casefold()
        if all(term in haystack for term in terms):
            matched.append(entry)
    return matched


def _redact(value: str | None) -> str | None:
    if value is None:
        return None
    env = [os.environ.get(name, "").strip() for name in ("LEXI_API_KEY", "CHAMELIO_API_KEY")]
    return redact(value, env)


def _lines_backwards(file: Path) -> Iterator[str]:
    """Yield the file's non-empty lines last first, reading fixed-size blocks from the end."""
    with open(file, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        position = handle.tell()
        tail = b""
        while position > 0:
            size = min(_READ_BLOCK, position)
            position -= size
            handle.seek(position)
            block = handle.read(size) + tail
            lines = block.split(b"\n")
            tail = lines.pop(0)  # May be the end of a line that starts in an earlier block.
            for raw in reversed(lines):
                if raw.strip():
                    yield raw.decode("utf-8", errors="replace")
        if tail.strip():
            yield tail.decode("utf-8", errors="replace")
