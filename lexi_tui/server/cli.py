"""Command line of the local service: `lexi-tui serve` and `python -m lexi_tui.server`.

Only argparse and the options module are imported at module level, so the top-level CLI can
register these arguments without paying for uvicorn/starlette on every start-up.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sqlite3
import sys
import threading
from collections.abc import Callable
from typing import Any

from .options import (CHAMELIO_DEMO_KEY, CHAMELIO_KEY_STATES, CHAMELIO_PREFIX, DEMO_KEY, PLAN_RATE_LIMITS,
                      ServerOptions, parse_latency)

EXIT_USAGE = 2  # bad arguments or a bad --tasks file
EXIT_UNAVAILABLE = 1  # the port cannot be bound


def _number(kind: Callable[[str], Any], low: float | None = None, high: float | None = None,
            low_inclusive: bool = True) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}") from None
        if value != value or (low is not None and (value < low if low_inclusive else value <= low)) \
                or (high is not None and value > high):
            bounds = f"{'>=' if low_inclusive else '>'} {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text}")
        return value
    return parse


def _latency(text: str) -> tuple[float, float]:
    try:
        return parse_latency(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the service's options on `parser` (a subcommand parser or a standalone one)."""
    starter, pro = PLAN_RATE_LIMITS["starter"], PLAN_RATE_LIMITS["pro"]
    net = parser.add_argument_group("network")
    net.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    net.add_argument("--port", type=_number(int, 0, 65535), default=8787,
                     help="port to listen on, 0 = any free port (default: %(default)s)")
    data = parser.add_argument_group("data")
    data.add_argument("--db", metavar="FILE", help="SQLite file to keep data in across restarts "
                      "(default: a temporary file deleted at exit)")
    data.add_argument("--seed-tasks", type=_number(int, 0), default=0, metavar="N",
                      help="add N realistic tasks of all types and statuses (~60%% pending)")
    data.add_argument("--random-seed", type=int, default=0, metavar="N",
                      help="seed for --seed-tasks and fault injection (default: %(default)s)")
    data.add_argument("--tasks", metavar="FILE", help="load tasks from a JSON list in the list endpoint's task "
                      "shape (id, status, created_at, metadata optional)")
    auth = parser.add_argument_group("keys and limits")
    auth.add_argument("--key", action="append", default=[], metavar="KEY",
                      help=f"accept KEY with the lexi permission (repeatable; with no keys at all, {DEMO_KEY})")
    auth.add_argument("--key-without-lexi", action="append", default=[], metavar="KEY",
                      help="accept KEY but answer 403 insufficient_permissions (repeatable)")
    auth.add_argument("--rate-limit", type=_number(int, 0), default=0, metavar="N",
                      help=f"requests per window per key, 0 = off (default). Starter plan: {starter}/min, "
                      f"Pro: {pro}/min")
    auth.add_argument("--rate-window", type=_number(float, 0, low_inclusive=False), default=60.0,
                      metavar="SECONDS", help="rate-limit window length (default: %(default)s)")
    behaviour = parser.add_argument_group("task execution")
    behaviour.add_argument("--exec-delay", type=_number(float, 0), default=3.0, metavar="SECONDS",
                           help="approved tasks finish after this long, 0 = by the next request "
                           "(default: %(default)s)")
    behaviour.add_argument("--failure-rate", type=_number(float, 0, 1), default=0.1, metavar="F",
                           help="share of approved tasks that fail, decided by a hash of the task id; "
                           "metadata {\"simulate\": \"fail\"|\"complete\"} overrides (default: %(default)s)")
    faults = parser.add_argument_group("fault injection (never applies to /_admin)")
    faults.add_argument("--latency", type=_latency, default=(0.0, 0.0), metavar="MS|MIN-MAX",
                        help="added delay per request in milliseconds, fixed or uniform in a range")
    faults.add_argument("--error-rate", type=_number(float, 0, 1), default=0.0, metavar="F",
                        help="share of requests answered 500 (JSON) or 502 (HTML), alternately")
    faults.add_argument("--drop-rate", type=_number(float, 0, 1), default=0.0, metavar="F",
                        help="share of requests whose connection is closed without a response")
    chamelio = parser.add_argument_group(f"Chamelio face (mounted at {CHAMELIO_PREFIX}, X-API-Key keys)")
    chamelio.add_argument("--chamelio-key", action="append", default=[], metavar="KEY",
                          help=f"accept KEY for the Chamelio face (repeatable; with none, {CHAMELIO_DEMO_KEY})")
    chamelio.add_argument("--chamelio-key-state", action="append", default=[], type=_key_state, metavar="KEY=STATE",
                          help="a known key in STATE (inactive, revoked or expired), answered with that 401 "
                          "(repeatable)")
    chamelio.add_argument("--chamelio-rate-limit", type=_number(int, 0), default=0, metavar="N",
                          help="Chamelio requests per --rate-window per key, 0 = off (default)")
    chamelio.add_argument("--chamelio-seed-workflows", type=_number(int, 0), default=0, metavar="N",
                          help="add N legal workflows with 3-5 tasks each (ids from 1001; at least two per "
                          "workflow wait at their approval step), deterministic for --random-seed")
    chamelio.add_argument("--chamelio-step-delay", type=_number(float, 0), default=0.0, metavar="SECONDS",
                          help="tasks move on from intake and from review after this long, 0 = they wait "
                          "(default); the step after a decision takes --exec-delay")
    chamelio.add_argument("--chamelio-webhook-url", metavar="URL",
                          help="POST signed webhooks (flows.tasks.created, step_change, completed, canceled) here")
    chamelio.add_argument("--chamelio-webhook-secret", metavar="SECRET",
                          help="HMAC-SHA256 secret for X-Chamelio-Signature (required with --chamelio-webhook-url)")
    chamelio.add_argument("--chamelio-approve-failure-rate", type=_number(float, 0, 1), default=0.0, metavar="F",
                          help='share of approvals answered 500 "Failed to submit approval" (nothing applied)')
    parser.add_argument("--admin", action="store_true",
                        help="enable /_admin endpoints (task records, stats, runtime faults; no auth)")


def _key_state(text: str) -> tuple[str, str]:
    key, sep, state = text.rpartition("=")
    if not sep or not key or state not in CHAMELIO_KEY_STATES[1:]:
        raise argparse.ArgumentTypeError(f"use KEY=STATE with STATE one of {', '.join(CHAMELIO_KEY_STATES[1:])}")
    return (key, state)


def options_from_args(args: argparse.Namespace) -> ServerOptions:
    """ServerOptions from parsed arguments (raises ValueError for inconsistent values)."""
    return ServerOptions(
        host=args.host, port=args.port, db_path=args.db, keys=tuple(args.key),
        keys_without_lexi=tuple(args.key_without_lexi), rate_limit=args.rate_limit,
        rate_window=args.rate_window, exec_delay=args.exec_delay, failure_rate=args.failure_rate,
        seed_tasks=args.seed_tasks, random_seed=args.random_seed, tasks_file=args.tasks,
        latency_ms=tuple(args.latency), error_rate=args.error_rate, drop_rate=args.drop_rate,
        admin=args.admin, quiet=False,
        chamelio_keys=tuple(args.chamelio_key), chamelio_key_states=tuple(args.chamelio_key_state),
        chamelio_rate_limit=args.chamelio_rate_limit, chamelio_seed_workflows=args.chamelio_seed_workflows,
        chamelio_step_delay=args.chamelio_step_delay, chamelio_webhook_url=args.chamelio_webhook_url,
        chamelio_webhook_secret=args.chamelio_webhook_secret,
        chamelio_approve_failure_rate=args.chamelio_approve_failure_rate,
    )


def banner(options: ServerOptions, base_url: str, root_url: str, db_path: str) -> str:
    """The start-up text: where to point the client and which key to use."""
    lines = [f"Lexi local service listening on {base_url}"]
    lines += [f"  API key (lexi permission):    {key}" for key in options.lexi_keys()]
    lines += [f"  API key without lexi (403):   {key}" for key in options.keys_without_lexi]
    where = f"{db_path} (temporary, deleted at exit)" if options.db_path is None else db_path
    lines.append(f"  Database: {where}")
    if options.rate_limit:
        lines.append(f"  Rate limit: {options.rate_limit} requests per {options.rate_window:g} s per key")
    else:
        lines.append(f"  Rate limit: off (Starter plan: {PLAN_RATE_LIMITS['starter']}/min, "
                     f"Pro: {PLAN_RATE_LIMITS['pro']}/min; use --rate-limit)")
    if options.admin:
        lines.append(f"  Admin: {root_url}/_admin/stats, /_admin/tasks/ID, /_admin/faults")
    if options.lexi_keys():
        lines.append(f'  Try: curl {base_url}/v1/lexi/tasks -H "Authorization: Bearer {options.lexi_keys()[0]}"')
    chamelio_url = root_url + CHAMELIO_PREFIX
    lines.append(f"Chamelio face on {chamelio_url}")
    lines += [f"  X-API-Key:                    {key}" for key in options.chamelio_active_keys()]
    if options.chamelio_rate_limit:
        lines.append(f"  Rate limit: {options.chamelio_rate_limit} requests per {options.rate_window:g} s per key")
    if options.chamelio_seed_workflows:
        lines.append(f"  Seeded workflows: {options.chamelio_seed_workflows} (task ids from 1001)")
    if options.chamelio_webhook_url:
        lines.append(f"  Webhooks to: {options.chamelio_webhook_url}")
    if options.admin:
        lines.append(f"  Admin: {root_url}/_admin/chamelio/tasks/ID, /_admin/chamelio/webhooks")
    if options.chamelio_active_keys():
        lines.append(f'  Try: curl {chamelio_url}/tasks/1001 -H "X-API-Key: {options.chamelio_active_keys()[0]}"')
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C (or SIGTERM). Returns the process exit code."""
    try:
        options = options_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from .records import TaskDataError
    from .runner import start_server

    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    logging.getLogger("lexi_tui.server").addHandler(handler)
    try:
        server = start_server(options)
    except TaskDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except sqlite3.Error as exc:
        print(f"error: cannot use database {options.db_path!r}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"error: cannot listen on {options.host}:{options.port}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE

    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        print(banner(options, server.base_url, server.root_url, server.db_path), flush=True)
        while not stop.is_set() and server.running:
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        logging.getLogger("lexi_tui.server").removeHandler(handler)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print("Lexi local service stopped.", file=sys.stderr, flush=True)
    return 0
