"""`python -m lexi_tui.server`: option parsing, the banner, and the docs' curl examples."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from lexi_tui.server import DEMO_KEY, ServerOptions
from lexi_tui.server.cli import add_arguments, banner, options_from_args
from lexi_tui.server.keys import mask_key

CURL = shutil.which("curl") or ("/usr/bin/curl" if os.path.exists("/usr/bin/curl") else None)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="serve")
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults() -> None:
    options = options_from_args(parse())
    assert options == ServerOptions(port=8787, quiet=False)
    assert (options.host, options.rate_limit, options.rate_window, options.exec_delay) == ("127.0.0.1", None, 60.0, 3.0)
    assert (options.effective_rate_limit, options.effective_daily_limit, options.plan) == (0, 0, None)
    assert (options.failure_rate, options.seed_tasks, options.random_seed) == (0.1, 0, 0)
    assert options.key_permissions() == {DEMO_KEY: True}


def test_every_option() -> None:
    options = options_from_args(parse(
        "--host", "0.0.0.0", "--port", "9000", "--db", "x.db", "--key", "k1", "--key", "k2",
        "--key-without-lexi", "k3", "--rate-limit", "10", "--rate-window", "30", "--exec-delay", "0",
        "--failure-rate", "0.5", "--seed-tasks", "50", "--random-seed", "9", "--tasks", "t.json",
        "--latency", "20-200", "--error-rate", "0.1", "--drop-rate", "0.05", "--admin"))
    assert options == ServerOptions(
        host="0.0.0.0", port=9000, db_path="x.db", keys=("k1", "k2"), keys_without_lexi=("k3",), rate_limit=10,
        rate_window=30.0, exec_delay=0.0, failure_rate=0.5, seed_tasks=50, random_seed=9, tasks_file="t.json",
        latency_ms=(20.0, 200.0), error_rate=0.1, drop_rate=0.05, admin=True, quiet=False)
    assert options.key_permissions() == {"k1": True, "k2": True, "k3": False}
    assert options_from_args(parse("--latency", "75")).latency_ms == (75.0, 75.0)


@pytest.mark.parametrize("argv", [
    ["--latency", "200-20"], ["--latency", "fast"], ["--error-rate", "1.5"], ["--drop-rate", "-1"],
    ["--rate-limit", "-1"], ["--rate-window", "0"], ["--port", "70000"], ["--exec-delay", "-2"],
    ["--seed-tasks", "many"], ["--failure-rate", "nan"],
])
def test_invalid_options_exit_2(argv, capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        parse(*argv)
    assert caught.value.code == 2
    assert "error" in capsys.readouterr().err


def test_banner_names_url_keys_and_plans() -> None:
    options = ServerOptions(keys=("k1",), keys_without_lexi=("k3",), admin=True)
    text = banner(options, "http://127.0.0.1:1/functions/v1/api-gateway", "http://127.0.0.1:1", "/tmp/x.db")
    assert text.splitlines()[0] == "Lexi local service listening on http://127.0.0.1:1/functions/v1/api-gateway"
    assert "10/min" in text and "50/min" in text and "_admin" in text
    assert "k1" not in text and "k3" not in text  # every key is masked (too short to show a tail)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def cli_server(tmp_path) -> Iterator[tuple[str, str, subprocess.Popen]]:
    """The real CLI in a subprocess, as a user would start it."""
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lexi_tui.server", "--port", str(free_port()), "--seed-tasks", "50"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.match(r"^Lexi local service listening on (http://127\.0\.0\.1:\d+/functions/v1/api-gateway)$",
                         first.strip())
        assert match, (first, process.stderr.read() if process.poll() is not None else "")
        key_line = process.stdout.readline()
        assert mask_key(DEMO_KEY) in key_line and DEMO_KEY not in key_line  # masked
        yield match.group(1), DEMO_KEY, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def curl(*args: str) -> dict:
    result = subprocess.run([CURL, "-sS", *args], capture_output=True, text=True, timeout=20)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_docs_curl_examples(cli_server) -> None:
    base, key, process = cli_server
    header = f"Authorization: Bearer {key}"
    # List (no status), then the two filtered examples.
    tasks = curl(f"{base}/v1/lexi/tasks", "-H", header)["data"]["tasks"]
    assert len(tasks) == 30 and {t["status"] for t in tasks} == {"pending"}
    for task in tasks:
        assert set(task) == {"id", "type", "status", "description", "created_at", "metadata"}
    assert curl(f"{base}/v1/lexi/tasks?status=pending", "-H", header)["data"]["tasks"] == tasks
    approved = curl(f"{base}/v1/lexi/tasks?status=approved", "-H", header)["data"]["tasks"]
    assert all(t["status"] == "approved" for t in approved)
    # Approve, exactly as documented (Content-Type and no body).
    first, second = tasks[0]["id"], tasks[1]["id"]
    result = curl("-X", "POST", f"{base}/v1/lexi/tasks/{first}/approve", "-H", header,
                  "-H", "Content-Type: application/json")
    assert result == {"data": {"task_id": first, "status": "approved", "execution_started": True}}
    again = curl("-X", "POST", f"{base}/v1/lexi/tasks/{first}/approve", "-H", header,
                 "-H", "Content-Type: application/json")
    assert again == {"error": {"code": "validation_error", "message": "Task has already been approved"}}
    # Dismiss with the documented body.
    dismissed = curl("-X", "POST", f"{base}/v1/lexi/tasks/{second}/dismiss", "-H", header,
                     "-H", "Content-Type: application/json", "-d", '{\n  "reason": "Not relevant right now"\n}')
    assert dismissed == {"data": {"task_id": second, "status": "dismissed"}}
    again = curl("-X", "POST", f"{base}/v1/lexi/tasks/{second}/dismiss", "-H", header,
                 "-H", "Content-Type: application/json", "-d", '{"reason": "Not relevant right now"}')
    assert again == {"error": {"code": "validation_error", "message": "Task has already been dismissed"}}
    # The chat step of the documented workflow.
    chat = curl("-X", "POST", f"{base}/v1/lexi/chat", "-H", header, "-H", "Content-Type: application/json",
                "-d", '{"message": "Find 50 CEOs at law firms in California"}')["data"]
    assert chat["requires_approval"] is True and chat["task_id"]
    # Headers, as curl sees them.
    head = subprocess.run([CURL, "-sS", "-i", f"{base}/v1/lexi/tasks"], capture_output=True, text=True, timeout=20)
    assert head.stdout.startswith("HTTP/1.1 401")
    assert re.search(r"(?im)^x-request-id: req_[0-9a-f]+\r?$", head.stdout)

    process.send_signal(signal.SIGINT)
    assert process.wait(10) == 0
    assert "stopped" in process.stderr.read()


def test_sigterm_stops_cleanly_and_removes_the_temporary_db(cli_server) -> None:
    base, key, process = cli_server
    assert process.stdout is not None
    db_line = next(line for line in iter(process.stdout.readline, "") if "Database:" in line)
    path = db_line.split("Database:", 1)[1].split(" (temporary")[0].strip()
    assert os.path.exists(path)
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0
    deadline = time.monotonic() + 2
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(path)
