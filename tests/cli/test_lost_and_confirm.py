"""Issue 13: an answer lost on the way back is settled by reading the task before anything is
said; and `approve` of a confirm_types task asks first (or needs --yes without a terminal)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from cli_support import (  # noqa: F401 - fixtures
    SCRIPT,
    LosingProxy,
    admin_task,
    cli_env,
    home,
    read_history,
    run_cli,
    server,
    task_id,
    writes_sent,
)

from lexi_tui.cli.exit_codes import Exit
from lexi_tui.server.runner import RunningServer


def on_write(when: str, verb: str = ""):
    """Lose the answer of every write (or of those whose path ends with `verb`)."""
    return lambda method, path: when if method == "POST" and path.endswith(verb) else None


def test_an_applied_action_whose_answer_was_lost_is_reported_applied(server: RunningServer, home: Path) -> None:
    with LosingProxy(server, on_write("after", "/approve")) as proxy:
        result = run_cli(home, "approve", task_id(1), "--json", "--base-url", proxy.base_url)
    assert result.returncode == Exit.OK, result.stdout + result.stderr
    row = json.loads(result.stdout)["results"][0]
    assert (row["outcome"], row["label"], row["settled"]) == ("ok", "approved", True)
    assert "the answer was lost" in row["detail"]
    assert admin_task(server, task_id(1))["approve_count"] == 1  # Read back, never sent again.
    assert proxy.lost == [("POST", f"/functions/v1/api-gateway/v1/lexi/tasks/{task_id(1)}/approve", "after")]
    assert read_history(home)[-1]["outcome"] == "ok"


def test_an_action_lost_before_it_arrived_is_reported_not_applied(server: RunningServer, home: Path) -> None:
    with LosingProxy(server, on_write("before", "/dismiss")) as proxy:
        result = run_cli(home, "dismiss", task_id(3), "--reason", "duplicate", "--base-url", proxy.base_url)
    assert result.returncode == Exit.FAILED, result.stdout + result.stderr
    line = result.stdout.splitlines()[0]
    assert line.startswith(f"not applied     {task_id(3)}") and "reading it back" in line
    assert "failed" not in line.split(task_id(3))[0]
    assert admin_task(server, task_id(3))["status"] == "pending"
    entry = read_history(home)[-1]
    assert entry["task_id"] == task_id(3) and entry["outcome"] != "ok"


def test_a_lost_chamelio_cancel_is_read_back(home: Path) -> None:
    """The same through the Chamelio provider (one GET reads the task back)."""
    import httpx

    from lexi_tui.server.options import ServerOptions
    from lexi_tui.server.runner import start_server

    ckey = "ca_clitest_00000000000000c4a2"
    with start_server(ServerOptions(chamelio_keys=(ckey,), admin=True, exec_delay=0.0)) as running:
        task = httpx.post(f"{running.root_url}/_admin/chamelio/tasks", json={}, timeout=5).json()["data"]["task_id"]
        with LosingProxy(running, on_write("after", "/cancel")) as proxy:
            (home / "config" / "lexi-tui").mkdir(parents=True, exist_ok=True)
            (home / "config" / "lexi-tui" / "config.toml").write_text(
                f'[profiles.legal]\nprovider = "chamelio"\nbase_url = "{proxy.root_url}/chamelio"\n')
            result = run_cli(home, "cancel", str(task), "--profile", "legal", key=None, CHAMELIO_API_KEY=ckey)
        record = httpx.get(f"{running.root_url}/_admin/chamelio/tasks/{task}", timeout=5).json()["data"]
    assert result.returncode == Exit.OK, result.stdout + result.stderr
    assert result.stdout.startswith(f"cancelled       {task}")
    assert (record["outcome"], record["cancel_calls"]) == ("cancelled", 1)


# -- confirm_types ----------------------------------------------------------------------------

CAMPAIGN = task_id(2)  # campaign_start, 150 contacts in its metadata


def test_without_a_terminal_a_campaign_needs_yes(server: RunningServer, home: Path) -> None:
    result = run_cli(home, "approve", task_id(1), CAMPAIGN, "--base-url", server.base_url)
    assert result.returncode == Exit.PARTIAL, result.stdout + result.stderr
    held = next(line for line in result.stdout.splitlines() if CAMPAIGN in line)
    assert held.startswith("not sent") and "confirm_types" in held and "--yes" in held
    assert admin_task(server, CAMPAIGN)["approve_count"] == 0
    assert admin_task(server, task_id(1))["approve_count"] == 1
    alone = run_cli(home, "approve", CAMPAIGN, "--base-url", server.base_url)
    assert alone.returncode == Exit.FAILED and writes_sent(server) == 1  # Nothing applied, nothing sent.
    forced = run_cli(home, "approve", CAMPAIGN, "--yes", "--base-url", server.base_url)
    assert forced.returncode == Exit.OK, forced.stdout + forced.stderr
    assert admin_task(server, CAMPAIGN)["approve_count"] == 1


def test_confirm_types_come_from_the_config(server: RunningServer, home: Path) -> None:
    (home / "config" / "lexi-tui").mkdir(parents=True, exist_ok=True)
    (home / "config" / "lexi-tui" / "config.toml").write_text('confirm_types = ["prospect_search"]\n')
    result = run_cli(home, "approve", task_id(1), CAMPAIGN, "--base-url", server.base_url)
    assert result.returncode == Exit.PARTIAL
    assert admin_task(server, CAMPAIGN)["approve_count"] == 1 and admin_task(server, task_id(1))["approve_count"] == 0


def _on_a_terminal(home: Path, server: RunningServer, answer: bytes) -> tuple[int, str]:
    """Run `approve CAMPAIGN` with stdin and stdout on a pty; type `answer` at the prompt."""
    master, slave = os.openpty()
    process = subprocess.Popen([str(SCRIPT), "approve", CAMPAIGN, "--base-url", server.base_url],
                               env=cli_env(home), stdin=slave, stdout=slave, stderr=slave, cwd=str(home))
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 20
    try:
        while b"[y/N]" not in seen and time.monotonic() < deadline:
            seen += os.read(master, 4096)
        os.write(master, answer)
        while process.poll() is None or True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed its end.
                break
            if not chunk:
                break
            seen += chunk
        process.wait(timeout=20)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    return process.returncode, seen.decode("utf-8", "replace")


def test_on_a_terminal_the_person_is_asked_with_the_count_that_decides(server: RunningServer, home: Path) -> None:
    code, screen = _on_a_terminal(home, server, b"n\n")
    assert "Start campaign 'Q2 Outreach' for 150 contacts? [y/N]" in screen
    assert "contact_count = 150" in screen
    assert code == Exit.FAILED and "declined at the prompt" in screen
    assert admin_task(server, CAMPAIGN)["approve_count"] == 0
    code, screen = _on_a_terminal(home, server, b"y\n")
    assert code == Exit.OK, screen
    assert admin_task(server, CAMPAIGN)["approve_count"] == 1
