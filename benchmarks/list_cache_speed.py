"""How fast the cached last list (`lexi_tui.core.list_cache`) is written and read back.

The cache is only worth having if reading it is much quicker than the request it stands in for:
the figures are wall time of `save` (encode, atomic write with fsync), `load` (read and JSON
decode) and `CachedList.task_list()` (the tasks as models, as the screen needs them), each in
the calling thread, for lists of the benchmark's shape. All three run off the event loop in the
app, so what they cost is start-up latency, not loop stalls.
"""

from __future__ import annotations

import gc
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.task_data import pending_tasks
from lexi_tui.core import list_cache

URL = "http://127.0.0.1:1/functions/v1/api-gateway"


@dataclass
class CacheRuns:
    """Milliseconds per size and step: runs[size]["save" | "load" | "parse"] = [ms, ...]; bytes per size."""

    runs: dict[int, dict[str, list[float]]] = field(default_factory=dict)
    file_bytes: dict[int, int] = field(default_factory=dict)


def measure_cache(sizes: tuple[int, ...], runs: int) -> CacheRuns:
    """Save, load and parse a cached list of each size `runs` times (after one unmeasured round)."""
    result = CacheRuns()
    with tempfile.TemporaryDirectory(prefix="lexi-bench-cache-") as folder:
        where = Path(folder)
        for size in sizes:
            tasks = pending_tasks(size)
            steps: dict[str, list[float]] = {"save": [], "load": [], "parse": []}
            for n in range(runs + 1):
                gc.collect()
                started = time.perf_counter()
                problem = list_cache.save("bench", URL, tasks, fetched_at=time.time(), folder=where)
                saved = time.perf_counter()
                if problem is not None:
                    raise RuntimeError(problem)
                loaded = list_cache.load("bench", URL, folder=where)
                read = time.perf_counter()
                if loaded.cached is None:
                    raise RuntimeError(loaded.problem or "the cache did not load")
                parsed = loaded.cached.task_list()
                done = time.perf_counter()
                if len(parsed) != size:
                    raise RuntimeError(f"{len(parsed)} tasks came back, not {size}")
                if n:
                    steps["save"].append((saved - started) * 1000)
                    steps["load"].append((read - saved) * 1000)
                    steps["parse"].append((done - read) * 1000)
                del loaded, parsed
            result.runs[size] = steps
            result.file_bytes[size] = list_cache.cache_path("bench", URL, folder=where).stat().st_size
    return result
