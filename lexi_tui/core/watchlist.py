"""The per-profile watch list: the Chamelio task ids the app keeps refreshing.

Chamelio has no list endpoint, so the inbox is the set of tasks someone added by id or URL,
or that a webhook announced (`lexi-tui webhook-listen`). The list is JSON at
`<data dir>/watch/<profile>.json` (`{"version": 1, "tasks": [1001, 1002]}`, in the order
added; a bare list of ids is read too), shared by the app and the listener, which may run at
the same time:

* every change takes an exclusive lock on `<profile>.json.lock` (flock / msvcrt), re-reads
  the file, changes it and replaces it atomically (`core.storage.atomic_write`), so two
  writers never lose each other's changes;
* readers take no lock: the rename is atomic, so they see the old list or the new one, never
  half a file.

A task id is an integer from 1 to 2^63-1 (Chamelio's REST API reads tasks by integer id, and
the client refuses anything larger). `add` refuses anything else with a ValueError whose
message can be shown as-is, so a bad id is never stored and cannot break every later start.

Nothing is silently dropped: a file that cannot be read, or holds entries that are not task
ids (a hand edit, an id past 2^63-1, a foreign program), is repaired the next time it is read
or changed: the original is kept aside (`<name>.corrupt-<UTC stamp>`, 0600) and the file is
rewritten with the ids that could be read. `read(profile)` returns those ids and a `Problem`
naming the copy, for the app to show; `load(profile)` returns the ids alone (and logs the
problem). The list holds at most `MAX_TASKS` ids; `add` refuses more instead of forgetting the
oldest.

Every function but `path_for` and `parse_task_id` does disk I/O: the app runs them in a thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lexi_tui.core.config import data_dir
from lexi_tui.core.storage import Problem, atomic_write, describe_error, ensure_folder, keep_aside, try_lock, unlock

__all__ = [
    "MAX_TASK_ID", "MAX_TASKS", "WatchList", "WatchListError", "add", "clear", "load", "parse_task_id",
    "path_for", "read", "remove",
]

logger = logging.getLogger("lexi_tui.core.watchlist")

LOCK_TIMEOUT = 5.0
MAX_TASKS = 10_000
MAX_TASK_ID = 2**63 - 1
"""The largest id the REST API can take (a signed 64-bit integer); the client refuses more."""
_PROFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_DIGITS = re.compile(r"[0-9]{1,25}")


class WatchListError(Exception):
    """The watch list cannot be changed (lock not obtained, disk error, full); the message says why."""


@dataclass(frozen=True)
class WatchList:
    """What `read` found: the ids (oldest first) and what was wrong with the file, if anything."""

    ids: list[int]
    problem: Problem | None = None


def path_for(profile: str) -> Path:
    """Where `profile`'s watch list lives. ValueError for a name that cannot be a file name."""
    if not isinstance(profile, str) or not _PROFILE.fullmatch(profile):
        raise ValueError(f"{profile!r} is not a valid profile name (letters, digits, '_', '.', '-')")
    return data_dir() / "watch" / f"{profile}.json"


def parse_task_id(value: object) -> int:
    """A Chamelio task id from an int or a string of digits; ValueError (a message fit to show)
    for anything else: a bool, a float, a negative number or 0, a non-numeric string such as
    "task_def456", or a number past 2^63-1."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"a Chamelio task id is a whole number, not {_shown(value)}")
    if isinstance(value, str):
        text = value.strip()
        if not _DIGITS.fullmatch(text):
            raise ValueError(f"{_shown(value)} is not a Chamelio task id (a whole number)")
        value = int(text)
    if value <= 0:
        raise ValueError(f"a Chamelio task id is a positive number, not {value}")
    if value > MAX_TASK_ID:
        raise ValueError(f"{value} is past the largest Chamelio task id (2^63-1)")
    return value


def _shown(value: object) -> str:
    from lexi_tui.api.text import clean

    text = clean(repr(value), multiline=False)
    return text if len(text) <= 40 else text[:39] + "…"


def _check_id(task_id: int) -> int:
    if isinstance(task_id, bool) or not isinstance(task_id, int):
        raise ValueError(f"a Chamelio task id is a whole number, not {_shown(task_id)}")
    return parse_task_id(task_id)


def _parse(text: str) -> tuple[list[int], int]:
    """(ids, entries that are not task ids) from the file's text; ValueError when it is not a
    watch list at all."""
    data = json.loads(text)
    if isinstance(data, dict):
        if data.get("version", 1) != 1:
            raise ValueError(f"unknown version {data.get('version')!r}")
        items = data.get("tasks")
    else:
        items = data
    if not isinstance(items, list):
        raise ValueError("no task list")
    ids: list[int] = []
    seen: set[int] = set()
    bad = 0
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or not 0 < item <= MAX_TASK_ID:
            bad += 1
            continue
        if item not in seen:  # A repeated id carries nothing: dropping it loses nothing.
            seen.add(item)
            ids.append(item)
    return ids, bad


def _read_file(path: Path) -> tuple[list[int], str | None]:
    """(ids, what is wrong with the file or None). A missing file is an empty list."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):  # No list yet (or no folder for it).
        return [], None
    except (OSError, UnicodeDecodeError) as exc:
        reason = describe_error(exc) if isinstance(exc, OSError) else "not UTF-8 text"
        return [], f"could not be read ({reason})"
    try:
        ids, bad = _parse(text)
    except (ValueError, RecursionError) as exc:
        return [], f"is not a watch list ({'not valid JSON' if isinstance(exc, json.JSONDecodeError) else exc})"
    if bad:
        return ids, f"held {bad} entr{'y' if bad == 1 else 'ies'} that are not task ids (1 to 2^63-1)"
    return ids, None


def read(profile: str) -> WatchList:
    """The profile's watched task ids, oldest first, and a Problem if the file needed repair.
    Disk I/O. A damaged file is repaired here (kept aside, rewritten with the readable ids)."""
    path = path_for(profile)
    ids, wrong = _read_file(path)
    if wrong is None:
        return WatchList(ids)
    try:
        with _locked(path):
            ids, wrong = _read_file(path)  # Another process may have repaired it meanwhile.
            if wrong is None:
                return WatchList(ids)
            problem = _repair(path, ids, wrong)
    except WatchListError as exc:
        problem = Problem(path, f"The watch list {path} {wrong}, and could not be repaired now ({exc}). "
                          f"The {len(ids)} readable id(s) are used; the file is left as it is.")
    logger.warning("%s", problem.message)
    return WatchList(ids, problem)


def load(profile: str) -> list[int]:
    """The profile's watched task ids, oldest first ([] when there is no list yet). Disk I/O.
    Like `read`, without the Problem (it is logged): prefer `read` where a person can be told."""
    return read(profile).ids


def add(profile: str, task_id: int) -> bool:
    """Watch `task_id`; True if it was not watched before. Disk I/O.

    Raises ValueError for an id that is not 1 to 2^63-1 (nothing is stored), WatchListError
    when the list cannot be changed or already holds `MAX_TASKS` ids.
    """
    _check_id(task_id)
    with _locked(path_for(profile)) as path:
        ids = _read_for_change(path)
        if task_id in ids:
            return False
        if len(ids) >= MAX_TASKS:
            raise WatchListError(f"the watch list {path} already holds {MAX_TASKS:,} tasks; remove some first")
        ids.append(task_id)
        _write(path, ids)
        return True


def remove(profile: str, task_id: int) -> bool:
    """Stop watching `task_id`; True if it was watched. Disk I/O."""
    _check_id(task_id)
    with _locked(path_for(profile)) as path:
        ids = _read_for_change(path)
        if task_id not in ids:
            return False
        ids.remove(task_id)
        _write(path, ids)
        return True


def clear(profile: str) -> None:
    """Forget every watched task of the profile (asked for by the person). Disk I/O."""
    with _locked(path_for(profile)) as path:
        _write(path, [])


def _read_for_change(path: Path) -> list[int]:
    """The ids, repairing a damaged file first (under the lock)."""
    ids, wrong = _read_file(path)
    if wrong is not None:
        logger.warning("%s", _repair(path, ids, wrong).message)
    return ids


def _repair(path: Path, ids: list[int], wrong: str) -> Problem:
    """Keep the damaged file aside and write the readable ids (under the lock). Raises
    WatchListError when the original cannot be kept aside: it is then never overwritten."""
    try:
        aside = keep_aside(path, copy=False)
    except OSError as exc:
        raise WatchListError(f"the watch list {path} {wrong}, and it could not be kept aside "
                             f"({describe_error(exc)}); it is left as it is") from exc
    try:
        _write(path, ids)
    except OSError as exc:
        raise WatchListError(f"the watch list {path} {wrong}; it was kept as {aside}, but the repaired list "
                             f"could not be written ({describe_error(exc)})") from exc
    return Problem(path, f"The watch list {path} {wrong}; it was kept as {aside} and the {len(ids)} "
                   "readable task id(s) are still watched.", kept_aside=aside)


def _write(path: Path, ids: list[int]) -> None:
    text = json.dumps({"version": 1, "tasks": ids}, separators=(",", ":")) + "\n"
    atomic_write(path, text.encode("utf-8"))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[Path]:
    """Hold the exclusive lock of `path` (creating its folder), waiting up to LOCK_TIMEOUT."""
    try:
        ensure_folder(path.parent)
        handle: Any = open(path.with_name(path.name + ".lock"), "a+b")
    except OSError as exc:
        raise WatchListError(f"cannot open the watch list at {path}: {describe_error(exc)}") from exc
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while not try_lock(handle):
            if time.monotonic() > deadline:
                raise WatchListError(f"the watch list {path} stayed locked by another process for {LOCK_TIMEOUT:g} s")
            time.sleep(0.01)
        try:
            yield path
        except OSError as exc:
            raise WatchListError(f"cannot write the watch list {path}: {describe_error(exc)}") from exc
        finally:
            unlock(handle)
    finally:
        handle.close()
