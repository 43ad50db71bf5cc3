"""Scriptable subcommands: `tasks`, `approve`, `dismiss`, `chat` and `watch`.

The TUI is for a person at a keyboard; these are for cron jobs, CI and shell pipelines
(`lexi-tui tasks --json | jq -r '.[].id' | lexi-tui dismiss - --reason testing`). They use
the same config, profiles, key lookup (LEXI_API_KEY, then the keyring) and API client as
the app, and record every approve and dismiss in the same local history.

Only argparse, sys and typing are imported at module level: `lexi_tui.cli.main` registers these
parsers on every start, including the app's, and asyncio alone costs ~100 ms, httpx more.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC
from typing import Any

COMMANDS = ("tasks", "approve", "dismiss", "chat", "watch")
EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_AUTH, EXIT_FAILED = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130
STATUSES = ("pending", "approved", "dismissed", "completed", "failed")
DISMISS_REASONS = ("not_relevant", "manual_execution", "incorrect_params", "duplicate", "testing")
"""As in `lexi_tui.api.models.DISMISS_REASONS`, repeated here to keep httpx off start-up."""
MAX_RULE_ATTEMPTS = 3
"""A rule's action that failed this often is left for a person (watch keeps running)."""
_PROGRESS_MIN = 5


def help_epilog() -> str:
    """The exit-code table for `--help` (shown as written with RawDescriptionHelpFormatter)."""
    return (
        "exit codes of tasks, approve, dismiss, chat and watch:\n"
        "  0  success\n"
        "  1  partial: some tasks were not applied (failed, already handled or not sent)\n"
        "  2  usage error: bad arguments, config or rules\n"
        "  3  authentication: no API key, or the key was refused (401/403);\n"
        "     run `lexi-tui login` or set LEXI_API_KEY\n"
        "  4  nothing could be done: no task was applied, or the server could not be reached\n"
        "  130  interrupted (Ctrl-C)"
    )


def add_commands(subparsers: Any) -> None:
    """Register the subcommands on `lexi-tui`'s subparsers (`parser.add_subparsers()`)."""
    common: dict[str, Any] = dict(epilog=help_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    tasks = subparsers.add_parser("tasks", help="list tasks (a table, or --json)", **common)
    tasks.add_argument("--status", type=_status, default="pending", metavar="STATUS",
                       help=f"one of {', '.join(STATUSES)} (default: pending)")
    tasks.add_argument("--json", action="store_true", help="print the raw task objects as a JSON array")
    ids = "task ids; a unique prefix of a pending task's id works; - reads ids from stdin"
    approve = subparsers.add_parser("approve", help="approve tasks by id", **common)
    approve.add_argument("ids", nargs="+", metavar="ID", help=ids)
    dismiss = subparsers.add_parser("dismiss", help="dismiss tasks by id", **common)
    dismiss.add_argument("ids", nargs="+", metavar="ID", help=ids)
    dismiss.add_argument("--reason", help=f"reason sent to the API, e.g. {', '.join(DISMISS_REASONS)}")
    for parser in (approve, dismiss):
        parser.add_argument("--comment", help="a note kept in the local history only")
        parser.add_argument("--json", action="store_true", help="print the results as JSON")
    chat = subparsers.add_parser("chat", help="send Lexi a message; it may queue a task", **common)
    chat.add_argument("message", nargs="+", metavar="MESSAGE", help="the message (- reads it from stdin)")
    chat.add_argument("--conversation", metavar="ID", help="continue this conversation")
    chat.add_argument("--json", action="store_true", help="print the reply as JSON")
    watch = subparsers.add_parser(
        "watch", help="apply the auto-approve/dismiss rules on every poll", **common,
        description="Poll the pending tasks and apply the config file's [[rules]] (see lexi_tui/rules.py), "
        "logging each decision to stdout and the history, until Ctrl-C or SIGTERM. campaign_start is never "
        "approved unless a rule names that type.",
    )
    watch.add_argument("--rules", nargs="?", const="", required=True, metavar="FILE",
                       help="apply the [[rules]] tables of the config file (or of FILE)")
    watch.add_argument("--interval", type=_seconds, metavar="S", help="seconds between polls (default: config)")
    watch.add_argument("--dry-run", action="store_true", help="log and record what the rules would do; send nothing")
    watch.add_argument("--once", action="store_true", help="one pass, then exit")
    for parser in (tasks, approve, dismiss, chat, watch):
        parser.add_argument("--profile", help="profile from the config file (default: the config's default_profile)")
        parser.add_argument("--base-url", help="API base URL (overrides the profile's)")
        parser.add_argument("--config", help="config file (default: the platform's config directory)")


def run_command(args: argparse.Namespace, profile: Any = None) -> int:
    """Run `args.command` and return its exit code (see `help_epilog`).

    `profile` is the `config.Profile` when the caller already resolved it (as
    `lexi_tui.cli.main` does); otherwise it is resolved from --config/--profile/--base-url.
    """
    import asyncio

    from lexi_tui.core.config import ConfigError

    try:
        if profile is None:
            profile = _load_profile(args)
        return asyncio.run(_COMMANDS[args.command](args, profile))
    except ConfigError as error:
        _err(f"lexi-tui: {error}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("lexi-tui: interrupted")
        return EXIT_INTERRUPTED


# -- the commands -------------------------------------------------------------------------


async def _tasks(args: argparse.Namespace, profile: Any) -> int:
    import json

    async with _Session(profile) as session:
        tasks = await session.call(lambda client: client.list_tasks(args.status))
    if tasks is None:
        return session.code
    if args.json:
        # ensure_ascii: `raw` is the server's text as received; escaping it keeps control
        # characters (ESC, C1) from reaching the terminal.
        _out(json.dumps([task.raw for task in tasks], indent=2, ensure_ascii=True))
    else:
        for line in task_table(tasks, args.status, _width()):
            _out(line)
    return EXIT_OK


async def _approve_or_dismiss(args: argparse.Namespace, profile: Any) -> int:
    import asyncio
    import json

    from lexi_tui.api.models import Task
    from lexi_tui.core.bulk import NOT_SENT, TaskResult, run_bulk

    action, wanted = args.command, _read_ids(args.ids)
    if not wanted:
        _err(f"lexi-tui {action}: no task ids given")
        return EXIT_USAGE
    async with _Session(profile) as session:
        # One list call first: it checks the key before anything is sent, resolves id
        # prefixes, and gives each history line the task's type and description.
        pending = await session.call(lambda client: client.list_tasks("pending"))
        if pending is None:
            return session.code
        try:
            tasks = [_resolve_id(text, pending) or Task.from_api({"id": text}) for text in wanted]
        except ValueError as exc:
            _err(f"lexi-tui {action}: {exc}")
            return EXIT_USAGE
        live = len(tasks) >= _PROGRESS_MIN and sys.stderr.isatty() and (args.json or not sys.stdout.isatty())

        def show(result: TaskResult) -> None:
            if not args.json:
                _out(_result_line(action, result))

        def progress(done: int, total: int, task: Task, outcome: str) -> None:
            if live:
                print(f"\r{done}/{total} sent", end="\n" if done == total else "", file=sys.stderr, flush=True)

        cancel = asyncio.Event()
        with _Signals(cancel):
            summary = await run_bulk(
                session.client, tasks, action, reason=getattr(args, "reason", None), comment=args.comment,
                source="cli", profile=profile.name, on_result=show, on_progress=progress,
                on_wait=_announce_wait, cancel=cancel,
            )
    code = _bulk_exit_code(summary)
    if args.json:
        results = [{"id": r.task.id, "type": str(r.task.type), "description": r.task.description,
                    "outcome": r.outcome, "detail": r.detail, "request_id": r.request_id} for r in summary.results]
        counts = {name: len(getattr(summary, name)) for name in ("succeeded", "failed", "already_handled", "not_sent")}
        _out(json.dumps({"action": action, "results": results, **counts, "summary": summary.describe(),
                         "exit_code": code}, indent=2, ensure_ascii=True))
    else:
        for result in summary.results:
            if result.outcome == NOT_SENT:
                _out(_result_line(action, result))
        _out(summary.describe())
    if summary.stopped_by is not None and _is_auth(summary.stopped_by):
        _err(f"lexi-tui: {_error_message(summary.stopped_by, profile, session.key_source)}")
    return code


async def _chat(args: argparse.Namespace, profile: Any) -> int:
    import json

    message = sys.stdin.read() if args.message == ["-"] else " ".join(args.message)
    if not message.strip():
        _err("lexi-tui chat: the message is empty")
        return EXIT_USAGE
    async with _Session(profile) as session:
        # A 429 is refused before Lexi reads the message, so waiting and retrying it
        # (as session.call does) cannot queue a task twice.
        reply = await session.call(lambda client: client.chat(message, args.conversation))
    if reply is None:
        return session.code
    if args.json:
        _out(json.dumps({"response": reply.response, "task_id": reply.task_id,
                         "requires_approval": reply.requires_approval, "conversation_id": reply.conversation_id},
                        indent=2, ensure_ascii=True))
        return EXIT_OK
    _out(reply.response)
    if reply.task_id:
        needs = "requires approval" if reply.requires_approval else "was queued"
        _out(f"\nTask {reply.task_id} {needs}: lexi-tui approve {reply.task_id}")
    if reply.conversation_id:
        _out(f"Conversation {reply.conversation_id} (continue with --conversation {reply.conversation_id})")
    return EXIT_OK


async def _watch(args: argparse.Namespace, profile: Any) -> int:
    import asyncio
    from pathlib import Path

    from lexi_tui.core import history
    from lexi_tui.core.budget import RefreshBudget
    from lexi_tui.core.bulk import run_bulk
    from lexi_tui.core.config import config_path, load_config
    from lexi_tui.core.rules import RulesError, evaluate, load_rules

    rules_file = Path(args.rules or args.config or config_path())
    try:
        rules = load_rules(rules_file)
    except RulesError as exc:
        _err(f"lexi-tui watch: {exc}")
        return EXIT_USAGE
    if not rules:
        why = "does not exist" if not rules_file.exists() else "has no [[rules]] tables"
        _err(f"lexi-tui watch: {rules_file} {why}, so there is nothing to do.")
        return EXIT_USAGE
    interval = args.interval
    if interval is None:
        configured = load_config(Path(args.config) if args.config else None).refresh_interval
        interval = configured if configured > 0 else 15.0
    budget = RefreshBudget(interval)
    dry = " (dry run: nothing is sent)" if args.dry_run else ""
    _err(f"Watching {profile.base_url} with {len(rules)} rule(s) from {rules_file}{dry}; Ctrl-C stops.")
    for rule in rules:
        _err(f"  {rule.summary()}")
    stop = asyncio.Event()
    attempts: dict[str, int] = {}
    reported: set[tuple[str, str]] = set()
    sent = failed = 0
    async with _Session(profile, stop) as session:
        with _Signals(stop, hard_second=False):
            while not stop.is_set():
                tasks = await session.call(lambda client: client.list_tasks("pending"), keep_going=not args.once)
                if tasks is None and session.code != EXIT_OK:
                    return session.code
                decisions = evaluate(rules, tasks or [])
                if args.once and tasks is not None and not decisions:
                    _err("No pending task matches a rule.")
                for decision in decisions:
                    task = decision.task
                    if args.dry_run:
                        if (task.id, decision.rule.name) not in reported:  # Once per process, not per poll.
                            reported.add((task.id, decision.rule.name))
                            _log_decision(decision, "dry run, not sent")
                            _record_dry_run(history, decision, profile.name)
                        continue
                    if stop.is_set() or attempts.get(task.id, 0) >= MAX_RULE_ATTEMPTS:
                        continue
                    attempts[task.id] = attempts.get(task.id, 0) + 1
                    summary = await run_bulk(
                        session.client, [task], decision.action, reason=decision.reason,
                        comment=decision.explanation, source=decision.source, profile=profile.name, cancel=stop,
                    )
                    for result in summary.results:
                        detail = f": {result.detail}" if result.detail else ""
                        _log_decision(decision, result.outcome.replace("_", " ") + detail)
                    sent, failed = sent + 1, failed + len(summary.failed)
                    if summary.stopped_by is not None and _is_auth(summary.stopped_by):
                        _err(f"lexi-tui: {_error_message(summary.stopped_by, profile, session.key_source)}")
                        return EXIT_AUTH
                if args.once:
                    return EXIT_OK if not failed else EXIT_FAILED if failed == sent else EXIT_PARTIAL
                try:
                    await asyncio.wait_for(stop.wait(), budget.delay(session.client.rate_limit))
                except TimeoutError:
                    pass
    return EXIT_OK


_COMMANDS = {"tasks": _tasks, "approve": _approve_or_dismiss, "dismiss": _approve_or_dismiss,
             "chat": _chat, "watch": _watch}


# -- the task table -----------------------------------------------------------------------


def task_table(tasks: Sequence[Any], status: str, width: int = 80) -> list[str]:
    """Lines of a plain-text table of `tasks` (id, type, status, age, description) that fits
    `width` cells. Ids are cut to the shortest prefix that still tells them apart (at least 8
    characters), which `approve` and `dismiss` accept, so descriptions get the room."""
    from datetime import datetime

    if not tasks:
        return [f"No {status} tasks."]
    full = [task.id for task in tasks]
    id_w = 8
    while id_w < max(map(len, full)) and len({i[:id_w] for i in full}) < len(set(full)):
        id_w += 1
    id_w = min(id_w, 36)
    type_w = min(16, max(4, *(_cells(str(t.type)) for t in tasks)))
    status_w = min(10, max(6, *(_cells(str(t.status)) for t in tasks)))
    desc_w = max(10, width - id_w - type_w - status_w - 4 - 8)
    now = datetime.now(UTC)

    def row(*cells: str) -> str:
        parts = [_pad(c, w) for c, w in zip(cells, (id_w, type_w, status_w, 4), strict=False)]
        return "  ".join(parts + [fit(cells[4], desc_w)]).rstrip()

    lines = [row("ID", "TYPE", "STATUS", "AGE", "DESCRIPTION")]
    for task in tasks:
        short = task.id[:id_w] if len(task.id) <= 36 else fit(task.id, id_w)
        lines.append(row(short, str(task.type), str(task.status), _age(task.created_at, now), task.description))
    noun = "task" if len(tasks) == 1 else "tasks"
    shortened = status == "pending" and id_w < max(map(len, full))
    note = " (ids shortened: a unique prefix works with approve and dismiss)" if shortened else ""
    lines.append(fit(f"{len(tasks)} {status} {noun}{note}", width))
    return lines


def fit(text: str, width: int) -> str:
    """`text` cut to `width` terminal cells, ending in … when cut (wide characters count 2)."""
    if _cells(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        cell = _cells(ch)
        if used + cell > width - 1:
            break
        out.append(ch)
        used += cell
    return "".join(out) + "…"


def _pad(text: str, width: int) -> str:
    text = fit(text, width)
    return text + " " * (width - _cells(text))


def _cells(text: str) -> int:
    import unicodedata

    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _age(created: Any, now: Any) -> str:
    if created is None:
        return "-"
    seconds = max(0, int((now - created).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# -- plumbing -----------------------------------------------------------------------------


class _Session:
    """The key, the client, and the errors-to-exit-codes policy every command shares.

    When there is no usable key, `client` stays None, the message is printed and
    `code` is EXIT_AUTH; `call` then returns None at once.
    """

    def __init__(self, profile: Any, stop: Any = None) -> None:
        self.profile, self.stop = profile, stop
        self.code = EXIT_OK
        self.key_source = "none"
        self.client: Any = None

    async def __aenter__(self) -> _Session:
        from lexi_tui.api.lexi import LexiClient
        from lexi_tui.core import keystore

        found = keystore.lookup_key(self.profile.name)
        self.key_source = found.source
        if found.key is None:
            problem = f"\n{found.problem}" if found.problem else ""
            _err(f"lexi-tui: no API key for profile {self.profile.name!r}. {_login_hint(self.profile)}{problem}")
            self.code = EXIT_AUTH
            return self
        try:
            self.client = LexiClient(found.key, self.profile.base_url, ca_bundle=getattr(self.profile, "ca_bundle", None))
        except ValueError as exc:
            _err(f"lexi-tui: {exc} {_login_hint(self.profile)}")
            self.code = EXIT_AUTH
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.client is not None:
            await self.client.aclose()

    async def call(self, make: Any, *, keep_going: bool = False) -> Any:
        """`await make(client)`, waiting out one 429. On any other error, print it, set
        `code` (3 for auth, else 4) and return None. With `keep_going` (a long-running
        watch), only auth errors set `code`: the next poll may well succeed."""
        import asyncio

        from lexi_tui.api.errors import LexiError, RateLimitedError

        if self.client is None:
            return None
        error: LexiError | None = None
        for attempt in (1, 2):
            try:
                return await make(self.client)
            except RateLimitedError as exc:
                error = exc
                wait = exc.retry_after if exc.retry_after is not None else 2.0
                if attempt == 2 or (self.stop is not None and self.stop.is_set()):
                    break
                await _announce_wait(wait)
                try:
                    await asyncio.wait_for((self.stop or asyncio.Event()).wait(), wait)
                except TimeoutError:
                    pass
            except LexiError as exc:
                error = exc
                break
        assert error is not None
        _err(f"lexi-tui: {_error_message(error, self.profile, self.key_source)}")
        if _is_auth(error):
            self.code = EXIT_AUTH
        elif not keep_going:
            self.code = EXIT_FAILED
        return None


class _Signals:
    """While active, SIGINT and SIGTERM set `event` (finish the request in flight, then stop).
    With `hard_second`, a second Ctrl-C interrupts at once."""

    def __init__(self, event: Any, hard_second: bool = True) -> None:
        self.event, self.hard_second, self.installed = event, hard_second, []

    def __enter__(self) -> _Signals:
        import asyncio
        import signal

        self.loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                self.loop.add_signal_handler(signum, self._handle, signum)
                self.installed.append(signum)
            except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread.
                pass
        return self

    def _handle(self, signum: int) -> None:
        import signal

        self.event.set()
        if self.hard_second and signum == signal.SIGINT and signum in self.installed:
            self.loop.remove_signal_handler(signum)
            self.installed.remove(signum)

    def __exit__(self, *exc_info: object) -> None:
        for signum in self.installed:
            self.loop.remove_signal_handler(signum)


def _load_profile(args: argparse.Namespace) -> Any:
    import dataclasses
    from pathlib import Path

    from lexi_tui.core.config import load_config

    profile = load_config(Path(args.config) if args.config else None).profile(args.profile)
    return dataclasses.replace(profile, base_url=args.base_url) if args.base_url else profile


def _is_auth(error: BaseException) -> bool:
    from lexi_tui.api.errors import InvalidKeyError, PermissionDeniedError

    return isinstance(error, (InvalidKeyError, PermissionDeniedError))


def _login_hint(profile: Any) -> str:
    return f"Run `lexi-tui login --profile {profile.name}` to store a working key, or set LEXI_API_KEY."


def _error_message(error: BaseException, profile: Any, key_source: str) -> str:
    from lexi_tui.api.errors import InvalidKeyError, PermissionDeniedError

    where = "LEXI_API_KEY" if key_source == "env" else f"the keyring entry of profile {profile.name!r}"
    if isinstance(error, InvalidKeyError):
        return f"the API key from {where} was refused: {error}. {_login_hint(profile)}"
    if isinstance(error, PermissionDeniedError):
        return f"the API key from {where} lacks the lexi permission: {error}. {_login_hint(profile)}"
    return str(error)


def _bulk_exit_code(summary: Any) -> int:
    if summary.stopped_by is not None and _is_auth(summary.stopped_by):
        return EXIT_AUTH
    if len(summary.succeeded) == summary.total:
        return EXIT_OK
    return EXIT_PARTIAL if summary.succeeded else EXIT_FAILED


def _resolve_id(text: str, pending: Sequence[Any]) -> Any:
    """The pending task `text` names, exactly or as a unique prefix of at least 4
    characters; None when none does (the id is then sent as given)."""
    for task in pending:
        if task.id == text:
            return task
    matches = [task for task in pending if len(text) >= 4 and task.id.startswith(text)]
    if len(matches) > 1:
        shown = ", ".join(task.id for task in matches[:5])
        raise ValueError(f"{text!r} matches {len(matches)} pending tasks ({shown}); give more of the id")
    return matches[0] if matches else None


def _read_ids(items: Sequence[str]) -> list[str]:
    ids: list[str] = []
    for item in items:
        ids.extend(sys.stdin.read().split() if item == "-" else [item.strip()])
    return [task_id for task_id in ids if task_id]


def _result_line(action: str, result: Any) -> str:
    label = {"ok": {"approve": "approved", "dismiss": "dismissed"}[action], "already_handled": "already handled",
             "not_sent": "not sent"}.get(result.outcome, result.outcome)
    if result.detail:  # An error is shown in full; a description is cut to fit the line.
        return f"{label:<16}{result.task.id}  {result.detail}"
    return f"{label:<16}{result.task.id}  {fit(result.task.description, max(20, _width() - 18 - len(result.task.id)))}"


def _log_decision(decision: Any, outcome: str) -> None:
    from lexi_tui.core.history import now_iso

    _out(f"{now_iso()} {decision.explanation} [task {decision.task.id}]: {outcome}")


def _record_dry_run(history: Any, decision: Any, profile: str) -> None:
    entry = history.HistoryEntry(
        time=history.now_iso(), profile=profile, task_id=decision.task.id, task_type=str(decision.task.type),
        description=decision.task.description, action=decision.action, reason=decision.reason,
        comment=decision.explanation, outcome="dry_run", detail=None, request_id=None, source=decision.source,
    )
    try:
        history.append(entry)
    except OSError as exc:
        _err(f"lexi-tui watch: the history could not be written: {exc}")


async def _announce_wait(seconds: float) -> None:
    _err(f"Waiting {seconds:.0f} s for the rate limit to reset…")


def _status(text: str) -> str:
    if text not in STATUSES:
        raise argparse.ArgumentTypeError(f"invalid status {text!r} (choose from {', '.join(STATUSES)})")
    return text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 1 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be at least 1 second")
    return value


def _width() -> int:
    import shutil

    return max(60, shutil.get_terminal_size((80, 24)).columns)


def _out(text: str) -> None:
    """Print to stdout; a closed pipe (`| head`) ends the output, never the run itself."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
