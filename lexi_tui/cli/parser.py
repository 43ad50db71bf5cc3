"""`lexi-tui`'s argument parser, and how one invocation is resolved to a command and a profile.

Options before a subcommand apply exactly as after it (issue 12): `lexi-tui --base-url URL
tasks` and `lexi-tui tasks --base-url URL` mean the same. argparse copies a subparser's
defaults over the namespace the top-level parser filled, so the subcommands declare the
shared options with `default=SUPPRESS`: a subcommand sets only what was given after it, and
what was given before it survives. Given in both places, the later one wins.

An option that does not apply to a command (`--theme` with `tasks`, `--base-url` with
`webhook-listen`, anything before `serve`) is a usage error, as it would be after it. An
unknown profile is a usage error naming the profiles there are, for the app and every command.

`serve` and `webhook-listen` have parsers of their own (the service's, the listener's), built
only when they run, so the app's start-up never imports the server stack.

Stdlib only at module level: this runs on every start, the app's included.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from typing import Any

from lexi_tui import __version__
from lexi_tui.cli import exit_codes
from lexi_tui.cli.options import SHARED, CommandParser, add_shared_options

APP_ONLY = ("demo", "refresh", "theme", "exit_after_load")
"""Options of the app alone; with a subcommand they are a usage error."""
OWN_PARSERS = ("serve", "webhook-listen")
"""Subcommands whose options another module defines (parsed by `resolve`, not here)."""
ACCOUNT = ("login", "logout")
TAKES = {
    "login": ("profile", "base_url", "config"),
    "logout": ("profile", "config"),
    "webhook-listen": ("profile", "config"),
    "serve": (),
    "completion": (),
}
"""The shared options each non-API command accepts; API commands take all of `SHARED`."""
_FLAG = {"profile": "--profile", "base_url": "--base-url", "config": "--config", "debug": "--debug",
         "demo": "--demo", "refresh": "--refresh", "theme": "--theme", "exit_after_load": "--exit-after-load"}


class UsageError(Exception):
    """The command line cannot be run as written; the message says why (exit 2)."""


def build_parser() -> argparse.ArgumentParser:
    """The whole `lexi-tui` parser (serve and webhook-listen as placeholders, see `full_parser`)."""
    parser = argparse.ArgumentParser(
        prog="lexi-tui",
        description="Triage the tasks that LeadLex's Lexi and Chamelio queue for approval, from the keyboard "
        "(the app), or from scripts (the commands below).",
        epilog=exit_codes.epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"lexi-tui {__version__}")
    add_shared_options(parser, top=True)
    parser.add_argument(
        "--demo", action="store_true",
        help="run against a local service started in this process, with seeded Lexi tasks and Chamelio "
        "workflows, one profile each (P switches; no account, no network, never touches the keyring or "
        "your data folder)",
    )
    parser.add_argument("--refresh", type=float, metavar="SECONDS", help="live refresh interval (0 = off)")
    parser.add_argument("--theme", help="Textual theme, e.g. textual-dark, textual-light, nord")
    parser.add_argument("--exit-after-load", action="store_true", help=argparse.SUPPRESS)  # benchmarks/
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)

    # Placeholders for --help and completion: `resolve` hands their arguments to their own parsers.
    sub.add_parser("serve", add_help=False, help="run the local Lexi/Chamelio-compatible service "
                   "(lexi-tui serve --help)")
    sub.add_parser("webhook-listen", add_help=False,
                   help="receive signed Chamelio webhooks and watch the tasks they announce "
                   "(lexi-tui webhook-listen --help)")
    # No --key option: a key on the command line is visible to every user in `ps`.
    account = dict(epilog=exit_codes.epilog(exit_codes.ACCOUNT), formatter_class=argparse.RawDescriptionHelpFormatter)
    login = sub.add_parser("login", help="check an API key and store it in the system keyring (reads it masked, "
                           "or from stdin)", **account)
    add_shared_options(login, TAKES["login"])
    logout = sub.add_parser("logout", help="remove the profile's key from the system keyring", **account)
    add_shared_options(logout, TAKES["logout"])
    from lexi_tui.cli.commands import add_commands

    add_commands(sub)
    completion = sub.add_parser("completion", help="print a shell completion script (bash, zsh or fish)",
                                description="Print a completion script for SHELL. Install it with, e.g.: "
                                "lexi-tui completion bash > ~/.local/share/bash-completion/completions/lexi-tui "
                                "(zsh: a file named _lexi-tui in a folder of $fpath; fish: "
                                "~/.config/fish/completions/lexi-tui.fish). Profile names are read from the "
                                "config file each time you complete, so a new profile needs no new script.")
    completion.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell to complete for")
    return parser


def full_parser() -> argparse.ArgumentParser:
    """`build_parser()` with the real `serve` and `webhook-listen` parsers (for completion)."""
    parser = build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    serve, listen = subs.choices["serve"], subs.choices["webhook-listen"]
    serve.add_argument("-h", "--help", action="help", help="show this help message and exit")
    listen.add_argument("-h", "--help", action="help", help="show this help message and exit")
    from lexi_tui.cli import webhook_listen
    from lexi_tui.server.cli import add_arguments

    add_arguments(serve)
    webhook_listen.add_arguments(listen)
    return parser


def serve_parser() -> argparse.ArgumentParser:
    from lexi_tui.server.cli import add_arguments

    parser = argparse.ArgumentParser(prog="lexi-tui serve", description="Run the local Lexi-compatible service.")
    add_arguments(parser)
    # `lexi-tui serve` answers in the CLI's table (main maps the service's own 1 to UNAVAILABLE).
    parser.epilog = f"{parser.epilog or ''}\n\n{exit_codes.epilog(exit_codes.SERVE)}".lstrip()
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def listen_parser() -> argparse.ArgumentParser:
    from lexi_tui.cli import webhook_listen

    parser = argparse.ArgumentParser(
        prog="lexi-tui webhook-listen",
        description="Receive Chamelio's signed webhooks; tasks at an approval step join the profile's watch list.",
        epilog=exit_codes.epilog(exit_codes.LISTEN), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    webhook_listen.add_arguments(parser)
    return parser


@dataclasses.dataclass
class Invocation:
    """One resolved command line: what to run, with which config and profile.

    `config` and `profile` are None only for `serve` and `completion`, which use neither
    (a broken config file must not stop the local service).
    """

    command: str | None
    """The subcommand, or None for the app."""
    args: argparse.Namespace
    config: Any = None
    """`lexi_tui.core.config.Config`."""
    profile: Any = None
    """`lexi_tui.core.config.Profile`, with --base-url applied."""
    debug: bool = False
    """--debug or LEXI_TUI_DEBUG asked for the request log."""


def resolve(argv: Sequence[str], environ: dict[str, str] | None = None) -> Invocation:
    """Parse `argv` and resolve its config and profile; UsageError for anything that cannot run.

    argparse's own errors (an unknown option, a missing id) exit 2 through SystemExit, as
    argparse does; `--help` and `--version` exit 0 the same way.
    """
    from lexi_tui.core import debuglog

    parser = build_parser()
    args, extras = parser.parse_known_args(list(argv))
    command: str | None = args.command
    if command not in OWN_PARSERS and extras:
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    if command is not None:
        _refuse(args, APP_ONLY, command)
    if command == "serve":
        _refuse(args, SHARED, command)
        return Invocation(command, serve_parser().parse_args(extras))
    if command == "webhook-listen":
        _refuse(args, ("base_url", "debug"), command)
        own = listen_parser().parse_args(extras)
        for name in ("profile", "config"):  # Given after the name wins; else what came before.
            if getattr(own, name, None) is None:
                setattr(own, name, getattr(args, name))
        args = own
    elif command in TAKES:
        _refuse(args, [name for name in SHARED if name not in TAKES[command]], command)
    if command == "completion":
        return Invocation(command, args)
    config, profile = load_profile(args)
    debug = bool(getattr(args, "debug", False)) or debuglog.enabled_by_env(environ)
    return Invocation(command, args, config, profile, debug and command not in (*ACCOUNT, "webhook-listen"))


def _refuse(args: argparse.Namespace, names: Sequence[str], command: str) -> None:
    """UsageError when any of the options `names` was given: they do not apply to `command`."""
    given = [_FLAG[name] for name in names if getattr(args, name, None) not in (None, False)]
    if not given:
        return
    verb = "is" if len(given) == 1 else "are"
    if set(names) <= set(APP_ONLY):
        raise UsageError(f"{', '.join(given)} {verb} for the app, not for `lexi-tui {command}`.")
    raise UsageError(f"{', '.join(given)} {verb} not an option of `lexi-tui {command}`.")


def load_profile(args: argparse.Namespace) -> tuple[Any, Any]:
    """(Config, Profile) for --config, --profile and --base-url; UsageError for a bad config
    file or an unknown profile (the message names the profiles there are)."""
    from pathlib import Path

    from lexi_tui.core.config import ConfigError, load_config

    try:
        config = load_config(Path(args.config).expanduser() if getattr(args, "config", None) else None)
        profile = config.profile(getattr(args, "profile", None))
    except ConfigError as error:
        raise UsageError(str(error)) from None
    base_url = getattr(args, "base_url", None)
    if base_url:
        from urllib.parse import urlsplit

        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"--base-url must be an http:// or https:// URL, not {base_url!r}.")
        profile = dataclasses.replace(profile, base_url=base_url.rstrip("/"))
    return config, profile
