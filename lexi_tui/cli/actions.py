"""`approve`, `dismiss`/`reject` and `cancel`: resolve the ids, ask where needed, send, report.

1. The ids are resolved against the server before anything is sent, so no action reaches the
   wrong task: a Lexi profile lists its approval queue once (which also checks the key, turns
   unique prefixes into ids, and gives each history line the task's type and description); a
   Chamelio profile (tasks added by reference, no list endpoint) reads each task it is given,
   by id or task URL, and an id that does not exist is reported "not found" without a write.
2. `approve` of a task whose type is in `confirm_types` asks first (`lexi_tui.cli.confirm`).
3. The actions go through `lexi_tui.core.bulk.run_bulk`: one at a time inside both rate
   limits, each classified by `core.outcomes.classify`, a lost answer settled by reading the
   task back (so the output and the history say "applied" or "not applied", never "failed" for
   an applied action), every action sent recorded in the history.
4. One line per task on stdout, then the summary; or one JSON report with `--json`.

The comment: a provider whose capabilities have `comments` (Chamelio) gets it with the
decision (a rejection's comment follows the reason); for one without (Lexi) it stays a note in
the local history.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any

from lexi_tui.api import errors
from lexi_tui.api.models import Task
from lexi_tui.cli import confirm, quota
from lexi_tui.cli.exit_codes import Exit
from lexi_tui.cli.output import err, fit, out, terminal_width
from lexi_tui.cli.session import QuotaExhausted, Session
from lexi_tui.cli.signals import StopOnSignal
from lexi_tui.core.actions import NOT_SENT, TaskResult, past
from lexi_tui.core.bulk import BulkSummary, run_bulk
from lexi_tui.core.outcomes import Outcome

PROGRESS_MIN = 5
"""Runs of this many tasks show `12/40 sent` on stderr (when stderr is a terminal)."""
MIN_PREFIX = 4

ACTIONS = {"approve": "approve", "dismiss": "dismiss", "reject": "dismiss", "cancel": "cancel"}
"""Command name -> the action sent (`reject` is Chamelio's word for dismissing)."""


class UsageProblem(Exception):
    """The ids cannot be used as given (exit 2, nothing sent)."""


async def act(invocation: Any, request_log: Any = None) -> int:
    """Run approve, dismiss, reject or cancel; returns the exit code."""
    args, profile, config = invocation.args, invocation.profile, invocation.config
    command = invocation.command
    action = ACTIONS[command]
    wanted = read_ids(args.ids)
    if not wanted:
        err(f"lexi-tui {command}: no task ids given")
        return Exit.USAGE
    from lexi_tui.providers import info

    title, caps = info(profile.provider).title, info(profile.provider).capabilities
    if action == "cancel" and not caps.cancel:  # Said before any key is needed.
        err(f"lexi-tui cancel: {title} tasks cannot be cancelled (profile {profile.name!r}); "
            f"`lexi-tui {caps.dismiss_label.lower()}` them instead.")
        return Exit.USAGE
    async with Session(profile, request_log=request_log) as session:
        if session.provider is None:
            return session.code
        caps = session.capabilities
        word = caps.dismiss_label.lower() if action == "dismiss" else action
        try:
            resolved = await resolve(session, wanted)
        except UsageProblem as exc:
            err(f"lexi-tui {command}: {exc}")
            return Exit.USAGE
        if resolved is None:
            return session.code
        to_send, held = resolved
        if action == "approve":
            to_send, asked = _confirmations(to_send, config.confirm_types, args.yes)
            held += asked
        reason, note, target = _wording(session, action, args)
        results: list[TaskResult] = list(held)
        for result in held:
            if not args.json:
                out(result_line(word, result))
        summary = await _send(session, target, to_send, action, word, reason, note, args, profile.name)
    results += summary.results
    code = exit_code(summary, results)
    if args.json:
        _json_report(action, word, summary, results, code)
    else:
        for result in summary.results:
            if result.outcome == NOT_SENT:
                out(result_line(word, result))
        out(_describe(summary, held, word))
    _say_why_it_stopped(session, summary)
    return code


# -- 1. the ids -----------------------------------------------------------------------------


def read_ids(items: Sequence[str]) -> list[str]:
    """The ids given, with `-` replaced by the ids on stdin (whitespace-separated)."""
    ids: list[str] = []
    for item in items:
        ids.extend(sys.stdin.read().split() if item == "-" else [item.strip()])
    return [task_id for task_id in ids if task_id]


async def resolve(session: Session, wanted: list[str]) -> tuple[list[Task], list[TaskResult]] | None:
    """(tasks to send, results of ids already settled: not found on reading). None when the
    server could not be asked (`session.code` says why)."""
    caps = session.capabilities
    if caps.add_by_reference and caps.reads_one_task:
        return await _read_each(session, wanted)
    queue = caps.views[0]
    pending = await session.call(lambda provider: provider.list_tasks(queue))
    if pending is None:
        return None
    # An id not in the queue is sent as given: the server says what became of it.
    return [resolve_prefix(text, pending) or Task.from_api({"id": text}) for text in wanted], []


def resolve_prefix(text: str, pending: Sequence[Task]) -> Task | None:
    """The pending task `text` names, exactly or as a unique prefix of at least 4 characters;
    None when none does. UsageProblem when it names several."""
    for task in pending:
        if task.id == text:
            return task
    matches = [task for task in pending if len(text) >= MIN_PREFIX and task.id.startswith(text)]
    if len(matches) > 1:
        shown = ", ".join(task.id for task in matches[:5])
        raise UsageProblem(f"{text!r} matches {len(matches)} pending tasks ({shown}); give more of the id")
    return matches[0] if matches else None


async def _read_each(session: Session, wanted: list[str]) -> tuple[list[Task], list[TaskResult]] | None:
    """Chamelio: each reference (id, #id or task URL) read once; ids are never prefixes there,
    since every number is a complete id of some task."""
    from lexi_tui.api.chamelio_models import parse_task_ref

    references: list[int] = []
    for text in wanted:
        try:
            number = parse_task_ref(text)
        except ValueError as exc:
            raise UsageProblem(str(exc)) from None
        if number not in references:
            references.append(number)
    provider: Any = session.provider
    tasks: list[Task] = []
    missing: list[TaskResult] = []
    for number in references:
        try:
            tasks.append(await session.with_rate_limit(lambda n=number: provider.get(str(n))))
        except errors.NotFoundError as exc:
            missing.append(TaskResult(Task.from_api({"id": str(number)}), Outcome.NOT_FOUND, exc.message,
                                      exc.request_id))
        except (QuotaExhausted, errors.LexiError) as exc:
            session.report(exc)
            return None
    return tasks, missing


# -- 2. confirmations -------------------------------------------------------------------------


def _confirmations(tasks: list[Task], confirm_types: Sequence[str], yes: bool) -> tuple[list[Task], list[TaskResult]]:
    """Ask about the tasks of `confirm_types` (all before sending any); the others go ahead."""
    if yes:
        return tasks, []
    sendable: list[Task] = []
    held: list[TaskResult] = []
    can_ask = confirm.interactive()
    for task in tasks:
        if not confirm.needs_confirmation(task, confirm_types):
            sendable.append(task)
        elif not can_ask:
            held.append(TaskResult(task, NOT_SENT, confirm.NEEDS_YES.format(type=task.type), action="approve"))
        elif confirm.ask(task):
            sendable.append(task)
        else:
            held.append(TaskResult(task, NOT_SENT, confirm.DECLINED, action="approve"))
    return sendable, held


# -- 3. sending -----------------------------------------------------------------------------


class _WithComment:
    """The provider, with `comment` sent along with every approval (for providers whose
    capabilities have `comments`; the bulk engine sends approvals without one)."""

    def __init__(self, provider: Any, comment: str) -> None:
        self._provider, self._comment = provider, comment

    def __getattr__(self, name: str) -> Any:
        return getattr(self._provider, name)

    async def approve(self, task_id: str, *, comment: str | None = None,
                      variables: list[dict[str, Any]] | None = None) -> None:
        await self._provider.approve(task_id, comment=comment or self._comment, variables=variables)


def _wording(session: Session, action: str, args: Any) -> tuple[str | None, str | None, Any]:
    """(reason sent, note for the history, target to send through) for `args`."""
    provider = session.provider
    comment = getattr(args, "comment", None) or None
    reason = getattr(args, "reason", None) or None
    if not session.capabilities.comments or action == "cancel":
        return reason, comment, provider  # The comment is a local note only.
    if action == "dismiss":
        text = f"{reason}: {comment}" if reason and comment else reason or comment
        return text, None, provider
    return None, None, _WithComment(provider, comment) if comment else provider


async def _send(session: Session, target: Any, tasks: list[Task], action: str, word: str, reason: str | None,
                note: str | None, args: Any, profile: str) -> BulkSummary:
    live = len(tasks) >= PROGRESS_MIN and sys.stderr.isatty() and (args.json or not sys.stdout.isatty())

    def show(result: TaskResult) -> None:
        if not args.json:
            out(result_line(word, result))

    def progress(done: int, total: int, task: Task, outcome: str) -> None:
        if live:
            print(f"\r{done}/{total} sent", end="\n" if done == total else "", file=sys.stderr, flush=True)

    def announce(seconds: float) -> None:
        err(f"Waiting {seconds:.0f} s for the rate limit to reset…")

    cancel = asyncio.Event()
    with StopOnSignal(cancel):
        return await run_bulk(target, tasks, action, reason=reason, comment=note, source="cli", profile=profile,
                              on_result=show, on_progress=progress, on_wait=announce, cancel=cancel)


# -- 4. the report ----------------------------------------------------------------------------


def label(word: str, result: TaskResult) -> str:
    """"approved", "rejected", "already handled", "not found", "not applied", "not sent"..."""
    if result.outcome == Outcome.APPLIED:
        return past(word)
    if result.outcome == Outcome.FAILED and result.settled:
        return "not applied"
    return str(result.outcome).replace("_", " ")


def result_line(word: str, result: TaskResult) -> str:
    name = label(word, result)
    if result.detail:  # An error is shown in full; a description is cut to fit the line.
        return f"{name:<16}{result.task.id}  {result.detail}"
    room = max(20, terminal_width() - 18 - len(result.task.id))
    return f"{name:<16}{result.task.id}  {fit(result.task.description, room)}"


def _describe(summary: BulkSummary, held: list[TaskResult], word: str) -> str:
    """The engine's summary (each task was listed above, so failures are counted, not
    repeated), over every id given: the tasks held back (needing confirmation) or found
    missing before sending count in the total too."""
    combined = BulkSummary(action=summary.action)
    for result in [*held, *summary.results]:
        combined.add(result)
    held_back = [r for r in held if r.outcome == NOT_SENT]
    for result in held_back:  # Said below in its own words, not as "not sent because cancelled".
        combined.not_sent.remove(result.task)
    for name in ("stop", "cancelled", "waited", "unrecorded", "history_error"):
        setattr(combined, name, getattr(summary, name))
    text = combined.describe(itemise=False, verb=word)
    if held_back:
        n = len(held_back)
        text += (f" {n} {'was' if n == 1 else 'were'} not sent: {'it needs' if n == 1 else 'they need'} "
                 "confirmation (on a terminal you are asked; elsewhere add --yes).")
    return text


def exit_code(summary: BulkSummary, results: Sequence[TaskResult]) -> Exit:
    """One code for the run (see `exit_codes.MEANINGS`). A run that stopped early for a reason
    the person must act on (key, quota, credits, server unreachable, a lost answer) says that
    reason even when some tasks were applied; the output lists which."""
    stopped = summary.stopped_by
    if stopped is not None:
        if isinstance(stopped, (errors.InvalidKeyError, errors.PermissionDeniedError)):
            return Exit.AUTH
        if isinstance(stopped, errors.InsufficientCreditsError):
            return Exit.NO_CREDITS
    if summary.quota_resets_at is not None:
        return Exit.QUOTA
    if isinstance(stopped, (errors.ConnectError, errors.TLSError)):
        return Exit.UNAVAILABLE
    outcomes = [str(r.outcome) for r in results]
    if Outcome.UNKNOWN in outcomes:
        return Exit.UNKNOWN
    applied = outcomes.count(Outcome.APPLIED)
    if results and applied == len(results):
        return Exit.OK
    if applied:
        return Exit.PARTIAL
    if any(o in (Outcome.FAILED, NOT_SENT) for o in outcomes):
        if isinstance(stopped, errors.TransportError):
            return Exit.UNAVAILABLE
        return Exit.FAILED
    if outcomes and all(o == Outcome.NOT_FOUND for o in outcomes):
        return Exit.NOT_FOUND
    return Exit.ALREADY_HANDLED


def _json_report(action: str, word: str, summary: BulkSummary, results: list[TaskResult], code: Exit) -> None:
    rows = [{"id": r.task.id, "type": str(r.task.type), "description": r.task.description,
             "outcome": str(r.outcome), "label": label(word, r), "detail": r.detail, "request_id": r.request_id,
             "settled": r.settled} for r in results]
    counts = {name: sum(1 for r in results if str(r.outcome) == outcome) for name, outcome in (
        ("succeeded", Outcome.APPLIED), ("failed", Outcome.FAILED), ("already_handled", Outcome.ALREADY_HANDLED),
        ("not_found", Outcome.NOT_FOUND), ("unknown", Outcome.UNKNOWN), ("not_sent", NOT_SENT))}
    out(json.dumps({"action": action, "results": rows, **counts, "summary": summary.describe(verb=word),
                    "exit_code": int(code)}, indent=2, ensure_ascii=True))


def _say_why_it_stopped(session: Session, summary: BulkSummary) -> None:
    stopped = summary.stopped_by
    if summary.quota_resets_at is not None:
        err(f"lexi-tui: {quota.describe_daily(quota.Reading(True, reset_at=summary.quota_resets_at))}")
    elif isinstance(stopped, (errors.InvalidKeyError, errors.PermissionDeniedError)):
        err(f"lexi-tui: {session.message(stopped)}")
