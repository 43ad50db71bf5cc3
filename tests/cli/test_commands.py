"""The scriptable subcommands, through the real console script against the local service."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
import unicodedata
from pathlib import Path

from cli_support import (  # noqa: F401 - fixtures
    KEY,
    OTHER_KEY,
    PENDING,
    RULES_TOML,
    SCRIPT,
    TASKS,
    admin_stats,
    admin_task,
    history_file,
    home,
    read_history,
    run_cli,
    server,
    start,
    task_id,
    unused_port,
    writes_sent,
)

from lexi_tui.server.runner import RunningServer


def _cells(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def test_tasks_json_prints_the_raw_task_objects(server: RunningServer, home: Path) -> None:
    result = run_cli(home, "tasks", "--json", "--base-url", server.base_url)
    assert result.returncode == 0, result.stderr
    tasks = json.loads(result.stdout)
    assert [t["id"] for t in tasks] == list(reversed(PENDING))  # The API lists newest first.
    by_id = {t["id"]: t for t in tasks}
    assert by_id[task_id(1)]["metadata"] == TASKS[0]["metadata"]
    assert by_id[task_id(4)]["description"] == TASKS[3]["description"]  # Raw, exactly as served...
    assert "\x1b" not in result.stdout  # ...but escaped in the JSON text, never sent raw.

    dismissed = run_cli(home, "tasks", "--status", "dismissed", "--json", "--base-url", server.base_url)
    assert [t["id"] for t in json.loads(dismissed.stdout)] == [task_id(6)]


def test_tasks_table_fits_80_columns_and_is_cleaned(server: RunningServer, home: Path) -> None:
    result = run_cli(home, "tasks", "--base-url", server.base_url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "TYPE", "STATUS", "AGE", "DESCRIPTION"]
    assert all(_cells(line) <= 80 for line in lines), lines
    assert len(lines) == len(PENDING) + 2
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    contact = next(line for line in lines if "contact_update" in line)
    assert "␛" in contact  # The escape sequence is shown as a visible stand-in.
    # Shortened ids are the shortest prefix that tells them apart.
    assert lines[1].split()[0] == task_id(5)[:13]
    assert lines[-1].startswith(f"{len(PENDING)} pending tasks")

    empty = run_cli(home, "tasks", "--status", "completed", "--base-url", server.base_url)
    assert empty.returncode == 0 and empty.stdout.strip() == "No completed tasks."


def test_approve_several_with_one_already_dismissed_is_partial(server: RunningServer, home: Path) -> None:
    ids = [task_id(1), task_id(4), task_id(6)]
    result = run_cli(home, "approve", *ids, "--comment", "weekly triage", "--base-url", server.base_url)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"approved        {task_id(1)}")
    assert lines[2].startswith(f"already handled {task_id(6)}") and "already been dismissed" in lines[2]
    assert lines[-1].startswith("Approved 2 of 3 tasks. 1 was already handled")
    assert admin_task(server, task_id(1))["approve_count"] == 1
    assert admin_task(server, task_id(4))["approve_count"] == 1
    assert admin_task(server, task_id(6))["status"] == "dismissed"

    entries = read_history(home)
    assert [(e["task_id"], e["outcome"]) for e in entries] == [
        (task_id(1), "ok"), (task_id(4), "ok"), (task_id(6), "already_handled")]
    assert {e["source"] for e in entries} == {"cli"} and {e["comment"] for e in entries} == {"weekly triage"}
    assert entries[0]["request_id"].startswith("req_") and entries[0]["task_type"] == "prospect_search"


def test_dismiss_by_unique_prefix_sends_the_reason(server: RunningServer, home: Path) -> None:
    result = run_cli(home, "dismiss", task_id(5)[:13], "--reason", "incorrect_params", "--json",
                     "--base-url", server.base_url)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["succeeded"] == 1 and report["exit_code"] == 0
    assert report["results"][0]["id"] == task_id(5) and report["results"][0]["outcome"] == "ok"
    record = admin_task(server, task_id(5))
    assert (record["status"], record["reason"]) == ("dismissed", "incorrect_params")
    assert read_history(home)[-1]["reason"] == "incorrect_params"


def test_ids_from_stdin_and_an_ambiguous_prefix(server: RunningServer, home: Path) -> None:
    ambiguous = run_cli(home, "approve", "9d2f61b0", "--base-url", server.base_url)
    assert ambiguous.returncode == 2 and "matches 5 pending tasks" in ambiguous.stderr
    assert writes_sent(server) == 0
    piped = run_cli(home, "dismiss", "-", "--reason", "testing", "--base-url", server.base_url,
                    stdin=f"{task_id(3)}\n{task_id(4)}\n")
    assert piped.returncode == 0, piped.stderr
    assert [admin_task(server, task_id(n))["reason"] for n in (3, 4)] == ["testing", "testing"]


def test_chat_creates_a_task(server: RunningServer, home: Path) -> None:
    result = run_cli(home, "chat", "Find 30 CTOs at fintech companies in London", "--json",
                     "--base-url", server.base_url)
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["requires_approval"] is True and reply["conversation_id"]
    record = admin_task(server, reply["task_id"])
    assert (record["status"], record["type"]) == ("pending", "prospect_search")

    text = run_cli(home, "chat", "Start the Q3 Outreach campaign for 80 contacts",
                   "--conversation", reply["conversation_id"], "--base-url", server.base_url)
    assert text.returncode == 0, text.stderr
    assert "requires approval: lexi-tui approve" in text.stdout
    assert f"Conversation {reply['conversation_id']}" in text.stdout


def _rules_file(home: Path) -> Path:
    path = home / "rules.toml"
    path.write_text(RULES_TOML, encoding="utf-8")
    return path


def test_watch_dry_run_sends_nothing(server: RunningServer, home: Path) -> None:
    rules = _rules_file(home)
    result = run_cli(home, "watch", "--rules", str(rules), "--once", "--dry-run", "--base-url", server.base_url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(line.endswith("dry run, not sent") for line in lines)
    assert f"dismiss 'Search for 20 CEOs at law firms in Cali…' with reason 'duplicate' " \
           f"(rule 'duplicates': duplicate of older pending task {task_id(1)}) [task {task_id(3)}]" in lines[0]
    assert "(rule 'everything small': description ~ ., per_page 20 <= 50)" in lines[1]
    assert writes_sent(server) == 0
    assert {admin_task(server, tid)["status"] for tid in PENDING} == {"pending"}
    entries = read_history(home)
    assert [(e["task_id"], e["action"], e["outcome"], e["source"]) for e in entries] == [
        (task_id(3), "dismiss", "dry_run", "rule:duplicates"),
        (task_id(1), "approve", "dry_run", "rule:everything small")]


def test_watch_once_applies_rules_but_never_starts_a_campaign(server: RunningServer, home: Path) -> None:
    result = run_cli(home, "watch", "--rules", str(_rules_file(home)), "--once", "--base-url", server.base_url)
    assert result.returncode == 0, result.stderr
    assert [line.rsplit(": ", 1)[1] for line in result.stdout.splitlines()] == ["ok", "ok"]
    assert admin_task(server, task_id(1))["status"] in ("approved", "completed")
    duplicate = admin_task(server, task_id(3))
    assert (duplicate["status"], duplicate["reason"]) == ("dismissed", "duplicate")
    campaign = admin_task(server, task_id(2))
    assert (campaign["status"], campaign["approve_count"]) == ("pending", 0)
    assert writes_sent(server) == 2
    entries = read_history(home)
    assert [(e["task_id"], e["outcome"], e["source"]) for e in entries] == [
        (task_id(3), "ok", "rule:duplicates"), (task_id(1), "ok", "rule:everything small")]
    assert entries[0]["comment"].startswith("dismiss 'Search")  # The rule's explanation.


def test_watch_stops_cleanly_on_sigterm(server: RunningServer, home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "LEXI_"))}
    env.update(LEXI_API_KEY=KEY, XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
               PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    process = subprocess.Popen(
        [str(SCRIPT), "watch", "--rules", str(_rules_file(home)), "--interval", "60", "--base-url", server.base_url],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while writes_sent(server) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.stdout is not None and len(process.stdout.read().splitlines()) == 2


def test_watch_reads_rules_from_the_config_file(server: RunningServer, home: Path) -> None:
    # The app's own config loader must accept the [[rules]] tables next to its settings.
    config_file = home / "config.toml"
    config_file.write_text("refresh_interval = 30\n" + RULES_TOML, encoding="utf-8")
    result = run_cli(home, "watch", "--rules", "--once", "--dry-run", "--config", str(config_file),
                     "--base-url", server.base_url)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2


def test_history_holds_every_action_and_never_the_key(server: RunningServer, home: Path) -> None:
    run_cli(home, "approve", task_id(4), "--base-url", server.base_url)
    run_cli(home, "watch", "--rules", str(_rules_file(home)), "--once", "--base-url", server.base_url)
    file = history_file(home)
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    text = file.read_text(encoding="ascii")
    assert KEY not in text and KEY[-8:] not in text
    entries = read_history(home)
    assert [(e["task_id"], e["action"], e["source"]) for e in entries] == [
        (task_id(4), "approve", "cli"), (task_id(3), "dismiss", "rule:duplicates"), (task_id(1), "approve", "rule:everything small")]
    assert all(e["outcome"] == "ok" and e["time"].endswith("Z") for e in entries)


def test_exit_codes(server: RunningServer, home: Path) -> None:
    base = ("--base-url", server.base_url)
    # 0 is covered above; 1 by the partial approve. 2: usage errors, argparse's and ours.
    assert run_cli(home, "tasks", "--status", "nope", *base).returncode == 2
    bad_rules = home / "bad.toml"
    bad_rules.write_text('[[rules]]\nname = "x"\naction = "aprove"\ntype = "prospect_search"\n')
    broken = run_cli(home, "watch", "--rules", str(bad_rules), "--once", *base)
    assert broken.returncode == 2 and "rules[0] ('x'): action" in broken.stderr
    # 3: a refused key, and no key at all; both say how to log in.
    refused = run_cli(home, "tasks", *base, key=OTHER_KEY)
    assert refused.returncode == 3 and "lexi-tui login" in refused.stderr and OTHER_KEY not in refused.stderr
    missing = run_cli(home, "approve", task_id(1), *base, key=None)
    assert missing.returncode == 3 and "lexi-tui login --profile default" in missing.stderr
    assert writes_sent(server) == 0
    # 5: nothing to do, every task was already handled; 6: no id exists (issue 15: never
    # "already handled" for an id that does not exist).
    handled = run_cli(home, "dismiss", task_id(6), *base)
    assert handled.returncode == 5 and handled.stdout.startswith(f"already handled {task_id(6)}")
    missing_id = run_cli(home, "dismiss", "no-such-task", *base)
    assert missing_id.returncode == 6, missing_id.stdout + missing_id.stderr
    assert missing_id.stdout.startswith("not found       no-such-task") and "already handled" not in missing_id.stdout
    assert read_history(home)[-1]["outcome"] == "not_found"
    # 8: the server could not be reached.
    unreachable = f"http://127.0.0.1:{unused_port()}/functions/v1/api-gateway"
    for args in (("approve", task_id(1)), ("chat", "hello"), ("tasks",)):
        down = run_cli(home, *args, "--base-url", unreachable)
        assert down.returncode == 8, (args, down.stderr)
        assert "could not connect" in down.stderr


def test_help_documents_the_exit_codes(home: Path) -> None:
    result = run_cli(home, "approve", "--help")
    assert result.returncode == 0
    assert "  3  authentication" in result.stdout and "  4  failed: nothing was applied" in result.stdout
    assert "  6  not found" in result.stdout and "  5  already handled" in result.stdout


# -- each exit code, with --json parsed, and progress on stderr --------------------------


def test_json_report_of_a_partial_failure(server: RunningServer, home: Path) -> None:
    result = run_cli(home, "approve", task_id(1), task_id(6), "--json", "--base-url", server.base_url)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["exit_code"] == 1 and report["action"] == "approve"
    assert (report["succeeded"], report["already_handled"], report["failed"], report["not_sent"]) == (1, 1, 0, 0)
    assert [(r["id"], r["outcome"]) for r in report["results"]] == [
        (task_id(1), "ok"), (task_id(6), "already_handled")]
    assert report["results"][0]["request_id"].startswith("req_") and report["results"][0]["detail"] is None
    assert "already been dismissed" in report["results"][1]["detail"]
    assert report["summary"].startswith("Approved 1 of 2 tasks.")
    assert admin_task(server, task_id(1))["approve_count"] == 1
    assert admin_task(server, task_id(6))["status"] == "dismissed"


def test_json_success_and_auth_failure(home: Path) -> None:
    with start(keys=(KEY,), keys_without_lexi=(OTHER_KEY,)) as running:
        base = ("--base-url", running.base_url)
        ok = run_cli(home, "dismiss", task_id(3), task_id(5), "--reason", "duplicate", "--json", *base)
        assert ok.returncode == 0, ok.stderr
        report = json.loads(ok.stdout)
        assert (report["exit_code"], report["succeeded"]) == (0, 2)
        assert [admin_task(running, task_id(n))["reason"] for n in (3, 5)] == ["duplicate", "duplicate"]
        # A key without the lexi permission (403): exit 3, nothing sent, nothing half-printed on stdout.
        denied = run_cli(home, "approve", task_id(1), "--json", *base, key=OTHER_KEY)
        assert denied.returncode == 3, denied.stderr
        assert denied.stdout == "" and "lacks a permission" in denied.stderr
        assert "Missing lexi permission" in denied.stderr
        assert "lexi-tui login" in denied.stderr and OTHER_KEY not in denied.stderr + denied.stdout
        tasks = run_cli(home, "tasks", "--json", *base, key=OTHER_KEY)
        assert tasks.returncode == 3 and tasks.stdout == ""
        assert admin_task(running, task_id(1))["approve_count"] == 0


def test_usage_errors_send_nothing(server: RunningServer, home: Path) -> None:
    base = ("--base-url", server.base_url)
    empty = run_cli(home, "approve", "-", "--json", *base, stdin="\n")
    assert empty.returncode == 2 and "no task ids given" in empty.stderr and empty.stdout == ""
    assert run_cli(home, "approve", *base).returncode == 2  # No ids at all (argparse).
    assert run_cli(home, "watch", "--rules", "--interval", "0", *base).returncode == 2
    assert run_cli(home, "chat", " ", *base).returncode == 2
    no_rules = home / "empty.toml"
    no_rules.write_text('theme = "nord"\n', encoding="utf-8")
    nothing = run_cli(home, "watch", "--rules", str(no_rules), "--once", *base)
    assert nothing.returncode == 2 and "has no [[rules]] tables" in nothing.stderr
    missing = run_cli(home, "watch", "--rules", str(home / "typo.toml"), "--once", *base)
    assert missing.returncode == 2 and "typo.toml does not exist" in missing.stderr
    bad_config = home / "bad-config.toml"
    bad_config.write_text("refresh_interval = [\n", encoding="utf-8")
    assert run_cli(home, "tasks", "--config", str(bad_config), *base).returncode == 2
    assert writes_sent(server) == 0


def test_watch_once_exit_codes_partial_and_failed(home: Path) -> None:
    failing = {"id": task_id(7), "type": "prospect_search", "status": "pending", "created_at": "2026-11-20T15:00:00Z",
               "description": "Search the backend will refuse", "metadata": {"simulate": "approve_error", "per_page": 5}}
    rules = home / "rules.toml"
    rules.write_text(RULES_TOML, encoding="utf-8")
    with start(tasks=tuple(TASKS) + (failing,)) as running:
        partial = run_cli(home, "watch", "--rules", str(rules), "--once", "--base-url", running.base_url)
        assert partial.returncode == 1, partial.stderr
        outcomes = {line.split("[task ")[1].split("]")[0]: line.rsplit("]: ", 1)[1]
                    for line in partial.stdout.splitlines()}
        assert outcomes[task_id(1)] == "ok" and outcomes[task_id(3)] == "ok"
        assert outcomes[task_id(7)].startswith("failed: Execution backend unavailable")
        assert admin_task(running, task_id(7))["status"] == "pending"
        # Only the failing task is left for the rules: every action fails, exit 4.
        failed = run_cli(home, "watch", "--rules", str(rules), "--once", "--base-url", running.base_url)
        assert failed.returncode == 4, failed.stdout + failed.stderr
        assert [line.split("[task ")[1][:36] for line in failed.stdout.splitlines()] == [task_id(7)]
        assert admin_task(running, task_id(2))["approve_count"] == 0  # The campaign, never.


def test_a_long_run_paces_itself_and_shows_progress_on_stderr(home: Path) -> None:
    raw = [{"id": task_id(100 + n), "type": "prospect_search", "status": "pending",
            "description": f"Search {n}", "metadata": {"per_page": n}} for n in range(6)]
    ids = [t["id"] for t in raw]
    master, slave = os.openpty()  # stderr on a terminal, stdout piped: live progress, clean JSON.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "LEXI_"))}
    env.update(LEXI_API_KEY=KEY, XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
               PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    with start(tasks=tuple(raw), rate_limit=4, rate_window=2) as running:
        try:
            process = subprocess.Popen([str(SCRIPT), "approve", *ids, "--json", "--base-url", running.base_url],
                                       env=env, stdout=subprocess.PIPE, stderr=slave, text=True)
            os.close(slave)
            stdout, _ = process.communicate(timeout=30)
            err = b""
            while True:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed its end.
                    break
                if not chunk:
                    break
                err += chunk
        finally:
            os.close(master)
        stats = admin_stats(running)
        assert process.returncode == 0, err
        assert json.loads(stdout)["succeeded"] == 6
        text = err.decode("utf-8", "replace")
        assert "Waiting" in text and "for the rate limit to reset" in text
        assert "6/6 sent" in text and "\x1b" not in text
        # The list plus six approvals: a wait for the reset, never a 429.
        assert stats["rate_limited"] == 0 and stats["by_status"] == {"200": 7}
        assert all(admin_task(running, t)["approve_count"] == 1 for t in ids)
