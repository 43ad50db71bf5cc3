"""The local Lexi service with N pending tasks in a process of its own.

The in-process service (`benchmarks.service`) runs in a thread of the harness, so when the app
also runs in the harness (the triage phase) the two share one interpreter lock and one garbage
collector: the service's request handling and its collections stop the app's event loop too,
which a real user's remote service never does. Run in its own process the service costs the
app nothing but the loopback round trip.

`python -m benchmarks.service_process COUNT SEED [LATENCY_MS [admin]]` prints one JSON line (base_url, api_key,
root_url) once the service accepts connections, and stops when its stdin closes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from types import TracebackType

from benchmarks.child_env import REPO

START_TIMEOUT = 30.0


class ServiceProcess:
    """`with ServiceProcess(500, seed=100) as service: service.base_url, service.api_key`."""

    def __init__(self, count: int, *, seed: int = 1, latency_ms: float = 0.0, admin: bool = False) -> None:
        self.count = count
        self.seed = seed
        self.latency_ms = latency_ms
        self.admin = admin
        self.base_url = ""
        self.api_key = ""
        self.root_url = ""
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> ServiceProcess:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.service_process", str(self.count), str(self.seed), str(self.latency_ms), "admin" if self.admin else "-"],
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self._proc.kill()
            self._proc.wait()
            raise RuntimeError("the benchmark service process did not start")
        started = json.loads(line)
        self.base_url, self.api_key, self.root_url = started["base_url"], started["api_key"], started["root_url"]
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        proc = self._proc
        if proc is None:
            return
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _serve(count: int, seed: int, latency_ms: float, admin: bool) -> None:
    from benchmarks.service import start_pending_service

    with start_pending_service(count, seed=seed, latency_ms=latency_ms, admin=admin) as service:
        print(json.dumps({"base_url": service.base_url, "api_key": service.api_key, "root_url": service.root_url}),
              flush=True)
        sys.stdin.read()  # Until the harness closes our stdin (or exits).


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 0.0,
           len(sys.argv) > 4 and sys.argv[4] == "admin")
