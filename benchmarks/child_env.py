"""The environment and command lines of the processes the harness starts.

The app reads XDG folders and the keyring: a benchmark must never touch the real ones, and
keyring discovery (~200 ms) would otherwise be timed. The key comes from `LEXI_API_KEY`,
which the app checks before the keyring.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from lexi_tui.server.options import DEMO_KEY

REPO = Path(__file__).resolve().parent.parent
BASELINE_APP = Path(__file__).resolve().parent / "baseline_app.py"
HEADLESS_DRIVER = "textual.drivers.headless_driver:HeadlessDriver"
COLUMNS, LINES = 100, 30

_home = tempfile.TemporaryDirectory(prefix="lexi-bench-home-")


def isolated_folders() -> dict[str, str]:
    """HOME and the XDG folders inside the harness's own temporary home."""
    home = Path(_home.name)
    for name in ("config", "data", "cache", "state"):
        (home / name).mkdir(exist_ok=True)
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_STATE_HOME": str(home / "state"),
    }


def isolate_this_process() -> None:
    """The in-process phases run the app in the harness itself: its audit log, undo journal
    and watch lists must land in the temporary home too, never in the user's."""
    os.environ.update(isolated_folders())
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    os.environ.pop("LEXI_TUI_DATA_DIR", None)


def child_env(*, headless: bool, key: str = DEMO_KEY) -> dict[str, str]:
    """Environment for a child app: isolated XDG dirs, the null keyring, the key, a fixed size.

    Headless runs use Textual's own replacement-driver hook (`TEXTUAL_DRIVER`), which is how
    a real process runs Textual headless; COLUMNS/LINES give it the pty runs' size.
    """
    # PYTHONDONTWRITEBYTECODE (set in some sandboxes and CI images) would make every start
    # compile the app's ~40 modules from source (~190 ms here): an installed app has .pyc,
    # which the unmeasured warm-up spawn writes.
    dropped = ("COLORTERM", "NO_COLOR", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL_") and k not in dropped}
    env.update(isolated_folders())
    env.update(
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        LEXI_API_KEY=key,
        TERM="xterm-256color",
        COLUMNS=str(COLUMNS),
        LINES=str(LINES),
    )
    if headless:
        env["TEXTUAL_DRIVER"] = HEADLESS_DRIVER
    return env


def app_command(base_url: str, *extra: str) -> list[str]:
    """`lexi-tui --base-url URL ...` through the installed console script (what a user runs)."""
    script = Path(sys.executable).with_name("lexi-tui")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "lexi_tui"]
    return [*head, "--base-url", base_url, *extra]


def baseline_command(*extra: str) -> list[str]:
    """The bare Textual baseline app, run by path so it imports nothing of the harness."""
    return [sys.executable, str(BASELINE_APP), *extra]
