"""`lexi-tui`: the app, plus its subcommands (`lexi_tui.cli.parser` resolves which).

Heavy imports (Textual, the server stack, keyring, httpx) happen inside the branch that needs
them, so `lexi-tui --help` and `lexi-tui serve` do not pay for the others. Every exit status
comes from the one table, `lexi_tui.cli.exit_codes`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from lexi_tui.cli.exit_codes import Exit
from lexi_tui.cli.parser import UsageError, build_parser, resolve

__all__ = ["build_parser", "entry", "main", "run_app"]

_SERVICE_CODES = {1: Exit.UNAVAILABLE}
"""The service's run returns its own 1 for "cannot listen on the port" (an independent peer, it
keeps its own codes for `python -m lexi_tui.server`): mapped here to the table's UNAVAILABLE."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run `lexi-tui` with `argv` (default: sys.argv[1:]); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        invocation = resolve(argv)
    except UsageError as error:
        print(f"lexi-tui: {error}", file=sys.stderr)
        return Exit.USAGE
    command = invocation.command
    if command == "serve":
        from lexi_tui.server.cli import run

        code = run(invocation.args)
        return _SERVICE_CODES.get(code, code)
    if command == "webhook-listen":
        from lexi_tui.cli import webhook_listen

        return webhook_listen.run(invocation.args)
    if command == "completion":
        from lexi_tui.cli.completion import script

        sys.stdout.write(script(invocation.args.shell))
        return Exit.OK
    if command == "login":
        from lexi_tui.cli.account import login_command

        return login_command(invocation.profile)
    if command == "logout":
        from lexi_tui.cli.account import logout_command

        return logout_command(invocation.profile)
    request_log = open_request_log() if invocation.debug else None
    try:
        if command is not None:
            from lexi_tui.cli.commands import run_command

            return run_command(invocation, request_log)
        return run_app(invocation.args, invocation.config, invocation.profile, request_log=request_log)
    finally:
        if request_log is not None:
            if request_log.error:
                print(f"lexi-tui: the request log stopped: {request_log.error}", file=sys.stderr)
            request_log.close()


def open_request_log() -> Any:
    """The request log (`core.debuglog.RequestLog`), its path said on stderr; None (and why)
    when it cannot be opened: the command runs without it."""
    from lexi_tui.core.debuglog import open_log

    try:
        log = open_log()
    except OSError as error:
        print(f"lexi-tui: debug: the request log cannot be opened ({error.strerror or error}); running without it.",
              file=sys.stderr)
        return None
    print(f"lexi-tui: debug: logging each request to {log.path} (no key, no bodies)", file=sys.stderr, flush=True)
    return log


def run_app(args: argparse.Namespace, config: Any, profile: Any, *, request_log: Any = None) -> int:
    """Run the app (or the demo); returns 0, or CRASHED when it stopped on an unexpected error.

    Before Textual is imported, the profile's kept queue goes on the terminal
    (`ui.first_frame`); the app takes the terminal over from it."""
    from lexi_tui.core.rules import RulesError, load_rules

    first = start_first_fetch(args, config, profile) if not args.demo else None  # As early as it can be.
    try:
        rules = load_rules(config.path) if config.path else []
    except RulesError as error:
        if first is not None:
            first.close()
        print(f"lexi-tui: {error}", file=sys.stderr)
        return Exit.USAGE
    frame = None
    if not args.demo:
        from lexi_tui.ui import first_frame

        frame = first_frame.paint(profile.name, profile.provider, profile.base_url,
                                  keep_last_list=config.keep_last_list)
    try:
        return _run(args, config, profile, rules, frame, first, request_log)
    except BaseException:
        if frame is not None:
            frame.undo()  # Ctrl+C or an error before Textual took the terminal.
        raise
    finally:
        if first is not None:
            first.close()


def start_first_fetch(args: argparse.Namespace, config: Any, profile: Any) -> Any:
    """Fork the child that finds the key and the queue's first list while Textual loads
    (`providers.first_fetch`); None where it does not apply: a provider whose queue is a watch
    list, or a system that cannot fork (the app then finds both itself)."""
    import os

    from lexi_tui.core.config import calls_today_path
    from lexi_tui.providers import info

    try:
        provider = info(profile.provider)
    except ValueError:
        return None
    if provider.capabilities.add_by_reference or not hasattr(os, "fork") or os.environ.get("LEXI_TUI_NO_FORK"):
        return None
    from lexi_tui.providers.first_fetch import FirstFetch, StartRequest

    interval = config.refresh_interval if args.refresh is None else max(0.0, args.refresh)
    return FirstFetch.start(StartRequest(
        profile=profile.name, provider=profile.provider, base_url=profile.base_url, env_var=provider.env_var,
        view=provider.capabilities.views[0], plan=profile.plan, refresh_interval=interval,
        ca_bundle=profile.ca_bundle, count_path=str(calls_today_path(profile.name)),
    ))


def _run(args: argparse.Namespace, config: Any, profile: Any, rules: list[Any], frame: Any, first: Any,
         request_log: Any) -> int:
    from lexi_tui.ui.app import AppSettings, LexiApp

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
        request_log=request_log,
        plan=profile.plan,
        notify=config.notify,
        list_cache=config.keep_last_list,
        first_list=frame.start if frame is not None else None,
        first_fetch=first,
    )
    if args.demo:
        from lexi_tui.cli.demo import run_demo

        code = run_demo(settings, refresh=args.refresh)
    else:
        app = LexiApp(settings)
        if frame is not None:
            frame.hand_over()
        app.run()
        # Textual sets return_code 1 after an unhandled exception (LexiApp._fatal_error has
        # then printed the message and written the report); a normal quit leaves 0 or None.
        code = Exit.CRASHED if app.return_code else Exit.OK
    if code == Exit.CRASHED and request_log is not None:
        print(f"lexi-tui: the request log of this session is {request_log.path}; attach it with the crash report.",
              file=sys.stderr)
    return code


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
