"""Auto-approve and auto-dismiss rules, written as `[[rules]]` tables in the config file.

Most of a busy queue is routine (small prospect searches, the same request queued twice);
rules let that part go by itself while anything unusual still waits for a person. They are
deliberately narrow, because a rule that approves too much does real damage:

* A rule must have at least one condition; an empty rule would match every task.
* `campaign_start` (it e-mails real people) is never auto-approved unless the rule names
  that type explicitly in `type`; a rule without `type` never approves one.
* A condition on a metadata path the task does not have never holds.
* On a list value (e.g. `query.person_locations`), a comparison must hold for every element
  and the list must not be empty: "~ California" does not approve California *and* Texas.
* Only pending tasks are considered, and the first matching rule wins, in file order.

`[rules.metadata]` keys are dotted paths into the task's metadata (list indexes allowed);
values are an operator and an operand: `==`, `!=`, `<`, `<=`, `>`, `>=`, `~` (regular
expression search), `in [a, b]`, `exists`; a bare number or boolean means `==`, a list `in`.
Operands are read as JSON when they are JSON (`50`, `true`, `"50"`), else as plain text.

`evaluate` is pure (no I/O, no clock), so the app can preview what the rules would do and
`lexi-tui watch --dry-run` shows exactly what a live run would send.
"""


from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Only for annotations: importing lexi_tui.api pulls in httpx.
    from lexi_tui.api.models import Task

ACTIONS = ("approve", "dismiss")
PROTECTED_TYPES = ("campaign_start",)
"""Task types a rule only approves when its `type` names them explicitly."""
OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "~", "in", "exists")

_RULE_KEYS = ("name", "action", "type", "description", "reason", "metadata", "duplicate_of_pending")
_OPERATOR = re.compile(r"\s*(==|!=|<=|>=|<|>|~|in(?=[\s\[])|exists(?=\s*$))\s*(.*?)\s*$", re.DOTALL)
_SHOWN_DESCRIPTION = 40
_SHOWN_VALUE = 40


class RulesError(Exception):
    """The rules cannot be used as written; the message names the file, rule and field."""


@dataclass(frozen=True)
class Condition:
    """One metadata comparison: `path` (dotted), an operator, and the parsed operand."""

    path: str
    op: str
    operand: Any
    """The value compared against: a list for `in`, a compiled pattern for `~`."""
    text: str
    """The operand as written, for explanations."""

    def check(self, metadata: Any) -> str | None:
        """The explanation fragment ("per_page 20 <= 50") if the condition holds, else None."""
        found, value = _resolve(metadata, self.path)
        if not found:
            return None
        if self.op == "exists":
            return f"{self.path} exists" if value is not None else None
        whole = self.op in ("==", "!=") and isinstance(self.operand, list)
        if isinstance(value, list) and not whole:
            holds = bool(value) and all(self._holds(item) for item in value)
        else:
            holds = self._holds(value)
        return f"{self.path} {_show(value)} {self.op} {self.text}" if holds else None

    def _holds(self, value: Any) -> bool:
        op, operand = self.op, self.operand
        if op == "==":
            return _equal(value, operand)
        if op == "!=":
            return not _equal(value, operand)
        if op == "in":
            return any(_equal(value, item) for item in operand)
        if op == "~":
            if value is None:
                return False
            subject = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            return operand.search(subject) is not None
        comparable = (_is_number(value) and _is_number(operand)) or (
            isinstance(value, str) and isinstance(operand, str)
        )
        if not comparable:
            return False
        if op == "<":
            return bool(value < operand)
        if op == "<=":
            return bool(value <= operand)
        if op == ">":
            return bool(value > operand)
        return bool(value >= operand)  # ">="


@dataclass
class Rule:
    """One `[[rules]]` table, checked and compiled."""

    name: str
    action: str
    types: tuple[str, ...] = ()
    """Task types the rule applies to; empty means any (but see PROTECTED_TYPES)."""
    description: re.Pattern[str] | None = None
    reason: str | None = None
    """The dismiss reason sent to the API (dismiss rules only)."""
    metadata: tuple[Condition, ...] = ()
    duplicate_of_pending: bool = False
    index: int = 0
    """Position in the file, for messages."""

    @property
    def source(self) -> str:
        """The history `source` of actions this rule takes: `rule:<name>`."""
        return f"rule:{self.name}"

    def match(self, task: Task, original: Task | None = None) -> list[str] | None:
        """Why the rule matches `task` (one fragment per condition), or None if it does not.

        `original` is the older pending task `task` duplicates, if any (see `evaluate`).
        """
        task_type = str(task.type)
        if self.action == "approve" and task_type in PROTECTED_TYPES and task_type not in self.types:
            return None
        reasons: list[str] = []
        if self.types:
            if task_type not in self.types:
                return None
            reasons.append(f"type {task_type}")
        if self.description is not None:
            if self.description.search(task.description) is None:
                return None
            reasons.append(f"description ~ {self.description.pattern}")
        for condition in self.metadata:
            fragment = condition.check(task.metadata)
            if fragment is None:
                return None
            reasons.append(fragment)
        if self.duplicate_of_pending:
            if original is None:
                return None
            reasons.append(f"duplicate of older pending task {original.id}")
        return reasons

    def summary(self) -> str:
        """One line saying what the rule does, for `lexi-tui watch`'s start-up banner."""
        parts = [f"type in {', '.join(self.types)}"] if self.types else []
        if self.description is not None:
            parts.append(f"description ~ {self.description.pattern}")
        parts += [f"{c.path} exists" if c.op == "exists" else f"{c.path} {c.op} {c.text}" for c in self.metadata]
        if self.duplicate_of_pending:
            parts.append("duplicate of an older pending task")
        reason = f" (reason {self.reason})" if self.reason else ""
        return f"rule '{self.name}': {self.action}{reason} when {'; '.join(parts)}"


@dataclass
class Decision:
    """What a rule decided for one task, with one human-readable line explaining it."""

    task: Task
    rule: Rule
    action: str
    reason: str | None
    explanation: str

    @property
    def source(self) -> str:
        """The history `source` for the action: `rule:<name>`."""
        return self.rule.source


def load_rules(path: Path | None = None) -> list[Rule]:
    """Read the `[[rules]]` tables of the config file at `path` (default: the config file).

    A missing file, or one without rules, gives no rules. Anything that makes a rule
    unusable raises RulesError naming the file, the rule (index and name) and the field,
    because a rule that silently never matches, or matches too much, is worse than none.
    """
    from lexi_tui.core.config import config_path

    file = config_path() if path is None else Path(path)
    try:
        text = file.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise RulesError(f"{file}: cannot be read ({exc.strerror or exc}).") from exc
    except UnicodeDecodeError as exc:
        raise RulesError(f"{file}: is not UTF-8 text (bad byte at offset {exc.start}).") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{file}: not valid TOML: {exc}.") from exc
    return parse_rules(data.get("rules", []), str(file))


def parse_rules(raw: Any, where: str = "rules") -> list[Rule]:
    """Check and compile already-decoded `rules` data (the value of the `rules` key)."""
    if not isinstance(raw, list):
        raise RulesError(f"{where}: rules must be written as [[rules]] tables, not {_kind(raw)}.")
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(raw):
        rule = _parse_rule(index, table, where)
        if rule.name in seen:
            raise RulesError(
                f"{where}: rules[{index}] ({rule.name!r}): name is already used by rules[{seen[rule.name]}]; "
                "names must be unique (they are recorded in the history)."
            )
        seen[rule.name] = index
        rules.append(rule)
    return rules


def evaluate(rules: Sequence[Rule], tasks: Iterable[Task]) -> list[Decision]:
    """Decide, for each pending task, what the first matching rule does; in task order.

    Pure and deterministic: the same rules and tasks always give the same decisions.
    A task counts as a duplicate when an older pending task in `tasks` has the same
    type and metadata (older by `created_at`, then by list position, as the API lists
    newest first); the oldest of such a group is never a duplicate itself.
    """
    task_list = list(tasks)
    originals = _duplicates(task_list) if any(rule.duplicate_of_pending for rule in rules) else {}
    decisions: list[Decision] = []
    for position, task in enumerate(task_list):
        if str(task.status) != "pending":
            continue
        original = originals.get(position)
        for rule in rules:
            reasons = rule.match(task, original)
            if reasons is None:
                continue
            reason = rule.reason if rule.action == "dismiss" else None
            decisions.append(Decision(task, rule, rule.action, reason, _explain(task, rule, reason, reasons)))
            break
    return decisions


# -- parsing ------------------------------------------------------------------------------


def _parse_rule(index: int, table: Any, where: str) -> Rule:
    label = f"rules[{index}]"
    if isinstance(table, dict) and isinstance(table.get("name"), str) and table["name"].strip():
        label += f" ({table['name'].strip()!r})"

    def fail(name: str, problem: str) -> RulesError:
        return RulesError(f"{where}: {label}: {name} {problem}.")

    if not isinstance(table, dict):
        raise fail("rule", f"must be a table, not {_kind(table)}")
    unknown = sorted(set(table) - set(_RULE_KEYS))
    if unknown:
        raise fail(unknown[0], f"is not a known rule setting (known: {', '.join(_RULE_KEYS)})")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise fail("name", f"is required and must be a non-empty string, not {_kind(name)}")
    name = name.strip()
    if not name.isprintable() or len(name) > 80:
        raise fail("name", "must be at most 80 printable characters")
    action = table.get("action")
    if action not in ACTIONS:
        raise fail("action", f'must be "approve" or "dismiss", not {_kind(action)}')

    types_raw = table.get("type", [])
    types_list = [types_raw] if isinstance(types_raw, str) else types_raw
    if not isinstance(types_list, list) or not all(isinstance(t, str) and t.strip() for t in types_list):
        raise fail("type", f"must be a task type or a list of task types, not {_kind(types_raw)}")
    types = tuple(t.strip() for t in types_list)
    if "type" in table and not types:
        raise fail("type", "must name at least one task type")

    description = None
    if "description" in table:
        pattern = table["description"]
        if not isinstance(pattern, str) or not pattern:
            raise fail("description", f"must be a regular expression string, not {_kind(pattern)}")
        description = _compile(pattern, lambda problem: fail("description", problem))

    reason = table.get("reason")
    if reason is not None:
        if action != "dismiss":
            raise fail("reason", "is only used by dismiss rules (the API takes no reason for approvals)")
        if not isinstance(reason, str) or not reason.strip():
            raise fail("reason", f"must be a non-empty string, not {_kind(reason)}")
        reason = reason.strip()

    duplicate = table.get("duplicate_of_pending", False)
    if not isinstance(duplicate, bool):
        raise fail("duplicate_of_pending", f"must be true or false, not {_kind(duplicate)}")
    if duplicate and action != "dismiss":
        raise fail("duplicate_of_pending", "only makes sense for dismiss rules")

    metadata_raw = table.get("metadata", {})
    if not isinstance(metadata_raw, dict):
        raise fail("metadata", f'must be a table of "path" = "operator operand", not {_kind(metadata_raw)}')
    conditions = tuple(
        _parse_condition(path, value, lambda field_name, problem: fail(field_name, problem))
        for path, value in _flatten(metadata_raw)
    )
    if not (types or description or conditions or duplicate):
        raise fail(
            "rule",
            "has no conditions and would match every pending task; add type, description, "
            "metadata or duplicate_of_pending",
        )
    return Rule(name, action, types, description, reason, conditions, duplicate, index)


def _flatten(table: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """`{"query": {"x": v}}` (unquoted dotted keys in TOML) becomes `[("query.x", v)]`."""
    items: list[tuple[str, Any]] = []
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            items.extend(_flatten(value, path))
        else:
            items.append((path, value))
    return items


def _parse_condition(path: str, value: Any, fail: Any) -> Condition:
    name = f'metadata."{path}"'
    if not path or any(not part for part in path.split(".")):
        raise fail(name, "is not a usable dotted path (empty segment)")
    if isinstance(value, bool) or _is_number(value):
        return Condition(path, "==", value, json.dumps(value))
    if isinstance(value, list):
        return Condition(path, "in", value, json.dumps(value, ensure_ascii=False))
    if not isinstance(value, str):
        raise fail(name, f'must be a string such as "<= 50" or "~ California", not {_kind(value)}')
    match = _OPERATOR.fullmatch(value)
    if match is None:
        raise fail(name, f"must start with an operator ({' '.join(OPERATORS)}), e.g. \"<= 50\", not {value!r}")
    op, text = match.group(1), match.group(2)
    if op == "exists":
        return Condition(path, op, None, "")
    if not text:
        raise fail(name, f"has no operand after {op!r}")
    if op == "~":
        return Condition(path, op, _compile(text, lambda problem: fail(name, problem)), text)
    if op == "in":
        items = _parse_list(text)
        if items is None:
            raise fail(name, f'must list the values in brackets, e.g. "in [CEO, CTO]", not {value!r}')
        return Condition(path, op, items, text)
    return Condition(path, op, _scalar(text), text)


def _parse_list(text: str) -> list[Any] | None:
    if not (text.startswith("[") and text.endswith("]")):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        inner = text[1:-1].strip()
        return [_scalar(item.strip()) for item in inner.split(",")] if inner else []
    return parsed if isinstance(parsed, list) else None


def _scalar(text: str) -> Any:
    """An operand as JSON when it is JSON (`50`, `true`, `"50"`, `["CEO"]`), else the text itself."""
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    try:
        return json.loads(text)
    except ValueError:
        return text


def _compile(pattern: str, fail: Any) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise fail(f"is not a valid regular expression ({exc})") from None


# -- evaluation ---------------------------------------------------------------------------


def _duplicates(tasks: list[Task]) -> dict[int, Task]:
    """Map the position of each duplicate pending task to the oldest task it repeats."""
    groups: dict[tuple[str, str], list[int]] = {}
    for position, task in enumerate(tasks):
        if str(task.status) != "pending":
            continue
        try:
            key = (str(task.type), json.dumps(task.metadata, sort_keys=True, separators=(",", ":")))
        except (TypeError, ValueError):
            continue
        groups.setdefault(key, []).append(position)
    never = datetime.max.replace(tzinfo=UTC)

    def age(position: int) -> tuple[datetime, int, str]:
        task = tasks[position]
        # Oldest first: by timestamp, then later in the (newest-first) list, then id.
        return (task.created_at or never, -position, task.id)

    originals: dict[int, Task] = {}
    for positions in groups.values():
        if len(positions) < 2:
            continue
        ordered = sorted(positions, key=age)
        for position in ordered[1:]:
            originals[position] = tasks[ordered[0]]
    return originals


def _resolve(metadata: Any, path: str) -> tuple[bool, Any]:
    value = metadata
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(value: Any, operand: Any) -> bool:
    if isinstance(value, bool) or isinstance(operand, bool):
        return isinstance(value, bool) and isinstance(operand, bool) and value == operand
    return bool(value == operand)


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _shorten(text, _SHOWN_VALUE)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _explain(task: Task, rule: Rule, reason: str | None, reasons: list[str]) -> str:
    what = f"{rule.action} '{_shorten(task.description, _SHOWN_DESCRIPTION)}'"
    if reason:
        what += f" with reason '{reason}'"
    return f"{what} (rule '{rule.name}': {', '.join(reasons)})"


def _kind(value: object) -> str:
    """Name a TOML value's type the way the file's author would."""
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if _is_number(value) or (isinstance(value, str) and value):
        return f"{'a number' if _is_number(value) else 'a string'} ({value!r})"
    names = {str: "an empty string", list: "a list", dict: "a table", type(None): "nothing"}
    return names.get(type(value), f"a {type(value).__name__}")
