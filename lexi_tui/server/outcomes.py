"""How an approved task ends: completed with a result, or failed with an error.

The decision is a pure function of the task (id, type, metadata) and the failure rate, so a
test can predict it, a restart cannot change it, and the seed generator can reuse it to give
its completed and failed tasks the same kind of `result` / `error` metadata.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .drafts import name_id
from .vocab import join_words


def _fraction(task_id: str, salt: str) -> float:
    """A uniform number in [0, 1) derived from the task id: deterministic "randomness"."""
    digest = hashlib.sha256(f"{salt}:{task_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _int(value: Any, default: int) -> int:
    """Metadata counts come from files and chat: tolerate strings, floats and junk."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return default
    return max(0, number)


def will_fail(task_id: str, metadata: Any, failure_rate: float) -> bool:
    """Whether execution fails: `simulate` in metadata wins, else a hash of the id decides."""
    if isinstance(metadata, dict):
        if metadata.get("simulate") == "fail":
            return True
        if metadata.get("simulate") == "complete":
            return False
    return _fraction(task_id, "fail") < failure_rate


def _list_name_for_search(metadata: dict[str, Any]) -> str:
    if isinstance(metadata.get("list_name"), str):
        return metadata["list_name"]
    query = metadata.get("query") if isinstance(metadata.get("query"), dict) else {}
    words: list[str] = []
    for key in ("person_titles", "organization_industries", "person_locations"):
        values = query.get(key)
        if isinstance(values, list):
            words.extend(str(v) for v in values[:2])
    return "Lexi – " + (" ".join(words) if words else "Prospects")


def build_result(task_id: str, task_type: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """What a successful execution reports, per task type."""
    if task_type == "prospect_search":
        wanted = _int(metadata.get("per_page"), 25)
        shortfall = int(_fraction(task_id, "shortfall") * max(1, wanted // 10 + 1))
        list_name = _list_name_for_search(metadata)
        return {"prospects_saved": max(0, wanted - shortfall), "list_id": name_id("list", list_name),
                "list_name": list_name}
    if task_type == "campaign_start":
        return {"emails_scheduled": _int(metadata.get("contact_count"), 0)}
    if task_type == "contact_update":
        return {"contacts_updated": _int(metadata.get("contact_count"), 0)}
    if task_type == "list_operation":
        name = metadata.get("list_name") if isinstance(metadata.get("list_name"), str) else "Untitled List"
        list_id = metadata.get("list_id") if isinstance(metadata.get("list_id"), str) else name_id("list", name)
        count = _int(metadata.get("contact_count"), 0)
        return {"list_id": list_id, "list_name": name, "contacts_in_list": count}
    return {"message": "Task executed"}


def build_error(task_id: str, task_type: str, metadata: dict[str, Any]) -> dict[str, str]:
    """A realistic failure for the task's type; which one is chosen by a hash of the id."""
    pick = _fraction(task_id, "error")
    if task_type == "prospect_search":
        wanted = _int(metadata.get("per_page"), 25)
        options = [
            ("insufficient_credits", f"Insufficient credits to save {wanted} prospects"),
            ("provider_timeout", "Prospect data provider timed out after 30 seconds"),
        ]
    elif task_type == "campaign_start":
        name = metadata.get("campaign_name") or "the campaign"
        options = [
            ("mailbox_disconnected", f"No connected sending mailbox for '{name}'"),
            ("campaign_not_found", "Campaign not found or was deleted"),
        ]
    elif task_type == "contact_update":
        options = [
            ("invalid_field_value", f"Invalid value for field: {join_words(list(_fields(metadata))) or 'stage'}"),
            ("conflict", "Contacts are locked by a running import; try again later"),
        ]
    elif task_type == "list_operation":
        name = metadata.get("list_name") or "the list"
        if metadata.get("operation") == "create":
            options = [("duplicate_list", f"A list named '{name}' already exists")]
        else:
            options = [("list_not_found", f"List '{name}' was not found"),
                       ("list_limit_reached", "Lists are limited to 10,000 contacts on your plan")]
    else:
        options = [("unsupported_task_type", f"Unsupported task type '{task_type}'")]
    code, message = options[int(pick * len(options))]
    return {"message": message, "code": code}


def _fields(metadata: dict[str, Any]) -> list[str]:
    updates = metadata.get("updates")
    return [str(k) for k in updates] if isinstance(updates, dict) else []


def finish(task_id: str, task_type: str, metadata: Any, failure_rate: float) -> tuple[str, Any]:
    """Status and new metadata of an approved task whose execution time has come.

    Metadata that is not an object (allowed for loaded fixtures) is kept under "value" so the
    result still has somewhere to go.
    """
    base: dict[str, Any] = dict(metadata) if isinstance(metadata, dict) else {"value": metadata}
    if will_fail(task_id, metadata, failure_rate):
        base["error"] = build_error(task_id, task_type, base)
        return "failed", base
    base["result"] = build_result(task_id, task_type, base)
    return "completed", base

