"""Issue 12: options before a subcommand apply exactly as after it, for every command.

The matrix runs `lexi_tui.cli.parser.resolve` (what `main()` runs first) for every command,
every shared option and both positions, in-process; the end-to-end tests then run the real
console script against the local service to show that a resolved option is the one used.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from cli_support import (  # noqa: F401 - fixtures
    PENDING,
    SCRIPT,
    cli_env,
    home,
    lexi_reads,
    run_cli,
    server,
    write_config,
)

from lexi_tui.cli.main import main
from lexi_tui.cli.parser import APP_ONLY, SHARED, TAKES, UsageError, resolve
from lexi_tui.server.runner import RunningServer

ARGS = {
    None: [],
    "tasks": [],
    "approve": ["task-1"],
    "dismiss": ["task-1"],
    "reject": ["task-1"],
    "cancel": ["42"],
    "chat": ["hello"],
    "watch": ["--rules"],
    "login": [],
    "logout": [],
    "webhook-listen": ["--secret-env", "SOME_SECRET"],
    "serve": [],
    "completion": ["bash"],
}
"""Every command with the arguments it needs (None: the app)."""
WORK_URL = "http://127.0.0.1:9/work"
OTHER_URL = "http://127.0.0.1:9/other"
CONFIG = f"""
[profiles.work]
base_url = "{WORK_URL}"
[profiles.legal]
provider = "chamelio"
base_url = "http://127.0.0.1:9/chamelio"
"""
VALUES = {"profile": ["--profile", "work"], "base_url": ["--base-url", OTHER_URL], "debug": ["--debug"]}


def takes(command: str | None) -> tuple[str, ...]:
    return TAKES.get(command, SHARED) if command is not None else SHARED


def argv(command: str | None, option: list[str], before: bool) -> list[str]:
    if command is None:
        return option
    rest = [command, *ARGS[command]]
    return [*option, *rest] if before else [*rest, *option]


def check(invocation, name: str, config_file: Path) -> None:
    if name == "profile":
        assert invocation.profile.name == "work" and invocation.profile.base_url == WORK_URL
    elif name == "base_url":
        assert invocation.profile.base_url == OTHER_URL
    elif name == "config":
        assert invocation.config.path == config_file
    else:
        assert invocation.debug is True


CASES = [(command, name, before) for command in ARGS for name in takes(command)
         for before in ((True,) if command is None else (True, False))]


@pytest.mark.parametrize(("command", "name", "before"), CASES,
                         ids=[f"{c or 'app'}-{n}-{'before' if b else 'after'}" for c, n, b in CASES])
def test_every_option_applies_before_and_after_every_command(command, name, before, tmp_path: Path) -> None:
    config_file = tmp_path / "elsewhere.toml"
    config_file.write_text(CONFIG, encoding="utf-8")
    write_config(Path(os.environ["HOME"]), CONFIG)  # The default location, for --profile alone.
    option = ["--config", str(config_file)] if name == "config" else VALUES[name]
    invocation = resolve(argv(command, option, before), environ={})
    assert invocation.command == command
    if command == "webhook-listen":  # Its own parser: the values land in its namespace.
        value = {"profile": "work", "config": str(config_file)}[name]
        assert getattr(invocation.args, name) == value
        return
    check(invocation, name, config_file)


def test_without_options_the_default_profile_and_production_apply() -> None:
    invocation = resolve(["tasks"], environ={})
    assert invocation.profile.name == "default" and invocation.profile.base_url.startswith("https://data.leadlex")
    assert invocation.debug is False
    assert resolve(["tasks"], environ={"LEXI_TUI_DEBUG": "1"}).debug is True
    assert resolve(["tasks"], environ={"LEXI_TUI_DEBUG": "0"}).debug is False


def test_given_before_and_after_the_later_wins() -> None:
    invocation = resolve(["--base-url", "http://127.0.0.1:1/a", "tasks", "--base-url", "http://127.0.0.1:1/b"])
    assert invocation.profile.base_url == "http://127.0.0.1:1/b"


REFUSED = [(command, name, before) for command in ARGS for name in SHARED if name not in takes(command)
           for before in (True, False)]


@pytest.mark.parametrize(("command", "name", "before"), REFUSED,
                         ids=[f"{c}-{n}-{'before' if b else 'after'}" for c, n, b in REFUSED])
def test_an_option_a_command_does_not_take_is_refused_in_both_places(command, name, before, capsys) -> None:
    option = ["--config", "x.toml"] if name == "config" else VALUES[name]
    with pytest.raises((UsageError, SystemExit)) as raised:
        resolve(argv(command, option, before), environ={})
    if isinstance(raised.value, SystemExit):
        assert raised.value.code == 2
    # main() turns either into exit 2.
    try:
        assert main(argv(command, option, before)) == 2
    except SystemExit as exit_:
        assert exit_.code == 2


@pytest.mark.parametrize("option", [["--demo"], ["--theme", "nord"], ["--refresh", "5"]])
def test_app_options_are_refused_with_a_subcommand(option, capsys) -> None:
    assert set(APP_ONLY) >= {"demo", "theme", "refresh"}
    assert main([*option, "tasks"]) == 2
    assert "for the app, not for `lexi-tui tasks`" in capsys.readouterr().err


@pytest.mark.parametrize("command", [c for c in ARGS if "profile" in takes(c)])
def test_an_unknown_profile_is_a_usage_error_naming_the_profiles(command, capsys) -> None:
    write_config(Path(os.environ["HOME"]), CONFIG)
    assert main(argv(command, ["--profile", "wrok"], True)) == 2
    err = capsys.readouterr().err
    assert "no profile named 'wrok'" in err and "default, legal, work" in err


# -- end to end: the resolved option is the one the command uses --------------------------


def test_base_url_before_tasks_goes_to_that_server(server: RunningServer, home: Path) -> None:
    result = run_cli(home, "--base-url", server.base_url, "tasks", "--json")
    assert result.returncode == 0, result.stderr
    assert lexi_reads(server) == 1


def test_profile_and_config_before_the_command(server: RunningServer, home: Path) -> None:
    config = home / "team.toml"
    config.write_text(f'[profiles.staging]\nbase_url = "{server.base_url}"\n', encoding="utf-8")
    result = run_cli(home, "--config", str(config), "--profile", "staging", "tasks", "--json")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == len(PENDING)
    after = run_cli(home, "tasks", "--json", "--profile", "staging", "--config", str(config))
    assert after.returncode == 0 and after.stdout == result.stdout
    # Without the options the default profile (production) would be used: never silently.
    unknown = run_cli(home, "--config", str(config), "--profile", "prod", "tasks")
    assert unknown.returncode == 2 and "known profiles: default, staging" in unknown.stderr


def test_the_app_takes_base_url_and_profile_before_anything(server: RunningServer, home: Path) -> None:
    """The app itself, headless (Textual's own driver hook), quits once the list is painted."""
    env = cli_env(home, TEXTUAL_DRIVER="textual.drivers.headless_driver:HeadlessDriver", LINES="30")
    write_config(home, f'[profiles.work]\nbase_url = "{server.base_url}"\n')
    for args in (["--base-url", server.base_url], ["--profile", "work"]):
        before = lexi_reads(server)
        done = subprocess.run([str(SCRIPT), *args, "--exit-after-load"], env=env, capture_output=True, text=True,
                              timeout=60, cwd=str(home))
        assert done.returncode == 0, done.stderr[-2000:]
        assert lexi_reads(server) > before, args
