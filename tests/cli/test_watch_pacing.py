"""`lexi-tui watch` paces its polls with the refresh planner, as the app does (issue 12).

The real console script against the local service: on a Starter key whose headers describe the
day, `--interval 1` does not mean a poll a second; the planner spreads the day's calls until the
reset and says so on stderr, once. Without a limit, the interval is the pace.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
from cli_support import SCRIPT, cli_env, home, start  # noqa: F401 - fixtures

LIST = "GET /v1/lexi/tasks"
RULES = '[[rules]]\nname = "nothing"\naction = "approve"\ntype = "no_such_type"\n'


def list_calls(server) -> int:
    return int(httpx.get(f"{server.root_url}/_admin/stats", timeout=5).json()["data"]["by_endpoint"].get(LIST, 0))


def watch_for(seconds: float, home: Path, server, rules: Path) -> str:
    """Run `watch --rules --interval 1` for `seconds`, stop it with SIGTERM; returns stderr."""
    process = subprocess.Popen([str(SCRIPT), "watch", "--rules", str(rules), "--interval", "1",
                                "--base-url", server.base_url], env=cli_env(home), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(seconds)
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    return err


def test_watch_on_a_starter_day_spreads_its_polls_and_says_so(home: Path) -> None:
    rules = home / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    with start(plan="starter", rate_headers="daily") as server:
        err = watch_for(4.0, home, server, rules)
        assert list_calls(server) == 1  # Not four: one poll, then the planner's pace.
    said = [line for line in err.splitlines() if line.startswith("Next poll ")]
    assert len(said) == 1, err
    assert re.fullmatch(r"Next poll (tomorrow )?\d\d:\d\d \(in .+\): spreading today's calls until the daily reset\.",
                        said[0]), said


def test_watch_without_a_limit_polls_at_the_interval(home: Path) -> None:
    rules = home / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    with start() as server:
        err = watch_for(3.5, home, server, rules)
        assert 3 <= list_calls(server) <= 5
    assert "Next poll" not in err
