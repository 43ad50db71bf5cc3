"""Typed models of the Lexi API's responses.

The API will grow: a task type or status the client does not know is kept as a
pseudo-member of its enum rather than rejected, so a new kind of task still shows up in
the list and can be approved. Every string from the server is cleaned of control
characters here, once (see `lexi_tui.api.text`); `raw` keeps the task exactly as received,
for `--json` output and for the metadata view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from lexi_tui.api.text import clean, clean_any


class _OpenEnum(StrEnum):
    """A StrEnum that accepts values it does not know, as unnamed pseudo-members."""

    @classmethod
    def _missing_(cls, value: object) -> _OpenEnum | None:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = f"UNKNOWN[{value}]"
        member._value_ = value
        return member

    @property
    def is_known(self) -> bool:
        """False for a value the server sent that this client version does not know."""
        return self._value_ in self._value2member_map_


class TaskStatus(_OpenEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DISMISSED = "dismissed"
    COMPLETED = "completed"
    FAILED = "failed"


class TaskType(_OpenEnum):
    PROSPECT_SEARCH = "prospect_search"
    CAMPAIGN_START = "campaign_start"
    CONTACT_UPDATE = "contact_update"
    LIST_OPERATION = "list_operation"


DISMISS_REASONS: tuple[tuple[str, str], ...] = (
    ("not_relevant", "Task no longer needed"),
    ("manual_execution", "Will do it manually"),
    ("incorrect_params", "Wrong search criteria"),
    ("duplicate", "Task already exists"),
    ("testing", "Test/development task"),
)
"""The dismiss reasons the docs track for analytics, with their documented use cases."""


def parse_timestamp(value: object) -> datetime | None:
    """Parse an ISO 8601 timestamp; None for anything unparseable (never raises)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _text(value: object) -> str:
    return clean_any(value, multiline=False)


@dataclass(frozen=True, slots=True)
class Task:
    """One task Lexi queued, as the list endpoint returns it."""

    id: str
    type: TaskType
    status: TaskStatus
    description: str
    created_at: datetime | None
    metadata: Any
    raw: dict[str, Any] = field(repr=False, compare=False, hash=False)

    @classmethod
    def from_api(cls, data: object) -> Task:
        """Build a task from one element of `data.tasks`, tolerating any JSON shape.

        A missing or wrongly typed field becomes an empty value instead of an error:
        one odd task must not hide the rest of the queue.
        """
        raw: dict[str, Any] = data if isinstance(data, dict) else {"description": data}
        type_text = _text(raw.get("type")) or "unknown"
        status_text = _text(raw.get("status")) or "unknown"
        return cls(
            id=_text(raw.get("id")),
            type=TaskType(type_text),
            status=TaskStatus(status_text),
            description=_text(raw.get("description")),
            created_at=parse_timestamp(raw.get("created_at")),
            metadata=raw.get("metadata"),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class ApproveResult:
    """The answer to an approval: the task is approved and Lexi may have started on it."""

    task_id: str
    status: TaskStatus
    execution_started: bool


@dataclass(frozen=True, slots=True)
class DismissResult:
    task_id: str
    status: TaskStatus


@dataclass(frozen=True, slots=True)
class ChatReply:
    """Lexi's answer to a chat message; `task_id` is set when the reply queued a task."""

    response: str
    task_id: str | None
    requires_approval: bool
    conversation_id: str | None


def _data(body: object) -> dict[str, Any]:
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        return body["data"]
    return {}


def parse_task_list(body: object) -> list[Task]:
    """Tasks from a list response body; an unexpected shape yields an empty list."""
    tasks = _data(body).get("tasks")
    if not isinstance(tasks, list):
        return []
    return [Task.from_api(item) for item in tasks]


def parse_approve(body: object, task_id: str) -> ApproveResult:
    data = _data(body)
    return ApproveResult(
        task_id=_text(data.get("task_id")) or task_id,
        status=TaskStatus(_text(data.get("status")) or "approved"),
        execution_started=bool(data.get("execution_started", False)),
    )


def parse_dismiss(body: object, task_id: str) -> DismissResult:
    data = _data(body)
    return DismissResult(
        task_id=_text(data.get("task_id")) or task_id,
        status=TaskStatus(_text(data.get("status")) or "dismissed"),
    )


def parse_chat(body: object) -> ChatReply:
    data = _data(body)
    response = data.get("response")
    task_id = data.get("task_id")
    conversation_id = data.get("conversation_id")
    return ChatReply(
        response=clean(response) if isinstance(response, str) else clean_any(response),
        task_id=_text(task_id) if task_id not in (None, "") else None,
        requires_approval=data.get("requires_approval") is True,
        conversation_id=_text(conversation_id) if conversation_id not in (None, "") else None,
    )
