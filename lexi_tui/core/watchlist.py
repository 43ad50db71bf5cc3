"""The per-profile watch list: the Chamelio task ids the app keeps refreshing.

Chamelio has no list endpoint, so the inbox is the set of tasks someone added by id or URL,
or that a webhook announced (`lexi-tui webhook-listen`). The list is JSON at
`<data dir>/watch/<profile>.json` (`{"version": 1, "tasks": [1001, 1002]}`, in the order
added), shared by the app and the listener, which may run at the same time:

* every change takes an exclusive lock on `<profile>.json.lock` (fcntl / msvcrt), re-reads
  the file, changes it and writes it to a temporary file that is renamed over the old one, so
  two writers never lose each other's changes;
* readers take no lock: the rename is atomic, so they see the old list or the new one, never
  half a file.

A file that cannot be read as a watch list is moved aside (`.corrupt-<time>`) by the next
change instead of stopping the listener; `load` reports it as an empty list.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from lexi_tui.core.config import data_dir

__all__ = ["WatchListError", "add", "clear", "load", "path_for", "remove"]

logger = logging.getLogger("lexi_tui.core.watchlist")

LOCK_TIMEOUT = 5.0
MAX_TASKS = 10_000
_PROFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class WatchListError(Exception):
    """The watch list cannot be changed (lock not obtained, disk error); the message says why."""


def path_for(profile: str) -> Path:
    """Where `profile`'s watch list lives. ValueError for a name that cannot be a file name."""
    if not isinstance(profile, str) or not _PROFILE.fullmatch(profile):
        raise ValueError(f"{profile!r} is not a valid profile name (letters, digits, '_', '.', '-')")
    return data_dir() / "watch" / f"{profile}.json"


def _check_id(task_id: int) -> int:
    if isinstance(task_id, bool) or not isinstance(task_id, int) or task_id <= 0:
        raise ValueError(f"a task id is a positive integer, not {task_id!r}")
    return task_id


def _parse(text: str) -> list[int]:
    """Task ids from the file's text; ValueError when it is not a watch list."""
    data = json.loads(text)
    items = data.get("tasks") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError("no task list")
    ids: list[int] = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool) and item > 0 and item not in ids:
            ids.append(item)
    return ids


def load(profile: str) -> list[int]:
    """The profile's watched task ids, oldest first ([] when there is no list yet)."""
    path = path_for(profile)
    try:
        return _parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        logger.warning("watch list %s is unreadable (%s); treating it as empty", path, type(exc).__name__)
        return []


def add(profile: str, task_id: int) -> bool:
    """Watch `task_id`; True if it was not watched before."""
    _check_id(task_id)
    with _locked(path_for(profile)) as path:
        ids = _read_for_change(path)
        if task_id in ids:
            return False
        ids.append(task_id)
        _write(path, ids[-MAX_TASKS:])
        return True


def remove(profile: str, task_id: int) -> bool:
    """Stop watching `task_id`; True if it was watched."""
    _check_id(task_id)
    with _locked(path_for(profile)) as path:
        ids = _read_for_change(path)
        if task_id not in ids:
            return False
        ids.remove(task_id)
        _write(path, ids)
        return True


def clear(profile: str) -> None:
    """Forget every watched task of the profile."""
    with _locked(path_for(profile)) as path:
        _write(path, [])


def _read_for_change(path: Path) -> list[int]:
    try:
        return _parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError):
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        with contextlib.suppress(OSError):
            os.replace(path, aside)
            logger.warning("watch list %s was unreadable; moved it to %s", path, aside)
        return []


def _write(path: Path, ids: list[int]) -> None:
    text = json.dumps({"version": 1, "tasks": ids}, separators=(",", ":")) + "\n"
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[Path]:
    """Hold the exclusive lock of `path` (creating its folder), waiting up to LOCK_TIMEOUT."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle = open(path.with_name(path.name + ".lock"), "a+b")
    except OSError as exc:
        raise WatchListError(f"cannot open the watch list at {path}: {exc.strerror or exc}") from exc
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while not _try_lock(handle):
            if time.monotonic() > deadline:
                raise WatchListError(f"the watch list {path} stayed locked by another process for {LOCK_TIMEOUT:g} s")
            time.sleep(0.01)
        try:
            yield path
        except OSError as exc:
            raise WatchListError(f"cannot write the watch list {path}: {exc.strerror or exc}") from exc
        finally:
            _unlock(handle)
    finally:
        handle.close()


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(handle) -> bool:
        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(handle) -> None:
        handle.seek(0)
        with contextlib.suppress(OSError):
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(handle) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(handle) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
