"""Crash reports that never contain the API key.

Textual's default crash output is a Rich traceback with local variables, and a local
can hold the key (a login screen's `key`, a header dict). lexi-tui prints instead a
short message and writes the traceback, without locals and with every key-shaped string
masked, to a file in the platform's data directory (mode 0600). The report can name the
request log written with `--debug` (`debug_log`), so the person knows what to attach.

`write_crash_report` does disk I/O. When the report cannot be written it raises
`CrashReportUnwritable` (an OSError) whose message names the folder and the cause, e.g.
"/home/ana/.local/share/lexi-tui/crashes: Read-only file system", for the caller to print in
place of the report's path.
"""

from __future__ import annotations

import contextlib
import os
import platform
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from lexi_tui import __version__
from lexi_tui.api.text import redact
from lexi_tui.core.storage import ensure_folder


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every known secret and every key-shaped string with its masked form."""
    return redact(text, secrets)


class CrashReportUnwritable(OSError):
    """The report could not be written; `str()` is "<folder>: <cause>"."""

    def __init__(self, folder: Path, cause: OSError) -> None:
        from lexi_tui.core.storage import describe_error

        self.reason = describe_error(cause)
        self.message = f"{folder}: {self.reason}"
        super().__init__(cause.errno or 0, self.reason, str(folder))

    def __str__(self) -> str:
        return self.message


def crash_dir() -> Path:
    from lexi_tui.core.config import data_dir

    return data_dir() / "crashes"


def write_crash_report(error: BaseException, secrets: Iterable[str] = (), *,
                       debug_log: Path | str | None = None) -> Path:
    """Write a scrubbed report of `error`; returns its path. Disk I/O.

    Args:
        error: the exception, with its traceback.
        secrets: strings to mask besides anything key-shaped (the key in use).
        debug_log: the request log of this session (`--debug`), named in the report.

    Raises:
        CrashReportUnwritable: the folder or the file could not be written (message: folder
            and cause).
    """
    secrets = list(secrets)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    folder = crash_dir()
    path = folder / f"crash-{stamp}.txt"
    body = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    log_line = f"Debug log of this session: {debug_log}\n" if debug_log else ""
    header = (
        f"lexi-tui {__version__} crashed at {stamp}\n"
        f"Python {platform.python_version()} on {platform.platform()}\n"
        f"{log_line}"
        "Locals are not recorded; key-shaped strings are masked.\n\n"
    )
    try:
        ensure_folder(folder)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(scrub(header + body, secrets))
    except OSError as exc:
        with contextlib.suppress(OSError):
            if path.exists() and path.stat().st_size == 0:
                path.unlink()  # An empty report (a full disk) would only mislead.
        raise CrashReportUnwritable(folder, exc) from exc
    return path
