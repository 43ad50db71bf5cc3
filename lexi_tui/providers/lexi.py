"""Lexi as a provider: a thin face over `LexiClient`, plus reading one task's status.

Lexi has no single-task endpoint (`GET /v1/lexi/tasks?status=` takes no other parameter), so
a task's status is found by listing views until it shows up: pending first, then the views
the action leads to, in the order a task moves through them, then the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lexi_tui.api.lexi import DEFAULT_BASE_URL, LexiClient
from lexi_tui.api.models import ChatReply, Task
from lexi_tui.providers.base import ClientBacked
from lexi_tui.providers.capabilities import LEXI_CAPABILITIES

READ_ORDER: dict[str | None, tuple[str, ...]] = {
    # Forward order of a task's life, so a task moving on while we read cannot slip past:
    # approved -> completed | failed.
    "approve": ("pending", "approved", "completed", "failed", "dismissed"),
    "dismiss": ("pending", "dismissed", "approved", "completed", "failed"),
    None: ("pending", "approved", "completed", "failed", "dismissed"),
}
"""The views `status_of` lists, in order, until the task shows up."""


class LexiProvider(ClientBacked):
    """LeadLex's Lexi: list by status, approve, dismiss with a reason, chat."""

    name = "lexi"
    capabilities = LEXI_CAPABILITIES
    client: LexiClient

    def __init__(self, api_key: str, base_url: str = DEFAULT_BASE_URL, **options: Any) -> None:
        super().__init__(LexiClient(api_key, base_url, **options))

    def __repr__(self) -> str:
        return f"LexiProvider({self.client!r})"

    @property
    def refresh_problems(self) -> Mapping[str, str]:
        return {}

    async def calls_for_refresh(self, views: Sequence[str]) -> int:
        """One list call per distinct view (a read retried after a network error costs more)."""
        return len(set(views))

    async def list_tasks(self, status: str) -> list[Task]:
        return await self.client.list_tasks(status)

    async def status_of(self, task: Task, *, action: str | None = None) -> str | None:
        """The view `task` is in now, or None when no view lists it (it does not exist, or
        this key cannot see it).

        Costs one list call per view read, stopping at the first that lists the task:
        approve: 1 while still pending, 2 once approved, 3 when completed, 4 when failed,
        5 when dismissed or gone; dismiss: 1 pending, 2 dismissed, up to 5 when approved
        elsewhere or gone. (Each list may be retried after a network error: more calls.)
        """
        for view in READ_ORDER.get(action, READ_ORDER[None]):
            if any(listed.id == task.id for listed in await self.client.list_tasks(view)):
                return view
        return None

    async def get(self, task_id: str) -> Task:
        raise NotImplementedError("Lexi has no single-task endpoint; capabilities.reads_one_task is False")

    async def approve(self, task_id: str, *, comment: str | None = None, variables: list[dict[str, Any]] | None = None) -> None:
        if comment or variables:
            raise ValueError("Lexi approvals carry no comment or variables")
        await self.client.approve(task_id)

    async def dismiss(self, task_id: str, reason: str | None = None) -> None:
        await self.client.dismiss(task_id, reason)

    async def chat(self, message: str, conversation_id: str | None = None) -> ChatReply:
        return await self.client.chat(message, conversation_id=conversation_id)

    async def cancel(self, task_id: str) -> None:
        raise NotImplementedError("Lexi tasks cannot be cancelled; dismiss them instead")


async def check_key(key: str, base_url: str, *, ca_bundle: str | None = None, transport: Any = None) -> None:
    """Prove that `key` works on `base_url` by listing the pending tasks.

    Raises the client's errors unchanged (InvalidKeyError for 401, PermissionDeniedError
    for 403, TransportError subclasses when unreachable) and ValueError for a string that
    cannot be a key. No retries: a person is waiting, and can simply run login again.
    """
    async with LexiClient(key, base_url, read_retries=0, ca_bundle=ca_bundle, transport=transport) as client:
        await client.list_tasks("pending")
