"""Scriptable subcommands: `tasks`, `approve`, `dismiss`/`reject`, `cancel`, `chat` and `watch`.

The app is for a person at a keyboard; these are for cron jobs, CI and shell pipelines
(`lexi-tui tasks --json | jq -r '.[].id' | lexi-tui dismiss - --reason testing`). One
implementation serves every provider (`lexi_tui.providers.create_provider`): a Lexi profile
lists by status, a Chamelio profile lists its watch list by view. What a command may do, and
the words it uses, come from the provider's `Capabilities` (views, reasons, the dismiss label,
cancel, chat, comments), never from a copy kept here. A command the provider cannot do says so
and exits 2.

Only argparse and typing are imported at module level: `lexi_tui.cli.parser` registers these
parsers on every start, the app's included, and asyncio alone costs ~100 ms, httpx more. The
providers' vocabulary shown by `--help` is read when the help is shown (`CommandParser`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lexi_tui.cli import exit_codes

COMMANDS = ("tasks", "approve", "dismiss", "reject", "cancel", "chat", "watch")
"""Command name -> the provider's action (Chamelio's reject is its dismiss)."""
_FORMAT = argparse.RawDescriptionHelpFormatter


def add_commands(subparsers: Any) -> None:
    """Register the subcommands on `lexi-tui`'s subparsers (`parser.add_subparsers()`)."""
    from lexi_tui.cli.options import add_shared_options

    def command(name: str, codes: tuple[exit_codes.Exit, ...], **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = subparsers.add_parser(
            name, epilog=exit_codes.epilog(codes), formatter_class=_FORMAT, **kwargs)
        return parser

    tasks = command("tasks", exit_codes.READ, help="list tasks (a table, or --json)",
                    description="List the tasks of the profile's provider: Lexi lists by status; Chamelio, which "
                    "has no list endpoint, reads each task of the profile's watch list (added in the app by id or "
                    "URL, or by `lexi-tui webhook-listen`) and shows those in the view asked for.")
    status = tasks.add_argument("--status", metavar="VIEW", help="a view of the profile's provider")
    status.lazy_help = _views_help  # type: ignore[attr-defined]
    tasks.add_argument("--json", action="store_true", help="print the raw task objects as a JSON array")

    ids = ("task ids; - reads ids from stdin. Lexi: a unique prefix (4+ characters) of a pending task's id "
           "works. Chamelio: an id (1234, #1234) or a task URL")
    approve = command("approve", exit_codes.BULK, help="approve tasks by id",
                      description="Approve tasks. A task whose type is in the config's confirm_types (default: "
                      "campaign_start) is asked about on a terminal; without one (a pipe, cron) it is not sent "
                      "unless --yes is given.")
    approve.add_argument("ids", nargs="+", metavar="ID", help=ids)
    approve.add_argument("--comment", metavar="TEXT",
                         help="Chamelio: sent with the approval (kept in Chamelio's audit trail). Lexi: NOT sent "
                         "(Lexi's approve takes no body); kept only as a note in the local history")
    approve.add_argument("--yes", "-y", action="store_true",
                         help="approve tasks of the confirm_types without asking (needed when stdin or stdout is "
                         "not a terminal)")
    dismissers = []
    for name, verb in (("dismiss", "dismiss"), ("reject", "reject")):
        parser = command(name, exit_codes.BULK, help=f"{verb} tasks by id (Lexi: dismiss; Chamelio: reject; "
                         "either name works)")
        parser.add_argument("ids", nargs="+", metavar="ID", help=ids)
        reason = parser.add_argument("--reason", metavar="TEXT", help="the reason sent with it")
        reason.lazy_help = _reasons_help  # type: ignore[attr-defined]
        parser.add_argument("--comment", metavar="TEXT",
                            help="Chamelio: sent as the rejection's comment (after --reason when both are given). "
                            "Lexi: NOT sent (only --reason is); kept only as a note in the local history")
        dismissers.append(parser)
    cancel = command("cancel", exit_codes.BULK, help="cancel tasks by id (Chamelio only; cannot be undone)",
                     description="Cancel Chamelio tasks that are pending or in progress: the workflow stops and "
                     "this cannot be undone. Lexi tasks cannot be cancelled: dismiss them.")
    cancel.add_argument("ids", nargs="+", metavar="ID", help=ids)
    cancel.add_argument("--comment", metavar="TEXT",
                        help="a note kept only in the local history (Chamelio's cancel takes no comment)")
    for parser in (approve, *dismissers, cancel):
        parser.add_argument("--json", action="store_true", help="print the results as JSON")

    chat = command("chat", exit_codes.CHAT, help="send Lexi a message; it may queue a task (Lexi only)",
                   description="Send Lexi a message and print its reply. Lexi either queues a task that needs "
                   "approval (`lexi-tui approve ID`), or does the work at once and says so. Each message costs "
                   "Lexi credits; with none left the API answers 402 and chat exits 10. A message is never "
                   "resent automatically: if the answer is lost, check `lexi-tui tasks` first.")
    chat.add_argument("message", nargs="+", metavar="MESSAGE", help="the message (- reads it from stdin)")
    chat.add_argument("--conversation", metavar="ID", help="continue this conversation (sent as "
                      "context.conversation_id)")
    chat.add_argument("--json", action="store_true", help="print the reply as JSON")

    watch = command(
        "watch", exit_codes.WATCH, help="apply the auto-approve/dismiss rules on every poll",
        description="Poll the pending tasks and apply the config file's [[rules]], logging each decision to "
        "stdout and the history, until Ctrl-C or SIGTERM. campaign_start is never approved unless a rule "
        "names that type.",
    )
    watch.add_argument("--rules", nargs="?", const="", required=True, metavar="FILE",
                       help="apply the [[rules]] tables of the config file (or of FILE)")
    watch.add_argument("--interval", type=_seconds, metavar="S", help="seconds between polls (default: config)")
    watch.add_argument("--dry-run", action="store_true", help="log and record what the rules would do; send nothing")
    watch.add_argument("--once", action="store_true", help="one pass, then exit")
    for parser in (tasks, approve, *dismissers, cancel, chat, watch):
        add_shared_options(parser)


def run_command(invocation: Any, request_log: Any = None) -> int:
    """Run `invocation.command` (a `lexi_tui.cli.parser.Invocation`); returns its exit code."""
    import asyncio

    from lexi_tui.cli.exit_codes import Exit
    from lexi_tui.cli.output import err

    try:
        if invocation.command == "tasks":
            return asyncio.run(_tasks(invocation, request_log))
        if invocation.command == "chat":
            return asyncio.run(_chat(invocation, request_log))
        if invocation.command == "watch":
            from lexi_tui.cli.watch import watch

            return asyncio.run(watch(invocation, request_log))
        from lexi_tui.cli.actions import act

        return asyncio.run(act(invocation, request_log))
    except KeyboardInterrupt:
        err("lexi-tui: interrupted")
        return Exit.INTERRUPTED


# -- tasks and chat -----------------------------------------------------------------------


async def _tasks(invocation: Any, request_log: Any) -> int:
    import json

    from lexi_tui.cli.exit_codes import Exit
    from lexi_tui.cli.output import err, out, task_table, terminal_width
    from lexi_tui.cli.session import Session

    args, profile = invocation.args, invocation.profile
    async with Session(profile, request_log=request_log) as session:
        if session.provider is None:
            return session.code
        caps = session.capabilities
        status = args.status or caps.views[0]
        if status not in caps.views:
            err(f"lexi-tui tasks: {status!r} is not a view of {session.info.title} (profile {profile.name!r}); "
                f"choose from {', '.join(caps.views)}.")
            return Exit.USAGE
        tasks = await session.call(lambda provider: provider.list_tasks(status))
        problems = dict(session.provider.refresh_problems) if tasks is not None else {}
    if tasks is None:
        return session.code
    for task_id, why in problems.items():  # Chamelio: a watched task that could not be read.
        err(f"lexi-tui tasks: task {task_id} could not be read, so it is not listed: {why}")
    code = Exit.PARTIAL if problems else Exit.OK
    if args.json:
        # ensure_ascii: `raw` is the server's text as received; escaping it keeps control
        # characters (ESC, C1) from reaching the terminal.
        out(json.dumps([task.raw for task in tasks], indent=2, ensure_ascii=True))
        return code
    for line in task_table(tasks, status, terminal_width(), prefixes=not caps.add_by_reference):
        out(line)
    if not tasks and caps.add_by_reference:
        err(f"({session.info.title} has no list endpoint: profile {profile.name!r} shows the tasks of its watch "
            "list, added in the app by id or URL, or by `lexi-tui webhook-listen`.)")
    return code


async def _chat(invocation: Any, request_log: Any) -> int:
    import json

    from lexi_tui.api import errors
    from lexi_tui.cli.exit_codes import Exit
    from lexi_tui.cli.output import err, out
    from lexi_tui.cli.session import QuotaExhausted, Session
    from lexi_tui.core.outcomes import Outcome, classify

    args, profile = invocation.args, invocation.profile
    message = sys.stdin.read() if args.message == ["-"] else " ".join(args.message)
    if not message.strip():
        err("lexi-tui chat: the message is empty")
        return Exit.USAGE
    title, caps = provider_capabilities()[profile.provider]
    if not caps.chat:  # Said before any key is needed.
        err(f"lexi-tui chat: {title} has no chat (profile {profile.name!r}); chat needs a Lexi profile.")
        return Exit.USAGE
    async with Session(profile, request_log=request_log) as session:
        if session.provider is None:
            return session.code
        provider = session.provider
        try:
            # A 429 is refused before Lexi reads the message, so waiting it out and sending
            # again (with_rate_limit) cannot queue a task twice. Nothing else is ever resent.
            reply = await session.with_rate_limit(lambda: provider.chat(message, args.conversation))
        except QuotaExhausted as exc:
            err(f"lexi-tui chat: {exc}")
            return Exit.QUOTA
        except errors.InsufficientCreditsError as exc:
            err(f"lexi-tui chat: {exc.message}: the workspace has no Lexi credits left, so Lexi did not read the "
                "message. Retrying cannot help until credits are added.")
            return Exit.NO_CREDITS
        except errors.LexiError as exc:
            if classify(exc) is Outcome.UNKNOWN:
                err(f"lexi-tui chat: the answer was lost ({exc}). The message may have been received, and Lexi "
                    "may have queued a task or done the work. It was not sent again: check with `lexi-tui tasks` "
                    "before sending it again.")
                return Exit.UNKNOWN
            err(f"lexi-tui chat: {session.message(exc)}")
            return session.exit_code(exc)
    done_now = not reply.requires_approval and reply.task_id is None
    if args.json:
        out(json.dumps({"response": reply.response, "task_id": reply.task_id,
                        "requires_approval": reply.requires_approval, "conversation_id": reply.conversation_id,
                        "done": done_now}, indent=2, ensure_ascii=True))
        return Exit.OK
    out(reply.response)
    if reply.task_id and reply.requires_approval:
        out(f"\nTask {reply.task_id} requires approval: lexi-tui approve {reply.task_id}")
    elif reply.task_id:
        out(f"\nTask {reply.task_id} was queued and needs no approval.")
    else:
        out("\nDone: Lexi did this at once; no task was queued and nothing needs approval.")
    if reply.conversation_id:
        out(f"Conversation {reply.conversation_id} (continue with --conversation {reply.conversation_id})")
    return Exit.OK


# -- help text read from the providers ------------------------------------------------------


def provider_capabilities() -> dict[str, tuple[str, Any]]:
    """Each provider's title and `Capabilities`, by the config's provider name (no httpx)."""
    from lexi_tui.providers import PROVIDERS

    return {kind: (info.title, info.capabilities) for kind, info in PROVIDERS.items()}


def _views_help() -> str:
    views = "; ".join(f"{title}: {', '.join(caps.views)}" for title, caps in provider_capabilities().values())
    return f"a view of the profile's provider ({views}); default: the first (the approval queue)"


def _reasons_help() -> str:
    parts = []
    for title, caps in provider_capabilities().values():
        presets = ", ".join(repr(code) for code, _ in caps.reasons)
        parts.append(f"{title}: the {caps.dismiss_label.lower()} reason, e.g. {presets}")
    return "the reason sent with it, free text (" + "; ".join(parts) + ")"


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 1 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be at least 1 second")
    return value
