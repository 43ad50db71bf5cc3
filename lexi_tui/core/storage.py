"""Careful file primitives for the app's local state: atomic writes, keeping damaged files aside,
advisory locks, and a cheap "can this folder take a write?" check.

The undo journal, the watch list, the webhook event log and the history all follow the same
rules, which live here so that each is written once:

* a file is replaced only by a complete new version (temporary file in the same folder, fsync,
  rename, fsync of the folder), so a kill or a full disk leaves the old version or the new one,
  never half of either;
* a file that cannot be read or parsed is never silently emptied or overwritten: it is moved
  or copied to `<name>.corrupt-<UTC stamp>` next to it (mode 0600), and the caller gets a
  `Problem` naming that copy so the person can be told where it is;
* private files are created 0600 and their folders 0700 (task descriptions name clients).

Every function here does disk I/O and blocks: the UI calls them from a thread worker.
Stdlib only, so it is cheap to import.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

__all__ = [
    "MIN_FREE_BYTES", "Problem", "atomic_write", "check_writable", "describe_error", "ensure_folder", "fsync_dir",
    "keep_aside",
    "try_lock", "unlock",
]

MIN_FREE_BYTES = 1024 * 1024
"""Below this much free space in a folder, `check_writable` reports it full. An action's journal
entry and history line are a few hundred bytes each; the margin leaves room for both (and for
the rest of the system) instead of finding out half-way through an action."""


@dataclass(frozen=True)
class Problem:
    """Something wrong with a local file that the person must hear about.

    Args:
        path: the file concerned.
        message: one or two sentences for a person, naming the file and what was done.
        kept_aside: where the damaged content was kept (`<name>.corrupt-<stamp>`), if it was.
    """

    path: Path
    message: str
    kept_aside: Path | None = None

    def __str__(self) -> str:
        return self.message


def describe_error(exc: BaseException) -> str:
    """The human part of an OSError ("No space left on device"), without errno noise."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _aside_name(path: Path) -> Path:
    """A name next to `path` that does not exist yet: `<name>.corrupt-<stamp>[-n]`."""
    base = path.with_name(f"{path.name}.corrupt-{_stamp()}")
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def keep_aside(path: Path, *, copy: bool = False) -> Path:
    """Move (or, with `copy`, copy) `path` to `<name>.corrupt-<UTC stamp>` beside it, mode 0600.

    Disk I/O. Returns the new path. Raises OSError when it cannot be done (the caller must then
    not overwrite the original either).

    Args:
        path: the damaged file.
        copy: copy instead of moving (the caller goes on using a repaired version at `path`).
    """
    target = _aside_name(path)
    if copy:
        with open(path, "rb") as source:
            data = source.read()
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    else:
        os.rename(path, target)  # Same folder: atomic, and `target` did not exist.
        os.chmod(target, 0o600)
    fsync_dir(path.parent)
    return target


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (best effort: not every platform can open a folder)."""
    if sys.platform == "win32":  # pragma: no cover - Windows cannot fsync a directory
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def ensure_folder(folder: Path) -> None:
    """Create `folder` (and its parents, 0700) if needed. Disk I/O. Raises OSError; when a file
    is in the way, ENOTDIR "Not a directory" naming it rather than a puzzling "File exists"."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except FileExistsError as exc:
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder)) from exc


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` by `data` all at once: a temporary file in the same folder (0600), fsync,
    rename over `path`, fsync of the folder. Creates the folder (0700) if needed.

    Disk I/O. Raises OSError (ENOSPC, EROFS, EACCES...) with nothing changed at `path`: the
    temporary file is removed.

    Args:
        path: the file to replace.
        data: its complete new content.
    """
    ensure_folder(path.parent)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)  # Atomic: a kill leaves the old or the new version.
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    fsync_dir(path.parent)


class StatvfsResult(Protocol):
    """The fields of `os.statvfs` that `check_writable` reads (tests pass their own)."""

    @property
    def f_frsize(self) -> int: ...
    @property
    def f_bavail(self) -> int: ...
    @property
    def f_bfree(self) -> int: ...
    @property
    def f_flag(self) -> int: ...


def check_writable(folder: Path, *, min_free: int = MIN_FREE_BYTES, statvfs: Any = None) -> None:
    """Raise OSError (EROFS or ENOSPC, with a clear strerror) when `folder`'s file system is
    mounted read-only or has less than `min_free` bytes free. Cheap: one statvfs call, no write.

    Assumption: the super-user may use the blocks reserved for root (`f_bfree`); anyone else
    only `f_bavail`. Platforms without statvfs (Windows) skip the check.

    Args:
        folder: an existing folder.
        min_free: bytes that must be free.
        statvfs: replaces `os.statvfs` (tests simulate a full or read-only file system).
    """
    probe = statvfs if statvfs is not None else getattr(os, "statvfs", None)
    if probe is None:  # pragma: no cover - Windows
        return
    info: StatvfsResult = probe(folder)
    if info.f_flag & getattr(os, "ST_RDONLY", 1):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(folder))
    blocks = info.f_bfree if _is_root() else info.f_bavail
    free = blocks * info.f_frsize
    if free < min_free:
        raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} ({_size(free)} free)", str(folder))


def _is_root() -> bool:
    geteuid = getattr(os, "geteuid", None)
    return bool(geteuid is not None and geteuid() == 0)


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    if count < 1024 * 1024:
        return f"{count / 1024:.0f} KiB"
    return f"{count / (1024 * 1024):.1f} MiB"


# -- advisory locks on an open file (released by the OS when the process dies) -----------------

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def try_lock(handle: IO[bytes]) -> bool:
        """Take the exclusive lock of `handle` without waiting; False if another process has it."""
        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def unlock(handle: IO[bytes]) -> None:
        """Release a lock taken with `try_lock`."""
        handle.seek(0)
        with contextlib.suppress(OSError):
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def try_lock(handle: IO[bytes]) -> bool:
        """Take the exclusive lock of `handle` without waiting; False if another holder has it.

        flock(2): the lock belongs to the open file, so two opens of one file conflict even in
        one process, and the kernel drops it when the process dies (even by SIGKILL).
        """
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def unlock(handle: IO[bytes]) -> None:
        """Release a lock taken with `try_lock`."""
        with contextlib.suppress(OSError):
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
