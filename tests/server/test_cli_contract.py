"""`lexi-tui serve` options added for issues 12 and 13: parsing, validation, --help, the banner."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from lexi_tui.server import ServerOptions
from lexi_tui.server.cli import add_arguments, banner, limits_line, options_from_args


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="serve")
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_new_options_reach_server_options() -> None:
    options = options_from_args(parse(
        "--plan", "org", "--daily-limit", "500", "--rate-limit", "0", "--rate-headers", "minute", "--retry-after",
        "--time-scale", "86400", "--credits", "12", "--max-body", "2048", "--chamelio-webhook-task-id", "string"), {})
    assert (options.plan, options.daily_limit, options.rate_limit, options.rate_headers) == ("org", 500, 0, "minute")
    assert (options.retry_after, options.time_scale, options.credits, options.max_body) == (True, 86_400.0, 12, 2048)
    assert options.chamelio_webhook_task_id == "string"
    assert (options.effective_daily_limit, options.effective_rate_limit) == (500, 0)


def test_defaults_keep_todays_behaviour() -> None:
    options = options_from_args(parse(), {})
    assert (options.plan, options.daily_limit, options.rate_limit) == (None, None, None)
    assert (options.effective_daily_limit, options.effective_rate_limit) == (0, 0)
    assert (options.rate_headers, options.retry_after, options.time_scale) == ("daily", False, 1.0)
    assert (options.credits, options.max_body, options.chamelio_webhook_task_id) == (1_000_000, 1024 * 1024, "int")
    assert options_from_args(parse("--rate-limit", "10", "--rate-window", "30"), {}).effective_rate_limit == 10


@pytest.mark.parametrize("argv", [
    ["--plan", "free"], ["--daily-limit", "-1"], ["--rate-headers", "hour"], ["--time-scale", "0"],
    ["--time-scale", "-2"], ["--time-scale", "nan"], ["--time-scale", "inf"], ["--credits", "-3"],
    ["--max-body", "big"], ["--chamelio-webhook-task-id", "uuid"],
])
def test_invalid_new_options_exit_2(argv, capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        parse(*argv)
    assert caught.value.code == 2 and "error" in capsys.readouterr().err


def test_help_is_grouped_and_documents_every_new_option() -> None:
    help_text = subprocess.run([sys.executable, "-m", "lexi_tui.server", "--help"], capture_output=True, text=True,
                               timeout=30).stdout
    for group in ("network:", "data:", "keys (Authorization: Bearer KEY):", "rate limits and daily quota",
                  "time:", "chat and requests:", "task execution:", "fault injection", "Chamelio face",
                  "environment:", "plans (--plan", "chat (POST /v1/lexi/chat)", "time (--time-scale K)"):
        assert group in help_text, group
    for option in ("--plan", "--daily-limit", "--rate-limit", "--rate-window", "--rate-headers", "--retry-after",
                   "--time-scale", "--credits", "--max-body", "--key-file", "--chamelio-key-file",
                   "--chamelio-webhook-task-id", "--admin"):
        assert option in help_text, option
    for fact in ("100 calls/day", "1,000 calls/day", "10,000 calls/day", "200/minute", "How many credits",
                 "Tag jane@acme.com as VIP", "insufficient_credits", "midnight UTC", "2 h"):
        assert fact in help_text, fact


def test_banner_describes_the_limits_in_force() -> None:
    assert "off" in limits_line(ServerOptions()) and "Starter 100/day + 10/min" in limits_line(ServerOptions())
    pro = limits_line(ServerOptions(plan="pro"))
    assert "Pro plan" in pro and "1000 calls/day" in pro and "50 per 60 s" in pro and "daily window" in pro
    assert "Retry-After off" in pro
    minute = limits_line(ServerOptions(plan="pro", rate_headers="minute", retry_after=True))
    assert "minute window" in minute and "Retry-After on" in minute
    assert "minute window" in limits_line(ServerOptions(rate_limit=5))  # one limit: the headers describe it
    text = banner(ServerOptions(plan="starter", time_scale=86_400, credits=5), "http://h:1/x", "http://h:1", "/t.db")
    assert "86400x faster (a day lasts 1 s)" in text and "Lexi credits per key: 5" in text
