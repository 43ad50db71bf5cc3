"""`python -m lexi_tui.server`: run the local Lexi service without the TUI's CLI."""

from __future__ import annotations

import argparse
import sys

from .cli import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` and serve until interrupted; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m lexi_tui.server",
        description="Local, Lexi-compatible HTTP service (same API as "
        "https://data.leadlex.com/functions/v1/api-gateway, only the host differs).",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
