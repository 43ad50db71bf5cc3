"""File systems that really refuse writes, for the tests of the local state.

Permission bits do not stop root (these tests may run as root, as CI containers do), so a test
that wants "No space left on device" or "Read-only file system" from the kernel runs its code
in a child process inside a private mount namespace (`unshare -m`, or `unshare -rm` for a
normal user) with a tiny tmpfs mounted on the data folder: filled up, or remounted read-only.
Nothing outside the child sees the mount. When the machine does not allow it, the test is
skipped (and the portable tests, which inject `statvfs` or use a path whose parent is a file,
still run).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

_SCRIPT = r"""
set -e
mount -t tmpfs -o size=2m,mode=0700 tmpfs "$MNT"
"$PY" -c "$SETUP"
if [ "$MODE" = full ]; then
  dd if=/dev/zero of="$MNT/filler" bs=4k >/dev/null 2>&1 || true
fi
if [ "$MODE" = readonly ]; then
  mount -o remount,ro "$MNT"
fi
exec "$PY" -c "$CODE"
"""


def _unshare() -> list[str]:
    return ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]


@functools.cache
def _available() -> str | None:
    """None when private tmpfs mounts work here, else why not."""
    if sys.platform != "linux" or shutil.which("unshare") is None or shutil.which("mount") is None:
        return "needs Linux with unshare(1) and mount(8)"
    probe = subprocess.run([*_unshare(), "sh", "-c", "mount -t tmpfs -o size=4k tmpfs /mnt 2>&1 || "
                            "mount -t tmpfs -o size=4k tmpfs /tmp"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"private mounts are not allowed here: {probe.stdout.strip() or probe.stderr.strip()}"
    return None


def run_on_small_fs(data_dir: Path, mode: str, code: str, setup: str = "pass") -> Any:
    """Run `setup`, then (after filling the tmpfs up, or remounting it read-only) `code`, as Python
    in a child whose data folder (`LEXI_TUI_DATA_DIR`) is a 2 MiB tmpfs at `data_dir`.

    `code` prints one JSON value on its last line of stdout; it is returned.

    Args:
        data_dir: an empty folder to mount over (in the test's temporary folder).
        mode: "full" or "readonly".
        code: the Python code to check (runs after the file system refuses writes).
        setup: Python code run first, while the file system still takes writes.
    """
    why = _available()
    if why is not None:
        pytest.skip(why)
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, MNT=str(data_dir), PY=sys.executable, MODE=mode, LEXI_TUI_DATA_DIR=str(data_dir),
               SETUP=textwrap.dedent(setup), CODE=textwrap.dedent(code))
    done = subprocess.run([*_unshare(), "sh", "-c", _SCRIPT], capture_output=True, text=True, env=env, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])
