"""Chamelio as a provider: the watched tasks of a profile, refreshed one GET each.

Chamelio has no list endpoint, so the "queue" is the profile's watch list
(`lexi_tui.core.watchlist`): tasks added by id or URL in the app, or announced by a webhook. A
refresh reads every watched task once (one `GET /tasks/{id}` each, a few at a time) and
keeps the result as a snapshot; the views are slices of that snapshot, so asking for
several views in one refresh costs no further request. A snapshot younger than
`SNAPSHOT_MAX_AGE` is reused; any write (approve, reject, cancel, add) marks it stale.

A refresh that cannot read every task (decided here, see `_refresh`):

* a refused key (401) fails the refresh: it is what the person must fix;
* a 429 stops the GETs not yet sent at once (the ones in flight finish), keeps what was read,
  and fails the refresh with that 429, so the caller backs off; the next refresh reads all;
* any other error on one task (a 5xx, a dropped connection, a garbled answer) keeps the
  task's previous version in the snapshot (or leaves it out, if it was never read) and names
  it in `refresh_problems`, with the error; the rest of the snapshot is fresh. Only when no
  task at all could be read does the refresh fail, with the first error;
* a 404 shows the task as "not found" in the failed view (`missing_task`), as before.

Each `ChamelioTask` becomes the app's `Task`: the id as a string, the workflow name as its
type, the title as its description, and a JSON-able `metadata` with the workflow, the
current step, people, variables and step runs, so the list, detail and JSON views work
unchanged. A task at an approval step is "pending"; an open task elsewhere is
"in_progress"; finished ones carry Chamelio's status.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

from lexi_tui.api.chamelio import CHAMELIO_BASE_URL, ChamelioClient
from lexi_tui.api.chamelio_models import APPROVAL_STEP_TYPE, ApprovalDetails, ChamelioTask, parse_task_ref
from lexi_tui.api.errors import InvalidKeyError, LexiError, NotFoundError, RateLimitedError
from lexi_tui.api.models import ChatReply, Task
from lexi_tui.core.outcomes import MOVED_ON
from lexi_tui.providers.base import ClientBacked
from lexi_tui.providers.capabilities import CHAMELIO_CAPABILITIES

SNAPSHOT_MAX_AGE = 1.0
"""Seconds a refresh's snapshot answers further `list_tasks` calls without a new GET."""
CONCURRENCY = 4
"""GETs in flight at once during a refresh: fast, yet gentle on a per-minute rate limit."""


def view_of(task: ChamelioTask) -> str:
    """The app's view (and Task status) for a Chamelio task."""
    if task.awaiting_approval:
        return "pending"
    if task.is_finished:
        return str(task.status)
    if str(task.status) in ("pending", "in_progress"):
        return "in_progress"
    return str(task.status)  # A status this client does not know: shown as it came.


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def to_task(task: ChamelioTask) -> Task:
    """The app's `Task` for a Chamelio task (strings already cleaned by the models)."""
    metadata: dict[str, Any] = {
        "workflow": task.workflow_name,
        "workflow_id": task.workflow_id,
        "workflow_version": task.workflow_version,
        "status": str(task.status),
        "step": {"id": task.current_step_id, "name": task.current_step_name, "type": task.current_step_type},
        "outcome": task.approval_outcome,
        "assignee": task.assignee_email,
        "owner": task.owner_email,
        "collaborators": list(task.collaborator_emails),
        "task_url": task.task_url,
        "updated_at": _iso(task.updated_at),
        "completed_at": _iso(task.completed_at),
        "variables": {v.variable_id: {"type": str(v.type), "value": v.value} for v in task.variables},
        "step_runs": [{"id": r.step_run_id, "step_id": r.step_id, "name": r.step_name, "type": r.step_type,
                       "status": r.status} for r in task.step_runs],
    }
    return Task.from_api({
        "id": str(task.task_id),
        "type": task.workflow_name or task.current_step_type or "task",
        "status": view_of(task),
        "description": task.title or f"Task {task.task_id}",
        "created_at": _iso(task.created_at),
        "metadata": metadata,
    })


_DECISIONS = ("approved", "rejected")


def status_after(before: Task, now: ChamelioTask) -> str:
    """Where `now` is, relative to the approval step `before` (the task as the caller saw it)
    was at: the decision of that step when the step runs show one made since `before` was read
    ("approved", "rejected"); "pending" while it still waits at that step; `MOVED_ON` when it
    waits at another approval step with no decision of that step to be seen; else its view.

    Assumption (the docs say nothing): a step run keeps its `step_run_id` when it is decided,
    as the local service does. Were a decision to get a new run id instead, it would still be
    found (it is not among the runs decided before)."""
    metadata: dict[str, Any] = before.metadata if isinstance(before.metadata, dict) else {}
    step = metadata.get("step")
    step_id = step.get("id") or None if isinstance(step, dict) else None
    runs = metadata.get("step_runs")
    # Runs already decided when the caller saw the task are history; the one it acted on was
    # still open then (a run keeps its id when it is decided).
    seen = {run.get("id") for run in runs if isinstance(run, dict) and run.get("id") and run.get("status") in _DECISIONS
            } if isinstance(runs, list) else set()
    decided = [run for run in now.step_runs
               if run.step_type == APPROVAL_STEP_TYPE and run.status in _DECISIONS
               and run.step_run_id not in seen and (step_id is None or run.step_id == step_id)]
    if decided:
        return decided[-1].status
    if now.awaiting_approval:
        return "pending" if step_id is None or now.current_step_id == step_id else MOVED_ON
    return view_of(now)


def missing_task(task_id: int, message: str) -> Task:
    """A watched task the server no longer shows (deleted, or not visible to this key)."""
    return Task.from_api({
        "id": str(task_id),
        "type": "not found",
        "status": "failed",
        "description": f"Task {task_id}: {message}",
        "metadata": {"error": {"message": f"{message}: deleted, or not visible with this key"}},
    })


class ChamelioProvider(ClientBacked):
    """Chamelio's approval steps, over `ChamelioClient` and the profile's watch list."""

    name = "chamelio"
    capabilities = CHAMELIO_CAPABILITIES
    client: ChamelioClient

    def __init__(self, api_key: str, base_url: str = CHAMELIO_BASE_URL, *, profile: str = "default",
                 **options: Any) -> None:
        super().__init__(ChamelioClient(api_key, base_url, **options))
        self.profile = profile
        self._snapshot: dict[int, Task] = {}
        self._problems: dict[str, str] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.gets = 0
        """`GET /tasks/{id}` calls made by refreshes. Kept until the screen counts `calls_made`."""

    def __repr__(self) -> str:
        return f"ChamelioProvider(profile={self.profile!r}, {self.client!r})"

    @property
    def refresh_problems(self) -> Mapping[str, str]:
        """Watched tasks the latest refresh could not read (id -> the error), see `_refresh`."""
        return dict(self._problems)

    async def calls_for_refresh(self, views: Sequence[str]) -> int:
        """One GET per watched task, whatever `views` (one refresh answers every view).
        Reads the watch list in a thread."""
        return len(await self.watched())

    # -- the watch list -----------------------------------------------------------------

    async def watched(self) -> list[int]:
        """The watched ids (file I/O in a thread: never on the event loop)."""
        from lexi_tui.core import watchlist

        return await asyncio.to_thread(watchlist.load, self.profile)

    async def add_task(self, reference: str) -> Task:
        """Read the task named by `reference` (id or task URL), then watch it.

        ValueError for text that names no task; the API's errors (404: no such task) leave the
        watch list as it was, so nothing is watched that cannot be read.
        """
        from lexi_tui.core import watchlist

        task_id = parse_task_ref(reference)
        task = to_task(await self.client.get_task(task_id))
        await asyncio.to_thread(watchlist.add, self.profile, task_id)
        self._snapshot[task_id] = task
        return task

    async def forget(self, task_id: str) -> bool:
        """Stop watching a task; True if it was watched."""
        from lexi_tui.core import watchlist

        number = int(task_id)
        self._snapshot.pop(number, None)
        self._problems.pop(task_id, None)
        return await asyncio.to_thread(watchlist.remove, self.profile, number)

    # -- reading --------------------------------------------------------------------------

    async def list_tasks(self, status: str) -> list[Task]:
        """The watched tasks in view `status`, from this refresh's snapshot."""
        async with self._lock:
            fresh = self._fetched_at is not None and time.monotonic() - self._fetched_at < SNAPSHOT_MAX_AGE
            if not fresh:
                await self._refresh()
        tasks = [task for task in self._snapshot.values() if str(task.status) == status]
        # Newest first, like Lexi's lists (a task without a date goes last).
        return sorted(tasks, key=lambda t: t.created_at.timestamp() if t.created_at else float("-inf"), reverse=True)

    async def _refresh(self) -> None:
        """Read every watched task once, `CONCURRENCY` at a time (see the module docstring
        for what happens when some cannot be read)."""
        ids = await self.watched()
        gate = asyncio.Semaphore(CONCURRENCY)
        halt: list[LexiError] = []  # A refused key or a 429: nothing more is sent.
        read: dict[int, Task] = {}
        problems: dict[int, LexiError] = {}

        async def one(task_id: int) -> None:
            async with gate:
                if halt:
                    return
                self.gets += 1
                try:
                    read[task_id] = to_task(await self.client.get_task(task_id))
                except NotFoundError as error:
                    read[task_id] = missing_task(task_id, error.message)
                except (InvalidKeyError, RateLimitedError) as error:
                    halt.append(error)
                except LexiError as error:
                    problems[task_id] = error

        await asyncio.gather(*(one(task_id) for task_id in ids))
        previous = self._snapshot
        self._snapshot = {task_id: read.get(task_id) or previous[task_id]
                          for task_id in ids if task_id in read or task_id in previous}
        self._problems = {str(task_id): str(error) for task_id, error in problems.items()}
        refused = [error for error in halt if isinstance(error, InvalidKeyError)]
        if refused or halt:
            raise (refused or halt)[0]  # The refresh is not complete: the next one reads all.
        if problems and not read:
            raise next(iter(problems.values()))
        self._fetched_at = time.monotonic()

    def invalidate(self) -> None:
        """The next `list_tasks` reads every task again (after a write)."""
        self._fetched_at = None

    async def approval_details(self, task_id: str) -> ApprovalDetails:
        """What the approver decides on: variables to approve, approvers, files (with names)."""
        return await self.client.approval_details(int(task_id), include_files=True)

    async def get(self, task_id: str) -> Task:
        """One task, read now (after a 409, to show where it went)."""
        task = to_task(await self.client.get_task(int(task_id)))
        self._snapshot[int(task_id)] = task
        return task

    async def status_of(self, task: Task, *, action: str | None = None) -> str | None:
        """Where `task` is now, in one `GET /tasks/{id}`: see `status_after`; None for a 404."""
        try:
            now = await self.client.get_task(int(task.id))
        except NotFoundError:
            return None
        if now.task_id in self._snapshot:  # Only a watched task joins the views.
            self._snapshot[now.task_id] = to_task(now)
        return status_after(task, now)

    # -- writing --------------------------------------------------------------------------

    async def approve(self, task_id: str, *, comment: str | None = None,
                      variables: list[dict[str, Any]] | None = None) -> None:
        try:
            await self.client.approve(int(task_id), comment=comment or None, variables=variables or None)
        finally:
            self.invalidate()

    async def dismiss(self, task_id: str, reason: str | None = None) -> None:
        """Reject: the reason (a preset's text or the person's own) is the comment."""
        try:
            await self.client.reject(int(task_id), comment=reason or None)
        finally:
            self.invalidate()

    async def cancel(self, task_id: str) -> None:
        try:
            await self.client.cancel(int(task_id))
        finally:
            self.invalidate()

    async def chat(self, message: str, conversation_id: str | None = None) -> ChatReply:
        raise NotImplementedError("Chamelio has no chat; capabilities.chat is False")


async def check_key(key: str, base_url: str, *, ca_bundle: str | None = None, transport: Any = None) -> None:
    """Check a Chamelio key without a task to read: `GET /tasks/0` answers 404 for an
    accepted key and 401 (InvalidKeyError) for a refused one; anything else propagates."""
    async with ChamelioClient(key, base_url, read_retries=0, ca_bundle=ca_bundle, transport=transport) as client:
        try:
            await client.get_task(0)
        except NotFoundError:
            return
