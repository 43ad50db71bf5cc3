"""`lexi-tui`: the app, plus `serve`, `login` and `logout`.

Heavy imports (Textual, the server stack, keyring) happen inside the branch that needs
them, so `lexi-tui --help` and `lexi-tui serve` do not pay for the others.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lexi_tui import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lexi-tui",
        description="Triage the tasks LeadLex's Lexi assistant queues for approval, from the keyboard.",
    )
    parser.add_argument("--version", action="version", version=f"lexi-tui {__version__}")
    _add_profile_options(parser)
    parser.add_argument(
        "--demo",
        action="store_true",
        help="run against a local service started in this process, with seeded Lexi tasks and "
        "Chamelio workflows, one profile each (P switches; no account, no network, never touches "
        "the keyring or your data folder)",
    )
    parser.add_argument("--refresh", type=float, metavar="SECONDS", help="live refresh interval (0 = off)")
    parser.add_argument("--theme", help="Textual theme, e.g. textual-dark, textual-light, nord")
    parser.add_argument("--exit-after-load", action="store_true", help=argparse.SUPPRESS)  # benchmarks/
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    # Listed for --help only: main() hands `serve` to the server's own parser, so the
    # app's start-up never imports the server stack.
    sub.add_parser("serve", help="run the local Lexi-compatible service (lexi-tui serve --help)", add_help=False)
    sub.add_parser("webhook-listen", add_help=False,
                   help="receive signed Chamelio webhooks and watch the tasks they announce "
                   "(lexi-tui webhook-listen --help)")
    # No --key option: a key on the command line is visible to every user in `ps`.
    login = sub.add_parser(
        "login", help="check an API key and store it in the system keyring (reads it masked, or from stdin)"
    )
    _add_profile_options(login)
    logout = sub.add_parser("logout", help="remove the profile's key from the system keyring")
    _add_profile_options(logout)
    from lexi_tui.cli.commands import add_commands

    add_commands(sub)
    return parser


def _add_profile_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", help="profile from the config file (default: the config's default_profile)")
    parser.add_argument("--base-url", help="API base URL (overrides the profile's)")
    parser.add_argument("--config", help="config file (default: the platform's config directory)")


def _load_profile(args: argparse.Namespace):  # -> tuple[Config, Profile]
    from pathlib import Path

    from lexi_tui.core.config import Profile, load_config

    config = load_config(Path(args.config) if getattr(args, "config", None) else None)
    profile = config.profile(getattr(args, "profile", None))
    if getattr(args, "base_url", None):
        profile = Profile(
            name=profile.name, base_url=args.base_url, provider=profile.provider, ca_bundle=profile.ca_bundle
        )
    return config, profile


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        from lexi_tui.server.cli import add_arguments, run

        serve = argparse.ArgumentParser(prog="lexi-tui serve", description="Run the local Lexi-compatible service.")
        add_arguments(serve)
        return run(serve.parse_args(argv[1:]))
    if argv[:1] == ["webhook-listen"]:
        from lexi_tui.cli import webhook_listen

        listen = argparse.ArgumentParser(
            prog="lexi-tui webhook-listen",
            description="Receive Chamelio's signed webhooks; tasks at an approval step join the profile's watch list.",
        )
        webhook_listen.add_arguments(listen)
        return webhook_listen.run(listen.parse_args(argv[1:]))
    args = build_parser().parse_args(argv)

    from lexi_tui.core.config import ConfigError

    try:
        config, profile = _load_profile(args)
    except ConfigError as error:
        print(f"lexi-tui: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "login":
        from lexi_tui.cli.account import login_command

        return login_command(profile)
    if args.command == "logout":
        from lexi_tui.cli.account import logout_command

        return logout_command(profile)
    from lexi_tui.cli.commands import COMMANDS, run_command

    if args.command in COMMANDS:
        return run_command(args, profile)
    return run_app(args, config, profile)


def run_app(args: argparse.Namespace, config, profile) -> int:
    from lexi_tui.core.rules import RulesError, load_rules
    from lexi_tui.ui.app import AppSettings, LexiApp

    try:
        rules = load_rules(config.path) if config.path else []
    except RulesError as error:
        print(f"lexi-tui: {error}", file=sys.stderr)
        return EXIT_USAGE

    settings = AppSettings(
        profile=profile.name,
        provider=profile.provider,
        profiles=tuple(config.profiles.values()),
        base_url=profile.base_url,
        refresh_interval=config.refresh_interval if args.refresh is None else max(0.0, args.refresh),
        undo_window=config.undo_window,
        confirm_types=tuple(config.confirm_types),
        keymap=dict(config.keymap),
        theme=args.theme or config.theme,
        exit_after_load=args.exit_after_load,
        rules=rules,
        ca_bundle=profile.ca_bundle,
    )
    if not args.demo:
        LexiApp(settings).run()
        return EXIT_OK
    from lexi_tui.cli.demo import run_demo

    return run_demo(settings, refresh=args.refresh)


def entry() -> None:
    """The `lexi-tui` console script: `main()`, then a quick exit.

    Tearing down the interpreter (freeing Textual's and Rich's objects one by one) takes
    ~300 ms here, every time the user quits. Nothing of ours needs it: files are closed after
    each write, and the atexit handlers (logging among them) still run. So once `main()` has
    returned, flush, run them, and leave. An exception still unwinds the normal way.
    """
    code = main()
    import atexit
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
