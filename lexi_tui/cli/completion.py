"""`lexi-tui completion bash|zsh|fish`: a completion script generated from the argparse parsers.

The script is written by shtab (pinned; its 1.13 generates bash, zsh and fish from the same
parsers), from `parser.full_parser()`, which has every subcommand, `serve` and
`webhook-listen` included with their own options. Completing then runs only shell code: no
Python start-up on a Tab.

Profile names (`--profile`, wherever it appears) are read by a small shell function from the
config file when the Tab is pressed: the `--config FILE` on the line being completed, else the
platform's default file. It collects the `[profiles.NAME]` headers (bare, "double" or 'single'
quoted), plus `default`, which every config has. So a profile added to the file completes at
once, without regenerating the script. Assumption: profile tables are written as headers, the
way the documented example config writes them (not as inline tables).
"""

from __future__ import annotations

import argparse
from typing import Any

SHELLS = ("bash", "zsh", "fish")
FUNCTION = "_lexi_tui_profiles"

# A header `[profiles.NAME]`, NAME bare or quoted, as sed -n expressions printing NAME.
_SED = (
    r"""-e 's/^[[:space:]]*\[[[:space:]]*profiles\.\([A-Za-z0-9_-][A-Za-z0-9_-]*\)[[:space:]]*\].*/\1/p'"""
    r""" -e 's/^[[:space:]]*\[[[:space:]]*profiles\."\([A-Za-z0-9][A-Za-z0-9_.-]*\)"[[:space:]]*\].*/\1/p'"""
    r""" -e "s/^[[:space:]]*\[[[:space:]]*profiles\.'\([A-Za-z0-9][A-Za-z0-9_.-]*\)'[[:space:]]*\].*/\1/p" """.rstrip()
)

_DEFAULT_CONFIG_SH = (
    'if [[ "$OSTYPE" == darwin* ]]; then config="$HOME/Library/Application Support/lexi-tui/config.toml"; '
    'else config="${XDG_CONFIG_HOME:-$HOME/.config}/lexi-tui/config.toml"; fi'
)

BASH_PREAMBLE = f"""\
# Profile names from the config file, read at completion time ($1: the word being completed).
{FUNCTION}() {{
  local config="" i
  for ((i = 1; i < ${{#COMP_WORDS[@]}}; i++)); do
    case "${{COMP_WORDS[i]}}" in
      --config) config="${{COMP_WORDS[i+1]}}" ;;
      --config=*) config="${{COMP_WORDS[i]#--config=}}" ;;
    esac
  done
  if [[ -z "$config" ]]; then {_DEFAULT_CONFIG_SH}; fi
  config="${{config/#\\~/$HOME}}"
  compgen -W "default $(sed -n {_SED} "$config" 2>/dev/null)" -- "$1"
}}
"""

ZSH_PREAMBLE = f"""\
# Profile names from the config file, read at completion time.
{FUNCTION}() {{
  local config="" i
  for ((i = 1; i <= ${{#words}}; i++)); do
    case "${{words[i]}}" in
      --config) config="${{words[i+1]}}" ;;
      --config=*) config="${{words[i]#--config=}}" ;;
    esac
  done
  if [[ -z "$config" ]]; then {_DEFAULT_CONFIG_SH}; fi
  config="${{config/#\\~/$HOME}}"
  local -a names
  names=(default ${{(f)"$(sed -n {_SED} "$config" 2>/dev/null)"}})
  compadd -a names
}}
"""

FISH_PREAMBLE = f"""\
# Profile names from the config file, read at completion time.
function {FUNCTION}
  set -l config ""
  set -l words (commandline -opc)
  for i in (seq (count $words))
    switch $words[$i]
      case --config
        set -l next (math $i + 1)
        if test $next -le (count $words)
          set config $words[$next]
        end
      case '--config=*'
        set config (string replace -- --config= '' $words[$i])
      end
  end
  if test -z "$config"
    if test (uname) = Darwin
      set config "$HOME/Library/Application Support/lexi-tui/config.toml"
    else if set -q XDG_CONFIG_HOME; and test -n "$XDG_CONFIG_HOME"
      set config "$XDG_CONFIG_HOME/lexi-tui/config.toml"
    else
      set config "$HOME/.config/lexi-tui/config.toml"
    end
  end
  set config (string replace -r '^~' $HOME -- $config)
  echo default
  sed -n {_SED} "$config" 2>/dev/null
end
"""

PROFILE_COMPLETE: dict[str, Any] = {
    "bash": FUNCTION,
    "zsh": FUNCTION,
    "fish": f"({FUNCTION})",
    "preamble": {"bash": BASH_PREAMBLE, "zsh": ZSH_PREAMBLE, "fish": FISH_PREAMBLE},
}
"""shtab's `.complete` for every --profile: the function, and its definition per shell."""


def parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """`parser` and every subcommand parser under it."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found.extend(parsers(sub))
    return found


def completing_parser() -> argparse.ArgumentParser:
    """The full parser, with the profile function on --profile and files on --config/--rules."""
    import shtab

    from lexi_tui.cli.parser import full_parser

    parser = full_parser()
    for each in parsers(parser):
        for action in each._actions:
            if "--profile" in action.option_strings:
                action.complete = PROFILE_COMPLETE  # type: ignore[attr-defined]
            elif {"--config", "--rules", "--tasks", "--db", "--key-file", "--chamelio-key-file"} & set(
                    action.option_strings):
                action.complete = shtab.FILE  # type: ignore[attr-defined]
    return parser


def script(shell: str) -> str:
    """The completion script for `shell` ("bash", "zsh" or "fish")."""
    import shtab

    if shell not in SHELLS:
        raise ValueError(f"no completion for {shell!r}: choose from {', '.join(SHELLS)}")
    text: str = shtab.complete(completing_parser(), shell=shell)
    return text if text.endswith("\n") else text + "\n"
