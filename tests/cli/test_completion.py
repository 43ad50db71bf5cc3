"""Issue 14: `lexi-tui completion bash|zsh|fish`, from the parsers, with profile names read from
the config file when Tab is pressed. Bash is driven for real (`compgen` through the generated
completion function); zsh and fish are checked for real where installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cli_support import home, run_cli, write_config  # noqa: F401 - fixtures

from lexi_tui.cli.completion import parsers
from lexi_tui.cli.parser import full_parser

SUBCOMMANDS = ("serve", "webhook-listen", "login", "logout", "tasks", "approve", "dismiss", "reject", "cancel",
               "chat", "watch", "completion")
CONFIG = """
default_profile = "work"
[profiles.work]
base_url = "https://example.com/functions/v1/api-gateway"
[ profiles."eu.legal" ]
provider = "chamelio"
[profiles.'old-lexi']
"""
PROFILES = ["default", "eu.legal", "old-lexi", "work"]


def script(home: Path, shell: str) -> Path:
    result = run_cli(home, "completion", shell)
    assert result.returncode == 0, result.stderr
    path = home / f"lexi-tui.{shell}"
    path.write_text(result.stdout, encoding="utf-8")
    return path


def bash_complete(home: Path, words: list[str], **env: str) -> list[str]:
    """What bash offers after `words` (the last one being completed), through the script."""
    path = script(home, "bash")
    line = " ".join(words)
    program = (f'source "{path}" && COMP_WORDS=({" ".join(repr(w) for w in words)}) && '
               f'COMP_CWORD={len(words) - 1} && COMP_LINE={line!r} && COMP_POINT=${{#COMP_LINE}} && '
               '_shtab_lexi_tui && printf "%s\\n" "${COMPREPLY[@]}"')
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=20,
                          env={"HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"), "PATH": "/usr/bin:/bin",
                               **env})
    assert done.returncode == 0, done.stderr
    return sorted(filter(None, done.stdout.splitlines()))


def test_the_parsers_have_every_subcommand() -> None:
    names = [p.prog.split()[-1] for p in parsers(full_parser())[1:]]
    assert sorted(names) == sorted(SUBCOMMANDS)


def test_bash_loads_and_completes_subcommands_options_and_profiles(home: Path) -> None:
    write_config(home, CONFIG)
    assert bash_complete(home, ["lexi-tui", ""]) == sorted(SUBCOMMANDS)
    assert bash_complete(home, ["lexi-tui", "re"]) == ["reject"]
    assert "--comment" in bash_complete(home, ["lexi-tui", "approve", "--"])
    assert "--plan" in bash_complete(home, ["lexi-tui", "serve", "--pl"])
    assert "--secret-env" in bash_complete(home, ["lexi-tui", "webhook-listen", "--se"])
    for words in (["lexi-tui", "--profile", ""], ["lexi-tui", "tasks", "--profile", ""],
                  ["lexi-tui", "login", "--profile", ""], ["lexi-tui", "webhook-listen", "--profile", ""]):
        assert bash_complete(home, words) == PROFILES, words
    assert bash_complete(home, ["lexi-tui", "--profile", "e"]) == ["eu.legal"]


def test_a_new_profile_completes_without_a_new_script(home: Path) -> None:
    write_config(home, CONFIG)
    assert "staging" not in bash_complete(home, ["lexi-tui", "--profile", ""])
    write_config(home, CONFIG + "\n[profiles.staging]\n")
    assert "staging" in bash_complete(home, ["lexi-tui", "--profile", ""])


def test_the_config_on_the_line_is_the_one_read(home: Path) -> None:
    other = home / "team.toml"
    other.write_text("[profiles.team-a]\n[profiles.team-b]\n", encoding="utf-8")
    words = ["lexi-tui", "--config", str(other), "approve", "--profile", ""]
    assert bash_complete(home, words) == ["default", "team-a", "team-b"]
    assert bash_complete(home, ["lexi-tui", "--profile", ""]) == ["default"]  # No config file: default only.


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_name_every_subcommand(shell: str, home: Path) -> None:
    text = script(home, shell).read_text(encoding="utf-8")
    assert all(name in text for name in SUBCOMMANDS)
    assert "_lexi_tui_profiles" in text and "profiles" in text


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_parses_the_script_and_lists_profiles(home: Path) -> None:
    write_config(home, CONFIG)
    path = script(home, "zsh")
    assert subprocess.run(["zsh", "-n", str(path)], capture_output=True, timeout=20).returncode == 0
    program = (f'autoload -U compinit; compinit -u -D; source "{path}" 2>/dev/null; '
               'compadd() { shift $(( $# - 1 )); print -l -- ${(P)1}; }; '
               'words=(lexi-tui tasks --profile ""); _lexi_tui_profiles')
    done = subprocess.run(["zsh", "-f", "-c", program], capture_output=True, text=True, timeout=20,
                          env={"HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"), "PATH": "/usr/bin:/bin"})
    assert sorted(done.stdout.split()) == PROFILES, done.stderr


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_subcommands_and_profiles(home: Path) -> None:
    write_config(home, CONFIG)
    path = script(home, "fish")

    def fish(line: str) -> list[str]:
        done = subprocess.run(["fish", "--no-config", "-c", f"source {path}; complete -C '{line}'"],
                              capture_output=True, text=True, timeout=20,
                              env={"HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"),
                                   "PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, done.stderr
        return sorted(row.split("\t")[0] for row in done.stdout.splitlines())

    assert fish("lexi-tui ") == sorted(SUBCOMMANDS)
    assert fish("lexi-tui tasks --profile ") == PROFILES
    assert "--plan" in fish("lexi-tui serve --pl")
