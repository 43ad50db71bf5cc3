"""What every provider offers the screens, and how it says what it can do.

Callers ask `Capabilities` instead of probing for methods: a call a provider does not
support is still declared (it raises NotImplementedError), and the capability that gates
it is False.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from lexi_tui.api.models import ChatReply, Task
from lexi_tui.api.ratelimit import RateLimit
from lexi_tui.providers.capabilities import Capabilities

if TYPE_CHECKING:
    from lexi_tui.api.lexi import ResponseInfo, ResponseListener
    from lexi_tui.core.actions import ActionTarget


class Provider(Protocol):
    """The calls the screens make; every failure is a `lexi_tui.api.errors.LexiError`.

    A provider is also a `lexi_tui.core.actions.ActionTarget`: bulk runs and the rule runner
    send through it.
    """

    name: str
    capabilities: Capabilities

    @property
    def rate_limit(self) -> RateLimit | None: ...

    @property
    def last_request_id(self) -> str | None:
        """The request id of the latest response (set before a call returns)."""
        ...

    @property
    def calls_made(self) -> int:
        """Responses received so far (every request the server answered, errors included):
        what this provider has spent of the quota. A request whose answer was lost may also
        have been counted by the server."""
        ...

    @property
    def masked_key(self) -> str: ...

    @property
    def secret(self) -> str:
        """The key itself, only so crash reports can scrub it."""
        ...

    @property
    def refresh_problems(self) -> Mapping[str, str]:
        """Task id -> why the latest refresh could not read it (empty when all were read).
        Lexi lists whole views, so it is always empty."""
        ...

    def add_listener(self, listener: ResponseListener) -> None: ...

    def replay(self, heard: Sequence[ResponseInfo]) -> None:
        """Tell the listeners (and keep) answers a second process got for a call made on this
        provider's behalf (`providers.first_fetch`), as if they came now."""
        ...

    async def calls_for_refresh(self, views: Sequence[str]) -> int:
        """How many calls a refresh that lists `views` will make, before making it (for the
        budget planner). Lexi: one per distinct view. Chamelio: one per watched task whatever
        the views (reads the watch list file in a thread)."""
        ...

    async def list_tasks(self, status: str) -> list[Task]: ...

    async def status_of(self, task: Task, *, action: str | None = None) -> str | None:
        """Where `task` is now: its view name ("pending", "approved", ...), the decision of
        the step it was at when the provider can see it ("approved", "rejected"), or
        `lexi_tui.core.outcomes.MOVED_ON`; None when it does not exist or this key cannot see
        it. `action` (the action whose answer was lost) lets a provider read the likely
        places first. Costs up to `capabilities.status_read_calls` calls."""
        ...

    async def get(self, task_id: str) -> Task:
        """One task, read now; only when `capabilities.reads_one_task` (else NotImplementedError)."""
        ...

    async def approve(self, task_id: str, *, comment: str | None = None,
                      variables: list[dict[str, Any]] | None = None) -> None: ...

    async def dismiss(self, task_id: str, reason: str | None = None) -> None: ...

    async def chat(self, message: str, conversation_id: str | None = None) -> ChatReply: ...

    async def cancel(self, task_id: str) -> None:
        """Only when `capabilities.cancel` (else NotImplementedError)."""
        ...

    async def aclose(self) -> None: ...


if TYPE_CHECKING:

    def _every_provider_is_an_action_target(provider: Provider) -> ActionTarget:
        return provider  # mypy proves bulk runs and the rule runner can send through any provider


class WatchingProvider(Provider, Protocol):
    """The extra calls of a provider with `add_by_reference` and `variables` (Chamelio).

    Screens call these only when the capabilities say so; a provider without them need not
    define them.
    """

    async def add_task(self, reference: str) -> Task:
        """Read the task an id or URL names, then watch it (ValueError for a bad reference)."""
        ...

    async def forget(self, task_id: str) -> bool: ...

    async def approval_details(self, task_id: str) -> Any:
        """The approval step: `variables_to_approve` and `files` (Chamelio's ApprovalDetails)."""
        ...


class ApiClient(Protocol):
    """What `ClientBacked` needs of an API client (`LexiClient` and `ChamelioClient` both)."""

    rate_limit: RateLimit | None
    last_request_id: str | None
    _api_key: str

    @property
    def masked_key(self) -> str: ...

    def add_listener(self, listener: ResponseListener) -> None: ...

    def replay(self, heard: Sequence[ResponseInfo]) -> None: ...

    async def aclose(self) -> None: ...


class ClientBacked:
    """What a provider passes straight through to its API client (`self.client`): the
    rate-limit state, the last request id, the masked key, response listeners, closing, and
    the count of calls made. Both clients offer the same surface, so each provider adds only
    what differs."""

    client: ApiClient

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self._calls = 0
        client.add_listener(self._count)

    def _count(self, info: ResponseInfo) -> None:
        self._calls += 1

    @property
    def calls_made(self) -> int:
        return self._calls

    @property
    def rate_limit(self) -> RateLimit | None:
        return self.client.rate_limit

    @property
    def last_request_id(self) -> str | None:
        return self.client.last_request_id

    @property
    def masked_key(self) -> str:
        return self.client.masked_key

    @property
    def secret(self) -> str:
        """The key itself, only so crash reports can scrub it."""
        return self.client._api_key

    def add_listener(self, listener: ResponseListener) -> None:
        self.client.add_listener(listener)

    def replay(self, heard: Sequence[ResponseInfo]) -> None:
        self.client.replay(heard)

    async def aclose(self) -> None:
        await self.client.aclose()
