"""Crash reports that never contain the API key.

Textual's default crash output is a Rich traceback with local variables, and a local
can hold the key (a login screen's `key`, a header dict). lexi-tui prints instead a
short message and writes the traceback, without locals and with every key-shaped string
masked, to a file in the platform's data directory (mode 0600).
"""

from __future__ import annotations

import os
import platform
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from lexi_tui import __version__
from lexi_tui.api.text import redact


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every known secret and every key-shaped string with its masked form."""
    return redact(text, secrets)


def crash_dir() -> Path:
    from lexi_tui.core.config import data_dir

    return data_dir() / "crashes"


def write_crash_report(error: BaseException, secrets: Iterable[str] = ()) -> Path:
    """Write a scrubbed report of `error`; returns its path."""
    secrets = list(secrets)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    folder = crash_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"crash-{stamp}.txt"
    body = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    header = (
        f"lexi-tui {__version__} crashed at {stamp}\n"
        f"Python {platform.python_version()} on {platform.platform()}\n"
        "Locals are not recorded; key-shaped strings are masked.\n\n"
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(scrub(header + body, secrets))
    return path
