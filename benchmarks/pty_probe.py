"""Drive a child process on a real pseudo-terminal and time what reaches the screen.

The pty is the only way to see what a user sees: the bytes a frame costs and when they
leave the app. The master is drained continuously (a full pty buffer would block the app
and be timed as slowness), and the child's exit is watched through a pidfd so the moment
it ends is known to the millisecond.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass

_ANSI = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|P[^\x1b]*\x1b\\|[@-Z\\-_])")


def visible_text(data: bytes) -> str:
    """The printable text in a stretch of terminal output (escape sequences removed)."""
    return _ANSI.sub(b"", data).decode("utf-8", "replace")


@dataclass
class Exit:
    """How a child ended: exit code, peak RSS (KB, from wait4's rusage) and CPU seconds."""

    code: int
    max_rss_kb: int
    cpu_seconds: float


class PtyChild:
    """A child process whose stdin, stdout and stderr are the slave side of a new pty."""

    def __init__(self, argv: list[str], env: dict[str, str], *, cols: int = 100, rows: int = 30) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.pidfd = os.pidfd_open(self.proc.pid)
        self.output = bytearray()
        self.bytes_read = 0
        self.exited_at: float | None = None
        self.exit: Exit | None = None
        self.eof = False
        self.last_output_at = self.started

    @property
    def pid(self) -> int:
        return self.proc.pid

    # -- reading ------------------------------------------------------------------

    def _read_once(self, timeout: float) -> float | None:
        """Wait up to `timeout` for output or exit; returns the time bytes arrived, else None."""
        if self.eof:
            if self.exited_at is None:
                self._reap(time.perf_counter())
            return None
        fds = [self.master] + ([self.pidfd] if self.exited_at is None else [])
        ready, _, _ = select.select(fds, [], [], max(0.0, timeout))
        now = time.perf_counter()
        if self.master in ready:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: every slave fd is closed, the child is gone
                chunk = b""
                self.eof = True
            if chunk:
                self.output += chunk
                self.bytes_read += len(chunk)
                self.last_output_at = now
                if len(self.output) > 1 << 20:
                    del self.output[: len(self.output) - (1 << 19)]
                return now
            if self.exited_at is None:
                self._reap(now)
            return None
        if self.pidfd in ready and self.exited_at is None:
            self._reap(now)
        return None

    def _reap(self, now: float) -> None:
        _, status, usage = os.wait4(self.proc.pid, 0)
        self.exited_at = now
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.exit = Exit(self.proc.returncode, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)

    def pump(self, seconds: float) -> None:
        """Drain output for `seconds` (keeps the app from blocking on a full pty buffer)."""
        deadline = time.perf_counter() + seconds
        while (left := deadline - time.perf_counter()) > 0 and not self.eof:
            self._read_once(left)

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Drain until `predicate()` holds (checked after every read) or `timeout` passes."""
        deadline = time.perf_counter() + timeout
        while not predicate():
            left = deadline - time.perf_counter()
            if left <= 0 or (self.exited_at is not None and not predicate()):
                return predicate()
            self._read_once(min(left, 0.05))
        return True

    def wait_text(self, needle: str, timeout: float) -> bool:
        """Drain until `needle` shows in the visible text received so far."""
        return self.wait_for(lambda: needle in visible_text(bytes(self.output)), timeout)

    def wait_quiet(self, quiet: float, timeout: float) -> float:
        """Drain until no byte has arrived for `quiet` seconds; returns when the last byte came."""
        deadline = time.perf_counter() + timeout
        while (now := time.perf_counter()) < deadline and not self.eof:
            wait = quiet - (now - self.last_output_at)
            if wait <= 0:
                break
            self._read_once(min(wait, deadline - now))
        return self.last_output_at

    def wait_exit(self, timeout: float) -> Exit:
        """Drain until the child has exited; raises TimeoutError (after killing it) if it does not."""
        if not self.wait_for(lambda: self.exited_at is not None, timeout):
            self.kill()
            raise TimeoutError(f"child did not exit within {timeout} s; output tail: "
                               f"{visible_text(bytes(self.output[-2000:]))!r}")
        self.pump(0)
        assert self.exit is not None
        return self.exit

    # -- writing ------------------------------------------------------------------

    def send(self, data: bytes) -> float:
        """Type `data` into the terminal; returns the time it was written."""
        sent = time.perf_counter()
        os.write(self.master, data)
        return sent

    def first_output_after(self, data: bytes, timeout: float = 2.0) -> float:
        """Seconds from typing `data` to the first byte the app writes back."""
        sent = self.send(data)
        deadline = sent + timeout
        while (left := deadline - time.perf_counter()) > 0 and not self.eof:
            got = self._read_once(left)
            if got is not None:
                return got - sent
        raise TimeoutError(f"no output within {timeout} s of {data!r}")

    def settle_after(self, data: bytes, quiet: float, timeout: float = 5.0) -> float:
        """Seconds from typing `data` to the last byte before `quiet` seconds of silence.

        The silence is only looked for once the first byte is out: a slow first frame is
        not mistaken for "nothing to draw".
        """
        before = self.bytes_read
        sent = self.send(data)
        if not self.wait_for(lambda: self.bytes_read > before, timeout):
            raise TimeoutError(f"no output within {timeout} s of {data!r}")
        return self.wait_quiet(quiet, timeout) - sent

    # -- ending -------------------------------------------------------------------

    def kill(self) -> None:
        """Stop this child (and only it), then reap it."""
        if self.exited_at is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
            self.wait_for(lambda: self.exited_at is not None, 5.0)

    def close(self) -> None:
        self.kill()
        for fd in (self.master, self.pidfd):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> PtyChild:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cpu_ticks(pid: int) -> int:
    """utime + stime of `pid` from /proc/PID/stat, in clock ticks."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        stat = handle.read()
    fields = stat[stat.rindex(b")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of the whole line


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
