"""`lexi-tui webhook-listen`: receive Chamelio's signed webhooks; tasks at an approval step join the
profile's watch list. The receiver itself (signatures, replays, the ASGI app) is `lexi_tui.core.webhooks`."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

from lexi_tui.core.webhooks import DEFAULT_PORT, ReplayGuard, bind_socket, build_receiver, uvicorn_server

EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `lexi-tui webhook-listen`."""
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to bind (default: %(default)s; use 0.0.0.0 behind a tunnel or proxy)")
    parser.add_argument("--secret-env", required=True, metavar="VAR",
                        help="environment variable holding the webhook signing secret (never given on the "
                        "command line, where `ps` would show it)")
    parser.add_argument("--profile", help="whose watch list gets the tasks (default: the config's default_profile)")
    parser.add_argument("--config", help="config file (default: the platform's config directory)")
    parser.add_argument("--replay-window", type=float, default=300.0, metavar="SECONDS",
                        help="refuse deliveries older than this and repeated event ids within it "
                        "(default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; returns the exit code."""
    from pathlib import Path

    from lexi_tui.core import watchlist
    from lexi_tui.core.config import ConfigError, load_config

    def fail(message: str, code: int = EXIT_USAGE) -> int:
        print(f"lexi-tui webhook-listen: {message}", file=sys.stderr)
        return code

    secret = os.environ.get(args.secret_env, "")
    if not secret:
        return fail(f"the environment variable {args.secret_env} is not set or empty: it must hold the secret")
    if not 0 <= args.port <= 65535:
        return fail(f"--port must be between 0 and 65535, got {args.port}")
    if not (args.replay_window > 0 and math.isfinite(args.replay_window)):
        return fail("--replay-window must be > 0")
    try:
        config = load_config(Path(args.config) if args.config else None)
    except ConfigError as error:
        return fail(str(error))
    profile = args.profile or config.default_profile
    if profile not in config.profiles:
        print(f"lexi-tui webhook-listen: note: {profile!r} is not a profile in the config; its watch list is "
              "kept anyway", file=sys.stderr)
    try:
        where = watchlist.path_for(profile)
    except ValueError as error:
        return fail(str(error))
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as error:
        return fail(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}", EXIT_UNAVAILABLE)

    def log(line: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)

    app = build_receiver(secret.encode("utf-8"), profile=profile, guard=ReplayGuard(args.replay_window), log=log)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"Listening for Chamelio webhooks on http://{host}:{sock.getsockname()[1]}/\n"
          f"  Tasks at an approval step go to the watch list of profile {profile!r} ({where}).\n"
          "Press Ctrl-C to stop.", flush=True)
    server = uvicorn_server(app)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    print("Webhook listener stopped.", file=sys.stderr, flush=True)
    return EXIT_OK
