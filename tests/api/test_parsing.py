"""What the models make of bodies, without a network: ids, lists and their problems, chat
replies, rate-limit headers. (The same paths over real HTTP are in test_client/test_hostile.)"""

from __future__ import annotations

import time

import pytest

from lexi_tui.api import ChatReply, Task, TaskList, show_id
from lexi_tui.api._json import TOO_DEEP, decode
from lexi_tui.api.models import parse_approve, parse_chat, parse_task_list
from lexi_tui.api.ratelimit import RateLimit, retry_after_seconds
from lexi_tui.api.text import clean


@pytest.mark.parametrize(("task_id", "shown"), [
    ("5f1c2b7e-9a1d-4c3e-8b2a-0d9e6f1a2b3c", "5f1c2b7e-9a1d-4c3e-8b2a-0d9e6f1a2b3c"),
    ("t\x1b[1", "t\\x1b[1"),
    ("t\u241b[1", "t\u241b[1"),  # the picture of ESC is a printable character: shown as is ...
    ("t\\x1b[1", "t\\\\x1b[1"),  # ... and the text "\x1b" cannot pass for ESC either
    ("a\u200bb", "a\\u200bb"),
    ("a b", "a\\x20b"),
    ("e\u0301", "e\\u0301"),
    ("\ud800", "\\ud800"),
    ("\U000e0041", "\\U000e0041"),  # a tag character (format, invisible)
    ("日本-1", "日本-1"),
])
def test_show_id(task_id: str, shown: str) -> None:
    assert show_id(task_id) == shown
    assert Task.from_api({"id": task_id}).display_id == shown


def test_ids_are_kept_exactly_and_never_cleaned() -> None:
    tasks = parse_task_list({"data": {"tasks": [{"id": "t\x1b[1", "description": "a\x1bb"}, {"id": "t\u241b[1"}]}})
    assert [t.id for t in tasks] == ["t\x1b[1", "t\u241b[1"]  # two tasks, not one merged
    assert tasks[0].description == clean("a\x1bb") != "a\x1bb"  # shown text is still cleaned


def test_a_task_list_is_a_list() -> None:
    tasks = parse_task_list({"data": {"tasks": [{"id": "a"}, {"id": "b"}]}})
    assert isinstance(tasks, TaskList) and isinstance(tasks, list)
    assert tasks == [Task.from_api({"id": "a"}), Task.from_api({"id": "b"})] and tasks[1:][0].id == "b"
    assert TaskList() == [] and TaskList().problems == ()
    assert "problems=()" in repr(tasks)


def test_many_duplicated_ids_are_summed_up_not_listed() -> None:
    items = [{"id": f"t-{n % 10}"} for n in range(50)]
    tasks = parse_task_list({"data": {"tasks": items}})
    assert [t.id for t in tasks] == [f"t-{n}" for n in range(10)]
    assert tasks.problems == (
        "The server sent 5 tasks with id t-0; only the first is shown.",
        "The server sent 5 tasks with id t-1; only the first is shown.",
        "The server sent 5 tasks with id t-2; only the first is shown.",
        "7 more ids were sent more than once; only the first task of each is shown.",
    )


def test_a_hostile_duplicate_id_is_shown_inert_in_the_problem() -> None:
    evil = "\x1b]52;c;aGk=\x07" + "x" * 500
    tasks = parse_task_list({"data": {"tasks": [{"id": evil}, {"id": evil}]}})
    (problem,) = tasks.problems
    assert "\x1b" not in problem and "\\x1b]52" in problem and len(problem) < 200


def test_an_answer_without_a_list_says_so() -> None:
    assert parse_task_list({"data": {}}).problems == ("The answer held no task list.",)
    assert parse_task_list(None) == []


def test_a_task_too_deep_is_skipped_by_the_list() -> None:
    decoded = decode(b'{"data": {"tasks": [{"id": "a"}, ' + b"[" * 5000 + b"]" * 5000 + b', {"id": "b"}]}}')
    assert decoded.partial and decoded.value["data"]["tasks"][1] is TOO_DEEP
    tasks = parse_task_list(decoded.value)
    assert [t.id for t in tasks] == ["a", "b"]
    assert tasks.problems == ("1 task nested too deeply to read was skipped.",)


def test_from_api_never_turns_a_non_string_id_into_another_tasks_id() -> None:
    assert Task.from_api({"id": 5}).id == ""  # not "5", which could be a real task's id
    assert Task.from_api("just text").description == "just text"


def test_approve_and_dismiss_results_name_the_id_that_was_sent() -> None:
    result = parse_approve({"data": {"task_id": "another", "status": "approved", "execution_started": "yes"}}, "mine")
    assert (result.task_id, result.execution_started) == ("mine", False)


@pytest.mark.parametrize(("data", "queued", "at_once"), [
    ({"response": "Queued", "task_id": "t-1", "requires_approval": True, "conversation_id": "c"}, True, False),
    ({"response": "Tagged", "task_id": None, "requires_approval": False, "conversation_id": "c"}, False, True),
    ({"response": "Hm", "task_id": None, "requires_approval": True}, False, False),  # contradicts itself
    ({"response": "Hm", "task_id": 7, "requires_approval": True}, False, False),  # not an id
])
def test_chat_reply_kinds(data, queued: bool, at_once: bool) -> None:
    reply = parse_chat({"data": data})
    assert (reply.queued_task, reply.done_at_once) == (queued, at_once)


def test_chat_ids_are_kept_exactly_unless_they_are_not_text() -> None:
    reply = parse_chat({"data": {"response": "x\x1b", "task_id": "t\x1b1", "conversation_id": "c\ud800"}})
    assert reply == ChatReply(response=clean("x\x1b"), task_id="t\x1b1", requires_approval=False, conversation_id=None)


def test_rate_limit_reset_forms_and_horizon() -> None:
    now = 1_800_000_000.0
    assert RateLimit.from_headers({"x-ratelimit-reset": "30"}, now=now).reset_at == now + 30
    assert RateLimit.from_headers({"x-ratelimit-reset": str(int(now) + 3600)}, now=now).reset_at == now + 3600
    assert RateLimit.from_headers({"x-ratelimit-reset": str(int(now) + 9 * 86_400)}, now=now) is None
    assert RateLimit.from_headers({"x-ratelimit-reset": str(int(now) - 2 * 86_400)}, now=now) is None
    assert RateLimit.from_headers({"x-ratelimit-limit": "100", "x-ratelimit-reset": "-1"}, now=now).reset_at is None
    assert RateLimit.from_headers({}, now=now) is None


def test_retry_after_as_seconds_or_a_date() -> None:
    now = time.time()
    soon = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 90))
    assert 85 <= retry_after_seconds(soon, now=now) <= 91
    assert retry_after_seconds("2.5") == 2.5 and retry_after_seconds(" 7 ") == 7.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


PIECEWISE_BODIES = [
    b'{"data": {"tasks": [{"id": "t-1", "description": "caf\xc3\xa9", "metadata": {"n": [1, 2.5, null, true]}}]},'
    b' "meta": {"next": null}}',
    b'  {"data":{"tasks":[]}}\n',
    b'{"data": {"tasks": [{"id": "t-1", "description": "\\ud800"}]}}',  # A lone surrogate escape.
    b'{"data": {"tasks": [{"id": "t-1", "description": "\xff"}]}}',  # Not UTF-8.
    b'{"data": {"tasks": [' + b"[" * 100_000 + b"]" * 100_000 + b', {"id": "t-2"}]}}',  # Too deep.
    b'{"data": {"tasks": [{"id": "t-1"}',  # Cut short.
    b'{"data": 1} trailing',
    b"",
]


@pytest.mark.parametrize("body", PIECEWISE_BODIES)
def test_a_body_decoded_piece_by_piece_reads_as_in_one_go(body: bytes) -> None:
    whole, pieces = decode(body), decode(body, piecewise=True)
    assert repr(pieces.value) == repr(whole.value)
    assert (pieces.problem, pieces.may_hold_bad_text, pieces.skipped) == (
        whole.problem, whole.may_hold_bad_text, whole.skipped)
