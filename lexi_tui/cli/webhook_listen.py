"""`lexi-tui webhook-listen`: receive Chamelio's signed webhooks; tasks that wait at an approval step
join the profile's watch list. The receiver itself (signatures, de-duplication, the event log, the
task check) is `lexi_tui.core.webhooks`.

The webhooks carry no step type, so the listener reads each announced task with the profile's
Chamelio key (CHAMELIO_API_KEY, else the profile's keyring entry from `lexi-tui login`) and its
base URL and CA bundle from the config. It holds the profile's "webhook-listen" instance lock:
a second listener on the same profile is refused (its event log must have one writer).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

from lexi_tui.cli.exit_codes import Exit
from lexi_tui.core.webhooks import DEFAULT_PORT, DEFAULT_REPLAY_WINDOW, RETRY_HORIZON

EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE = Exit.OK, Exit.UNAVAILABLE, Exit.USAGE
KEY_ENV = "CHAMELIO_API_KEY"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `lexi-tui webhook-listen`."""
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to bind (default: %(default)s; use 0.0.0.0 behind a tunnel or proxy)")
    parser.add_argument("--secret-env", required=True, metavar="VAR",
                        help="environment variable holding the webhook signing secret (never given on the "
                        "command line, where `ps` would show it)")
    parser.add_argument("--profile", help="the Chamelio profile whose watch list gets the tasks and whose key reads "
                        "them (default: the config's default_profile); the key is $CHAMELIO_API_KEY, else the "
                        "profile's keyring entry")
    parser.add_argument("--config", help="config file (default: the platform's config directory)")
    parser.add_argument("--replay-window", type=float, default=DEFAULT_REPLAY_WINDOW, metavar="SECONDS",
                        help="refuse events that happened longer ago than this (default: %(default)g = 4 hours). "
                        "Chamelio retries a delivery that got no 2xx within 10 s after 1 min, 5 min, 30 min and "
                        f"2 h, so a legitimate retry can come about {RETRY_HORIZON / 3600:.1f} hours after the "
                        "event: keep this above that. A repeated event_id is always answered 200 and changes "
                        "nothing (ids are remembered across restarts, in the data folder)")


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; returns the exit code."""
    from pathlib import Path

    from lexi_tui.core import watchlist
    from lexi_tui.core.config import PROVIDER_BASE_URLS, ConfigError, load_config
    from lexi_tui.core.instance_lock import InstanceLock, LockUnavailable, ProfileInUse
    from lexi_tui.core.keystore import lookup_key
    from lexi_tui.core.webhooks import ChamelioTaskReader, bind_socket, build_receiver, uvicorn_server

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
    if args.replay_window < RETRY_HORIZON:
        print(f"lexi-tui webhook-listen: warning: --replay-window {args.replay_window:g} s is shorter than "
              f"Chamelio's retries ({RETRY_HORIZON / 3600:.1f} h): late retries will be refused", file=sys.stderr)
    try:
        config = load_config(Path(args.config) if args.config else None)
    except ConfigError as error:
        return fail(str(error))
    profile_name = args.profile or config.default_profile
    try:
        where = watchlist.path_for(profile_name)
    except ValueError as error:
        return fail(str(error))
    profile = config.profiles.get(profile_name)
    if profile is None:
        base_url, ca_bundle = PROVIDER_BASE_URLS["chamelio"], None
        print(f"lexi-tui webhook-listen: note: {profile_name!r} is not a profile in the config; its watch list is "
              f"kept anyway and tasks are read from {base_url}", file=sys.stderr)
    elif profile.provider != "chamelio":
        return fail(f"profile {profile_name!r} is a {profile.provider} profile; webhook-listen is for Chamelio "
                    "profiles (provider = \"chamelio\")")
    else:
        base_url, ca_bundle = profile.base_url, profile.ca_bundle
    found = lookup_key(profile_name, env_var=KEY_ENV)
    if not found.key:
        extra = f" ({found.problem})" if found.problem else ""
        return fail(f"no Chamelio key for profile {profile_name!r}: the listener reads each announced task to see "
                    f"whether it waits at an approval step. Set {KEY_ENV}, or run `lexi-tui login --profile "
                    f"{profile_name}`{extra}")
    try:
        lock = InstanceLock.acquire(profile_name, role="webhook-listen", program="lexi-tui webhook-listen")
    except ProfileInUse as busy:
        return fail(str(busy), EXIT_UNAVAILABLE)
    except LockUnavailable as error:
        return fail(str(error.strerror), EXIT_UNAVAILABLE)
    try:
        try:
            sock = bind_socket(args.host, args.port)
        except OSError as error:
            return fail(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}", EXIT_UNAVAILABLE)

        def log(line: str) -> None:
            print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)

        reader = ChamelioTaskReader(found.key, base_url, ca_bundle=ca_bundle)
        try:
            app = build_receiver(secret.encode("utf-8"), reader=reader, profile=profile_name,
                                 window=args.replay_window, log=log)
        except OSError as error:
            sock.close()
            return fail(f"cannot open the webhook event log: {error.strerror or error}", EXIT_UNAVAILABLE)
        host = f"[{args.host}]" if ":" in args.host else args.host
        print(f"Listening for Chamelio webhooks on http://{host}:{sock.getsockname()[1]}/\n"
              f"  Tasks at an approval step go to the watch list of profile {profile_name!r} ({where}).\n"
              f"  Each announced task is read from {base_url} with the key from "
              f"{'$' + KEY_ENV if found.source == 'env' else 'the keyring'}.\n"
              "Press Ctrl-C to stop.", flush=True)
        server = uvicorn_server(app)
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:
            pass
        finally:
            sock.close()
    finally:
        lock.release()
    print("Webhook listener stopped.", file=sys.stderr, flush=True)
    return EXIT_OK
