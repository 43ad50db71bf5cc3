"""`--debug` and `LEXI_TUI_DEBUG=1`: one line per request, 0600, capped, never a key or a body."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from cli_support import KEY, OTHER_KEY, home, log_file, run_cli, server, start, task_id  # noqa: F401

from lexi_tui.api.lexi import ResponseInfo
from lexi_tui.api.ratelimit import RateLimit
from lexi_tui.core.debuglog import RequestLog, enabled_by_env, format_line, log_dir
from lexi_tui.server.runner import RunningServer

HOSTILE_ID = "req_\x1b]2;pwned\x07" + KEY


def info(**overrides) -> ResponseInfo:
    values = dict(method="GET", path="/v1/lexi/tasks", status=200, request_id="req_abc",
                  rate_limit=RateLimit(limit=100, remaining=95, reset_at=1_708_905_600.0, observed_at=0.0),
                  elapsed=0.0451)
    values.update(overrides)
    return ResponseInfo(**values)


def test_a_line_has_the_fields_and_nothing_else() -> None:
    line = format_line(info(), now=1_708_900_000.5, pid=42)
    assert line == ("2024-02-25T22:26:40.500Z pid=42 GET /v1/lexi/tasks status=200 ms=45 request_id=req_abc "
                    "limit=100 remaining=95 reset=2024-02-26T00:00:00Z")
    assert format_line(info(rate_limit=None, request_id=None), now=0, pid=1).endswith("status=200 ms=45 request_id=-")


def test_server_text_is_cleaned_and_keys_are_masked() -> None:
    line = format_line(info(request_id=HOSTILE_ID, path=f"/v1/lexi/tasks/{KEY}/approve"))
    assert "\x1b" not in line and "\x07" not in line and "␛" in line
    assert KEY not in line and "wbk_…" in line


def test_the_file_is_private_capped_and_rotated(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "requests.log"
    log = RequestLog(path, max_bytes=2000)
    for n in range(60):
        log(info(request_id=f"req_{n:04d}"))
    log.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    backup = log.backup_path
    assert backup.exists() and path.stat().st_size <= 2000 and backup.stat().st_size <= 2000
    lines = backup.read_text().splitlines() + path.read_text().splitlines()
    assert lines[-1].split(" request_id=")[1].startswith("req_0059")
    assert all(" status=200 " in line for line in lines)


def test_a_failing_log_never_fails_a_request(tmp_path: Path) -> None:
    log = RequestLog(tmp_path / "requests.log")
    os.close(log._fd)  # The descriptor goes bad under it (a removed disk, say).
    log(info())
    assert log.error is not None and log.lines == 0
    log(info())  # Still quiet.


def test_writing_a_line_costs_little(tmp_path: Path) -> None:
    """Measured, not asserted: the listener runs on the event loop (no fsync per line)."""
    log = RequestLog(tmp_path / "requests.log")
    started = time.perf_counter()
    for _ in range(2000):
        log(info())
    per_line = (time.perf_counter() - started) / 2000
    log.close()
    print(f"request log: {per_line * 1e6:.1f} µs per line")
    assert log.lines == 2000


def test_the_environment_switch() -> None:
    assert enabled_by_env({"LEXI_TUI_DEBUG": "1"}) and enabled_by_env({"LEXI_TUI_DEBUG": "yes"})
    assert not any(enabled_by_env({"LEXI_TUI_DEBUG": v}) for v in ("", "0", "false", "off", "no"))
    assert not enabled_by_env({})
    assert log_dir().parts[-2:] == ("lexi-tui", "log")


def test_commands_log_each_request_and_say_where(server: RunningServer, home: Path) -> None:
    quiet = run_cli(home, "tasks", "--base-url", server.base_url)
    assert quiet.returncode == 0 and "debug" not in quiet.stderr and not log_file(home).exists()

    by_env = run_cli(home, "tasks", "--base-url", server.base_url, LEXI_TUI_DEBUG="1")
    assert by_env.returncode == 0, by_env.stderr
    assert f"logging each request to {log_file(home)}" in by_env.stderr
    by_flag = run_cli(home, "--debug", "tasks", "--status", "dismissed", "--base-url", server.base_url)
    assert by_flag.returncode == 0 and str(log_file(home)) in by_flag.stderr
    refused = run_cli(home, "tasks", "--debug", "--base-url", server.base_url, key=OTHER_KEY)
    assert refused.returncode == 3

    lines = log_file(home).read_text(encoding="utf-8").splitlines()
    fields = [line.split()[2:5] for line in lines]
    assert [(method, status) for method, _path, status in fields] == [
        ("GET", "status=200"), ("GET", "status=200"), ("GET", "status=401")]
    assert all(path.startswith("/v1/lexi/tasks") for _method, path, _status in fields)
    assert all(" request_id=req_" in line for line in lines)
    text = log_file(home).read_text(encoding="utf-8")
    assert KEY not in text and OTHER_KEY not in text and KEY[-8:] not in text
    assert "Search for" not in text  # No body.
    assert stat.S_IMODE(log_file(home).stat().st_mode) == 0o600


def test_rate_limit_headers_are_logged(home: Path) -> None:
    with start(plan="starter") as running:
        result = run_cli(home, "--debug", "tasks", "--base-url", running.base_url)
    assert result.returncode == 0, result.stderr
    line = log_file(home).read_text(encoding="utf-8").splitlines()[0]
    assert " limit=100 remaining=99 reset=" in line and line.endswith(":00:00Z")
    assert task_id(1)  # (The list itself is not in the log.)
