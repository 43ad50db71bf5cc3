"""Typed models of the Lexi API's responses.

The API will grow: a task type or status the client does not know is kept as a
pseudo-member of its enum rather than rejected, so a new kind of task still shows up in
the list and can be approved. Every string from the server that is shown is cleaned of
control characters here, once (see `lexi_tui.api.text`); `raw` keeps the task exactly as
received, for `--json` output and for the metadata view.

Ids are the exception: `Task.id`, `ChatReply.task_id` and `ChatReply.conversation_id` are
kept exactly as the server sent them, because they are sent back (in a URL path, percent-
encoded as one segment, or in a body) and a cleaned id could name another task. Display code
must show them through `lexi_tui.api.text.show_id` (or `Task.display_id`), never raw.

A list answer (`parse_task_list`) is a `TaskList`: a plain list of tasks that also carries
`problems`, sentences for a person about what the server sent that could not be shown as
it came (a task without an id, the same id twice, a task that is not an object, text that
is not Unicode, nesting too deep to read). One bad task never hides the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from lexi_tui.api._json import Unreadable, has_bad_text
from lexi_tui.api.text import clean, clean_any, clip, show_id


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
        return self._value_ in type(self)._value2member_map_


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


def _status(text: str) -> TaskStatus:
    member = TaskStatus._value2member_map_.get(text)  # Fast path: the enum call is slow.
    return member if isinstance(member, TaskStatus) else TaskStatus(text)


def _type(text: str) -> TaskType:
    member = TaskType._value2member_map_.get(text)
    return member if isinstance(member, TaskType) else TaskType(text)


@dataclass(frozen=True, slots=True)
class Task:
    """One task Lexi queued, as the list endpoint returns it."""

    id: str
    """Exactly as the server sent it (a JSON string): send it back unchanged, show it only
    through `display_id`. Never cleaned: a cleaned id could be another task's id."""
    type: TaskType
    status: TaskStatus
    description: str
    created_at: datetime | None
    metadata: Any
    raw: dict[str, Any] = field(repr=False, compare=False, hash=False)

    @property
    def display_id(self) -> str:
        """The id as a person may see it: `show_id(self.id)`, injective and inert."""
        return show_id(self.id)

    @classmethod
    def from_api(cls, data: object) -> Task:
        """Build a task from one element of `data.tasks`, tolerating any JSON shape.

        A missing or wrongly typed field becomes an empty value instead of an error; an id
        that is not a string becomes "" (it is never turned into text that could be another
        task's id). `parse_task_list` skips such tasks instead, and says so.
        """
        raw: dict[str, Any] = data if isinstance(data, dict) else {"description": data}
        task_id = raw.get("id")
        return cls._build(raw, task_id if isinstance(task_id, str) else "")

    @classmethod
    def _build(cls, raw: dict[str, Any], task_id: str) -> Task:
        return cls(
            id=task_id,
            type=_type(_text(raw.get("type")) or "unknown"),
            status=_status(_text(raw.get("status")) or "unknown"),
            description=_text(raw.get("description")),
            created_at=parse_timestamp(raw.get("created_at")),
            metadata=raw.get("metadata"),
            raw=raw,
        )


class TaskList(list[Task]):
    """The tasks of one list answer, in the server's order, plus what could not be shown.

    A `list` in every way (callers index, iterate and compare it as before). `problems` holds
    sentences for a person, e.g. "The server sent 2 tasks with id t-1; only the first is
    shown." or "1 task without an id was skipped."; empty when the answer was clean.
    Display code should show them (a note above the list, a line of command output).
    """

    problems: tuple[str, ...]

    def __init__(self, tasks: Iterable[Task] = (), problems: Iterable[str] = ()) -> None:
        super().__init__(tasks)
        self.problems = tuple(problems)

    def __repr__(self) -> str:
        return f"TaskList({list.__repr__(self)}, problems={self.problems!r})"


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
    """Lexi's answer to a chat message.

    Three kinds of reply come back (https://docs.leadlex.com/api-reference/lexi/chat):

    * a queued task (`queued_task`): `requires_approval` is true and `task_id` names the task
      now pending in the list; it runs once approved;
    * work done at once, or a plain answer (`done_at_once`): `requires_approval` is false and
      `task_id` is null; nothing waits for the person, `response` says what Lexi did or
      answered. (The wire form does not tell "did the work" from "just answered": both read
      as done at once.)
    * neither, when the server contradicts itself (`requires_approval` true but no usable
      task id): only `response` can be shown.

    `task_id` and `conversation_id` are kept exactly as sent (ids go back to the server); a
    value that is not a string, is empty, or is not valid Unicode becomes None. Show them
    with `lexi_tui.api.text.show_id`.
    """

    response: str
    task_id: str | None
    requires_approval: bool
    conversation_id: str | None

    @property
    def queued_task(self) -> bool:
        """A task now waits for approval (its id is `task_id`)."""
        return self.requires_approval and self.task_id is not None

    @property
    def done_at_once(self) -> bool:
        """Nothing waits for approval: Lexi answered, or did the work itself."""
        return not self.requires_approval


def _data(body: object) -> dict[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else {}


_MAX_DUPLICATE_LINES = 3
_MAX_IDS_SHOWN = 3


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def _was(count: int) -> str:
    return "was" if count == 1 else "were"


def _ids(ids: list[str]) -> str:
    shown = ", ".join(clip(show_id(task_id), 60) for task_id in ids[:_MAX_IDS_SHOWN])
    return shown + (f" and {len(ids) - _MAX_IDS_SHOWN:,} more" if len(ids) > _MAX_IDS_SHOWN else "")


def parse_task_list(body: object, *, check_text: bool = True) -> TaskList:
    """Tasks from a list response body; never raises on any body.

    An unexpected envelope yields an empty list whose `problems` say so. Within the list,
    each malformed element is skipped and counted in `problems` (not an object, no id or an
    empty one, an id that is not a string, text that is not valid Unicode, nested too deeply
    to read, a number too long to read); of several tasks with the same id only the first is kept, so the rows a
    caller shows and the tasks it can act on are one and the same.

    Args:
        body: the decoded answer.
        check_text: look for lone surrogates in every string of every task; the client
            passes False when a scan of the body's bytes proved there are none (it costs a
            walk over every task otherwise).
    """
    tasks = _data(body).get("tasks")
    if not isinstance(tasks, list):
        return TaskList((), ("The answer held no task list.",))
    return parse_tasks(tasks, check_text=check_text)


def parse_tasks(items: list[Any], *, check_text: bool = True) -> TaskList:
    """`parse_task_list` for the `tasks` array itself."""
    tasks: list[Task] = []
    counts: dict[str, int] = {}
    not_objects = no_id = not_string = 0
    unreadable: dict[str, int] = {}
    bad_text: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            if isinstance(item, Unreadable):
                unreadable[item.reason] = unreadable.get(item.reason, 0) + 1
            else:
                not_objects += 1
            continue
        task_id = item.get("id")
        if not isinstance(task_id, str):
            if task_id is None:
                no_id += 1
            else:
                not_string += 1
            continue
        if not task_id:
            no_id += 1
            continue
        if check_text and has_bad_text(item):
            bad_text.append(task_id)
            continue
        seen = counts.get(task_id)
        if seen is not None:
            counts[task_id] = seen + 1
            continue
        counts[task_id] = 1
        tasks.append(Task._build(item, task_id))
    problems: list[str] = []
    if len(tasks) != sum(counts.values()):
        duplicated = [(task_id, n) for task_id, n in counts.items() if n > 1]
        for task_id, n in duplicated[:_MAX_DUPLICATE_LINES]:
            problems.append(f"The server sent {n:,} tasks with id {clip(show_id(task_id), 60)}; only the first is shown.")
        if len(duplicated) > _MAX_DUPLICATE_LINES:
            rest = len(duplicated) - _MAX_DUPLICATE_LINES
            problems.append(f"{_plural(rest, 'more id was', 'more ids were')} sent more than once; "
                            "only the first task of each is shown.")
    if no_id:
        problems.append(f"{_plural(no_id, 'task', 'tasks')} without an id {_was(no_id)} skipped.")
    if not_string:
        problems.append(f"{_plural(not_string, 'task', 'tasks')} whose id is not a string {_was(not_string)} skipped.")
    if not_objects:
        problems.append(f"{_plural(not_objects, 'entry', 'entries')} of the list {_was(not_objects)} "
                        f"not a task object and {_was(not_objects)} skipped.")
    if bad_text:
        problems.append(f"{_plural(len(bad_text), 'task', 'tasks')} with text that is not valid Unicode "
                        f"{_was(len(bad_text))} skipped (id {_ids(bad_text)}).")
    for reason, count in unreadable.items():
        problems.append(f"{_plural(count, 'task', 'tasks')} {reason} {_was(count)} skipped.")
    return TaskList(tasks, problems)


def _sent_id(value: object) -> str | None:
    """An id to keep exactly as sent: a non-empty string that is valid Unicode, else None."""
    if not isinstance(value, str) or not value or has_bad_text(value):
        return None
    return value


def parse_approve(body: object, task_id: str) -> ApproveResult:
    """The approve answer; `task_id` is the id that was sent (the echo is not trusted)."""
    data = _data(body)
    return ApproveResult(
        task_id=task_id,
        status=_status(_text(data.get("status")) or "approved"),
        execution_started=data.get("execution_started") is True,
    )


def parse_dismiss(body: object, task_id: str) -> DismissResult:
    """The dismiss answer; `task_id` is the id that was sent (the echo is not trusted)."""
    data = _data(body)
    return DismissResult(
        task_id=task_id,
        status=_status(_text(data.get("status")) or "dismissed"),
    )


def parse_chat(body: object) -> ChatReply:
    data = _data(body)
    response = data.get("response")
    return ChatReply(
        response=clean(response) if isinstance(response, str) else clean_any(response),
        task_id=_sent_id(data.get("task_id")),
        requires_approval=data.get("requires_approval") is True,
        conversation_id=_sent_id(data.get("conversation_id")),
    )
