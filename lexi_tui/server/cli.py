"""Command line of the local service: `lexi-tui serve` and `python -m lexi_tui.server`.

Only argparse and the options/keys modules are imported at module level, so the top-level CLI
can register these arguments without paying for uvicorn/starlette on every start-up.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .keys import ENV_CHAMELIO_KEYS, ENV_KEYS, key_labels, keys_from_environment, mask_key, merge_keys, read_key_file
from .options import (
    CHAMELIO_DEMO_KEY,
    CHAMELIO_KEY_STATES,
    CHAMELIO_PREFIX,
    DEFAULT_CREDITS,
    DEFAULT_MAX_BODY,
    DEMO_KEY,
    PLAN_RATE_LIMITS,
    RATE_HEADER_WINDOWS,
    WEBHOOK_TASK_ID_STYLES,
    ServerOptions,
    parse_latency,
)

EXIT_USAGE = 2  # bad arguments, a bad --tasks or key file
EXIT_UNAVAILABLE = 1  # the port cannot be bound

EPILOG = f"""\
environment:
  {ENV_KEYS}            more Lexi keys (lexi permission), separated by commas or
                             whitespace; added to --key and --key-file
  {ENV_CHAMELIO_KEYS}   more Chamelio keys, the same way
  A key given with --key or --chamelio-key is visible to every user of this machine
  (ps, /proc); prefer a key file (chmod 600) or the environment for real-looking keys.
  The banner and every /_admin answer show keys masked (wbk_…1a2b).

plans (--plan; per key, both limits at once; the daily count resets at midnight UTC):
{chr(10).join(f"  {name:<8} {limits.daily:>6,} calls/day  {limits.per_minute:>4}/minute"
              for name, limits in PLAN_RATE_LIMITS.items())}
  X-RateLimit-Limit/Remaining/Reset describe the daily window (as the vendor's example),
  or the minute with --rate-headers minute; a 429 is {{"error": {{"code": "rate_limited",
  "message": "Rate limit exceeded"}}}}, with Retry-After only with --retry-after.

chat (POST /v1/lexi/chat): 1 credit per message, 5 more when Lexi queues a prospect
  search; 402 insufficient_credits when the key's balance cannot pay (nothing happens).
  Follow-ups continue a conversation by context.conversation_id (a top-level
  conversation_id is ignored). Answered at once, with no task to approve:
  "How many credits do I have?", "What's pending?", "Tag jane@acme.com as VIP".

time (--time-scale K): everything timed runs K times faster on one virtual clock that
  starts at the real time: a day lasts 86,400/K s and still ends at a (virtual) midnight
  UTC, a minute 60/K s; X-RateLimit-Reset is the real time that boundary comes. Also
  scaled: --chamelio-step-delay, --chamelio-rate-limit's window and the webhook timeout
  (10 s) and retries (1 min, 5 min, 30 min, 2 h). Not scaled: --exec-delay, --latency.
"""


def _number(kind: Callable[[str], Any], low: float | None = None, high: float | None = None,
            low_inclusive: bool = True) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}") from None
        if value != value or value in (float("inf"), float("-inf")) \
                or (low is not None and (value < low if low_inclusive else value <= low)) \
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


def _key_state(text: str) -> tuple[str, str]:
    key, sep, state = text.rpartition("=")
    if not sep or not key or state not in CHAMELIO_KEY_STATES[1:]:
        raise argparse.ArgumentTypeError(f"use KEY=STATE with STATE one of {', '.join(CHAMELIO_KEY_STATES[1:])}")
    return (key, state)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the service's options on `parser` (a subcommand parser or a standalone one),
    grouped as `--help` shows them, with the environment, plans, chat and time notes as epilog."""
    if parser.epilog is None:
        parser.epilog = EPILOG
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
    _network_and_data(parser)
    _keys(parser)
    _limits(parser)
    _chat_and_requests(parser)
    _execution_and_faults(parser)
    _chamelio(parser)
    admin = parser.add_argument_group("admin")
    admin.add_argument("--admin", action="store_true",
                        help="enable the /_admin endpoints: task records, stats, faults, rate-limit counters "
                        "(/_admin/ratelimit), credit balances (/_admin/credits), Chamelio tasks and webhooks; "
                        "no auth, keys always masked")


def _network_and_data(parser: argparse.ArgumentParser) -> None:
    net = parser.add_argument_group("network")
    net.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    net.add_argument("--port", type=_number(int, 0, 65535), default=8787,
                     help="port to listen on, 0 = any free port (default: %(default)s)")
    data = parser.add_argument_group("data")
    data.add_argument("--db", metavar="FILE", help="SQLite file to keep data in across restarts: tasks, "
                      "conversations, credit balances, Chamelio tasks (default: a temporary file deleted at exit)")
    data.add_argument("--seed-tasks", type=_number(int, 0), default=0, metavar="N",
                      help="add N realistic tasks of all types and statuses (~60%% pending)")
    data.add_argument("--random-seed", type=int, default=0, metavar="N",
                      help="seed for --seed-tasks and fault injection (default: %(default)s)")
    data.add_argument("--tasks", metavar="FILE", help="load tasks from a JSON list in the list endpoint's task "
                      "shape (id, status, created_at, metadata optional)")


def _keys(parser: argparse.ArgumentParser) -> None:
    auth = parser.add_argument_group("keys (Authorization: Bearer KEY)")
    auth.add_argument("--key", action="append", default=[], metavar="KEY",
                      help="accept KEY with the lexi permission (repeatable; visible in ps: prefer --key-file "
                      f"or ${ENV_KEYS}). With no key from any source, the demo key {DEMO_KEY}")
    auth.add_argument("--key-file", action="append", default=[], metavar="FILE",
                      help="accept the keys in FILE with the lexi permission: one key per line, # starts a "
                      "comment (repeatable)")
    auth.add_argument("--key-without-lexi", action="append", default=[], metavar="KEY",
                      help="accept KEY but answer 403 insufficient_permissions (repeatable)")


def _limits(parser: argparse.ArgumentParser) -> None:
    limits = parser.add_argument_group("rate limits and daily quota (per key; 429s consume nothing)")
    limits.add_argument("--plan", choices=list(PLAN_RATE_LIMITS),
                        help="a LeadLex plan's daily and per-minute limits (see plans below); without it, no "
                        "limit unless --rate-limit / --daily-limit")
    limits.add_argument("--daily-limit", type=_number(int, 0), default=None, metavar="N",
                        help="calls per key per UTC day, resetting at midnight UTC; overrides the plan's, 0 = off")
    limits.add_argument("--rate-limit", type=_number(int, 0), default=None, metavar="N",
                        help="calls per key per --rate-window; overrides the plan's per-minute limit, 0 = off")
    limits.add_argument("--rate-window", type=_number(float, 0, low_inclusive=False), default=60.0,
                        metavar="SECONDS", help="length of that window, starting at a key's first call "
                        "(default: %(default)s)")
    limits.add_argument("--rate-headers", choices=list(RATE_HEADER_WINDOWS), default="daily",
                        help="which window X-RateLimit-* describe when both limits are on (default: %(default)s, "
                        "as the vendor's example); with one limit on, that one")
    limits.add_argument("--retry-after", action="store_true",
                        help="add Retry-After (whole seconds until the refusing window frees up) to 429s; off by "
                        "default, as the vendor documents none")
    clock = parser.add_argument_group("time")
    clock.add_argument("--time-scale", type=_number(float, 0, low_inclusive=False), default=1.0, metavar="K",
                       help="run every window and delay K times faster (see time below; default: %(default)s)")


def _chat_and_requests(parser: argparse.ArgumentParser) -> None:
    chat = parser.add_argument_group("chat and requests")
    chat.add_argument("--credits", type=_number(int, 0), default=DEFAULT_CREDITS, metavar="N",
                      help="Lexi credits each key starts with, kept in the database (default: %(default)s)")
    chat.add_argument("--max-body", type=_number(int, 0), default=DEFAULT_MAX_BODY, metavar="BYTES",
                      help="largest request body; larger ones get 413 payload_too_large (Chamelio: {\"detail\"}), "
                      "chunked ones counted while read; 0 = no limit (default: %(default)s)")


def _execution_and_faults(parser: argparse.ArgumentParser) -> None:
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


def _chamelio(parser: argparse.ArgumentParser) -> None:
    chamelio = parser.add_argument_group(f"Chamelio face (mounted at {CHAMELIO_PREFIX}, X-API-Key keys)")
    chamelio.add_argument("--chamelio-key", action="append", default=[], metavar="KEY",
                          help=f"accept KEY for the Chamelio face (repeatable; visible in ps: prefer "
                          f"--chamelio-key-file or ${ENV_CHAMELIO_KEYS}). With none, {CHAMELIO_DEMO_KEY}")
    chamelio.add_argument("--chamelio-key-file", action="append", default=[], metavar="FILE",
                          help="accept the keys in FILE (one per line, # comments; repeatable)")
    chamelio.add_argument("--chamelio-key-state", action="append", default=[], type=_key_state, metavar="KEY=STATE",
                          help="a known key in STATE (inactive, revoked or expired), answered with that 401 "
                          "(repeatable)")
    chamelio.add_argument("--chamelio-rate-limit", type=_number(int, 0), default=0, metavar="N",
                          help="Chamelio requests per --rate-window per key, 0 = off (default)")
    chamelio.add_argument("--chamelio-seed-workflows", type=_number(int, 0), default=0, metavar="N",
                          help="add N legal workflows with 3-5 tasks each (ids from 1001; at least two per "
                          "workflow wait at their approval step), deterministic for --random-seed")
    chamelio.add_argument("--chamelio-step-delay", type=_number(float, 0), default=0.0, metavar="SECONDS",
                          help="tasks move on from intake and from review after this long (divided by "
                          "--time-scale), 0 = they wait (default); the step after a decision takes --exec-delay")
    chamelio.add_argument("--chamelio-webhook-url", metavar="URL",
                          help="POST signed webhooks here: flows.tasks.created, step_change, completed, canceled, "
                          "commented (an approve/reject with a comment); a delivery without a 2xx in 10 s is "
                          "retried after 1 min, 5 min, 30 min and 2 h (same event_id), then marked undelivered")
    chamelio.add_argument("--chamelio-webhook-secret", metavar="SECRET",
                          help="HMAC-SHA256 secret for X-Chamelio-Signature (required with --chamelio-webhook-url)")
    chamelio.add_argument("--chamelio-webhook-task-id", choices=list(WEBHOOK_TASK_ID_STYLES), default="int",
                          help="spell data.task_id in webhooks as an integer (as the REST API; default) or a "
                          "string (as the vendor's webhook examples)")
    chamelio.add_argument("--chamelio-approve-failure-rate", type=_number(float, 0, 1), default=0.0, metavar="F",
                          help='share of approvals answered 500 "Failed to submit approval" (nothing applied)')


def _all_keys(given: list[str], files: list[str], env_name: str, environ: Mapping[str, str] | None) -> tuple[str, ...]:
    """Keys from the command line, then the files, then the environment, each once."""
    from_files = [key for path in files for key in read_key_file(path)]
    return merge_keys(given, from_files, keys_from_environment(env_name, environ))


def options_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> ServerOptions:
    """ServerOptions from parsed arguments, key files and the environment.

    Raises ValueError (keys.KeySourceError included) for inconsistent values or a key file
    that cannot be read.
    """
    return ServerOptions(
        host=args.host, port=args.port, db_path=args.db,
        keys=_all_keys(args.key, args.key_file, ENV_KEYS, environ),
        keys_without_lexi=tuple(args.key_without_lexi), plan=args.plan, daily_limit=args.daily_limit,
        rate_limit=args.rate_limit, rate_window=args.rate_window, rate_headers=args.rate_headers,
        retry_after=args.retry_after, time_scale=args.time_scale, credits=args.credits, max_body=args.max_body,
        exec_delay=args.exec_delay, failure_rate=args.failure_rate,
        seed_tasks=args.seed_tasks, random_seed=args.random_seed, tasks_file=args.tasks,
        latency_ms=tuple(args.latency), error_rate=args.error_rate, drop_rate=args.drop_rate,
        admin=args.admin, quiet=False,
        chamelio_keys=_all_keys(args.chamelio_key, args.chamelio_key_file, ENV_CHAMELIO_KEYS, environ),
        chamelio_key_states=tuple(args.chamelio_key_state),
        chamelio_rate_limit=args.chamelio_rate_limit, chamelio_seed_workflows=args.chamelio_seed_workflows,
        chamelio_step_delay=args.chamelio_step_delay, chamelio_webhook_url=args.chamelio_webhook_url,
        chamelio_webhook_secret=args.chamelio_webhook_secret,
        chamelio_webhook_task_id=args.chamelio_webhook_task_id,
        chamelio_approve_failure_rate=args.chamelio_approve_failure_rate,
    )


def _plans_text() -> str:
    return ", ".join(f"{name.title()} {limits.daily}/day + {limits.per_minute}/min"
                     for name, limits in PLAN_RATE_LIMITS.items())


def limits_line(options: ServerOptions) -> str:
    """The banner's line about rate limits and the daily quota."""
    daily, minute = options.effective_daily_limit, options.effective_rate_limit
    if not daily and not minute:
        return f"  Rate limits: off (plans: {_plans_text()}; use --plan)"
    parts = []
    if daily:
        parts.append(f"{daily} calls/day (resets at midnight UTC)")
    if minute:
        parts.append(f"{minute} per {options.rate_window:g} s")
    described = options.rate_headers if daily and minute else ("daily" if daily else "minute")
    plan = f"{options.plan.title()} plan: " if options.plan else ""
    return (f"  Rate limits per key: {plan}{' and '.join(parts)}; X-RateLimit-* describe the {described} window; "
            f"Retry-After {'on' if options.retry_after else 'off'}")


def banner(options: ServerOptions, base_url: str, root_url: str, db_path: str) -> str:
    """The start-up text: where to point the client, and the keys it may use (masked)."""
    lexi_labels = key_labels([*options.lexi_keys(), *options.keys_without_lexi])
    lines = [f"Lexi local service listening on {base_url}"]
    lines += [f"  API key (lexi permission):    {lexi_labels[key]}" for key in options.lexi_keys()]
    lines += [f"  API key without lexi (403):   {lexi_labels[key]}" for key in options.keys_without_lexi]
    if options.lexi_keys() == [DEMO_KEY] and not options.keys:
        lines.append("  (no key configured: the built-in demo key is accepted; --help prints it)")
    where = f"{db_path} (temporary, deleted at exit)" if options.db_path is None else db_path
    lines.append(f"  Database: {where}")
    lines.append(limits_line(options))
    if options.time_scale != 1:
        lines.append(f"  Time: {options.time_scale:g}x faster (a day lasts {86_400 / options.time_scale:g} s)")
    lines.append(f"  Lexi credits per key: {options.credits} to start (kept in the database)")
    if options.admin:
        lines.append(f"  Admin: {root_url}/_admin/stats, /_admin/tasks/ID, /_admin/faults, /_admin/ratelimit, "
                     "/_admin/credits, /_admin/conversations/ID")
    if options.lexi_keys():
        lines.append(f'  Try: curl {base_url}/v1/lexi/tasks -H "Authorization: Bearer <key>"')
    chamelio_url = root_url + CHAMELIO_PREFIX
    lines.append(f"Chamelio face on {chamelio_url}")
    lines += [f"  X-API-Key:                    {mask_key(key)}" for key in options.chamelio_active_keys()]
    if options.chamelio_rate_limit:
        lines.append(f"  Rate limit: {options.chamelio_rate_limit} requests per {options.rate_window:g} s per key")
    if options.chamelio_seed_workflows:
        lines.append(f"  Seeded workflows: {options.chamelio_seed_workflows} (task ids from 1001)")
    if options.chamelio_webhook_url:
        lines.append(f"  Webhooks to: {options.chamelio_webhook_url} (task_id as {options.chamelio_webhook_task_id})")
    if options.admin:
        lines.append(f"  Admin: {root_url}/_admin/chamelio/tasks/ID, /_admin/chamelio/webhooks")
    if options.chamelio_active_keys():
        lines.append(f'  Try: curl {chamelio_url}/tasks/1001 -H "X-API-Key: <key>"')
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C (or SIGTERM). Returns the process exit code."""
    try:
        options = options_from_args(args, os.environ)
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
