"""Typed models of Chamelio's task API, task references and variable validation.

Like `lexi_tui.api.models`, every builder tolerates any JSON shape: a missing or wrongly
typed field becomes an empty value, an unknown status or variable type is kept as a
pseudo-member of its open enum, and `raw` keeps what the server sent. Every string from the
server is cleaned of control characters here, once (`lexi_tui.api.text.clean`).

Variable values are always strings on the wire (a number is "1250", a boolean "true"); a
value the server sends as another JSON type is shown as its JSON text.

Task ids are integers (the approve page: `task_id` integer). The client keeps them as signed
64-bit values, 0 to 2**63 - 1 (`MAX_TASK_ID`): an id past that, from a reference a person
pasted (`parse_task_ref`), from a body or from anywhere else (`check_task_id`), is refused
with a message that says so and never stored (assumption: the docs give no range; 64-bit
signed is what a database key can hold, and a larger number cannot be such a key).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from lexi_tui.api.models import _OpenEnum, parse_timestamp
from lexi_tui.api.text import clean, clean_any, clip

__all__ = [
    "MAX_TASK_ID", "ApprovalDetails", "ApprovalResult", "CancelResult", "ChamelioStatus", "ChamelioTask", "FileRef",
    "StepRun", "TaskIdError", "Variable", "VariableType", "VariableValue", "check_task_id", "parse_task_ref",
    "validate_variable",
]


class ChamelioStatus(_OpenEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class VariableType(_OpenEnum):
    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    EMAIL = "email"
    SELECT = "select"
    FILE = "file"
    USER_ENTITY = "user_entity"
    BUSINESS = "business"


APPROVAL_STEP_TYPE = "approval"
MAX_TASK_ID = 2**63 - 1
"""The largest task id the client accepts (a signed 64-bit integer)."""
_OPEN_STATUSES = (ChamelioStatus.PENDING, ChamelioStatus.IN_PROGRESS)


# -- variable values ---------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_DATE_HINT = "an ISO 8601 date, e.g. 2025-03-31 or 2025-03-31T17:00:00Z"


def validate_variable(type: str, value: object, options: Sequence[str] | None = None) -> str | None:
    """Why `value` is not acceptable for a variable of `type`, or None when it is.

    number: a numeric string ("1250", "-3.5", "1e6"); boolean: "true" or "false"; date: an
    ISO 8601 date or date-time; email and user_entity: an email address; select: one of
    `options` when the variable carries options; text, business, file and types this
    client does not know: any non-empty string.
    """
    kind = str(type).strip().lower()
    if not isinstance(value, str):
        return "must be a string"
    text = value.strip()
    if not text:
        return "must not be empty"
    if kind == VariableType.NUMBER:
        if not _NUMBER.fullmatch(text) or not math.isfinite(float(text)):
            return "must be a number, e.g. 1250 or 99.5"
    elif kind == VariableType.BOOLEAN:
        if value not in ("true", "false"):
            return 'must be "true" or "false"'
    elif kind == VariableType.DATE:
        if not _is_iso_date(text):
            return f"must be {_DATE_HINT}"
    elif kind in (VariableType.EMAIL, VariableType.USER_ENTITY):
        if len(text) > 254 or not _EMAIL.fullmatch(text):
            return "must be an email address, e.g. name@example.com"
    elif kind == VariableType.SELECT:
        if options and value not in options:
            return "must be one of: " + ", ".join(options)
    return None


def _is_iso_date(text: str) -> bool:
    if len(text) == 10:
        try:
            date.fromisoformat(text)
            return True
        except ValueError:
            return False
    if len(text) < 11 or text[10] not in "Tt ":
        return False
    candidate = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        datetime.fromisoformat(candidate)
    except ValueError:
        return False
    return True


# -- task references ---------------------------------------------------------------------

_ID_TEXT = re.compile(r"#?\s*(\d+)")
_TASK_PATH = re.compile(r"/tasks/(\d+)/?")


class TaskIdError(ValueError):
    """Not a usable Chamelio task id (a message fit to show)."""


def check_task_id(value: object, *, allow_zero: bool = True) -> int:
    """`value` as a Chamelio task id, or TaskIdError saying why not.

    Accepts an int (not a bool) or a string of digits, from 0 (or 1 with
    `allow_zero=False`) to `MAX_TASK_ID`. For ids from bodies, webhooks and the watch list.
    """
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        digits = value.strip().lstrip("0") or "0"
        if len(digits) > len(str(MAX_TASK_ID)):
            raise TaskIdError(_too_large(value.strip()))
        number = int(digits)
    if number is None:
        shown = clip(clean_any(value, multiline=False), 40) if value is not None else "nothing"
        raise TaskIdError(f"{shown!r} is not a Chamelio task id: a task id is a whole number.")
    if number > MAX_TASK_ID:
        raise TaskIdError(_too_large(str(number)))
    if number < 0:
        raise TaskIdError(f"{number} is not a Chamelio task id: task ids are never negative.")
    if number == 0 and not allow_zero:
        raise TaskIdError("0 is not a Chamelio task id: task ids start at 1.")
    return number


def _too_large(digits: str) -> str:
    shown = clip(digits, 30)
    return f"{shown} is too large for a Chamelio task id: task ids go up to {MAX_TASK_ID}."


def parse_task_ref(text: str) -> int:
    """The task id in `1234`, `#1234` or a task URL (`https://platform.chamelio.ai/tasks/1234`,
    `.../workflows/9/tasks/1234?tab=approval`). Raises ValueError (a TaskIdError) with a message
    fit to show; an id past `MAX_TASK_ID` is refused as too large."""
    stripped = text.strip().strip("<>").strip() if isinstance(text, str) else ""
    match = _ID_TEXT.fullmatch(stripped) if stripped.isascii() else None
    digits: str | None = match.group(1) if match else None
    if digits is None and "://" in stripped:
        try:
            parts = urlsplit(stripped)
        except ValueError:
            parts = None
        if parts is not None and parts.scheme.lower() in ("http", "https") and parts.netloc:
            found = _TASK_PATH.search(parts.path)
            if found and found.group(1).isascii() and parts.path.rstrip("/").endswith(found.group(1)):
                digits = found.group(1)
    if digits is not None:
        task_id = check_task_id(digits)  # too large: says so
        if task_id > 0:
            return task_id
    shown = clean(stripped[:60], multiline=False) + ("…" if len(stripped) > 60 else "")
    raise TaskIdError(
        f"{shown!r} is not a Chamelio task: give a task id (1234 or #1234) or a task URL "
        "such as https://platform.chamelio.ai/tasks/1234."
    )


# -- helpers -----------------------------------------------------------------------------


def _text(value: object) -> str:
    return clean_any(value, multiline=False)


def _value_text(value: object) -> str:
    """A variable value as the string the API expects ("true", "1250", ...)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return clean(value)
    return clean_any(value)


def _int(value: object) -> int | None:
    """A task id from a body: an int or a digit string within [0, MAX_TASK_ID], else None."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_TASK_ID:
        value = int(value)
    try:
        return check_task_id(value)
    except TaskIdError:
        return None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _people(value: object) -> tuple[str, ...]:
    """Emails from a list of strings or of {email, name} objects (anything else: empty)."""
    people: list[str] = []
    for item in _list(value):
        if isinstance(item, dict):
            item = item.get("email") or item.get("user_email") or item.get("name") or ""
        text = _text(item)
        if text:
            people.append(text)
    return tuple(people)


def _options(raw: Mapping[str, Any]) -> tuple[str, ...]:
    for name in ("options", "choices", "allowed_values"):
        items = raw.get(name)
        if isinstance(items, list):
            values = []
            for item in items:
                if isinstance(item, dict):
                    item = item.get("value", item.get("label"))
                if item is not None:
                    values.append(_value_text(item))
            return tuple(values)
    return ()


# -- models ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Variable:
    """A workflow variable: a task's value, a step run's value, or one to approve."""

    variable_id: str
    type: VariableType
    value: str
    step_id: str
    name: str
    """A label when the server sends one, else the variable id."""
    required: bool
    options: tuple[str, ...]
    """The allowed values of a select variable, when the server lists them."""
    raw: dict[str, Any] = field(repr=False, compare=False, hash=False)

    @classmethod
    def from_api(cls, data: object) -> Variable:
        raw: dict[str, Any] = data if isinstance(data, dict) else {"value": data}
        variable_id = _text(raw.get("variable_id", raw.get("id")))
        type_text = _text(raw.get("variable_type", raw.get("type"))).lower() or "text"
        name = _text(raw.get("variable_name") or raw.get("label") or raw.get("name")) or variable_id
        return cls(
            variable_id=variable_id,
            type=VariableType(type_text),
            value=_value_text(raw.get("value")),
            step_id=_text(raw.get("step_id")),
            name=name,
            required=raw.get("required") is True,
            options=_options(raw),
            raw=raw,
        )

    def validate(self, value: str) -> str | None:
        """Why `value` cannot be submitted for this variable, or None (see validate_variable)."""
        return validate_variable(str(self.type), value, self.options or None)


@dataclass(frozen=True, slots=True)
class VariableValue:
    """One variable to submit with an approval: `{variable_id, type, value}` on the wire."""

    variable_id: str
    type: str
    value: str

    def to_api(self) -> dict[str, str]:
        return {"variable_id": self.variable_id, "type": str(self.type), "value": self.value}


@dataclass(frozen=True, slots=True)
class StepRun:
    step_run_id: str
    step_id: str
    step_name: str
    step_type: str
    status: str
    variables: tuple[Variable, ...]
    raw: dict[str, Any] = field(repr=False, compare=False, hash=False)

    @classmethod
    def from_api(cls, data: object) -> StepRun:
        raw: dict[str, Any] = data if isinstance(data, dict) else {}
        return cls(
            step_run_id=_text(raw.get("step_run_id")),
            step_id=_text(raw.get("step_id")),
            step_name=_text(raw.get("step_name")),
            step_type=_text(raw.get("step_type")).lower(),
            status=_text(raw.get("status")).lower(),
            variables=tuple(Variable.from_api(v) for v in _list(raw.get("variables"))),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class ChamelioTask:
    """One workflow task, as `GET /tasks/{task_id}` returns it."""

    task_id: int
    task_url: str
    title: str
    workflow_id: str
    workflow_name: str
    workflow_version: str
    status: ChamelioStatus
    current_step_id: str
    current_step_name: str
    current_step_type: str
    created_at: datetime | None
    updated_at: datetime | None
    completed_at: datetime | None
    owner_email: str
    assignee_email: str
    collaborator_emails: tuple[str, ...]
    step_runs: tuple[StepRun, ...]
    variables: tuple[Variable, ...]
    raw: dict[str, Any] = field(repr=False, compare=False, hash=False)

    @classmethod
    def from_api(cls, data: object, task_id: int | None = None) -> ChamelioTask:
        """Build a task from the `task` object; `task_id` fills in a missing or odd id."""
        raw: dict[str, Any] = data if isinstance(data, dict) else {}
        status_text = _text(raw.get("status")).lower() or "unknown"
        parsed_id = _int(raw.get("task_id"))
        return cls(
            task_id=parsed_id if parsed_id is not None else (task_id or 0),
            task_url=_text(raw.get("task_url")),
            title=_text(raw.get("task_title")),
            workflow_id=_text(raw.get("workflow_id")),
            workflow_name=_text(raw.get("workflow_name")),
            workflow_version=_text(raw.get("workflow_version")),
            status=ChamelioStatus(status_text),
            current_step_id=_text(raw.get("current_step_id")),
            current_step_name=_text(raw.get("current_step_name")),
            current_step_type=_text(raw.get("current_step_type")).lower(),
            created_at=parse_timestamp(raw.get("created_at")),
            updated_at=parse_timestamp(raw.get("updated_at")),
            completed_at=parse_timestamp(raw.get("completed_at")),
            owner_email=_text(raw.get("owner_email")),
            assignee_email=_text(raw.get("assignee_email")),
            collaborator_emails=_people(raw.get("collaborator_emails")),
            step_runs=tuple(StepRun.from_api(run) for run in _list(raw.get("step_runs"))),
            variables=tuple(Variable.from_api(v) for v in _list(raw.get("variables"))),
            raw=raw,
        )

    @property
    def awaiting_approval(self) -> bool:
        """At an approval step and still open: what the app shows as pending."""
        return self.current_step_type == APPROVAL_STEP_TYPE and self.status in _OPEN_STATUSES

    @property
    def is_finished(self) -> bool:
        return self.status in (ChamelioStatus.COMPLETED, ChamelioStatus.FAILED, ChamelioStatus.CANCELLED)

    @property
    def approval_outcome(self) -> str | None:
        """"approved" or "rejected" from the latest decided approval step run, else None."""
        for run in reversed(self.step_runs):
            if run.step_type == APPROVAL_STEP_TYPE and run.status in ("approved", "rejected"):
                return run.status
        return None


@dataclass(frozen=True, slots=True)
class FileRef:
    file_id: str
    file_name: str
    content_type: str
    download_url: str
    expires_at: datetime | None
    variable_id: str
    raw: dict[str, Any] = field(repr=False, compare=False, hash=False)

    @classmethod
    def from_api(cls, data: object) -> FileRef:
        raw: dict[str, Any] = data if isinstance(data, dict) else {}
        return cls(
            file_id=_text(raw.get("file_id")),
            file_name=_text(raw.get("file_name")),
            content_type=_text(raw.get("content_type")),
            download_url=_text(raw.get("download_url")),
            expires_at=parse_timestamp(raw.get("expires_at")),
            variable_id=_text(raw.get("variable_id")),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class ApprovalDetails:
    """`GET /tasks/{task_id}/approval-details`: what the approver decides on."""

    task_id: int
    step_run: StepRun | None
    eligible_approvers_active: tuple[str, ...]
    next_eligible_approvers: tuple[str, ...]
    variables_to_approve: tuple[Variable, ...]
    files: tuple[FileRef, ...]
    raw: dict[str, Any] = field(repr=False, compare=False, hash=False)

    @classmethod
    def from_api(cls, data: object, task_id: int | None = None) -> ApprovalDetails:
        raw: dict[str, Any] = data if isinstance(data, dict) else {}
        parsed_id = _int(raw.get("task_id"))
        step_run = raw.get("step_run")
        return cls(
            task_id=parsed_id if parsed_id is not None else (task_id or 0),
            step_run=StepRun.from_api(step_run) if isinstance(step_run, dict) else None,
            eligible_approvers_active=_people(raw.get("eligible_approvers_active")),
            next_eligible_approvers=_people(raw.get("next_eligible_approvers")),
            variables_to_approve=tuple(Variable.from_api(v) for v in _list(raw.get("variables_to_approve"))),
            files=tuple(FileRef.from_api(f) for f in _list(raw.get("files"))),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class ApprovalResult:
    """The answer to an approval or a rejection (`approved` says which)."""

    task_id: int
    status: ChamelioStatus
    approved: bool
    message: str

    @classmethod
    def from_api(cls, data: object, task_id: int, approved: bool) -> ApprovalResult:
        """The answer to a decision on `task_id`: it names the task that was sent, whatever id
        the body echoes (an echo is not trusted to name another task)."""
        raw = _dict(data)
        answered = raw.get("approved")
        return cls(
            task_id=task_id,
            status=ChamelioStatus(_text(raw.get("status")).lower() or "in_progress"),
            approved=answered if isinstance(answered, bool) else approved,
            message=_text(raw.get("message")),
        )


@dataclass(frozen=True, slots=True)
class CancelResult:
    task_id: int
    status: ChamelioStatus
    message: str

    @classmethod
    def from_api(cls, data: object, task_id: int) -> CancelResult:
        """The answer to cancelling `task_id` (named as sent, like `ApprovalResult`)."""
        raw = _dict(data)
        return cls(
            task_id=task_id,
            status=ChamelioStatus(_text(raw.get("status")).lower() or "cancelled"),
            message=_text(raw.get("message")),
        )


def variables_payload(
    variables: Iterable[VariableValue | Variable | Mapping[str, Any]] | Mapping[str, str] | None,
    known: Sequence[Variable] = (),
) -> list[dict[str, str]]:
    """The `variables` array of an approval from values in any convenient form.

    Accepts VariableValue or Variable objects, `{variable_id, type, value}` mappings, or a
    plain `{variable_id: value}` mapping whose types are looked up in `known`. Raises
    ValueError / TypeError for a value that is not a string or a type that cannot be found.
    """
    if variables is None:
        return []
    types = {v.variable_id: str(v.type) for v in known}
    items: list[dict[str, str]] = []
    if isinstance(variables, Mapping) and not {"variable_id", "value"} <= set(variables):
        for variable_id, value in variables.items():
            if variable_id not in types:
                raise ValueError(f"unknown variable {variable_id!r}: pass its type with a VariableValue")
            items.append(VariableValue(variable_id, types[variable_id], value).to_api())
    else:
        sequence = [variables] if isinstance(variables, Mapping) else list(variables)
        for item in sequence:
            if isinstance(item, VariableValue):
                items.append(item.to_api())
            elif isinstance(item, Variable):
                items.append(VariableValue(item.variable_id, str(item.type), item.value).to_api())
            elif isinstance(item, Mapping):
                variable_id = item.get("variable_id")
                kind = item.get("type", types.get(str(variable_id)))
                items.append(VariableValue(str(variable_id), str(kind), item.get("value")).to_api())  # type: ignore[arg-type]
            else:
                raise TypeError(f"cannot submit {type(item).__name__} as a variable")
    for item in items:
        if not isinstance(item["value"], str) or not item["variable_id"] or item["type"] in ("", "None"):
            raise ValueError(f"variable {item['variable_id']!r} needs an id, a type and a string value")
    return items
