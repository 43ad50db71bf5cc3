"""Approve, dismiss and cancel from the keyboard: one policy on every path, journalled.

Every action a person takes goes the same way, whatever started it (a key, the dismiss
dialog, the approval form, cancel, the quit dialog's "send now"):

1. `begin`: the task is marked in flight (a second press sends nothing), the cursor moves on,
   the row says "approving in 5s";
2. `hold` (disk thread): the history is checked (`audit.preflight`) and the action is written
   to the profile's journal as "held" (`HeldJournal.hold`). When either cannot be written the
   action is not held, the row's label goes and the person is told why;
3. its undo window runs (`u` takes it back: released from the journal, nothing sent); the row
   counts down, one 1 s timer for all rows while something is held; the windows stop while the
   quit dialog is open;
4. `send`: the history is checked again, the journal marks it "sending" (before the request),
   `core.actions.perform` sends it and classifies the answer (a lost answer is settled by
   reading the task back, never resent), `core.audit.record` writes the history line and the
   journal releases it (both in the app's disk thread, in that order);
5. the row, the list and one toast say what happened (`ActionToasts` gathers a burst into one).

With `undo_window = 0` step 3 is skipped, not steps 2 and 4. A held action whose task left the
queue before its window closed (handled elsewhere) is not sent, and that is said and recorded.
Bulk runs and the rules send through `core.bulk` via `JournalledTarget`, so they are journalled
the same way. At start, what an earlier session left in the journal is reported: "held" ones
were never sent, "sending" ones are read from the server. A second lexi-tui on the same
profile runs read-only: no action at all, and a line on screen says why.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from rich.text import Text
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.widgets import Label

from lexi_tui.api import errors
from lexi_tui.api.errors import InvalidKeyError, LexiError, RateLimitedError
from lexi_tui.api.models import Task, TaskStatus
from lexi_tui.api.text import clean, show_id
from lexi_tui.core import audit
from lexi_tui.core.actions import NOT_SENT, TaskResult, past, perform
from lexi_tui.core.journal import AlreadyHeld, HeldAction, HeldJournal, JournalReadOnly, due_in
from lexi_tui.core.outcomes import LOST_HINT, NOT_FOUND_TEXT, Outcome, settle
from lexi_tui.ui.dialogs.confirm_dialog import ConfirmDialog
from lexi_tui.ui.dialogs.dismiss_dialog import DismissDialog, MaybeApplied, NotSent
from lexi_tui.ui.main.state import Held

if TYPE_CHECKING:
    from lexi_tui.api.ratelimit import RateLimit
    from lexi_tui.core.budget import Estimate
    from lexi_tui.core.bulk import BulkSummary
    from lexi_tui.providers.base import Provider
    from lexi_tui.ui.main.screen import MainScreen

T = TypeVar("T")

SHOWN = 60
"""Characters of a task's description shown in a toast or a dialog line."""
READ_ONLY_KEYS = ("task.approve", "task.dismiss", "task.undo", "task.cancel", "rules.pause")
"""Binding ids greyed out (with the reason as their tooltip) when the app runs read-only."""
SOONEST = 0.001
"""The shortest delay given to `set_timer`: Textual's one-shot timer divides by its delay when
it starts late, so `set_timer(0, ...)` dies (ZeroDivisionError inside the timer's task) and its
callback never runs: a toast burst longer than `ActionToasts.LONGEST` was never shown, and an
undo window resumed with nothing left was never sent."""

SETTLE_RETRIES = (30.0, 120.0, 600.0)
"""Seconds before trying again to read the tasks of a leftover "sending" action that could
not be read at start (offline): three more tries, then it is left for the next start."""


def summary(task: Task) -> str:
    """A task in one line: its description, or its type and (display) id."""
    return task.description or f"{task.type} {task.display_id}"


def name(task: Task, width: int = SHOWN) -> str:
    """`summary` cleaned to one line and clipped, for a toast or a list in a dialog."""
    text = clean(summary(task), multiline=False)
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def progressive(word: str) -> str:
    """`approve` → `approving`, `reject` → `rejecting`, `cancel` → `cancelling`."""
    if word == "cancel":
        return "cancelling"
    return (word[:-1] if word.endswith("e") else word) + "ing"


def task_of(action: HeldAction) -> Task:
    """The task a journalled action was for, as far as the journal knows it (id, type,
    description, its status then): enough to read it back and to write its history line."""
    return Task.from_api({"id": action.task_id, "type": action.task_type, "status": action.before,
                          "description": action.description})


def not_sent_line(profile: str, task: Task, verb: str, reason: str | None, detail: str) -> None:
    """Write the history line of an action that was never sent. Disk I/O (the disk thread)."""
    audit.record(profile, task, verb, NOT_SENT, reason=reason, detail=detail, source="manual")


def refusal(problem: BaseException, task_id: str | None = None) -> str:
    """Why an action could not be held or sent, for a person (the journal's and the history's
    own sentences name the folder and the cause)."""
    if isinstance(problem, AlreadyHeld):
        who = f"task {show_id(task_id)}" if task_id else "this task"
        return (f"an earlier action on {who} is still waiting or being checked with the server "
                "(from this session or the last one); wait for its outcome")
    if isinstance(problem, JournalReadOnly):
        return str(problem)
    return audit.reason_text(problem) if not str(problem).startswith("The ") else str(problem)


@dataclass(frozen=True)
class Toast:
    """One action's outcome, as a toast or as a line of a gathered one."""

    title: str
    message: str
    severity: SeverityLevel = "information"
    done: str = ""
    """The outcome in one word for a gathered toast ("approved", "dismissed", "undone"); empty
    for a failure, which is named there instead."""
    task: str = ""
    """The task's name, for a gathered toast's list of failures."""
    error: LexiError | None = None
    """A failure told by `handle_api_error` when it is alone (rate-limit advice, the login)."""


class ActionToasts:
    """Toasts for action outcomes that do not pile up.

    The first outcome after a quiet spell is shown at once; those that follow within `QUIET`
    seconds are gathered and shown as one toast (counts, and the failures named) once no
    more has come for `GATHER` seconds, or `LONGEST` seconds after the first of them.
    """

    QUIET = 1.5
    GATHER = 0.6
    LONGEST = 3.0
    SHOWN_FAILURES = 3

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self.pending: list[Toast] = []
        self.shown_at = -math.inf
        self.first_at = 0.0
        self._timer: Any = None

    def add(self, toast: Toast) -> None:
        now = time.monotonic()
        if toast.error is not None and isinstance(toast.error, InvalidKeyError):
            self.screen.lexi.handle_api_error(toast.error, report=False)  # The login screen: at once.
            return
        if not self.pending and now - self.shown_at >= self.QUIET:
            self.shown_at = now
            self._show(toast)
            return
        if not self.pending:
            self.first_at = now
        self.pending.append(toast)
        if self._timer is not None:
            self._timer.stop()
        wait = max(SOONEST, min(self.GATHER, self.first_at + self.LONGEST - now))
        self._timer = self.screen.set_timer(wait, self.flush)

    def flush(self) -> None:
        """Show what was gathered: one toast."""
        self._timer = None
        gathered, self.pending = self.pending, []
        if not gathered:
            return
        self.shown_at = time.monotonic()
        if len(gathered) == 1:
            self._show(gathered[0])
            return
        counts = Counter(toast.done for toast in gathered if toast.done)
        failures = [toast for toast in gathered if not toast.done]
        parts = [f"{count} {done}" for done, count in counts.items()]
        if failures:
            parts.append(f"{len(failures)} not done")
        lines = [f"✘ {toast.task or toast.title}: {toast.title}" for toast in failures[: self.SHOWN_FAILURES]]
        if len(failures) > self.SHOWN_FAILURES:
            lines.append(f"and {len(failures) - self.SHOWN_FAILURES} more (the rows say which)")
        self.screen.notify("\n".join(lines) or "The rows show each task.", title=", ".join(parts),
                           severity="warning" if failures else "information", timeout=6 if failures else 4,
                           markup=False)

    def _show(self, toast: Toast) -> None:
        if toast.error is not None:
            self.screen.lexi.handle_api_error(toast.error, title=toast.title, report=False)
            return
        timeout = 10 if toast.severity != "information" else 4
        self.screen.notify(toast.message, title=toast.title, severity=toast.severity, timeout=timeout, markup=False)


class JournalledTarget:
    """The screen's provider as an `ActionTarget` whose every send is journalled first.

    Bulk runs and the rule runner send through `core.bulk.Sender`, which has no hook before a
    request: this target is that hook. Its `approve`, `dismiss` and `cancel` hold the action in
    the journal and mark it "sending" (in the disk thread) just before the request; the caller
    calls `settled(task_id)` once the result is recorded (`run_bulk`'s `on_result`, the rule
    runner's `on_result`), which releases it. A journal that cannot be written refuses the send
    with a `LexiError` (outcome "failed": nothing was sent) and sets `stop` when given, so a run
    stops before its next task. The provider is read from the screen at each call, so a new key
    after a 401 is used at once.
    """

    def __init__(self, part: TriageActions, stop: asyncio.Event | None = None) -> None:
        self.part = part
        self.stop = stop
        self.tasks: dict[str, Task] = {}
        self.action_ids: dict[str, str] = {}
        self.problem: str | None = None
        """Why the journal refused a send (the last time it did), for a summary."""

    @property
    def provider(self) -> Provider:
        return self.part.screen.provider

    def register(self, tasks: Iterable[Task]) -> None:
        """Tasks this target may be asked to act on (the journal records their type and text)."""
        for task in tasks:
            self.tasks[task.id] = task

    @property
    def rate_limit(self) -> RateLimit | None:
        return self.provider.rate_limit

    @property
    def last_request_id(self) -> str | None:
        return self.provider.last_request_id

    async def approve(self, task_id: str, *, comment: str | None = None,
                      variables: list[dict[str, Any]] | None = None) -> None:
        await self._journal(task_id, "approve", None)
        if comment or variables:
            await self.provider.approve(task_id, comment=comment, variables=variables)
        else:
            await self.provider.approve(task_id)

    async def dismiss(self, task_id: str, reason: str | None = None) -> None:
        await self._journal(task_id, "dismiss", reason)
        await self.provider.dismiss(task_id, reason)

    async def cancel(self, task_id: str) -> None:
        await self._journal(task_id, "cancel", None)
        await self.provider.cancel(task_id)

    async def status_of(self, task: Task, *, action: str | None = None) -> str | None:
        return await self.provider.status_of(task, action=action)

    def settled(self, task_id: str) -> None:
        """The task's result is recorded: the journal releases its action."""
        action_id = self.action_ids.pop(task_id, None)
        if action_id is not None:
            self.part.release(action_id)

    def settled_result(self, result: TaskResult) -> None:
        """`settled` for `run_bulk`'s `on_result`."""
        self.settled(result.task.id)

    async def _journal(self, task_id: str, verb: str, reason: str | None) -> None:
        task = self.tasks.get(task_id)
        if task is None:
            raise errors.LexiError(f"not sent: task {show_id(task_id)} is not part of this run", code="not_sent")
        journal = self.part.journal
        action = HeldAction(task.id, str(task.type), task.description, verb, reason, time.time(),
                            before=str(task.status))
        try:
            stored = await self.part.disk(journal.hold, action)
            self.action_ids[task_id] = stored.action_id
            await self.part.disk(journal.mark_sending, stored.action_id)
        except (OSError, JournalReadOnly, AlreadyHeld) as problem:
            held = self.action_ids.pop(task_id, None)
            if held is not None:
                self.part.release(held)
            self.problem = refusal(problem, task_id)
            if self.stop is not None and not isinstance(problem, AlreadyHeld):
                self.stop.set()  # Every further send would be refused the same way.
            raise errors.LexiError(f"not sent: {self.problem}", code="not_sent") from problem


class TriageActions:
    """The approve/dismiss/undo/bulk part of the triage screen (see the module docstring)."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self.state = screen.state
        self.toasts = ActionToasts(screen)
        self._settle_tries = 0
        self._sent_now: dict[str, Held] = {}
        """Task id -> the action the quit dialog sent now (to send it again if it failed)."""

    # -- the journal, the history, the disk thread -------------------------------------------

    @property
    def journal(self) -> HeldJournal:
        return self.screen.journal

    @property
    def read_only(self) -> bool:
        """Another lexi-tui has this profile: this one takes no action at all."""
        return self.journal.is_read_only

    @property
    def profile(self) -> str:
        return self.screen.lexi.settings.profile

    async def disk(self, call: Callable[..., T], *args: Any) -> T:
        """Run `call(*args)` in the app's disk thread (in order with every other local write)
        and return its result; its exception is raised here."""
        future = self.screen.lexi.write_in_background(call, *args, what="local files", report=False)
        result: T = await asyncio.wrap_future(future)
        return result

    def release(self, action_id: str) -> None:
        """The journal forgets the action (disk thread; `release` never raises for the file)."""
        self.screen.lexi.write_in_background(self.journal.release, action_id, what="the undo journal")

    def record(self, result: TaskResult, *, reason: str | None, note: str | None, source: str = "manual") -> None:
        """The history line of an action that was sent (`audit.record`, in the disk thread)."""
        if result.outcome == NOT_SENT:
            return
        self.screen.lexi.write_in_background(
            partial(audit.record, self.profile, result.task, result.action, result.outcome, reason=reason,
                    comment=note, error=result.error, detail=result.detail, request_id=result.request_id,
                    source=source),
            what="the history",
        )

    def record_not_sent(self, task: Task, verb: str, reason: str | None, detail: str) -> None:
        """The history line of an action that was held and never sent (`not_sent_line`)."""
        self.screen.lexi.write_in_background(not_sent_line, self.profile, task, verb, reason, detail,
                                             what="the history")

    def word_for(self, verb: str) -> str:
        """The verb as the person reads it: the provider's word for dismissing ("reject" for
        Chamelio). The history keeps the action's own value (`approve`/`dismiss`)."""
        return self.screen.capabilities.dismiss_label.lower() if verb == "dismiss" else verb

    # -- at start: read-only, or what the last session left ----------------------------------

    def report_leftovers(self) -> None:
        """Called once the screen is mounted: say that this instance is read-only, or report
        (and settle) what an earlier session left in the journal."""
        if self.read_only:
            self._show_read_only()
            return
        self.screen.run_worker(self._leftovers(), group="leftovers")

    def _show_read_only(self) -> None:
        screen = self.screen
        reason = self.journal.read_only_reason or "another lexi-tui has this profile open"
        text = f"Read-only: {reason}. Approve, dismiss, bulk, rules and undo are off here."
        line = Label(Text(text), variant="warning", markup=False, id="read-only")
        line.styles.width = "100%"  # Wraps at 80 columns instead of cutting the reason off.
        line.styles.height = "auto"
        screen.query_one("#list-pane").mount(line, before=0)
        if screen.rules.rules:
            screen.status_bar.rules = "off (read-only)"
        table = screen._bindings.key_to_bindings  # As `MainScreen.relabel_bindings` does.
        for key, bindings in table.items():
            table[key] = relabelled(bindings, reason)
        screen.refresh_bindings()

    def read_only_refusal(self) -> None:
        """A key that acts was pressed (through the palette or the chat) in a read-only app."""
        self.screen.notify(f"Nothing was sent: {self.journal.read_only_reason}.", title="Read-only",
                           severity="warning", timeout=6, markup=False)

    async def _leftovers(self) -> None:
        journal = self.journal
        leftovers = await self.disk(journal.leftovers)
        if leftovers.problem is not None:
            self.screen.notify(str(leftovers.problem), title="The undo journal was damaged", severity="error",
                               timeout=30, markup=False)
        held = leftovers.held
        if held:
            for action in held:
                self.record_not_sent(task_of(action), action.verb, action.reason,
                                     "it was waiting in its undo window when lexi-tui stopped; it was never sent")
                self.release(action.action_id)
            lines = "\n".join(f"{self.word_for(a.verb)}: {name(task_of(a))}" for a in held[:5])
            more = f"\n… and {len(held) - 5} more (see the history, h)" if len(held) > 5 else ""
            self.screen.notify(
                f"{len(held)} action(s) waiting in their undo window when lexi-tui last stopped were NOT sent:\n"
                f"{lines}{more}\nAct again if you still want them.",
                title="Not sent", severity="warning", timeout=20, markup=False,
            )
        if leftovers.sending:
            await self._settle_leftovers(leftovers.sending)

    async def _settle_leftovers(self, sending: Sequence[HeldAction]) -> None:
        """Read from the server what became of actions an earlier session was sending when it
        stopped, tell the person per task, record it, release them. Those that cannot be read
        now stay in the journal (their tasks cannot be acted on meanwhile) and are tried again."""
        lines: list[str] = []
        unread: list[HeldAction] = []
        settled_any = False
        for action in sending:
            task = task_of(action)
            word = self.word_for(action.verb)
            sent = time.strftime("%H:%M", time.localtime(action.sent_at)) if action.sent_at else "?"
            try:
                status = await self.screen.provider.status_of(task, action=action.verb)
            except LexiError as error:
                unread.append(action)
                lines.append(f"? {word} {name(task, 50)}: could not be read ({clean(error.message, multiline=False)}); "
                             f"{LOST_HINT}")
                continue
            outcome = settle(action.verb, status, before=action.before)
            where = "no longer exists (or this key cannot see it)" if status is None else f"is now {status.replace('_', ' ')}"
            meaning = {
                Outcome.APPLIED: f"{past(word)}",
                Outcome.FAILED: "not applied; act again if you still want it",
                Outcome.ALREADY_HANDLED: "not by this action: it was handled elsewhere",
                Outcome.NOT_FOUND: "not found",
            }[outcome]
            detail = (f"sent at {sent} by the lexi-tui session that stopped; its answer was never seen. "
                      f"Read back at start, the task {where}: {meaning}")
            self.record(TaskResult(task, outcome, detail, action=action.verb), reason=action.reason, note=None)
            self.release(action.action_id)
            settled_any = True
            mark = "✔" if outcome is Outcome.APPLIED else "✘" if outcome is Outcome.FAILED else "•"
            lines.append(f"{mark} {word} {name(task, 50)}: {meaning}")
        self.screen.notify("\n".join(lines), title="Sent when lexi-tui last stopped: read back from the server",
                           severity="warning" if unread else "information", timeout=30, markup=False)
        if unread and self._settle_tries < len(SETTLE_RETRIES):
            delay = SETTLE_RETRIES[self._settle_tries]
            self._settle_tries += 1
            self.screen.set_timer(delay, lambda: self.screen.run_worker(self._settle_leftovers(unread),
                                                                         group="leftovers"))
        if settled_any and not self.state.refreshing:
            self.screen.refresher.run()  # What was applied leaves the queue.

    # -- bulk ------------------------------------------------------------------------------

    def bulk_dismiss(self) -> None:
        """Choose one reason for all marked tasks, then confirm and run."""
        screen = self.screen
        if self.read_only:
            self.read_only_refusal()
            return
        marked = screen.table.marked_tasks()
        stand_in = Task.from_api({"id": "", "type": "bulk", "status": "pending", "description": f"{len(marked)} marked tasks"})

        async def choose(reason: str | None) -> None:
            return None  # Nothing is sent from the dialog: the bulk run sends.

        def chosen(reason: str | None) -> None:
            if reason is not None:
                self.bulk("dismiss", reason)

        caps = screen.capabilities
        screen.app.push_screen(DismissDialog(stand_in, choose, reasons=caps.reasons, verb=caps.dismiss_label), chosen)

    def bulk(self, action: str, reason: str | None) -> None:
        """Confirm, then send `action` for every marked task not already in flight."""
        screen, state = self.screen, self.state
        if self.read_only:
            self.read_only_refusal()
            return
        tasks = [task for task in screen.table.marked_tasks() if task.id not in state.inflight]
        if not tasks:
            return
        if action == "approve" and screen.capabilities.variables:
            # Each approval step may have variables to review: never send them unseen. Each
            # task's form opens in turn (see `FormApprovals.approve_in_turn`).
            screen.forms.approve_in_turn(tasks)
            return
        label = "Approve" if action == "approve" else screen.capabilities.dismiss_label
        for task in tasks:
            state.inflight[task.id] = action
        cancel = asyncio.Event()
        target = JournalledTarget(self, stop=cancel)
        target.register(tasks)

        def finished(result: BulkSummary | None) -> None:
            for task in tasks:
                state.inflight.pop(task.id, None)
            screen.refresh_bindings()
            if result is None:
                return
            done = [*result.succeeded, *result.already_handled, *result.not_found]
            for task in done:
                screen.drop_task(task.id)
            keep = [task.id for task, _ in result.failed] + [task.id for task, _ in result.unknown]
            screen.table.set_marks([*keep, *(task.id for task in result.not_sent)])  # Retrying is one key.
            if action == "approve":
                for task in result.succeeded:
                    self.follow(task)
            self._bulk_toast(result, label)

        from lexi_tui.core.bulk import calls_needed
        from lexi_tui.ui.dialogs.bulk_dialog import BulkDialog  # ~12 ms of imports, off the start path.

        dialog = BulkDialog(tasks, action, reason=reason, label=label, profile=self.profile, target=target,
                            on_result=target.settled_result, estimate=self.estimate(calls_needed(tasks)),
                            cancel=cancel, stopped_because=lambda: target.problem)
        screen.app.push_screen(dialog, finished)

    def _bulk_toast(self, result: BulkSummary, label: str) -> None:
        """One toast for the whole run: the count, and the failures named."""
        word = past(label.lower())
        problems = [(task, message) for task, message in result.failed] + [
            (task, "may have been applied") for task, _ in result.unknown]
        lines = [f"✘ {name(task, 40)}: {clean(message, multiline=False)[:80]}" for task, message in problems[:3]]
        if len(problems) > 3:
            lines.append(f"and {len(problems) - 3} more (still marked)")
        if result.not_sent:
            lines.append(f"{len(result.not_sent)} not sent (still marked)")
        self.screen.notify("\n".join(lines) or "Every marked task was handled.",
                           title=f"Bulk {label.lower()}: {len(result.succeeded)} of {result.total} {word}",
                           severity="warning" if problems or result.not_sent else "information",
                           timeout=8 if problems else 4, markup=False)

    def estimate(self, calls: int) -> Estimate:
        """What `calls` calls cost of today's quota and how long they take (for the bulk dialog):
        live refresh's planner, which has seen every answer of the day; before it runs, a planner
        that has seen only the latest rate-limit headers."""
        found = self.screen.refresher.estimate(calls)
        if found is not None:
            return found
        from lexi_tui.core.budget import Planner

        planner = Planner(self.screen.budget.interval)
        rate = self.screen.provider.rate_limit
        if rate is not None:
            planner.record(200, rate, background=False)
        return planner.estimate(calls)

    # -- one task: the keys ------------------------------------------------------------------

    def approve(self, task: Task) -> None:
        """Approve `task`: confirm first for risky types, then hold or send."""
        screen = self.screen
        if self.read_only:
            self.read_only_refusal()
            return
        if task.id in self.state.inflight:
            screen.notify("An action for this task is already on its way.", timeout=2, markup=False)
            return
        if task.status != TaskStatus.PENDING:
            screen.notify(f"Only pending tasks can be approved; this one is {task.status}.", severity="warning",
                          markup=False)
            return
        if str(task.type) in screen.confirm_types:
            screen.app.push_screen(ConfirmDialog("Approve this task?", self._confirm_body(task), yes_label="Approve",
                                                 no_label="Keep it"),
                                   lambda yes: self.start(task, "approve", None) if yes else None)
            return
        self.start(task, "approve", None)

    def _confirm_body(self, task: Task) -> Text:
        """What approving a confirm type does, in words that are true for this undo window."""
        metadata = task.metadata if isinstance(task.metadata, dict) else {}
        count = metadata.get("contact_count")
        who = (f"This contacts {count:,} real people" if isinstance(count, int) and not isinstance(count, bool)
               else "This contacts real people")
        window = self.screen.undo_window
        when = (f"It is sent in {window:g} s; u takes it back until then. Once sent, it cannot be undone."
                if window > 0 else "It is sent at once, and once sent it cannot be undone.")
        return Text.assemble((f"{task.type}", "bold"), f": {summary(task)}\n\n{who}. {when}\n\nApprove it?")

    def dismiss_with_dialog(self, task: Task) -> None:
        """Ask for a reason; with an undo window the dismissal is held, else sent from the dialog
        (which stays open, with the text, when it was not applied)."""
        screen = self.screen
        if self.read_only:
            self.read_only_refusal()
            return
        if task.id in self.state.inflight:
            screen.notify("An action for this task is already on its way.", timeout=2, markup=False)
            return

        async def send(reason: str | None) -> None:
            await self.dismiss_from_dialog(task, reason)

        caps = screen.capabilities
        dialog = DismissDialog(task, send, reasons=caps.reasons, verb=caps.dismiss_label)
        screen.app.push_screen(dialog)
        previous = self.state.last_reasons.get(task.id)
        if previous:
            dialog.prefill(previous)

    async def dismiss_from_dialog(self, task: Task, reason: str | None) -> None:
        """The dismiss dialog's send: hold it (undo window), or send it now and raise what the
        dialog must show: `NotSent` (nothing left the machine), a `LexiError` (refused: it may
        be retried), `MaybeApplied` (the answer was lost and the task could not be read back)."""
        window = self.screen.undo_window
        if task.id in self.state.inflight:
            raise NotSent("an action for this task is already on its way")
        held = self.begin(task, "dismiss", reason, window=window, advance=window > 0)
        await self.hold(held)  # NotSent propagates: the dialog keeps the text and says why.
        if window > 0:
            self._armed(held)
            return
        result = await self._send_and_show(held, from_dialog=True)
        word = self.word_for("dismiss")
        if result.outcome == NOT_SENT:
            raise NotSent(result.detail or "nothing was sent")
        if result.outcome == Outcome.UNKNOWN:
            raise MaybeApplied(f"The answer was lost and the task could not be read back: it may have been "
                               f"{past(word)}.")
        if result.outcome == Outcome.FAILED:
            if result.error is not None:
                if isinstance(result.error, (InvalidKeyError, RateLimitedError)):
                    self.screen.lexi.handle_api_error(result.error, report=False)
                raise result.error
            raise NotSent(result.detail or "not applied")

    def start(self, task: Task, verb: str, reason: str | None) -> None:
        """A key press: hold the action for the undo window (or send it at once without one)."""
        if task.id in self.state.inflight or self.read_only:
            return
        window = self.screen.undo_window
        held = self.begin(task, verb, reason, window=window)
        self.screen.run_worker(self._hold_then_send(held, window), group="actions")

    async def _hold_then_send(self, held: Held, window: float) -> None:
        try:
            await self.hold(held)
        except NotSent as why:
            self.toasts.add(Toast(f"Not {past(self.word_for(held.action.verb))}: nothing was sent",
                                  f"{name(held.task)}: {why}", "warning", task=name(held.task, 40)))
            return
        if window > 0:
            self._armed(held)
        else:
            await self._send_and_show(held)

    def _armed(self, held: Held) -> None:
        """The hold is written: start its window, unless it was undone meanwhile."""
        if held.undone:
            self.release(held.action.action_id)
            return
        if not self.state.windows_paused:
            self.arm(held)
        else:
            self._label(held)  # "(paused)": the quit dialog is open.
        if self._quiet_otherwise(held.task):
            # No clock time or seconds here: the windows pause (the quit dialog) and the toast
            # cannot follow; the row counts down instead.
            self.screen.notify(f"{summary(held.task)}\nIts row counts down the seconds left.",
                               title=f"{held.label.title()}: u takes it back until it is sent",
                               timeout=held.remaining, markup=False)
        self.screen.refresh_bindings()

    def _quiet_otherwise(self, task: Task) -> bool:
        """Nothing but `task` is held or in flight. In a burst of key presses the rows and the
        status bar's "N to send" already say what is happening; a toast per key would pile up
        (hundreds while clearing a queue, each one re-laid out: the longest stalls measured)."""
        return all(task_id == task.id for task_id in self.state.inflight) and all(
            held.task.id == task.id for held in self.state.held.values())

    # -- the pipeline: begin, hold, (window), send ---------------------------------------------

    def begin(self, task: Task, verb: str, reason: str | None, *, window: float, advance: bool = True,
              comment: str | None = None, variables: list[dict[str, str]] | None = None,
              note: str | None = None) -> Held:
        """Mark the action on its way before anything is awaited: in flight, the cursor moved
        on, the row's label; with a window, it is waiting (undo can take it back at once)."""
        state = self.state
        state.inflight[task.id] = verb
        if advance:
            self._advance_from(task)
        label = progressive(self.word_for(verb))
        action = HeldAction(task.id, str(task.type), task.description, verb, reason, due_in(max(window, 0.0)),
                            before=str(task.status))
        held = Held(action, task, label, comment=comment, variables=variables, note=note, remaining=max(window, 0.0))
        if window > 0:
            state.held[action.action_id] = held
            self.show_held()
            self.screen.table.mark_busy(task.id, f"{label} in {math.ceil(window)}s")
        else:
            self.screen.table.mark_busy(task.id, f"{label}…")
        self.screen.refresh_bindings()
        return held

    async def hold(self, held: Held) -> None:
        """Check the history and write the hold to the journal (disk thread). Raises `NotSent`
        (and forgets the action: row, in flight, waiting) when either cannot be written."""
        try:
            await self.disk(audit.preflight)
            held.action = await self.disk(self.journal.hold, held.action)
        except (OSError, JournalReadOnly, AlreadyHeld, ValueError) as problem:
            self._abandon(held)
            raise NotSent(refusal(problem, held.task.id)) from problem
        held.journalled = True

    def _abandon(self, held: Held) -> None:
        """The action will not be sent: nothing of it stays on screen or in flight."""
        state, table = self.state, self.screen.table
        state.held.pop(held.action.action_id, None)
        timer = state.hold_timers.pop(held.action.action_id, None)
        if timer is not None:
            timer.stop()
        state.inflight.pop(held.task.id, None)
        table.mark_busy(held.task.id, None)
        self._return_to(held.task)
        self.show_held()
        self._countdown_check()
        self.screen.refresh_bindings()

    async def send(self, held: Held) -> TaskResult:
        """Send a journalled action now and say what happened (never raises for the API).

        The history is checked again and the journal marks it "sending" first (when either
        cannot be written: NOT_SENT, released); `perform` sends and settles; the history line
        and the journal's release follow in the disk thread.
        """
        task, verb, action_id = held.task, held.action.verb, held.action.action_id
        try:
            await self.disk(audit.preflight)
            await self.disk(self.journal.mark_sending, action_id)
        except (OSError, KeyError, JournalReadOnly) as problem:
            self.release(action_id)
            return TaskResult(task, NOT_SENT, refusal(problem, task.id), action=verb)
        result = await perform(self.screen.provider, task, verb, reason=held.action.reason, comment=held.comment,
                               variables=held.variables)
        self.report(result)
        self.record(result, reason=held.action.reason if verb == "dismiss" else None, note=held.note)
        self.release(action_id)
        return result

    def report(self, result: TaskResult) -> None:
        """Live refresh hears about an action's failure (its connection state and planner learn
        of an action's 429, refused key or lost connection)."""
        if result.error is not None:
            self.screen.refresher.report(result.error)

    def follow(self, task: Task) -> None:
        """An approved task runs now: live refresh follows it until it finishes."""
        self.screen.refresher.follow(task)

    # -- the undo window ---------------------------------------------------------------------

    def arm(self, held: Held) -> None:
        """Start (or resume) a held action's window: a timer sends it when it closes."""
        state, screen = self.state, self.screen
        action_id = held.action.action_id
        held.deadline = time.monotonic() + held.remaining
        state.hold_timers[action_id] = screen.set_timer(max(SOONEST, held.remaining), partial(self._due, action_id))
        self._label(held)
        if state.countdown is None:
            state.countdown = screen.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        """Once a second while something is held: each waiting row says its seconds left (only
        those rows are redrawn)."""
        for held in self.state.held.values():
            self._label(held)
        self._countdown_check()

    def _countdown_check(self) -> None:
        state = self.state
        if state.countdown is not None and not any(held.deadline is not None for held in state.held.values()):
            state.countdown.stop()
            state.countdown = None

    def _label(self, held: Held) -> None:
        if held.deadline is not None:
            text = f"{held.label} in {max(1, math.ceil(held.deadline - time.monotonic() - 0.05))}s"
        elif held.journalled:
            text = f"{held.label} in {max(1, math.ceil(held.remaining))}s (paused)"
        else:
            return
        table = self.screen.table
        if table.busy.get(held.task.id) != text:
            table.mark_busy(held.task.id, text)

    def pause_windows(self) -> None:
        """Stop every undo window where it is (the quit dialog is open): nothing is sent by a
        timer until `resume_windows`, so what the dialog says stays true."""
        state = self.state
        state.windows_paused = True
        now = time.monotonic()
        for held in state.held.values():
            timer = state.hold_timers.pop(held.action.action_id, None)
            if timer is not None:
                timer.stop()
            if held.deadline is not None:
                held.remaining = max(0.0, held.deadline - now)
                held.deadline = None
            self._label(held)
        self._countdown_check()

    def resume_windows(self) -> None:
        """The windows run again from where they were paused."""
        self.state.windows_paused = False
        for held in list(self.state.held.values()):
            if held.journalled and not held.undone:
                self.arm(held)

    def _due(self, action_id: str) -> None:
        """A window closed: send the action (unless its task left the queue meanwhile)."""
        state = self.state
        state.hold_timers.pop(action_id, None)
        held = state.held.pop(action_id, None)
        self.show_held()
        self._countdown_check()
        if held is None or held.undone:
            return
        if state.queued(held.task.id) is None:
            self._left_queue(held)
            return
        self.screen.run_worker(self._send_and_show(held), group="actions")

    def _left_queue(self, held: Held) -> None:
        """The task was handled elsewhere before the window closed: say so, record it, never send."""
        state, screen = self.state, self.screen
        task, verb = held.task, held.action.verb
        word = self.word_for(verb)
        state.inflight.pop(task.id, None)
        state.advanced_to.pop(task.id, None)
        screen.table.mark_busy(task.id, None)
        self.record_not_sent(task, verb, held.action.reason,
                             "the task left the queue (handled elsewhere) before its undo window closed; "
                             "nothing was sent")
        self.release(held.action.action_id)
        self.toasts.add(Toast(f"Not {past(word)}: handled elsewhere",
                              f"{name(task)}: it left the queue before its undo window closed, so nothing was sent.",
                              "warning", task=name(task, 40)))
        screen.refresh_bindings()

    @property
    def waiting(self) -> int:
        """Actions in their undo window (what quitting asks about)."""
        return sum(1 for held in self.state.held.values() if not held.undone)

    def undo(self) -> None:
        """Take back the most recent held action; the task is selected again."""
        screen, state = self.screen, self.state
        if self.read_only:
            self.read_only_refusal()
            return
        waiting = [held for held in state.held.values() if not held.undone]
        if not waiting:
            screen.notify("Nothing to undo: actions are sent once their undo window closes.", timeout=3,
                          markup=False)
            return
        held = waiting[-1]
        held.undone = True
        action_id = held.action.action_id
        state.held.pop(action_id, None)
        timer = state.hold_timers.pop(action_id, None)
        if timer is not None:
            timer.stop()
        if held.journalled:
            self.release(action_id)  # Else the hold's worker releases it once it is written.
        state.inflight.pop(held.task.id, None)
        state.advanced_to.pop(held.task.id, None)
        screen.table.mark_busy(held.task.id, None)
        screen.table.select(held.task.id)
        self.show_held()
        self._countdown_check()
        word = past(self.word_for(held.action.verb))
        self.toasts.add(Toast(f"Undone: not {word}", summary(held.task), done="undone"))
        screen.refresh_bindings()

    def show_held(self) -> None:
        self.screen.status_bar.held = self.waiting

    # -- quitting -------------------------------------------------------------------------

    async def send_all_now(self) -> list[TaskResult]:
        """Send every waiting action now, oldest first (the quit dialog's "send now"), and
        return their results."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while any(not h.journalled for h in self.state.held.values()) and loop.time() < deadline:
            await asyncio.sleep(0.02)  # A hold still being written (a few ms).
        results: list[TaskResult] = []
        self._sent_now.clear()
        for held in list(self.state.held.values()):
            self.state.held.pop(held.action.action_id, None)
            timer = self.state.hold_timers.pop(held.action.action_id, None)
            if timer is not None:
                timer.stop()
            if held.undone or not held.journalled:
                continue
            self.show_held()
            self._sent_now[held.task.id] = held
            results.append(await self._send_and_show(held))
        self._countdown_check()
        return results

    async def resend(self, results: Sequence[TaskResult]) -> list[TaskResult]:
        """Send again the actions of `results` that were not applied (the quit dialog's "send
        again"): each one through the whole way (journal, preflight, perform)."""
        again: list[TaskResult] = []
        for old in results:
            first = self._sent_now.get(old.task.id)
            if first is None or old.task.id in self.state.inflight:
                continue
            held = self.begin(old.task, old.action, first.action.reason, window=0, advance=False,
                              comment=first.comment, variables=first.variables, note=first.note)
            try:
                await self.hold(held)
            except NotSent as why:
                again.append(TaskResult(old.task, NOT_SENT, str(why), action=old.action))
                continue
            again.append(await self._send_and_show(held))
        return again

    def drop_all(self) -> int:
        """Forget every waiting action (quitting with "drop"): none of them is sent. Returns
        how many were dropped."""
        state = self.state
        dropped = 0
        for held in list(state.held.values()):
            state.held.pop(held.action.action_id, None)
            timer = state.hold_timers.pop(held.action.action_id, None)
            if timer is not None:
                timer.stop()
            if held.undone:
                continue
            held.undone = True
            dropped += 1
            if held.journalled:
                self.release(held.action.action_id)
            state.inflight.pop(held.task.id, None)
            self.screen.table.mark_busy(held.task.id, None)
        self.show_held()
        self._countdown_check()
        return dropped

    # -- the cursor --------------------------------------------------------------------------

    def _advance_from(self, task: Task) -> None:
        """Auto-advance: the cursor moves on to the next task with nothing in flight."""
        table = self.screen.table
        if table.current is not None and table.current.id == task.id:
            following = table.next_index_after(task.id, skip=set(self.state.inflight))
            if following is not None:
                table.move_to(following)
                landed = table.current
                if landed is not None:
                    self.state.advanced_to[task.id] = (landed.id, table.user_moves)

    def _return_to(self, task: Task) -> bool:
        """Put the cursor back on a task whose action failed, unless the person has moved on
        since auto-advance (then moving it would hijack their next key). True if it is there."""
        table = self.screen.table
        advanced = self.state.advanced_to.pop(task.id, None)
        current = table.current
        if current is not None and current.id == task.id:
            return True
        if advanced is not None and current is not None and advanced == (current.id, table.user_moves):
            return table.select(task.id)
        return False

    # -- what the answer means ----------------------------------------------------------------

    async def _send_and_show(self, held: Held, *, from_dialog: bool = False) -> TaskResult:
        """Send, then show the outcome on the row, the list and a toast. From the dismiss
        dialog (no window), a result the dialog reports itself gets no toast."""
        screen, state, task = self.screen, self.state, held.task
        screen.table.mark_busy(task.id, f"{held.label}…")
        try:
            result = await self.send(held)
            self.show(result, held, quiet=from_dialog)
        finally:
            state.inflight.pop(task.id, None)
            screen.refresh_bindings()
        return result

    def show(self, result: TaskResult, held: Held, *, quiet: bool = False) -> None:
        """Say what a sent action's result means for its task (the row, the list, a toast).

        Args:
            quiet: the dialog that sent it reports a failure itself (no toast for it).
        """
        screen, state = self.screen, self.state
        task, verb, reason = held.task, held.action.verb, held.action.reason
        word = self.word_for(verb)
        outcome = result.outcome
        screen.table.mark_busy(task.id, None)
        if outcome == Outcome.APPLIED:
            self.succeeded(task, verb, reason, settled=result.settled)
            return
        if outcome in (Outcome.ALREADY_HANDLED, Outcome.NOT_FOUND):
            self.handled_elsewhere(result, word)
            return
        if verb == "dismiss":
            state.last_reasons[task.id] = reason  # Offered again by the next `d` on this task.
        here = self._return_to(task)
        if outcome == NOT_SENT:
            screen.table.mark_error(task.id, f"{word} not sent")
            if not quiet:
                self.toasts.add(Toast(f"Not {past(word)}: nothing was sent", f"{name(task)}: {result.detail}",
                                      "warning", task=name(task, 40)))
            return
        if outcome == Outcome.UNKNOWN:
            screen.table.mark_error(task.id, f"{word}: unknown")
            again = "press the key again" if here else "select it and press the key again"
            if not quiet:
                self.toasts.add(Toast(
                    f"Could not {word}: the outcome is unknown",
                    f"{name(task)}: {result.detail}. To be sure, {again}: the server refuses a second one.",
                    "warning", task=name(task, 40)))
            return
        short = "rate limited" if result.rate_limited else "failed"
        screen.table.mark_error(task.id, f"{word} {short}")
        retry = "press the key again to retry" if here else "select it and press the key again to retry"
        if quiet:
            return
        if result.settled or result.error is None:
            self.toasts.add(Toast(f"Could not {word}; {retry}", f"{name(task)}: {result.detail}", "error",
                                  task=name(task, 40)))
        else:
            self.toasts.add(Toast(f"Could not {word}; {retry}", str(result.error), "error", task=name(task, 40),
                                  error=result.error))

    def succeeded(self, task: Task, verb: str, reason: str | None, *, settled: bool = False,
                  toast: bool = True) -> None:
        """The server applied it: the task leaves the queue (and is followed, once approved)."""
        screen, state = self.screen, self.state
        word = self.word_for(verb)
        state.advanced_to.pop(task.id, None)
        screen.table.mark_busy(task.id, None)
        screen.table.mark_error(task.id, None)
        screen.drop_task(task.id)
        card = screen.chat.card_for(task.id)
        if card is not None:
            card.set_state(past(word))
        if verb == "approve":
            self.follow(task)
        else:
            state.last_reasons.pop(task.id, None)
        if not toast:
            return
        if settled:
            self.toasts.add(Toast(past(word).title(), f"{name(task)}: the answer was lost, but the server shows "
                                  "the task was applied.", done=past(word)))
        elif verb == "approve":
            running = " executing now" if screen.capabilities.executing_view else ""
            self.toasts.add(Toast(f"Approved:{running}" if running else "Approved", summary(task), done="approved"))
        elif verb == "dismiss":
            self.toasts.add(Toast(f"{past(word).title()} ({reason or 'no reason'})", summary(task), done=past(word)))
        else:
            self.toasts.add(Toast(past(word).title(), summary(task), done=past(word)))

    def handled_elsewhere(self, result: TaskResult, word: str, *, toast: bool = True) -> None:
        """Already handled (another client, a teammate, a rule) or not found: explain, refresh."""
        screen, state, task = self.screen, self.state, result.task
        not_found = result.outcome == Outcome.NOT_FOUND
        if result.settled:
            why = result.detail or ""
        elif not_found:
            why = NOT_FOUND_TEXT
        else:
            why = clean(result.error.message, multiline=False) if result.error is not None else (result.detail or "")
        state.advanced_to.pop(task.id, None)
        screen.table.mark_busy(task.id, None)
        card = screen.chat.card_for(task.id)
        if card is not None:
            card.set_state(why)
        if toast:
            title = f"Could not {word}: " + ("not found" if not_found else "already handled")
            self.toasts.add(Toast(title, f"{name(task)}: {why}. The list was refreshed.", "warning",
                                  task=name(task, 40)))
        if not state.refreshing:
            screen.refresher.run()


def relabelled(bindings: Iterable[Binding], reason: str) -> list[Binding]:
    """`bindings` with the read-only reason as the tooltip of the keys that act."""
    return [dataclasses.replace(b, tooltip=f"Off: {reason}") if b.id in READ_ONLY_KEYS else b for b in bindings]
