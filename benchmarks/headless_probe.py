"""Run a child app headless (Textual's HeadlessDriver, chosen by `TEXTUAL_DRIVER`) and time it.

Without a terminal there is no output to watch, so the figure is spawn-to-exit of a process
that quits right after its first full frame. (Peak RSS is not taken here: see rss_probe.)
"""

from __future__ import annotations

import os
import select
import subprocess
import tempfile
import time


def run_headless(argv: list[str], env: dict[str, str], timeout: float = 60.0) -> float:
    """Start `argv`, wait for it to exit; returns seconds from spawn to exit.

    Raises RuntimeError with the child's stderr when it fails or overruns `timeout`.
    """
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors,
                                start_new_session=True)
        pidfd = os.pidfd_open(proc.pid)
        try:
            ready, _, _ = select.select([pidfd], [], [], timeout)
            if not ready:
                proc.kill()
            _, status = os.waitpid(proc.pid, 0)
            elapsed = time.perf_counter() - started
        finally:
            os.close(pidfd)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if not ready or proc.returncode != 0:
            errors.seek(0)
            tail = errors.read()[-3000:].decode("utf-8", "replace")
            why = f"did not exit within {timeout} s" if not ready else f"exited with {proc.returncode}"
            raise RuntimeError(f"{' '.join(argv)} {why}:\n{tail}")
    return elapsed
