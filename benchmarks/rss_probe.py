"""Peak RSS of a child process, measured from a small spawner process.

Linux folds the *parent's* peak RSS into a child's `ru_maxrss` when the child execs (the
old address space's high-water mark is kept), so a harness that has grown to hundreds of
MB would report that for every child. This file, run as a fresh interpreter, forks the
measured process from its own small address space (~10 MB, below anything measured) and
reports the child's `os.wait4` rusage as JSON on stdout. Standard library only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve()


def peak_rss_kb(argv: list[str], env: dict[str, str], timeout: float = 120.0) -> int:
    """Run `argv` (stdio on /dev/null, stderr kept for errors) and return its peak RSS in KB."""
    done = subprocess.run([sys.executable, str(SCRIPT), "--", *argv], env=env, capture_output=True,
                          timeout=timeout, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return int(json.loads(done.stdout)["max_rss_kb"])


def _spawn_and_report(argv: list[str]) -> int:
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    errors = child.stderr.read().decode("utf-8", "replace") if child.stderr else ""
    if child.returncode != 0:
        sys.stderr.write(errors)
        return 1
    json.dump({"max_rss_kb": usage.ru_maxrss, "seconds": time.perf_counter() - started}, sys.stdout)
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(_spawn_and_report(args[1:] if args[:1] == ["--"] else args))
