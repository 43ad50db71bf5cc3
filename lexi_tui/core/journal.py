"""Actions held for the undo window and sent, journalled so that nothing is lost, sent by
surprise, sent twice, or reported wrongly after a crash.

Approve and dismiss wait a few seconds before they are sent, with an undo key. The journal
(one JSON file per profile, `<data dir>/held/<profile>.json`, replaced atomically) records
each action through its life:

1. `hold(action)`: state "held", in its undo window. Undo is `release(action_id)`: nothing was
   sent. A crash or kill now leaves a "held" leftover, which was never sent.
2. `mark_sending(action_id)`: state "sending", with `sent_at`, written *before* the request
   goes out. A crash or kill now leaves a "sending" leftover: the request may or may not
   have reached the server, so the next start reads the task from the server
   (`provider.status_of(task_id)`) and `core.outcomes.settle(action.verb, status,
   before=action.before)` says whether it was applied.
3. `release(action_id)` once the answer is settled (applied, failed, already handled...).

At the next start `leftovers()` returns what an earlier session left, both kinds told apart
(`.held`, `.sending`), each with its task id, verb, reason, `held_at`, `sent_at` and profile.
Leftovers stay in the file until the app `release`s them (or `clear()`s everything), so a
second crash before they are dealt with loses nothing.

One journal per profile and data folder: `HeldJournal.open(profile)` takes the profile's
instance lock (`core.instance_lock`, role "app") and raises `ProfileInUse(holder)` when another
lexi-tui has it. The second instance then uses `HeldJournal.read_only(...)` (or
`open_or_read_only`), which never reads, clears or writes the file, and refuses `hold` with
`JournalReadOnly`: that instance triages without actions. `HeldJournal(profile)` (the plain
constructor, as the app used it before) takes the same lock lazily, at the first call that
reads or writes the file, and raises `ProfileInUse` there.

When the file cannot be written (full disk, read-only folder) `hold` and `mark_sending` raise
`JournalUnwritable` (an OSError whose message names the folder and the cause) and change
nothing, so the caller does not send. A file that cannot be read or parsed is kept aside
(`<name>.corrupt-<stamp>`, see `core.storage`); what could be read is kept and used, and
`leftovers().problem` says where the copy is. A file that can neither be read nor kept aside
is never overwritten: `hold` raises `JournalUnwritable` until it is fixed.

Every method that touches the file does disk I/O (marked "Disk I/O" below): the UI calls
them from a thread worker (or accepts a few milliseconds for one small fsync'd file).
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
import uuid
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lexi_tui.core.instance_lock import Holder, InstanceLock, LockUnavailable, ProfileInUse
from lexi_tui.core.storage import Problem, atomic_write, describe_error, keep_aside

__all__ = [
    "HELD", "SENDING", "AlreadyHeld", "HeldAction", "HeldJournal", "JournalReadOnly", "JournalUnwritable",
    "Leftovers", "ProfileInUse", "due_in",
]

HELD = "held"
SENDING = "sending"
STATES = (HELD, SENDING)
FILE_VERSION = 2
"""Version 2: `{"version": 2, "profile": ..., "actions": [...]}`. Version 1 was a bare list of
held actions (no state: all of them "held"); it is still read."""

_PROFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class HeldAction:
    """One approve or dismiss (or reject) through its undo window and its sending.

    The first six fields are positional, as the app has always built it.
    """

    task_id: str
    task_type: str
    description: str
    verb: str
    """"approve" or "dismiss" (what the history records; Chamelio's reject is "dismiss")."""
    reason: str | None = None
    due: float = 0.0
    """Wall-clock time when it is to be sent."""
    action_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    state: str = HELD
    """"held" (in its undo window, not sent) or "sending" (the request may have gone out)."""
    sent_at: float | None = None
    """When `mark_sending` recorded it (Unix seconds); None while held."""
    profile: str = ""
    """The profile it belongs to (the journal fills it in)."""
    held_at: float = field(default_factory=time.time)
    before: str = "pending"
    """The task's status (the app's view name) when it was held: `settle(..., before=)`."""

    @property
    def sending(self) -> bool:
        return self.state == SENDING


class Leftovers(list[HeldAction]):
    """What an earlier session left in the journal, oldest first (a list, as before).

    `.held` were never sent; `.sending` may have reached the server and must be settled by
    reading the task. `.problem` says what was wrong with the file, if anything (it names the
    copy kept aside); the actions are those that could be read.
    """

    def __init__(self, actions: Iterable[HeldAction] = (), problem: Problem | None = None) -> None:
        super().__init__(actions)
        self.problem = problem

    @property
    def held(self) -> list[HeldAction]:
        return [action for action in self if action.state == HELD]

    @property
    def sending(self) -> list[HeldAction]:
        return [action for action in self if action.state == SENDING]


class JournalUnwritable(OSError):
    """The journal cannot be written: the action was not held (or not marked as sending), so it
    must not be sent. `str()` names the folder and the cause; `reason` is the cause alone
    ("No space left on device", "Read-only file system")."""

    def __init__(self, path: Path, cause: OSError | str) -> None:
        self.reason = describe_error(cause) if isinstance(cause, OSError) else cause
        self.message = (f"The undo journal in {path.parent} cannot be written ({self.reason}), "
                        "so the action was not sent.")
        super().__init__(cause.errno if isinstance(cause, OSError) and cause.errno else 0, self.message, str(path))

    def __str__(self) -> str:
        return self.message


class JournalReadOnly(RuntimeError):
    """This journal belongs to an instance that runs without actions (another one has the
    profile open, or the lock could not be taken); the message says why."""


class AlreadyHeld(ValueError):
    """The task already has an action held or being sent (in this session or left over):
    holding another could apply two actions to it."""


class HeldJournal:
    """The on-disk record of held and sending actions for one profile.

    Args:
        profile: the profile name (it names the file and the lock).
        folder: where journals live (default `<data dir>/held`).
        lock_folder: where instance locks live (default `<data dir>/locks`).
    """

    def __init__(self, profile: str, folder: Path | None = None, *, lock_folder: Path | None = None) -> None:
        if not isinstance(profile, str) or not _PROFILE.fullmatch(profile):
            raise ValueError(f"{profile!r} is not a valid profile name (letters, digits, '_', '.', '-')")
        if folder is None:
            from lexi_tui.core.config import data_dir

            folder = data_dir() / "held"
        self.profile = profile
        self.path = Path(folder) / f"{profile}.json"
        self._lock_folder = lock_folder
        self._lock: InstanceLock | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._read_only: str | None = None
        self._closed = False
        self.holder: Holder | None = None
        """For a read-only journal: the instance that has the profile (None if unknown)."""
        self._actions: dict[str, HeldAction] = {}
        self._leftovers: Leftovers | None = None
        self._blocked: str | None = None
        self.write_error: JournalUnwritable | None = None
        """The last failure to record a `release` or `clear` (they never raise; the file then
        still lists the action, which is safe: see `release`). None after a good write."""

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(cls, profile: str, folder: Path | None = None, *, lock_folder: Path | None = None) -> HeldJournal:
        """The profile's journal, with its instance lock held and the leftovers read. Disk I/O.

        Raises:
            ProfileInUse: another process has the profile open (`.holder` names it).
            LockUnavailable: the lock cannot be taken (an unwritable data folder).
        """
        journal = cls(profile, folder, lock_folder=lock_folder)
        journal._acquire()
        journal._load()
        return journal

    @classmethod
    def read_only(cls, profile: str, folder: Path | None = None, *, holder: Holder | None = None,
                  reason: str | None = None) -> HeldJournal:
        """A journal that never touches the file: no leftovers, no actions; `hold` raises
        JournalReadOnly. No I/O.

        Args:
            profile: the profile.
            folder: as for the constructor (only `path` uses it).
            holder: the instance that has the profile, for the message.
            reason: why this instance is read-only, when it is not another instance.
        """
        journal = cls(profile, folder)
        journal.holder = holder
        if reason is None:
            who = holder.describe() if holder is not None else "another lexi-tui"
            reason = f"{who} already has profile {profile!r} open"
        journal._read_only = reason
        journal._leftovers = Leftovers()
        return journal

    @classmethod
    def open_or_read_only(cls, profile: str, folder: Path | None = None, *,
                          lock_folder: Path | None = None) -> HeldJournal:
        """`open`, or when the profile is in use or the lock cannot be taken, `read_only` with
        the reason. Disk I/O. Check `journal.read_only` / `journal.read_only_reason`."""
        try:
            return cls.open(profile, folder, lock_folder=lock_folder)
        except ProfileInUse as busy:
            return cls.read_only(profile, folder, holder=busy.holder, reason=str(busy).rstrip("."))
        except LockUnavailable as exc:
            return cls.read_only(profile, folder, reason=f"the profile's lock could not be taken: {exc.strerror}")

    @property
    def read_only_reason(self) -> str | None:
        """Why this journal takes no actions, or None when it does."""
        return self._read_only

    @property
    def is_read_only(self) -> bool:
        return self._read_only is not None

    def close(self) -> None:
        """Release the instance lock. What is still held or sending stays in the file and is a
        leftover at the next start. Later writes raise RuntimeError."""
        self._closed = True
        if self._finalizer is not None:
            self._finalizer()  # Releases the lock exactly once.
            self._finalizer = None
        self._lock = None

    def __enter__(self) -> HeldJournal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------------------

    def leftovers(self) -> Leftovers:
        """What earlier sessions left and has not been released yet. Disk I/O the first time
        (takes the lock and reads the file); ProfileInUse from a plain-constructor journal
        when another process has the profile. A read-only journal has none."""
        self._ensure_ready()
        assert self._leftovers is not None
        return Leftovers(self._leftovers, self._leftovers.problem)

    @property
    def actions(self) -> list[HeldAction]:
        """This session's actions in their undo window ("held"), oldest first."""
        return [action for action in self._actions.values() if action.state == HELD]

    @property
    def sending(self) -> list[HeldAction]:
        """This session's actions marked as sending and not released yet."""
        return [action for action in self._actions.values() if action.state == SENDING]

    def get(self, action_id: str) -> HeldAction | None:
        """The action (this session's or a leftover) with that id, if the journal has it."""
        if action_id in self._actions:
            return self._actions[action_id]
        leftovers: list[HeldAction] = list(self._leftovers) if self._leftovers is not None else []
        return next((a for a in leftovers if a.action_id == action_id), None)

    # -- changing ----------------------------------------------------------------------------

    def hold(self, action: HeldAction) -> HeldAction:
        """Record `action` as held and return it as stored (its profile filled in). Disk I/O.

        Raises:
            JournalUnwritable: it could not be written; nothing is held, do not send.
            JournalReadOnly: this instance runs without actions.
            AlreadyHeld: the task already has an action held or sending (or left over).
            ValueError: an action whose fields are not what a journal can store.
            ProfileInUse: (plain constructor only) another process has the profile.
        """
        self._check_writable()
        self._ensure_ready()
        problem = _invalid(action)
        if problem is not None or action.state != HELD:
            raise ValueError(f"cannot hold this action: {problem or 'its state must be held'}")
        busy = self._busy(action.task_id)
        if busy is not None:
            raise AlreadyHeld(f"task {action.task_id} already has an action {busy.state}: {busy.verb}")
        stored = dataclasses.replace(action, profile=self.profile)
        self._actions[stored.action_id] = stored
        try:
            self._write()
        except JournalUnwritable:
            del self._actions[stored.action_id]
            raise
        return stored

    def mark_sending(self, action_id: str) -> HeldAction:
        """Record that the held action is about to be sent (state "sending", `sent_at` now);
        call it just before the request. Returns the updated action. Disk I/O.

        Raises:
            KeyError: no such held action in this session (undone, or never held).
            JournalUnwritable: not recorded; it is still held, do not send it.
            JournalReadOnly: this instance runs without actions.
        """
        self._check_writable()
        action = self._actions.get(action_id)
        if action is None:
            raise KeyError(f"no held action {action_id!r}")
        if action.state == SENDING:
            return action
        updated = dataclasses.replace(action, state=SENDING, sent_at=time.time())
        self._actions[action_id] = updated
        try:
            self._write()
        except JournalUnwritable:
            self._actions[action_id] = action
            raise
        return updated

    def release(self, action_id: str) -> HeldAction | None:
        """Remove an action: undone while held, settled after sending, or a leftover the app
        has dealt with. Returns it, or None if the journal did not have it. Disk I/O.

        Never raises for the file: when it cannot be written, `write_error` says so and the
        file still lists the action. That is safe: a "held" entry was indeed not sent, and a
        "sending" one is settled by reading the server at the next start.
        """
        action = self._actions.pop(action_id, None)
        if action is None and self._leftovers is not None:
            for index, leftover in enumerate(self._leftovers):
                if leftover.action_id == action_id:
                    action = self._leftovers.pop(index)
                    break
        if action is None or self._read_only is not None:
            return action
        self._write_quietly()
        return action

    def clear(self) -> None:
        """Forget every action, this session's and the leftovers (quitting with "drop", or after
        the leftovers were reported). Disk I/O; never raises for the file (see `release`)."""
        if self._read_only is not None:
            return
        self._ensure_ready()
        self._actions.clear()
        assert self._leftovers is not None
        self._leftovers = Leftovers([], self._leftovers.problem)
        self._write_quietly()

    # -- plumbing ----------------------------------------------------------------------------

    def _check_writable(self) -> None:
        if self._read_only is not None:
            raise JournalReadOnly(f"This lexi-tui runs without actions: {self._read_only}.")
        if self._closed:
            raise RuntimeError("the journal is closed")

    def _busy(self, task_id: str) -> HeldAction | None:
        leftovers: list[HeldAction] = list(self._leftovers) if self._leftovers is not None else []
        for action in [*self._actions.values(), *leftovers]:
            if action.task_id == task_id:
                return action
        return None

    def _acquire(self) -> None:
        if self._lock is None:
            lock = InstanceLock.acquire(self.profile, role="app", folder=self._lock_folder)
            self._lock = lock
            self._finalizer = weakref.finalize(self, lock.release)

    def _ensure_ready(self) -> None:
        if self._read_only is not None:
            return
        if self._closed:
            raise RuntimeError("the journal is closed")
        self._acquire()
        if self._leftovers is None:
            self._load()

    def _load(self) -> None:
        """Read the file into `_leftovers`, keeping a damaged one aside."""
        try:
            raw = self.path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):  # No journal (its folder may be missing).
            self._leftovers = Leftovers()
            return
        except OSError as exc:
            unreadable = self._set_aside(f"could not be read ({describe_error(exc)})", copy=False, kept=0)
            self._leftovers = Leftovers([], unreadable)
            return
        actions, bad, fatal = _parse(raw)
        problem: Problem | None = None
        if fatal is not None:
            problem = self._set_aside(f"is not a journal lexi-tui can read ({fatal})", copy=False, kept=0)
        elif bad:
            what = f"had {bad} entr{'y' if bad == 1 else 'ies'} that could not be read"
            problem = self._set_aside(what, copy=True, kept=len(actions))
        self._leftovers = Leftovers(actions, problem)

    def _set_aside(self, what: str, *, copy: bool, kept: int) -> Problem:
        readable = f" The {kept} action(s) that could be read are kept." if kept else ""
        try:
            aside = keep_aside(self.path, copy=copy)
        except OSError as exc:
            reason = describe_error(exc)
            self._blocked = f"{self.path} {what} and could not be kept aside ({reason})"
            return Problem(self.path, f"The undo journal {self.path} {what}, and it could not be kept aside "
                           f"({reason}). It is left as it is, and no action can be held until it is moved "
                           f"or fixed.{readable}")
        return Problem(self.path, f"The undo journal {self.path} {what}; it was kept as {aside}.{readable}",
                       kept_aside=aside)

    def _write(self) -> None:
        if self._blocked is not None:
            raise JournalUnwritable(self.path, self._blocked)
        actions = [*(self._leftovers or ()), *self._actions.values()]
        try:
            atomic_write(self.path, _encode(self.profile, actions))
        except OSError as exc:
            raise JournalUnwritable(self.path, exc) from exc
        self.write_error = None

    def _write_quietly(self) -> None:
        try:
            self._write()
        except JournalUnwritable as exc:
            self.write_error = exc


def due_in(seconds: float) -> float:
    """The wall-clock time `seconds` from now (a HeldAction's `due`)."""
    return time.time() + seconds


_FIELDS = {f.name: f for f in dataclasses.fields(HeldAction)}
_NAMES = tuple(_FIELDS)


def _encode(profile: str, actions: list[HeldAction]) -> bytes:
    """The file's content: one action a line (still easy to read), each encoded by the C
    encoder; `json.dumps(indent=...)` and `asdict` (a deep copy) took the pure-Python paths,
    ~4x the time, in the disk thread that shares the interpreter lock with the event loop
    at every hold, send and release."""
    rows = ",\n".join(json.dumps({name: getattr(action, name) for name in _NAMES}) for action in actions)
    head = json.dumps({"version": FILE_VERSION, "profile": profile})[:-1]
    return f'{head}, "actions": [\n{rows}\n]}}\n'.encode()


def _invalid(action: HeldAction) -> str | None:
    """Why `action` cannot be stored, or None."""
    for name in ("task_id", "verb", "action_id"):
        value = getattr(action, name)
        if not isinstance(value, str) or not value:
            return f"{name} must be a non-empty string"
    for name in ("task_type", "description", "profile", "before"):
        if not isinstance(getattr(action, name), str):
            return f"{name} must be a string"
    reason: object = action.reason  # Typed str | None, but built from a file's JSON.
    if reason is not None and not isinstance(reason, str):
        return "reason must be a string or None"
    for name in ("due", "held_at"):
        value = getattr(action, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{name} must be a number"
    if action.sent_at is not None and (isinstance(action.sent_at, bool) or not isinstance(action.sent_at, (int, float))):
        return "sent_at must be a number or None"
    if action.state not in STATES:
        return f"state must be one of {', '.join(STATES)}"
    return None


def _action(item: Any) -> HeldAction | None:
    """One stored entry as an action; None when it is not a usable one. Unknown keys (a newer
    version's) are ignored; a version-1 entry (no state) is "held"."""
    if not isinstance(item, dict):
        return None
    known = {name: value for name, value in item.items() if name in _FIELDS}
    if not all(name in known for name in ("task_id", "task_type", "description", "verb")):
        return None
    try:
        action = HeldAction(**known)
    except TypeError:
        return None
    return action if _invalid(action) is None else None


def _parse(raw: bytes) -> tuple[list[HeldAction], int, str | None]:
    """(readable actions, unreadable entries, why the whole file is unusable or None)."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return [], 0, "not UTF-8 text"
    except (ValueError, RecursionError):
        return [], 0, "not valid JSON"
    if isinstance(data, list):
        items = data
    elif isinstance(data, dict) and isinstance(data.get("actions"), list):
        items = data["actions"]
    else:
        return [], 0, "no list of actions"
    actions: list[HeldAction] = []
    seen: set[str] = set()
    bad = 0
    for item in items:
        action = _action(item)
        if action is None or action.action_id in seen:
            bad += 1
            continue
        seen.add(action.action_id)
        actions.append(action)
    return actions, bad, None
