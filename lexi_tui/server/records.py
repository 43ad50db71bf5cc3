"""Task records as the store keeps them, and validation of tasks supplied from outside.

`--tasks FILE` and `POST /_admin/tasks` accept the list endpoint's task shape, deliberately
loosely (any string type/status, any JSON metadata) so fixtures can exercise a client with odd
data — but reject malformed input with a message naming the index and field, because a
fixture that silently loads half its tasks makes for baffling test failures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import uuid
from pathlib import Path
from typing import Any


class TaskDataError(ValueError):
    """Tasks supplied by a file or the admin endpoint are malformed; the message says where."""


@dataclasses.dataclass(frozen=True)
class TaskRecord:
    """One task ready to insert. `metadata_json` is compact JSON text, served verbatim."""

    id: str
    type: str
    status: str
    description: str
    created_ts: float
    metadata_json: str
    reason: str | None = None
    source: str = "file"
    approved_ts: float | None = None
    dismissed_ts: float | None = None
    finished_ts: float | None = None
    execute_at: float | None = None


def iso_z(ts: float) -> str:
    """Render a Unix time as ISO 8601 UTC with `Z` (milliseconds only when non-zero)."""
    moment = dt.datetime.fromtimestamp(ts, tz=dt.UTC)
    millis = moment.microsecond // 1000
    text = moment.replace(microsecond=0, tzinfo=None).isoformat()  # zero-padded year, unlike %Y
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def parse_iso(text: str) -> float:
    """Parse an ISO 8601 timestamp (naive means UTC) to Unix time; ValueError if it is not one."""
    moment = dt.datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads_strict(text: str | bytes) -> Any:
    """json.loads without NaN/Infinity, which Python accepts but no JSON client can read back."""
    value = json.loads(text, parse_constant=_reject_constant)
    _check_finite(value)
    return value


def _check_finite(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError("numbers must be finite")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def dumps_compact(value: Any) -> str:
    """The one JSON encoding used for stored metadata (compact, UTF-8, no NaN)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _kind(value: Any) -> str:
    names = {dict: "object", list: "list", str: "string", bool: "boolean", int: "number",
             float: "number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def validate_tasks(data: Any, now: float, source: str = "file") -> list[TaskRecord]:
    """Turn a decoded JSON document into task records, or raise TaskDataError.

    Unknown keys are ignored (fixtures may carry notes); `reason` is accepted as an extension
    so dismissed fixtures can show one in the admin view.
    """
    if not isinstance(data, list):
        raise TaskDataError(f"Tasks must be a JSON list of task objects, got {_kind(data)}")
    records: list[TaskRecord] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(data):
        where = f"Task at index {index}"
        if not isinstance(item, dict):
            raise TaskDataError(f"{where} must be an object, got {_kind(item)}")
        for field in ("type", "description"):
            if field not in item:
                raise TaskDataError(f"{where}: '{field}' is required")
            if not isinstance(item[field], str):
                raise TaskDataError(f"{where}: '{field}' must be a string, got {_kind(item[field])}")
        task_id = item.get("id")
        if task_id is None:
            task_id = str(uuid.uuid4())
        elif not isinstance(task_id, str):
            raise TaskDataError(f"{where}: 'id' must be a string, got {_kind(task_id)}")
        elif not task_id.strip():
            raise TaskDataError(f"{where}: 'id' must not be empty")
        if task_id in seen:
            raise TaskDataError(f"{where}: duplicate id {task_id!r} (also at index {seen[task_id]})")
        seen[task_id] = index
        status = item.get("status")
        if status is None:
            status = "pending"
        elif not isinstance(status, str):
            raise TaskDataError(f"{where}: 'status' must be a string, got {_kind(status)}")
        created = item.get("created_at")
        if created is None:
            created_ts = now
        elif not isinstance(created, str):
            raise TaskDataError(f"{where}: 'created_at' must be an ISO 8601 string, got {_kind(created)}")
        else:
            try:
                created_ts = parse_iso(created)
                iso_z(created_ts)  # must render back (year 1 with a negative offset would not)
            except (ValueError, OverflowError, OSError):
                raise TaskDataError(f"{where}: 'created_at' is not an ISO 8601 timestamp: {created!r}") from None
        reason = item.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise TaskDataError(f"{where}: 'reason' must be a string, got {_kind(reason)}")
        try:
            metadata_json = dumps_compact(item.get("metadata", {}))
        except (ValueError, TypeError) as exc:
            raise TaskDataError(f"{where}: 'metadata' cannot be stored as JSON: {exc}") from None
        records.append(TaskRecord(id=task_id, type=item["type"], status=status, description=item["description"],
                                  created_ts=created_ts, metadata_json=metadata_json, reason=reason, source=source))
    return records


def load_tasks_file(path: str | Path, now: float) -> list[TaskRecord]:
    """Read and validate a `--tasks` file; every problem becomes a TaskDataError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskDataError(f"Cannot read tasks file {str(path)!r}: {exc}") from None
    try:
        data = loads_strict(text)
    except ValueError as exc:
        raise TaskDataError(f"Tasks file {str(path)!r} is not valid JSON: {exc}") from None
    try:
        return validate_tasks(data, now, source="file")
    except TaskDataError as exc:
        raise TaskDataError(f"Tasks file {str(path)!r}: {exc}") from None
