"""Issue 12 and 13: chat as documented: credits, work done at once, a lost answer never resent."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from cli_support import KEY, admin_stats, home, run_cli, start  # noqa: F401 - fixtures

from lexi_tui.cli.exit_codes import Exit


def chats(server) -> int:
    return admin_stats(server)["by_endpoint"].get("POST /v1/lexi/chat", 0)


def test_no_credits_left_says_so_and_has_its_own_code(home: Path) -> None:
    with start(credits=0) as server:
        result = run_cli(home, "chat", "Find 30 CTOs in London", "--base-url", server.base_url)
        assert result.returncode == Exit.NO_CREDITS == 10, result.stderr
        assert "No Lexi credits remaining" in result.stderr and "Retrying cannot help" in result.stderr
        assert result.stdout == ""
        assert chats(server) == 1  # Asked once; never retried.


def test_work_done_at_once_is_not_a_task_to_approve(home: Path) -> None:
    with start(credits=50) as server:
        done = run_cli(home, "chat", "Tag jane@acme.com as VIP", "--base-url", server.base_url)
        assert done.returncode == 0, done.stderr
        assert "Done: Lexi did this at once" in done.stdout and "requires approval" not in done.stdout
        balance = run_cli(home, "chat", "How many credits do I have?", "--json", "--base-url", server.base_url)
        reply = json.loads(balance.stdout)
        assert (reply["task_id"], reply["requires_approval"], reply["done"]) == (None, False, True)
        queued = run_cli(home, "chat", "Find 30 CTOs at fintech companies in London", "--base-url", server.base_url)
        assert queued.returncode == 0, queued.stderr
        assert "requires approval: lexi-tui approve" in queued.stdout and "Done:" not in queued.stdout


def test_a_lost_answer_is_never_resent_and_says_how_to_check(home: Path) -> None:
    with start() as server:
        httpx.post(f"{server.root_url}/_admin/faults", json={"drop_rate": 1.0}, timeout=5).raise_for_status()
        result = run_cli(home, "chat", "Start the Q3 campaign for 80 contacts", "--base-url", server.base_url)
        httpx.post(f"{server.root_url}/_admin/faults", json={"drop_rate": 0.0}, timeout=5).raise_for_status()
        assert result.returncode == Exit.UNKNOWN == 7, result.stderr
        assert "the answer was lost" in result.stderr and "may have been received" in result.stderr
        assert "a task" in result.stderr and "lexi-tui tasks" in result.stderr and "not sent again" in result.stderr
        stats = admin_stats(server)
        assert chats(server) == 1 and stats["faults"]["dropped"] == 1  # Sent once, never again.


def test_chat_is_lexis_and_the_message_may_come_from_stdin(home: Path) -> None:
    with start(credits=50) as server:
        piped = run_cli(home, "chat", "-", "--json", "--base-url", server.base_url, stdin="How many credits do I have?")
        assert piped.returncode == 0 and json.loads(piped.stdout)["done"] is True
