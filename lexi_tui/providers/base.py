"""What every provider offers the screens, and how it says what it can do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from lexi_tui.api.lexi import ResponseListener
from lexi_tui.api.models import ChatReply, Task
from lexi_tui.api.ratelimit import RateLimit


@dataclass(frozen=True)
class Capabilities:
    """What a provider supports; screens show only the keys and fields that apply."""

    views: tuple[str, ...]
    """Status views, the first being the approval queue the app opens on."""
    executing_view: str | None = None
    """Where an approved task waits while it runs (followed until it finishes)."""
    finished_views: tuple[str, ...] = ()
    chat: bool = False
    comments: bool = False
    """Approve and reject can carry a comment."""
    variables: bool = False
    """An approval can set variables (a form validates each type before sending)."""
    reasons: tuple[tuple[str, str], ...] = ()
    """Preset reasons for dismissing/rejecting: (code, when to use it)."""
    dismiss_label: str = "Dismiss"
    cancel: bool = False
    add_by_reference: bool = False
    """Tasks are added by id or URL (no list endpoint) and kept in a watch list."""
    known_types: bool = True
    """Task types come from a fixed vocabulary (Lexi's); False: free text (a workflow name)."""


class Provider(Protocol):
    """The calls the screens make; every failure is a `lexi_tui.api.errors.LexiError`."""

    name: str
    capabilities: Capabilities

    @property
    def rate_limit(self) -> RateLimit | None: ...

    @property
    def masked_key(self) -> str: ...

    @property
    def secret(self) -> str:
        """The key itself, only so crash reports can scrub it."""
        ...

    def add_listener(self, listener: ResponseListener) -> None: ...

    async def list_tasks(self, status: str) -> list[Task]: ...

    async def approve(self, task_id: str, *, comment: str | None = None, variables: list[dict[str, Any]] | None = None) -> None: ...

    async def dismiss(self, task_id: str, reason: str | None = None) -> None: ...

    async def chat(self, message: str, conversation_id: str | None = None) -> ChatReply: ...

    async def cancel(self, task_id: str) -> None: ...

    async def aclose(self) -> None: ...


class WatchingProvider(Provider, Protocol):
    """The extra calls of a provider with `add_by_reference` and `variables` (Chamelio).

    Screens call these only when the capabilities say so; a provider without them need not
    define them.
    """

    async def add_task(self, reference: str) -> Task:
        """Read the task an id or URL names, then watch it (ValueError for a bad reference)."""
        ...

    async def forget(self, task_id: str) -> bool: ...

    async def get(self, task_id: str) -> Task:
        """One task, read now (after a 409, to say where it went)."""
        ...

    async def approval_details(self, task_id: str) -> Any:
        """The approval step: `variables_to_approve` and `files` (Chamelio's ApprovalDetails)."""
        ...


class ClientBacked:
    """What a provider passes straight through to its API client (`self.client`): the
    rate-limit state, the masked key, response listeners, closing. Both clients offer the same
    surface, so each provider adds only what differs."""

    client: Any

    @property
    def rate_limit(self) -> RateLimit | None:
        return self.client.rate_limit

    @property
    def masked_key(self) -> str:
        return self.client.masked_key

    @property
    def secret(self) -> str:
        """The key itself, only so crash reports can scrub it."""
        return self.client._api_key

    def add_listener(self, listener: ResponseListener) -> None:
        self.client.add_listener(listener)

    async def aclose(self) -> None:
        await self.client.aclose()
