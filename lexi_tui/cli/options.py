"""The options every API command shares, and the parser class that fills help at help time.

Their own module so the command parsers (`commands.py`) and the top-level parser (`parser.py`)
both use them without importing each other.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

SHARED = ("profile", "base_url", "config", "debug")
"""Options every API command takes, before or after its name."""


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser whose help can name things known only at help time.

    An action with a `lazy_help` attribute (a function returning the text) gets its help
    filled in when `--help` is shown, so the providers' vocabulary (views, reasons) is read
    from their capabilities, not copied here, and importing it costs only on `--help`.
    """

    def format_help(self) -> str:
        for action in self._actions:
            lazy: Callable[[], str] | None = getattr(action, "lazy_help", None)
            if lazy is not None:
                action.help = lazy()
                del action.lazy_help  # type: ignore[attr-defined]
        return super().format_help()


def add_shared_options(parser: argparse.ArgumentParser, names: Sequence[str] = SHARED, *, top: bool = False) -> None:
    """Add the shared options `names` to `parser`.

    On the top-level parser (`top`) they default to None/False; on a subcommand they default
    to SUPPRESS, so a subcommand never overwrites what was given before its name.
    """
    suppress: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    if "profile" in names:
        parser.add_argument("--profile", metavar="NAME", **suppress,
                            help="profile from the config file (default: the config's default_profile)")
    if "base_url" in names:
        parser.add_argument("--base-url", metavar="URL", **suppress, help="API base URL (overrides the profile's)")
    if "config" in names:
        parser.add_argument("--config", metavar="FILE", **suppress,
                            help="config file (default: the platform's config directory)")
    if "debug" in names:
        parser.add_argument("--debug", action="store_true", **suppress,
                            help="log every request (time, method, path, status, duration, request id, rate "
                            "limit; never the key or a body) to a file in the platform's log folder, whose path "
                            "is printed at start; LEXI_TUI_DEBUG=1 does the same")
