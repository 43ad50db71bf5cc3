"""The request log of `lexi-tui --debug` and `LEXI_TUI_DEBUG=1`: one line per API response.

Each line says when, which method and path, the HTTP status, how long it took, the request
id to quote to support, and what the rate-limit headers said, e.g.

    2026-12-03T08:09:10.123Z pid=4242 GET /v1/lexi/tasks status=200 ms=45 request_id=req_1f \
limit=100 remaining=95 reset=2026-12-04T00:00:00Z

It never holds the key or a body: only the fields of `ResponseInfo` are written (no headers,
no payload), and every value goes through `api.text.clean` (no control characters reach a
terminal that `tail -f`s it) and `api.text.redact` (anything key-shaped is masked).

The file lives in the platform's log folder (`platformdirs.user_log_dir("lexi-tui")`,
`~/.local/state/lexi-tui/log/requests.log` on Linux), created 0600 in a 0700 folder. It is
size-capped: past `max_bytes` it is renamed `requests.log.1` (replacing the previous one) and
a new file is started, so the two never hold more than about twice `max_bytes`.

A line is one `os.write` on an O_APPEND descriptor and no fsync: the data is in the page cache
when the call returns (microseconds), so the listener never stalls the event loop it runs
on, and the app and a `lexi-tui watch` writing the same file never interleave within a line.
Assumption: two processes that cross the cap at the same moment may both rotate, and the
older backup is then lost; that is acceptable for a debugging aid.

Stdlib plus platformdirs and `lexi_tui.api.text` (no httpx).
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from lexi_tui.api.text import clean, redact

if TYPE_CHECKING:
    from lexi_tui.api.lexi import ResponseInfo

FILE_NAME = "requests.log"
DEFAULT_MAX_BYTES = 1024 * 1024
"""Size after which the log is rotated (one backup is kept)."""
_VALUE_MAX = 160
"""Longest value written (a request id or path from a hostile server can be long)."""
ENV_VAR = "LEXI_TUI_DEBUG"
"""`LEXI_TUI_DEBUG=1` turns the log on for the commands and the app."""


def log_dir() -> Path:
    """The platform's log folder for lexi-tui (follows XDG_STATE_HOME on Linux)."""
    import platformdirs

    return Path(platformdirs.user_log_dir("lexi-tui", appauthor=False))


def enabled_by_env(environ: dict[str, str] | None = None) -> bool:
    """Whether `LEXI_TUI_DEBUG` asks for the log: any value but empty, 0, false, no or off."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


def _iso(moment: float) -> str:
    stamp = datetime.fromtimestamp(moment, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _value(value: object) -> str:
    """One value as written: cleaned, redacted, cut, and JSON-quoted when it is empty or holds a
    space or a quote (a `key=value` field splits at its first `=`, so `=` needs no quoting)."""
    text = redact(clean(str(value), multiline=False))
    if len(text) > _VALUE_MAX:
        text = text[: _VALUE_MAX - 1] + "…"
    if not text or any(ch in text for ch in ' "'):
        return json.dumps(text, ensure_ascii=False)
    return text


def format_line(info: ResponseInfo, *, now: float | None = None, pid: int | None = None) -> str:
    """The log line for one response (without the newline)."""
    moment = time.time() if now is None else now
    parts = [
        _iso(moment),
        f"pid={os.getpid() if pid is None else pid}",
        _value(info.method),
        _value(info.path),
        # Assumption: a status may be missing (a request that got no answer) once the API
        # client reports those too; it is then written as "-".
        f"status={'-' if info.status is None else int(info.status)}",
        f"ms={max(0.0, info.elapsed) * 1000:.0f}",
        f"request_id={_value(info.request_id) if info.request_id else '-'}",
    ]
    rate = info.rate_limit
    if rate is not None:
        parts.append(f"limit={'-' if rate.limit is None else int(rate.limit)}")
        parts.append(f"remaining={'-' if rate.remaining is None else int(rate.remaining)}")
        parts.append(f"reset={'-' if rate.reset_at is None else _iso(rate.reset_at).replace('.000Z', 'Z')}")
    return " ".join(parts)


class RequestLog:
    """An append-only, size-capped request log; call it (or `listener`) with a `ResponseInfo`.

    Attach with `provider.add_listener(log)`. Writing never raises: after an OSError (disk
    full, folder removed) the log stops and `error` says why, so a failing log cannot fail a
    request.
    """

    def __init__(self, path: Path | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = Path(path) if path is not None else log_dir() / FILE_NAME
        self.max_bytes = max_bytes
        self.error: str | None = None
        self.lines = 0
        """Lines written by this process."""
        self._fd: int | None = None
        self._size = 0
        self._open()

    def __repr__(self) -> str:
        return f"RequestLog({str(self.path)!r})"

    @property
    def backup_path(self) -> Path:
        """Where the previous file goes when the log is rotated."""
        return self.path.with_name(self.path.name + ".1")

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.path, flags, 0o600)
        try:
            os.fchmod(fd, 0o600)  # A file left by an older version, or by umask games.
        except (AttributeError, OSError):  # pragma: no cover - Windows has no fchmod
            pass
        self._fd = fd
        self._size = os.fstat(fd).st_size

    def __call__(self, info: ResponseInfo) -> None:
        self.listener(info)

    def listener(self, info: ResponseInfo) -> None:
        """Write one line for `info`; a no-op once the log has failed or was closed."""
        if self._fd is None:
            return
        data = (format_line(info) + "\n").encode("utf-8", errors="replace")
        try:
            if self._size + len(data) > self.max_bytes and self._size > 0:
                self._rotate()
            assert self._fd is not None
            written = 0
            while written < len(data):
                written += os.write(self._fd, data[written:])
            self._size += len(data)
            self.lines += 1
        except OSError as exc:
            self.error = f"{exc.strerror or exc} ({self.path})"
            self.close()

    def _rotate(self) -> None:
        assert self._fd is not None
        os.close(self._fd)
        self._fd = None
        os.replace(self.path, self.backup_path)
        self._open()

    def close(self) -> None:
        """Close the file; later responses are not logged. Never raises."""
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


def open_log(path: Path | None = None) -> RequestLog:
    """Open the request log (default: `log_dir()/requests.log`). Raises OSError when the
    folder or file cannot be created; the caller says so and runs without a log."""
    return RequestLog(path)
