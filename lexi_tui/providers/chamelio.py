"""Chamelio as a provider: the watched tasks of a profile, refreshed one GET each.

Chamelio has no list endpoint, so the "queue" is the profile's watch list
(`lexi_tui.core.watchlist`): tasks added by id or URL in the app, or announced by a webhook. A
refresh reads every watched task once (one `GET /tasks/{id}` each, a few at a time) and
keeps the result as a snapshot; the views are slices of that snapshot, so asking for
several views in one refresh costs no further request. A snapshot younger than
`SNAPSHOT_MAX_AGE` is reused; any write (approve, reject, cancel, add) marks it stale.

Each `ChamelioTask` becomes the app's `Task`: the id as a string, the workflow name as its
type, the title as its description, and a JSON-able `metadata` with the workflow, the
current step, people, variables and step runs, so the list, detail and JSON views work
unchanged. A task at an approval step is "pending"; an open task elsewhere is
"in_progress"; finished ones carry Chamelio's status.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from lexi_tui.api.chamelio import CHAMELIO_BASE_URL, ChamelioClient
from lexi_tui.api.chamelio_models import ApprovalDetails, ChamelioTask, parse_task_ref
from lexi_tui.api.errors import InvalidKeyError, NotFoundError
from lexi_tui.api.models import ChatReply, Task
from lexi_tui.providers.base import Capabilities, ClientBacked

REJECT_PRESETS: tuple[tuple[str, str], ...] = (
    ("Terms need changes", "send it back: the terms must be renegotiated"),
    ("Missing documents", "a file or a signature is missing"),
    ("Outside policy", "the request breaks a policy or an approval limit"),
    ("Duplicate request", "the same request already exists"),
)
"""Rejection presets: the chosen text is sent as the rejection's comment."""

CHAMELIO_CAPABILITIES = Capabilities(
    views=("pending", "in_progress", "completed", "failed", "cancelled"),
    executing_view="in_progress",
    finished_views=("completed", "failed", "cancelled"),
    chat=False,
    comments=True,
    variables=True,
    reasons=REJECT_PRESETS,
    dismiss_label="Reject",
    cancel=True,
    add_by_reference=True,
    known_types=False,
)

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
        "step_runs": [{"name": r.step_name, "type": r.step_type, "status": r.status} for r in task.step_runs],
    }
    return Task.from_api({
        "id": str(task.task_id),
        "type": task.workflow_name or task.current_step_type or "task",
        "status": view_of(task),
        "description": task.title or f"Task {task.task_id}",
        "created_at": _iso(task.created_at),
        "metadata": metadata,
    })


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

    def __init__(self, api_key: str, base_url: str = CHAMELIO_BASE_URL, *, profile: str = "default",
                 **options: Any) -> None:
        self.client = ChamelioClient(api_key, base_url, **options)
        self.profile = profile
        self._snapshot: dict[int, Task] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.gets = 0
        """`GET /tasks/{id}` calls made by refreshes (for tests and the budget)."""

    def __repr__(self) -> str:
        return f"ChamelioProvider(profile={self.profile!r}, {self.client!r})"

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
        ids = await self.watched()
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(task_id: int) -> Task:
            async with gate:
                self.gets += 1
                try:
                    return to_task(await self.client.get_task(task_id))
                except NotFoundError as error:
                    return missing_task(task_id, error.message)

        results = await asyncio.gather(*(one(task_id) for task_id in ids), return_exceptions=True)
        for result in results:  # A refused key first: it is what the person must fix.
            if isinstance(result, InvalidKeyError):
                raise result
        for result in results:
            if isinstance(result, BaseException):
                raise result
        self._snapshot = {task_id: task for task_id, task in zip(ids, results, strict=True)}  # type: ignore[misc]
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
