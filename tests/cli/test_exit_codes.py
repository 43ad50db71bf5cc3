"""Issue 14: one exit-code table for every command, the help generated from it, and a crash of
the app exits non-zero."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import KEY, home, run_cli, start, write_config  # noqa: F401 - fixtures

from lexi_tui.cli import exit_codes
from lexi_tui.cli.exit_codes import MEANINGS, Exit
from lexi_tui.cli.main import main


def test_each_meaning_has_one_number() -> None:
    assert set(MEANINGS) == set(Exit)
    assert len({int(code) for code in Exit}) == len(Exit)
    assert (Exit.OK, Exit.USAGE, Exit.INTERRUPTED) == (0, 2, 130)
    assert Exit.NOT_FOUND != Exit.ALREADY_HANDLED
    groups = (exit_codes.BULK, exit_codes.READ, exit_codes.CHAT, exit_codes.WATCH, exit_codes.ACCOUNT,
              exit_codes.LISTEN, exit_codes.APP)
    assert all(set(group) <= set(Exit) for group in groups)


@pytest.mark.parametrize(("args", "codes"), [
    ([], tuple(Exit)),
    (["tasks"], exit_codes.READ),
    (["approve"], exit_codes.BULK),
    (["dismiss"], exit_codes.BULK),
    (["reject"], exit_codes.BULK),
    (["cancel"], exit_codes.BULK),
    (["chat"], exit_codes.CHAT),
    (["watch"], exit_codes.WATCH),
    (["login"], exit_codes.ACCOUNT),
    (["logout"], exit_codes.ACCOUNT),
    (["webhook-listen"], exit_codes.LISTEN),
    (["serve"], exit_codes.SERVE),
])
def test_every_help_lists_its_codes_from_the_table(args: list[str], codes, home: Path) -> None:
    result = run_cli(home, *args, "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    for code in codes:
        first_words = " ".join(MEANINGS[code].split()[:4])
        assert f"{int(code)} {first_words}" in text, (args, code)


def test_the_readme_table_is_generated() -> None:
    table = exit_codes.markdown_table()
    assert table.splitlines()[0] == "| Exit code | Meaning |"
    assert all(f"| `{int(code)}` |" in table for code in Exit)


def test_login_codes_come_from_the_table(home: Path) -> None:
    """No keyring (the null backend): the table's KEYRING, not a private 3."""
    result = run_cli(home, "login", "--base-url", "http://127.0.0.1:9/x", stdin="wbk_abcdefabcdefabcdef\n")
    assert result.returncode == Exit.KEYRING, result.stderr
    assert "Cannot log in" in result.stderr


def test_a_crash_of_the_app_exits_12_and_names_the_request_log(monkeypatch, capsys) -> None:
    from lexi_tui.core.crash import crash_dir
    from lexi_tui.ui.main.screen import MainScreen

    def broken_store(self, status, tasks, **options) -> None:
        raise RuntimeError("boom in the list")

    monkeypatch.setattr(MainScreen, "store", broken_store)
    monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.headless_driver:HeadlessDriver")
    monkeypatch.setenv("LEXI_API_KEY", KEY)
    with start() as server:
        code = main(["--base-url", server.base_url, "--exit-after-load", "--debug"])
    assert code == Exit.CRASHED
    err = capsys.readouterr().err
    assert "logging each request to" in err and "the request log of this session is" in err
    log = err.split("the request log of this session is ")[1].split(";")[0]
    assert Path(log).is_file() and " GET /v1/lexi/tasks" in Path(log).read_text()
    assert " status=200 " in Path(log).read_text()
    assert len(list(crash_dir().glob("crash-*.txt"))) == 1


def test_a_normal_quit_of_the_app_exits_0(monkeypatch) -> None:
    monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.headless_driver:HeadlessDriver")
    monkeypatch.setenv("LEXI_API_KEY", KEY)
    with start() as server:
        assert main(["--base-url", server.base_url, "--exit-after-load"]) == Exit.OK


def test_serve_and_webhook_listen_that_cannot_listen_exit_unavailable(home: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        write_config(home, '[profiles.legal]\nprovider = "chamelio"\n')
        listen = run_cli(home, "webhook-listen", "--profile", "legal", "--secret-env", "HOOK_SECRET",
                         "--port", str(port), HOOK_SECRET="whsec_x", CHAMELIO_API_KEY="ca_listen_000000000000")
        serve = run_cli(home, "serve", "--port", str(port))
    assert listen.returncode == Exit.UNAVAILABLE, listen.stderr
    assert "cannot listen" in listen.stderr
    assert serve.returncode == Exit.UNAVAILABLE, serve.stderr


def test_help_and_start_up_do_not_load_httpx_or_asyncio_through_the_commands(home: Path) -> None:
    import subprocess
    import sys

    # `approve --help` reads the providers' vocabulary (which loads httpx): the parser alone must not.
    program = ("import sys\nfrom lexi_tui.cli.parser import build_parser\nbuild_parser().parse_known_args(['tasks'])\n"
               "print(sorted(m for m in ('httpx', 'asyncio', 'textual') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
    top = subprocess.run([sys.executable, "-c", "import sys\nfrom lexi_tui.cli.main import main\ntry:\n"
                          "    main(['--help'])\nexcept SystemExit:\n    pass\n"
                          "print(sorted(m for m in ('httpx', 'asyncio', 'textual') if m in sys.modules))"],
                         capture_output=True, text=True, timeout=30)
    assert top.stdout.strip().splitlines()[-1] == "[]", top.stdout + top.stderr


def test_approve_help_says_plainly_that_lexi_does_not_get_the_comment(home: Path) -> None:
    text = " ".join(run_cli(home, "approve", "--help").stdout.split())
    assert "Lexi: NOT sent (Lexi's approve takes no body); kept only as a note in the local history" in text
    assert "Chamelio: sent with the approval" in text
