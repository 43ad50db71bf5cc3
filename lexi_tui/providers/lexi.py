"""Lexi as a provider: a thin face over `LexiClient`."""

from __future__ import annotations

from typing import Any

from lexi_tui.api.lexi import DEFAULT_BASE_URL, LexiClient
from lexi_tui.api.models import DISMISS_REASONS, ChatReply, Task
from lexi_tui.providers.base import Capabilities, ClientBacked

LEXI_CAPABILITIES = Capabilities(
    views=("pending", "approved", "completed", "dismissed", "failed"),
    executing_view="approved",
    finished_views=("completed", "failed"),
    chat=True,
    reasons=DISMISS_REASONS,
)


class LexiProvider(ClientBacked):
    """LeadLex's Lexi: list by status, approve, dismiss with a reason, chat."""

    name = "lexi"
    capabilities = LEXI_CAPABILITIES

    def __init__(self, api_key: str, base_url: str = DEFAULT_BASE_URL, **options: Any) -> None:
        self.client = LexiClient(api_key, base_url, **options)

    def __repr__(self) -> str:
        return f"LexiProvider({self.client!r})"

    async def list_tasks(self, status: str) -> list[Task]:
        return await self.client.list_tasks(status)

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
