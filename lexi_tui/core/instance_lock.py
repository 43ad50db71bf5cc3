"""One lexi-tui per profile and role: a lock in the data folder that the OS releases when the
holder dies, and a record of who holds it.

Two apps on one profile used to corrupt each other: the second start read the first one's
waiting action as "not sent", wiped the undo journal, and the first then sent it anyway. So
the app takes `InstanceLock.acquire(profile)` (role "app") before it touches the journal
(`HeldJournal.open` does it for it), and a second app on the same profile and data folder gets
`ProfileInUse`, whose message names the holder: "lexi-tui (pid 4242, started 09:12) already
has profile 'work' open". That second app runs read-only (`HeldJournal.read_only`).

Roles, so that what must not run twice is locked and nothing else is blocked:

* "app": the full-screen app (the only user of the undo journal);
* "watch": `lexi-tui watch`, which acts on its own: two of them on one profile would send
  every action twice, but a watch next to an open app is allowed (the app's actions and the
  rules' go through the same outcome policy, and a task handled by one is "already handled"
  for the other);
* "webhook-listen": `lexi-tui webhook-listen`, whose event log (de-duplication) must have a
  single writer.

One-shot commands (`lexi-tui approve ID`, `dismiss ID`) take no lock: they act once on ids the
person typed, and must work while the app is open.

Files (in `<data dir>/locks/`, 0600): `<profile>.<role>.lock` is the locked file (flock on
POSIX, msvcrt on Windows; released by the kernel when the process ends, even by SIGKILL, so a
crash never leaves a stale lock); `<profile>.<role>.holder.json` is the holder's record
`{pid, host, started, role, profile, program}`, written atomically once the lock is held. A
record whose lock is free is stale and ignored.

Within one process, acquiring a lock already held by that process shares it (a count): the
lock is about processes. Keep one journal per profile per process (the app does).

Assumptions: the data folder is on a local disk or on NFS with working locks (Linux emulates
flock with NFS byte-range locks); a folder where locking fails raises `LockUnavailable`.
All calls do disk I/O (a few small files) and never wait: a held lock fails at once.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from lexi_tui.core.storage import atomic_write, describe_error, ensure_folder, try_lock, unlock

__all__ = ["ROLES", "Holder", "InstanceLock", "LockUnavailable", "ProfileInUse", "holder_of"]

ROLES = ("app", "watch", "webhook-listen")
_PROFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: enough for a person to find that process.

    Args:
        pid: its process id.
        host: the machine's name (a data folder on a shared disk can be used from several).
        started: when it took the lock (Unix seconds).
        role: "app", "watch" or "webhook-listen".
        profile: the profile.
        program: what it is ("lexi-tui", "lexi-tui watch", ...).
    """

    pid: int
    host: str
    started: float
    role: str = "app"
    profile: str = ""
    program: str = "lexi-tui"

    def describe(self, now: float | None = None) -> str:
        """"lexi-tui (pid 4242, started 09:12)", with the host when it is another machine and
        the date when it was not today."""
        if self.pid <= 0:
            return "another lexi-tui"  # Held, but its record could not be read.
        moment = time.localtime(self.started)
        today = time.localtime(time.time() if now is None else now)
        when = time.strftime("%H:%M" if moment[:3] == today[:3] else "%Y-%m-%d %H:%M", moment)
        where = "" if self.host == _host() else f" on {self.host}"
        return f"{self.program} (pid {self.pid}{where}, started {when})"

    @classmethod
    def from_json(cls, text: str) -> Holder | None:
        """The record in `text`; None when it is not one (half-written, foreign)."""
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        pid, host, started = data.get("pid"), data.get("host"), data.get("started")
        if isinstance(pid, bool) or not isinstance(pid, int) or not isinstance(host, str):
            return None
        if isinstance(started, bool) or not isinstance(started, (int, float)):
            return None
        texts = {name: data.get(name) for name in ("role", "profile", "program")}
        if not all(value is None or isinstance(value, str) for value in texts.values()):
            return None
        return cls(pid, host[:200], float(started), str(texts["role"] or "app"), str(texts["profile"] or ""),
                   str(texts["program"] or "lexi-tui")[:80])


class ProfileInUse(Exception):
    """Another process holds the profile's lock for this role.

    `holder` is its record, or None when it could not be read (the message then says "another
    lexi-tui"). The message is written for a person and is safe to show as-is.
    """

    def __init__(self, profile: str, role: str, holder: Holder | None) -> None:
        self.profile = profile
        self.role = role
        self.holder = holder
        who = holder.describe() if holder is not None else "another lexi-tui"
        what = {"app": "open", "watch": "under watch", "webhook-listen": "receiving webhooks"}.get(role, "open")
        super().__init__(f"{who} already has profile {profile!r} {what}.")


class LockUnavailable(OSError):
    """The lock file cannot be created or locked (read-only or full folder, no locking support)."""


def _host() -> str:
    try:
        return socket.gethostname() or "?"
    except OSError:  # pragma: no cover - gethostname does not fail in practice
        return "?"


def _default_folder() -> Path:
    from lexi_tui.core.config import data_dir

    return data_dir() / "locks"


def _check(profile: str, role: str) -> None:
    if not isinstance(profile, str) or not _PROFILE.fullmatch(profile):
        raise ValueError(f"{profile!r} is not a valid profile name (letters, digits, '_', '.', '-')")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")


def _paths(folder: Path, profile: str, role: str) -> tuple[Path, Path]:
    return folder / f"{profile}.{role}.lock", folder / f"{profile}.{role}.holder.json"


class _Shared:
    """One process's hold on one lock file, shared by every `InstanceLock` of that process."""

    def __init__(self, handle: IO[bytes], holder: Holder) -> None:
        self.handle = handle
        self.holder = holder
        self.count = 0


_registry: dict[Path, _Shared] = {}
_registry_lock = threading.Lock()


class InstanceLock:
    """A held per-profile, per-role lock. Release it with `release()` (or use `with`); the OS
    releases it anyway when the process ends."""

    def __init__(self, path: Path, record_path: Path, holder: Holder) -> None:
        self.path = path
        self.record_path = record_path
        self.holder = holder
        self._released = False

    @classmethod
    def acquire(cls, profile: str, *, role: str = "app", folder: Path | None = None,
                program: str = "lexi-tui") -> InstanceLock:
        """Take the lock of `profile` for `role`, without waiting. Disk I/O.

        Args:
            profile: the profile name.
            role: "app", "watch" or "webhook-listen".
            folder: where the lock files live (default `<data dir>/locks`).
            program: how the holder record names this process.

        Raises:
            ProfileInUse: another process holds it (`.holder` says who).
            LockUnavailable: the lock file cannot be created or locked.
            ValueError: a profile name that cannot be a file name, or an unknown role.
        """
        _check(profile, role)
        base = _default_folder() if folder is None else Path(folder)
        path, record_path = _paths(base, profile, role)
        key = Path(os.path.abspath(path))
        with _registry_lock:
            shared = _registry.get(key)
            if shared is None:
                shared = _take(path, record_path, profile, role, program)
                _registry[key] = shared
            shared.count += 1
            return cls(key, record_path, shared.holder)

    def release(self) -> None:
        """Give the lock back (once; later calls do nothing). The holder record is removed."""
        if self._released:
            return
        self._released = True
        with _registry_lock:
            shared = _registry.get(self.path)
            if shared is None:
                return
            shared.count -= 1
            if shared.count > 0:
                return
            del _registry[self.path]
            try:
                self.record_path.unlink(missing_ok=True)
            except OSError:
                pass  # A stale record is ignored by readers: the lock is what counts.
            unlock(shared.handle)
            shared.handle.close()

    @property
    def released(self) -> bool:
        return self._released

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "released" if self._released else "held"
        return f"InstanceLock({self.holder.profile!r}, role={self.holder.role!r}, {state})"


def _open_lock_file(path: Path) -> IO[bytes]:
    cloexec = getattr(os, "O_CLOEXEC", 0)
    try:
        ensure_folder(path.parent)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | cloexec, 0o600)
    except OSError:
        if not path.is_file():
            raise
        # A read-only file system (or folder): flock works on a read-only descriptor too, so
        # the instance can still be locked, read its journal, and be told it cannot write.
        return os.fdopen(os.open(path, os.O_RDONLY | cloexec), "rb")
    return os.fdopen(fd, "r+b")


def _take(path: Path, record_path: Path, profile: str, role: str, program: str) -> _Shared:
    try:
        handle = _open_lock_file(path)
    except OSError as exc:
        raise LockUnavailable(exc.errno or 0, f"cannot create the lock file for profile {profile!r} in "
                              f"{path.parent} ({describe_error(exc)})", str(path)) from exc
    try:
        locked = try_lock(handle)
    except OSError as exc:
        handle.close()
        raise LockUnavailable(exc.errno or 0, f"cannot lock {path} ({describe_error(exc)})", str(path)) from exc
    if not locked:
        handle.close()
        raise ProfileInUse(profile, role, _read_record(record_path))
    holder = Holder(os.getpid(), _host(), time.time(), role, profile, program)
    try:
        atomic_write(record_path, (json.dumps(asdict(holder)) + "\n").encode("utf-8"))
    except OSError:
        # The lock itself is held, which is what protects the data; without the record a
        # second instance says "another lexi-tui" instead of naming this one.
        pass
    return _Shared(handle, holder)


def _read_record(record_path: Path) -> Holder | None:
    try:
        return Holder.from_json(record_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def holder_of(profile: str, *, role: str = "app", folder: Path | None = None) -> Holder | None:
    """Who holds `profile`'s lock for `role` now, or None when nobody does. Disk I/O.

    A free lock is probed by taking it for an instant (then released), so the answer is never a
    stale record. When this process holds it, its own record is returned.
    """
    _check(profile, role)
    base = _default_folder() if folder is None else Path(folder)
    path, record_path = _paths(base, profile, role)
    with _registry_lock:
        shared = _registry.get(Path(os.path.abspath(path)))
        if shared is not None:
            return shared.holder
        if not path.exists():
            return None
        try:
            handle = _open_lock_file(path)
        except OSError:
            return _read_record(record_path)
        try:
            if try_lock(handle):
                unlock(handle)
                return None
            return _read_record(record_path) or Holder(0, "?", 0.0, role, profile)
        finally:
            handle.close()

