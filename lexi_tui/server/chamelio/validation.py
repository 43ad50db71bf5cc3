"""Request validation in the shape Chamelio's (FastAPI) answers use: 422 with a list of
`{loc, msg, type}` (pydantic v1 wording, as in the vendor's example: "field required",
"value_error.missing").

Structural checks (the body's fields and their JSON types, path and query parameters) run
before the task is looked up, as a FastAPI handler would; checks that need the task (unknown
variable ids, values that do not fit their variable's type, required variables) run after the
404 and 409 checks. The service shares no code with the client: the variable rules are
written out again here on purpose, so the two can be checked against each other.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from typing import Any

from ..records import loads_strict

MAX_COMMENT_CHARS = 10_000
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_TRUE = ("1", "true", "on", "yes")
_FALSE = ("0", "false", "off", "no")


class RequestInvalid(Exception):
    """422: `errors` is the list of `{loc, msg, type}` to answer with."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


def error(loc: list[Any], msg: str, type_: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": type_}


MAX_TASK_ID = 2**63 - 1
"""The largest id looked up. Assumption (no vendor page states a range, only "integer"): ids are
64-bit signed, as a BIGINT column holds; a longer number is answered like any other invalid
integer. The client refuses such ids itself and never depends on this answer."""


def task_id_param(text: str) -> int:
    """The `{task_id}` path segment as an integer, or a 422 as FastAPI answers a non-integer."""
    stripped = text.strip()
    if re.fullmatch(r"[+-]?\d{1,19}", stripped) and -MAX_TASK_ID - 1 <= int(stripped) <= MAX_TASK_ID:
        return int(stripped)
    raise RequestInvalid([error(["path", "task_id"], "value is not a valid integer", "type_error.integer")])


def bool_query(value: str | None, name: str, default: bool = False) -> bool:
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise RequestInvalid([error(["query", name], "value could not be parsed to a boolean", "type_error.bool")])


def is_email(value: str) -> bool:
    return len(value) <= 254 and bool(_EMAIL.fullmatch(value.strip()))


@dataclasses.dataclass(frozen=True)
class ApprovalBody:
    approved: bool
    comment: str | None
    variables: list[dict[str, str]]
    user_email: str | None


def parse_approval(raw: bytes) -> ApprovalBody:
    """The approve body, or RequestInvalid with every structural problem found."""
    if not raw.strip():
        raise RequestInvalid([error(["body"], "field required", "value_error.missing")])
    try:
        body = loads_strict(raw)
    except (ValueError, RecursionError) as exc:
        position = getattr(exc, "pos", 0)
        raise RequestInvalid([error(["body", position], getattr(exc, "msg", "Invalid JSON"),
                                    "value_error.jsondecode")]) from None
    if not isinstance(body, dict):
        raise RequestInvalid([error(["body"], "value is not a valid dict", "type_error.dict")])
    problems: list[dict[str, Any]] = []
    approved = body.get("approved")
    if "approved" not in body or approved is None:
        problems.append(error(["body", "approved"], "field required", "value_error.missing"))
    elif not isinstance(approved, bool):
        problems.append(error(["body", "approved"], "value could not be parsed to a boolean", "type_error.bool"))
    comment = body.get("comment")
    if comment is not None:
        if not isinstance(comment, str):
            problems.append(error(["body", "comment"], "str type expected", "type_error.str"))
        elif len(comment) > MAX_COMMENT_CHARS:
            problems.append(error(["body", "comment"], f"ensure this value has at most {MAX_COMMENT_CHARS} characters",
                                  "value_error.any_str.max_length"))
    user_email = body.get("user_email")
    if user_email is not None:
        if not isinstance(user_email, str):
            problems.append(error(["body", "user_email"], "str type expected", "type_error.str"))
        elif not is_email(user_email):
            problems.append(error(["body", "user_email"], "value is not a valid email address", "value_error.email"))
    variables: list[dict[str, str]] = []
    raw_variables = body.get("variables")
    if raw_variables is not None:
        if not isinstance(raw_variables, list):
            problems.append(error(["body", "variables"], "value is not a valid list", "type_error.list"))
        else:
            for index, item in enumerate(raw_variables):
                where = ["body", "variables", index]
                if not isinstance(item, dict):
                    problems.append(error(where, "value is not a valid dict", "type_error.dict"))
                    continue
                clean: dict[str, str] = {}
                for name in ("variable_id", "type", "value"):
                    value = item.get(name)
                    if value is None:
                        problems.append(error([*where, name], "field required", "value_error.missing"))
                    elif not isinstance(value, str):
                        problems.append(error([*where, name], "str type expected", "type_error.str"))
                    else:
                        clean[name] = value
                if len(clean) == 3:
                    variables.append(clean)
    if problems:
        raise RequestInvalid(problems)
    assert isinstance(approved, bool)
    return ApprovalBody(approved, comment, variables, user_email)


def value_problem(kind: str, value: str, options: list[str] | None = None) -> str | None:
    """Why `value` does not fit a variable of type `kind` (None when it does)."""
    text = value.strip()
    if not text:
        return "value must not be empty"
    if kind == "number":
        if not _NUMBER.fullmatch(text) or not math.isfinite(float(text)):
            return "value is not a valid number"
    elif kind == "boolean":
        if value not in ("true", "false"):
            return "value must be 'true' or 'false'"
    elif kind == "date":
        if not _iso_date(text):
            return "value is not a valid ISO 8601 date"
    elif kind in ("email", "user_entity"):
        if not is_email(text):
            return "value is not a valid email address"
    elif kind == "select" and options and value not in options:
        return "value is not a permitted option: " + ", ".join(repr(o) for o in options)
    return None


def _iso_date(text: str) -> bool:
    try:
        if len(text) == 10:
            dt.date.fromisoformat(text)
            return True
        if len(text) < 11 or text[10] not in "Tt ":
            return False
        dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        return True
    except ValueError:
        return False


def check_variables(body: ApprovalBody, to_approve: list[dict[str, Any]]) -> None:
    """Raise RequestInvalid when a submitted variable does not belong to the approval step,
    has the wrong type or an invalid value, or (approving) a required one would stay empty."""
    known = {spec["variable_id"]: spec for spec in to_approve}
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(body.variables):
        where = ["body", "variables", index]
        spec = known.get(item["variable_id"])
        if spec is None:
            problems.append(error([*where, "variable_id"], f"unknown variable '{item['variable_id']}' for this "
                                  "approval step", "value_error.unknown_variable"))
            continue
        if item["variable_id"] in seen:
            problems.append(error([*where, "variable_id"], "variable submitted more than once",
                                  "value_error.duplicate"))
        seen.add(item["variable_id"])
        if item["type"] != spec["variable_type"]:
            problems.append(error([*where, "type"], f"variable '{spec['variable_id']}' is of type "
                                  f"'{spec['variable_type']}'", "value_error.type_mismatch"))
            continue
        problem = value_problem(spec["variable_type"], item["value"], spec.get("options"))
        if problem:
            problems.append(error([*where, "value"], problem, "value_error.variable"))
    if body.approved:
        for spec in to_approve:
            if spec.get("required") and spec["variable_id"] not in seen and not str(spec.get("value", "")).strip():
                problems.append(error(["body", "variables"], f"variable '{spec['variable_id']}' is required",
                                      "value_error.missing"))
    if problems:
        raise RequestInvalid(problems)
