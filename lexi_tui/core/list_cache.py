"""The last list of each profile, kept on disk so the screen can paint it before the network.

The triage screen can show the list it showed last time while its first request is still on
the way (the issue 16 start-up target): "as of 14:02, refreshing…". What is kept is only what
the server sent for the tasks (each task's JSON object, `Task.raw`) and when it was fetched,
in one file per profile, endpoint and view:

    <data dir>/lists/<profile>-<sha256(base_url)[:16]>-<view>.json   (0600, folder 0700)

* **Never the key, never a header.** The file holds task objects, the profile name, a hash
  of the base URL (not the URL: it may carry a user or a query string) and two times. `save`
  refuses to write when one of the `secrets` it is given occurs in what it would write (a
  hostile server echoing the key into a description must not put it on disk).
* **Per base URL.** The demo, a `--base-url` run and the real account keep separate files, so
  a list from one endpoint is never painted as another's.
* **Atomic and bounded.** Written with `storage.atomic_write` (temporary file, fsync, rename);
  a list that would exceed `MAX_BYTES` is not kept (and an older file for it is removed, so
  an old list never stands in for a newer one that did not fit).
* **Tolerant.** A missing file is simply no cache. A file that is corrupt, of another format
  or version, for another profile, endpoint or view, larger than `MAX_BYTES`, or that does
  not hold a list of task objects is ignored, and `Loaded.problem` says so in a sentence; it
  is not kept aside (it is only a cache: the next `save` replaces it).

A cached list is a claim about the past. The screen must show it as such (its age, rows
marked "cached — not confirmed") and must not act on a cached task before a fresh list has
confirmed it is still pending: see `CachedList.describe` and the README's Performance notes.

Disk I/O and JSON work: `save` and `load` block (a 50,000-task list is ~14 MB). Call them from
a thread, never on the event loop. Stdlib only (plus `api.models` when parsing), so the module
is cheap to import on the start-up path.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lexi_tui.api._json import decode
from lexi_tui.core.storage import atomic_write, describe_error

if TYPE_CHECKING:
    from lexi_tui.api.models import TaskList

__all__ = ["FORMAT", "MAX_BYTES", "VERSION", "CachedList", "Loaded", "cache_path", "describe_time", "forget_profile", "load", "save"]

FORMAT = "lexi-tui list cache"
VERSION = 1
MAX_BYTES = 64 * 1024 * 1024
"""The largest cache file written or read. 50,000 benchmark tasks are ~14 MB; a list larger than
this would take seconds to read back, longer than the request it is meant to hide."""
FOLDER_NAME = "lists"
FUTURE_SLACK = 300.0
"""A `fetched_at` up to this many seconds ahead of the clock is taken as "now" (clock skew
between runs); further ahead, the file is ignored as untrustworthy."""

_PROFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_VIEW = re.compile(r"[a-z][a-z0-9_]{0,31}")


def endpoint_id(base_url: str) -> str:
    """A short, stable name for a base URL: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(base_url.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def default_folder() -> Path:
    """`<data dir>/lists` (honours LEXI_TUI_DATA_DIR and XDG_DATA_HOME, like the journal)."""
    from lexi_tui.core.config import data_dir

    return data_dir() / FOLDER_NAME


def cache_path(profile: str, base_url: str, view: str = "pending", folder: Path | None = None) -> Path:
    """The file that keeps `profile`'s last `view` list from `base_url`.

    Raises:
        ValueError: a profile or view name that cannot be part of a file name.
    """
    if not isinstance(profile, str) or not _PROFILE.fullmatch(profile):
        raise ValueError(f"{profile!r} is not a valid profile name (letters, digits, '_', '.', '-')")
    if not isinstance(view, str) or not _VIEW.fullmatch(view):
        raise ValueError(f"{view!r} is not a valid view name")
    return (folder if folder is not None else default_folder()) / f"{profile}-{endpoint_id(base_url)}-{view}.json"


def describe_time(fetched_at: float, now: float | None = None) -> str:
    """When a list is from, in local time: "14:02" today, "Mon 3 Mar 14:02" another day."""
    fetched = datetime.fromtimestamp(fetched_at)
    today = datetime.fromtimestamp(time.time() if now is None else now).date()
    if fetched.date() == today:
        return f"{fetched:%H:%M}"
    return f"{fetched:%a} {fetched.day} {fetched:%b %H:%M}"


@dataclass(frozen=True)
class CachedList:
    """A list read back from disk: the tasks' JSON exactly as the server sent them.

    Args:
        profile: the profile it belongs to.
        view: the view it was fetched for ("pending").
        fetched_at: when the server sent it (epoch seconds).
        tasks: each task's JSON object, in the server's order.
        path: the file it came from.
        may_hold_bad_text: some string may hold a lone surrogate (see `api._json.Decoded`);
            False lets `task_list` skip the per-task text check (~40% of parsing).
    """

    profile: str
    view: str
    fetched_at: float
    tasks: list[dict[str, Any]]
    path: Path
    may_hold_bad_text: bool = True

    def age(self, now: float | None = None) -> float:
        """Seconds since the list was fetched (never negative)."""
        return max(0.0, (time.time() if now is None else now) - self.fetched_at)

    def describe(self, now: float | None = None) -> str:
        """When the list is from, for the screen: "as of 14:02" today, "as of Mon 3 Mar 14:02"
        otherwise (local time)."""
        return "as of " + describe_time(self.fetched_at, now)

    def task_list(self) -> TaskList:
        """The tasks as models (`parse_tasks`: bad entries skipped and said in `problems`).
        CPU work proportional to the list: call it in the same thread as `load`."""
        from lexi_tui.api.models import parse_tasks

        return parse_tasks(self.tasks, check_text=self.may_hold_bad_text)


@dataclass(frozen=True)
class Loaded:
    """What `load` found: a list, nothing, or a file it ignored (and why).

    Args:
        cached: the list, or None.
        problem: a sentence for the person when a file was there but could not be used.
    """

    cached: CachedList | None = None
    problem: str | None = None


def _ignored(path: Path, why: str) -> Loaded:
    return Loaded(None, f"The saved list {path.name} was ignored ({why}); the list is fetched from the server.")


def load(profile: str, base_url: str, view: str = "pending", *, folder: Path | None = None,
         max_bytes: int = MAX_BYTES, now: float | None = None) -> Loaded:
    """Read the last `view` list of `profile` from `base_url`, if there is a usable one. Disk I/O.

    Never raises for the file's content or absence; a bad profile or view name raises ValueError.

    Args:
        profile: the profile name.
        base_url: the endpoint the list must have come from.
        view: the view ("pending").
        folder: where caches live (default `<data dir>/lists`).
        max_bytes: a larger file is ignored without being read.
        now: the current time (tests).
    """
    path = cache_path(profile, base_url, view, folder)
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                return _ignored(path, f"{size:,} bytes, more than the {max_bytes:,} kept")
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        return Loaded()
    except OSError as error:
        return _ignored(path, f"it could not be read: {describe_error(error)}")
    if len(raw) > max_bytes:  # Grew while it was read.
        return _ignored(path, f"more than the {max_bytes:,} bytes kept")
    # The API layer's own body decoder: a cached list is read by the same rules as a fresh one
    # (never raises, absurd nesting bounded, lone surrogates flagged) and the byte scan it does
    # tells whether the tasks' text must be checked one by one when parsed.
    decoded = decode(raw)
    if not decoded.valid or decoded.partial:
        return _ignored(path, "it is not valid JSON: damaged, or written by something else")
    body = decoded.value
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        return _ignored(path, "it is not a lexi-tui list cache")
    if body.get("version") != VERSION:
        return _ignored(path, f"it is of another version ({_short(body.get('version'))})")
    if body.get("profile") != profile or body.get("endpoint") != endpoint_id(base_url) or body.get("view") != view:
        return _ignored(path, "it belongs to another profile, server or view")
    fetched_at = body.get("fetched_at")
    if isinstance(fetched_at, bool) or not isinstance(fetched_at, (int, float)) or not math.isfinite(fetched_at) \
            or fetched_at <= 0:
        return _ignored(path, "it does not say when the list was fetched")
    clock = time.time() if now is None else now
    if fetched_at > clock + FUTURE_SLACK:
        return _ignored(path, "it claims to be from the future")
    tasks = body.get("tasks")
    if not isinstance(tasks, list) or not all(isinstance(task, dict) for task in tasks):
        return _ignored(path, "it does not hold a list of tasks")
    return Loaded(CachedList(profile, view, float(min(fetched_at, clock)), tasks, path, decoded.may_hold_bad_text))


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 20 else text[:19] + "…"


def save(profile: str, base_url: str, tasks: Iterable[Mapping[str, Any]], *, fetched_at: float,
         view: str = "pending", secrets: Sequence[str] = (), folder: Path | None = None,
         max_bytes: int = MAX_BYTES) -> str | None:
    """Keep `tasks` (each task's JSON object as the server sent it) as `profile`'s last `view`
    list from `base_url`. Disk I/O; atomic; the file is 0600 in a 0700 folder.

    Returns None when it was written, else a sentence saying why not (too large: any older
    file for it is removed; a secret in the content: nothing is written or removed). Raises
    OSError when the disk refuses (full, read-only), ValueError for a bad profile or view
    name, TypeError when a task is not JSON data.

    Args:
        profile: the profile name.
        base_url: the endpoint the list came from (only its hash is written).
        tasks: the raw task objects (`Task.raw`), in the server's order.
        fetched_at: when the server sent the list (epoch seconds).
        view: the view ("pending").
        secrets: strings that must never reach the disk (the API key); empty ones are ignored.
        folder: where caches live (default `<data dir>/lists`).
        max_bytes: a larger list is not kept.
    """
    path = cache_path(profile, base_url, view, folder)
    body = {
        "format": FORMAT,
        "version": VERSION,
        "profile": profile,
        "endpoint": endpoint_id(base_url),
        "view": view,
        "fetched_at": float(fetched_at),
        "saved_at": time.time(),
        "tasks": [dict(task) for task in tasks],
    }
    # ASCII escapes: a lone surrogate the server sent survives the round trip, and the file is
    # plain bytes whatever the text. The C encoder: ~0.1 s for 50,000 tasks.
    data = json.dumps(body, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode("ascii")
    for secret in secrets:
        if secret and (secret.encode("utf-8", "surrogatepass") in data
                       or json.dumps(secret, ensure_ascii=True)[1:-1].encode("ascii") in data):
            return "The list was not saved: it contains the API key."
    if len(data) > max_bytes:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        return f"The list was not saved: {len(data):,} bytes, more than the {max_bytes:,} kept."
    atomic_write(path, data)
    return None


def forget_profile(profile: str, folder: Path | None = None) -> int:
    """Delete every cached list of `profile` (logging out, removing a profile). Disk I/O.
    Returns how many files were removed; a bad profile name raises ValueError."""
    if not isinstance(profile, str) or not _PROFILE.fullmatch(profile):
        raise ValueError(f"{profile!r} is not a valid profile name (letters, digits, '_', '.', '-')")
    where = folder if folder is not None else default_folder()
    removed = 0
    try:
        names = os.listdir(where)
    except FileNotFoundError:
        return 0
    pattern = re.compile(re.escape(profile) + r"-[0-9a-f]{16}-[a-z][a-z0-9_]{0,31}\.json")
    for name in names:
        if pattern.fullmatch(name):
            try:
                (where / name).unlink()
                removed += 1
            except FileNotFoundError:
                pass
    return removed
