"""Auto-approve/dismiss rules: loading and checking the TOML, and what `evaluate` decides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lexi_tui.api.models import Task
from lexi_tui.core.rules import Rule, RulesError, evaluate, load_rules, parse_rules

EXAMPLE = """
refresh_interval = 15

[[rules]]
name = "small prospect searches"
action = "approve"
type = "prospect_search"
description = "(?i)law firm"
[rules.metadata]
"per_page" = "<= 50"
"query.person_locations" = "~ California"

[[rules]]
name = "duplicates"
action = "dismiss"
duplicate_of_pending = true
reason = "duplicate"
"""


def task(n: int, type_: str = "prospect_search", description: str = "Search for 20 CEOs at law firms",
         metadata: Any = None, status: str = "pending", created: str | None = None) -> Task:
    if metadata is None:
        metadata = {"query": {"person_locations": ["California"]}, "per_page": 20}
    return Task.from_api({"id": f"t{n}", "type": type_, "status": status, "description": description,
                          "created_at": created or f"2026-11-20T{10 + n:02d}:00:00Z", "metadata": metadata})


def rules(*tables: dict[str, Any]) -> list[Rule]:
    return parse_rules(list(tables))


def test_load_the_documented_example(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    small, duplicates = load_rules(path)
    assert (small.name, small.action, small.types, small.reason) == (
        "small prospect searches", "approve", ("prospect_search",), None)
    assert small.description is not None and small.description.pattern == "(?i)law firm"
    assert [(c.path, c.op, c.operand) for c in small.metadata] == [
        ("per_page", "<=", 50), ("query.person_locations", "~", small.metadata[1].operand)]
    assert (duplicates.action, duplicates.reason, duplicates.duplicate_of_pending) == ("dismiss", "duplicate", True)
    assert duplicates.source == "rule:duplicates"


def test_no_file_or_no_rules_means_no_rules(tmp_path: Path) -> None:
    assert load_rules(tmp_path / "missing.toml") == []
    (tmp_path / "plain.toml").write_text('theme = "nord"\n')
    assert load_rules(tmp_path / "plain.toml") == []


def test_default_path_is_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lexi_tui.core.config import config_path

    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(EXAMPLE, encoding="utf-8")
    assert [rule.name for rule in load_rules()] == ["small prospect searches", "duplicates"]


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({"action": "approve", "type": "x"}, "rules[0]: name is required"),
        ({"name": "a", "action": "aprove", "type": "x"}, "rules[0] ('a'): action must be \"approve\" or \"dismiss\""),
        ({"name": "a", "action": "approve", "typo": "x"}, "rules[0] ('a'): typo is not a known rule setting"),
        ({"name": "a", "action": "approve"}, "rules[0] ('a'): rule has no conditions"),
        ({"name": "a", "action": "approve", "type": []}, "rules[0] ('a'): type must name at least one"),
        ({"name": "a", "action": "approve", "type": 3}, "rules[0] ('a'): type must be a task type"),
        ({"name": "a", "action": "approve", "description": "(unclosed"},
         "rules[0] ('a'): description is not a valid regular expression"),
        ({"name": "a", "action": "approve", "type": "x", "reason": "dup"}, "reason is only used by dismiss rules"),
        ({"name": "a", "action": "approve", "duplicate_of_pending": True}, "duplicate_of_pending only makes sense"),
        ({"name": "a", "action": "dismiss", "duplicate_of_pending": "yes"}, "duplicate_of_pending must be true or false"),
        ({"name": "a", "action": "approve", "metadata": {"per_page": "=< 50"}},
         "rules[0] ('a'): metadata.\"per_page\" must start with an operator"),
        ({"name": "a", "action": "approve", "metadata": {"x": "~ ([a"}}, "metadata.\"x\" is not a valid regular"),
        ({"name": "a", "action": "approve", "metadata": {"x": "in CEO, CTO"}}, "must list the values in brackets"),
        ({"name": "a", "action": "approve", "metadata": {"x": "<="}}, "has no operand"),
        ({"name": "a", "action": "approve", "metadata": {"x": {"y": None}}} , "must be a string"),
    ],
)
def test_bad_rules_name_the_rule_and_the_field(table: dict[str, Any], expected: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules([table], "cfg.toml")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("cfg.toml: rules[0]")


def test_rule_names_must_be_unique_and_rules_must_be_tables(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match=r"rules\[1\] \('a'\): name is already used by rules\[0\]"):
        rules({"name": "a", "action": "approve", "type": "x"}, {"name": "a", "action": "dismiss", "type": "y"})
    path = tmp_path / "c.toml"
    path.write_text('rules = "all"\n')
    with pytest.raises(RulesError, match="must be written as \\[\\[rules\\]\\] tables"):
        load_rules(path)
    path.write_text("[[rules]\n")
    with pytest.raises(RulesError, match="not valid TOML"):
        load_rules(path)


def test_explanation_names_the_rule_and_each_condition() -> None:
    rule_set = rules({"name": "small prospect searches", "action": "approve", "type": "prospect_search",
                      "metadata": {"per_page": "<= 50"}})
    (decision,) = evaluate(rule_set, [task(1, description="Search for 20 CEOs at law firms in New York, NY")])
    assert decision.action == "approve" and decision.reason is None and decision.source == "rule:small prospect searches"
    assert decision.explanation == (
        "approve 'Search for 20 CEOs at law firms in New…' "
        "(rule 'small prospect searches': type prospect_search, per_page 20 <= 50)"
    )


def test_campaign_start_is_only_approved_when_named() -> None:
    campaign = task(1, "campaign_start", "Start campaign 'Q2'", {"contact_count": 5})
    anything = {"name": "anything", "action": "approve", "description": "."}
    assert evaluate(rules(anything), [campaign]) == []
    assert evaluate(rules({**anything, "type": ["prospect_search", "contact_update"]}), [campaign]) == []
    (named,) = evaluate(rules({**anything, "type": ["prospect_search", "campaign_start"]}), [campaign])
    assert named.action == "approve"
    # Dismissing a campaign needs no such care.
    (dismissed,) = evaluate(rules({"name": "d", "action": "dismiss", "description": "Q2"}), [campaign])
    assert dismissed.action == "dismiss"


@pytest.mark.parametrize(
    ("condition", "value", "holds"),
    [
        ("== 20", 20, True), ("== 20", 20.0, True), ("== 20", "20", False), ('== "20"', "20", True),
        ("== qualified", "qualified", True), ("!= 20", 21, True), ("!= 20", 20, False),
        ("< 50", 49, True), ("< 50", 50, False), ("<= 50", 50, True), ("> 50", 51, True), (">= 50", 49, False),
        ("< 50", "10", False), ("> 2026-01-01", "2026-05-01", True), ("== true", True, True), ("== 1", True, False),
        ("~ (?i)^cal", "California", True), ("~ Cal", "Texas", False), ("~ 2\\d", 25, True), ("~ x", None, False),
        ("in [CEO, CTO]", "CTO", True), ('in ["CEO", "CTO"]', "CFO", False), ("in [1, 2]", 2, True),
        ("exists", 0, True), ("exists", None, False),
        # Lists: every element must satisfy the comparison, and an empty list never does.
        ("~ California", ["California"], True), ("~ California", ["California", "Texas"], False),
        ("~ California", [], False), ("in [CEO, CTO]", ["CEO", "CTO"], True), ("in [CEO]", ["CEO", "VP"], False),
        ("!= Texas", ["California", "Oregon"], True), ('== ["CEO"]', ["CEO"], True),
    ],
)
def test_operators(condition: str, value: Any, holds: bool) -> None:
    rule_set = rules({"name": "r", "action": "dismiss", "metadata": {"field": condition}})
    assert bool(evaluate(rule_set, [task(1, metadata={"field": value})])) is holds


def test_bare_values_lists_and_nested_paths() -> None:
    rule_set = rules({"name": "r", "action": "dismiss",
                      "metadata": {"per_page": 20, "flag": True, "titles": ["CEO", "CTO"],
                                   "query": {"locations": {"0": "~ ^Cal"}}}})
    assert [(c.path, c.op) for c in rule_set[0].metadata] == [
        ("per_page", "=="), ("flag", "=="), ("titles", "in"), ("query.locations.0", "~")]
    metadata = {"per_page": 20, "flag": True, "titles": ["CEO"], "query": {"locations": ["California", "Texas"]}}
    assert len(evaluate(rule_set, [task(1, metadata=metadata)])) == 1
    assert evaluate(rule_set, [task(1, metadata={**metadata, "flag": 1})]) == []


def test_a_missing_path_never_holds() -> None:
    for condition in ("!= 5", "< 5", "~ .", "exists", "in [1]"):
        rule_set = rules({"name": "r", "action": "dismiss", "metadata": {"absent.path": condition}})
        assert evaluate(rule_set, [task(1, metadata={"other": 1})]) == [], condition
        assert evaluate(rule_set, [task(1, metadata="not an object")]) == [], condition


def test_first_matching_rule_wins_and_only_pending_tasks_count() -> None:
    rule_set = rules({"name": "first", "action": "dismiss", "reason": "testing", "description": "(?i)test"},
                     {"name": "second", "action": "approve", "type": "prospect_search"})
    tasks = [task(1, description="A test search"), task(2), task(3, status="approved"), task(4, "contact_update")]
    decisions = evaluate(rule_set, tasks)
    assert [(d.task.id, d.rule.name, d.action, d.reason) for d in decisions] == [
        ("t1", "first", "dismiss", "testing"), ("t2", "second", "approve", None)]
    assert "with reason 'testing'" in decisions[0].explanation
    assert evaluate(rule_set, tasks) == decisions  # Pure: the same input, the same answer.


def test_duplicates_keep_the_oldest_pending_task() -> None:
    rule_set = rules({"name": "dups", "action": "dismiss", "reason": "duplicate", "duplicate_of_pending": True})
    same = {"query": {"q": 1}, "per_page": 20}
    tasks = [  # Newest first, as the API lists them.
        task(5, metadata=dict(same), created="2026-11-20T15:00:00Z"),
        task(4, metadata={"query": {"q": 2}, "per_page": 20}, created="2026-11-20T14:00:00Z"),
        task(3, "contact_update", metadata=dict(same), created="2026-11-20T13:00:00Z"),
        task(2, metadata={"per_page": 20, "query": {"q": 1}}, created="2026-11-20T09:00:00Z"),  # Key order differs.
        task(1, metadata=dict(same), status="dismissed", created="2026-11-20T08:00:00Z"),
    ]
    decisions = evaluate(rule_set, tasks)
    assert [d.task.id for d in decisions] == ["t5"]
    assert decisions[0].explanation.endswith("(rule 'dups': duplicate of older pending task t2)")
    # Age comes from created_at, not from the position in the list.
    shuffled = [tasks[3], tasks[0], tasks[1], tasks[2]]
    assert [d.task.id for d in evaluate(rule_set, shuffled)] == ["t5"]


def test_rule_summary_is_one_line() -> None:
    (rule,) = rules({"name": "r", "action": "dismiss", "reason": "duplicate", "type": ["a", "b"],
                     "metadata": {"n": "> 3", "m": "exists"}})
    assert rule.summary() == "rule 'r': dismiss (reason duplicate) when type in a, b; n > 3; m exists"
