"""One triage run in a fresh process, so its collections are the app's and not the harness's.

The triage phase drives the app in-process with the pilot, so whatever else lives in that
process is scanned by every full garbage collection too. In the harness process that was a
lot: the refresh phase's lists (hundreds of thousands of task dicts, some cached for reuse),
and `gc.freeze()` after the app's first load, a once-per-process step, had already happened
during an earlier phase. A child process holds only the app, its Textual objects and this
module, like `lexi-tui` itself, so the GC figures mean what they say.

`python -m benchmarks.triage_child app|baseline BASE_URL KEY COUNT PACE` prints one JSON line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from benchmarks.child_env import REPO
from benchmarks.stall_monitor import Collection, Stall
from benchmarks.triage import TriageRun

CHILD_TIMEOUT = 240.0


def _encode(run: TriageRun) -> dict[str, Any]:
    return {
        "seconds": run.seconds, "worst_stall": run.worst_stall, "approved": run.approved, "loop_cpu": run.loop_cpu,
        "stalls": [[s.start, s.end, s.gc_seconds] for s in run.stalls],
        "collections": [[c.generation, c.thread, c.start, c.end] for c in run.collections],
        "key_to_frame": run.key_to_frame,
    }


def _decode(body: dict[str, Any]) -> TriageRun:
    return TriageRun(
        seconds=body["seconds"], worst_stall=body["worst_stall"], approved=body["approved"],
        stalls=[Stall(*s) for s in body["stalls"]],
        collections=[Collection(int(c[0]), str(c[1]), float(c[2]), float(c[3])) for c in body["collections"]],
        key_to_frame=body["key_to_frame"], loop_cpu=body["loop_cpu"],
    )


def run_in_child(kind: str, count: int, base_url: str = "", key: str = "", pace: float = 0.0) -> TriageRun:
    """A triage run ("app" against the service at `base_url`, or "baseline") in a new process."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.triage_child", kind, base_url or "-", key or "-", str(count), str(pace)],
        cwd=REPO, capture_output=True, text=True, timeout=CHILD_TIMEOUT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the {kind} triage child failed ({done.returncode}): {done.stderr[-3000:]}")
    return _decode(json.loads(done.stdout.strip().splitlines()[-1]))


def _main(argv: list[str]) -> None:
    from benchmarks import triage
    from benchmarks.child_env import isolate_this_process

    isolate_this_process()
    kind, base_url, key, count, pace = argv[0], argv[1], argv[2], int(argv[3]), float(argv[4])
    if kind == "app":
        run = triage.measure_triage(base_url, key, count, pace=pace)
    else:
        run = triage.measure_baseline_triage(count)
    print(json.dumps(_encode(run)), flush=True)


if __name__ == "__main__":
    _main(sys.argv[1:])
