"""Issue 14: the commands over the provider layer, with a Chamelio profile (its watch list, its
views, comments sent with decisions, reject, cancel) and what a provider cannot do (exit 2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cli_support import KEY, home, run_cli, write_config, writes_sent  # noqa: F401 - fixtures

from lexi_tui.server.options import ServerOptions
from lexi_tui.server.runner import RunningServer, start_server

CKEY = "ca_clitest_00000000000000c4a1"
PROFILE = "legal"


@pytest.fixture
def chamelio() -> Iterator[RunningServer]:
    options = ServerOptions(keys=(KEY,), chamelio_keys=(CKEY,), admin=True, exec_delay=0.0, failure_rate=0.0)
    with start_server(options) as running:
        yield running


def new_task(server: RunningServer, **body: object) -> int:
    response = httpx.post(f"{server.root_url}/_admin/chamelio/tasks", json=body, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()["data"]["task_id"]


def record(server: RunningServer, task_id: int) -> dict:
    return httpx.get(f"{server.root_url}/_admin/chamelio/tasks/{task_id}", timeout=5).json()["data"]


def chamelio_writes(server: RunningServer) -> int:
    endpoints = httpx.get(f"{server.root_url}/_admin/stats", timeout=5).json()["data"]["by_endpoint"]
    return sum(n for label, n in endpoints.items() if label.startswith("POST /chamelio/tasks"))


def setup(home: Path, server: RunningServer, *watched: int) -> None:
    """A config with a Chamelio profile whose watch list holds `watched`."""
    write_config(home, f'default_profile = "{PROFILE}"\n[profiles.{PROFILE}]\nprovider = "chamelio"\n'
                       f'base_url = "{server.root_url}/chamelio"\n[profiles.lexi]\nbase_url = "{server.base_url}"\n')
    folder = home / "data" / "lexi-tui" / "watch"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{PROFILE}.json").write_text(json.dumps({"version": 1, "tasks": list(watched)}), encoding="utf-8")


def cli(home: Path, *args: str, **kwargs):
    """A command with the Chamelio key in its own variable (and no Lexi key at all)."""
    return run_cli(home, *args, key=None, CHAMELIO_API_KEY=CKEY, **kwargs)


def test_tasks_lists_the_watch_list_by_view(chamelio: RunningServer, home: Path) -> None:
    waiting, earlier = new_task(chamelio), new_task(chamelio, step="intake")
    setup(home, chamelio, waiting, earlier)
    pending = cli(home, "tasks", "--json")
    assert pending.returncode == 0, pending.stderr
    assert [t["id"] for t in json.loads(pending.stdout)] == [str(waiting)]
    in_progress = cli(home, "tasks", "--status", "in_progress")
    assert in_progress.returncode == 0, in_progress.stderr
    assert str(earlier) in in_progress.stdout and "1 in_progress task" in in_progress.stdout
    wrong = cli(home, "tasks", "--status", "dismissed")  # A Lexi status, not a Chamelio view.
    assert wrong.returncode == 2
    assert "not a view of Chamelio" in wrong.stderr and "pending, in_progress, completed, failed, cancelled" in \
        wrong.stderr


def test_the_profiles_own_key_variable_is_read(chamelio: RunningServer, home: Path) -> None:
    setup(home, chamelio)
    lexi_key_only = run_cli(home, "tasks")  # LEXI_API_KEY set, CHAMELIO_API_KEY not.
    assert lexi_key_only.returncode == 3
    assert "CHAMELIO_API_KEY" in lexi_key_only.stderr and "lexi-tui login --profile legal" in lexi_key_only.stderr
    empty = cli(home, "tasks")
    assert empty.returncode == 0 and "No pending tasks." in empty.stdout
    assert "watch list" in empty.stderr


def test_an_empty_status_help_lists_each_providers_views(home: Path) -> None:
    result = run_cli(home, "tasks", "--help")
    text = " ".join(result.stdout.split())
    assert "Lexi: pending, approved, completed, dismissed, failed" in text
    assert "Chamelio: pending, in_progress, completed, failed, cancelled" in text


def test_approve_sends_the_comment_with_the_decision(chamelio: RunningServer, home: Path) -> None:
    task = new_task(chamelio)
    setup(home, chamelio, task)
    result = cli(home, "approve", str(task), "--comment", "Terms look fine")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"approved        {task}")
    kept = record(chamelio, task)
    assert (kept["outcome"], kept["comment"], kept["approve_calls"]) == ("approved", "Terms look fine", 1)


@pytest.mark.parametrize("command", ["reject", "dismiss"])
def test_reject_sends_reason_and_comment(command: str, chamelio: RunningServer, home: Path) -> None:
    task = new_task(chamelio)
    setup(home, chamelio, task)
    result = cli(home, command, f"#{task}", "--reason", "Missing documents", "--comment", "no signature")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"rejected        {task}")
    assert "Rejected 1 of 1 task." in result.stdout
    kept = record(chamelio, task)
    assert (kept["outcome"], kept["comment"]) == ("rejected", "Missing documents: no signature")


def test_a_task_url_names_the_task(chamelio: RunningServer, home: Path) -> None:
    task = new_task(chamelio)
    setup(home, chamelio)  # Not watched: an id or URL is enough.
    url = f"https://app.chamelio.ai/workflows/1/tasks/{task}"
    result = cli(home, "cancel", url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert record(chamelio, task)["outcome"] == "cancelled"


def test_ids_that_do_not_exist_are_not_found_and_nothing_is_sent(chamelio: RunningServer, home: Path) -> None:
    setup(home, chamelio)
    result = cli(home, "reject", "98765", "--json")
    assert result.returncode == 6, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["results"][0]["outcome"] == "not_found" and report["exit_code"] == 6
    assert chamelio_writes(chamelio) == 0
    bad = cli(home, "approve", "abc")
    assert bad.returncode == 2 and "is not a Chamelio task" in bad.stderr


def test_a_decided_task_is_already_handled(chamelio: RunningServer, home: Path) -> None:
    task = new_task(chamelio)
    setup(home, chamelio, task)
    assert cli(home, "approve", str(task)).returncode == 0
    again = cli(home, "approve", str(task))
    assert again.returncode == 5, again.stdout + again.stderr
    assert again.stdout.startswith(f"already handled {task}")


def test_what_a_provider_cannot_do_exits_2(chamelio: RunningServer, home: Path) -> None:
    setup(home, chamelio)
    chat = cli(home, "chat", "hello")
    assert chat.returncode == 2 and "Chamelio has no chat" in chat.stderr
    lexi_cancel = run_cli(home, "cancel", "task-1", "--profile", "lexi")
    assert lexi_cancel.returncode == 2 and "Lexi tasks cannot be cancelled" in lexi_cancel.stderr
    assert "lexi-tui dismiss" in lexi_cancel.stderr
    assert chamelio_writes(chamelio) == 0 and writes_sent(chamelio) == 0
    keyless = run_cli(home, "chat", "hello", key=None)  # No key needed to be told so.
    assert keyless.returncode == 2 and "Chamelio has no chat" in keyless.stderr
