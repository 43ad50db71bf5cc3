"""Property-based tests: parsing and rendering hold for any JSON (and any bytes) a server sends."""

from __future__ import annotations

import json
import time
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lexi_tui.api._json import INVALID, _bounded, decode
from lexi_tui.api.models import Task, parse_approve, parse_chat, parse_task_list
from lexi_tui.api.ratelimit import RateLimit, retry_after_seconds
from lexi_tui.api.text import clean, show_id
from lexi_tui.ui.widgets.json_view import format_json

# Any character, lone surrogates and controls included (a JSON `\ud800` escape decodes to one).
any_char = st.one_of(st.characters(), st.characters(categories=["Cs", "Cc", "Cf", "Zs", "Mn"]))
any_text = st.text(any_char, max_size=12)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=25,
)
task_like = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values | any_text, "type": json_values, "status": json_values, "description": json_values,
        "created_at": json_values, "metadata": json_values,
    },
)


def visible(text: str, *, newlines: bool) -> bool:
    allowed = {"\u200d"} | ({"\n", "\t"} if newlines else set())
    return all(ch in allowed or unicodedata.category(ch) not in ("Cc", "Cf", "Cs") for ch in text)


@given(any_text)
def test_clean_leaves_no_control_format_or_surrogate_characters(text: str) -> None:
    assert visible(clean(text), newlines=True)
    assert visible(clean(text, multiline=False), newlines=False)
    clean(text).encode("utf-8")  # a terminal or a UTF-8 file can take it


@given(any_text, any_text)
def test_show_id_is_injective_and_inert(a: str, b: str) -> None:
    shown_a, shown_b = show_id(a), show_id(b)
    assert (shown_a == shown_b) == (a == b)
    assert visible(shown_a, newlines=False) and " " not in shown_a
    shown_a.encode("utf-8")
    if a.isascii() and a.isprintable() and " " not in a and "\\" not in a:
        assert shown_a == a  # plain ids are shown as they are


@given(st.one_of(json_values, st.fixed_dictionaries({"data": st.fixed_dictionaries({"tasks": st.lists(task_like | json_values, max_size=6)})})))
def test_any_body_parses_to_tasks_whose_ids_are_exactly_the_servers(body: object) -> None:
    tasks = parse_task_list(body)
    ids = [task.id for task in tasks]
    assert len(ids) == len(set(ids))  # one row per id: no silent merge, no double
    items = body["data"]["tasks"] if isinstance(body, dict) and isinstance(body.get("data"), dict) else []
    assert len(tasks) <= len(items)
    if len(tasks) < len(items) or not isinstance(body, dict):
        assert tasks.problems  # every skip is said
    for task in tasks:
        assert isinstance(task, Task) and isinstance(task.id, str) and task.id
        assert task.id == task.raw["id"]  # byte for byte, never cleaned
        task.id.encode("utf-8")  # can be sent back
        for field in (task.display_id, str(task.type), str(task.status), task.description):
            assert visible(field, newlines=False)
    for problem in tasks.problems:
        assert visible(problem, newlines=False)


@given(st.lists(st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=6), max_size=8))
def test_a_clean_list_has_no_problems_and_keeps_the_order(ids: list[str]) -> None:
    unique = list(dict.fromkeys(ids))
    tasks = parse_task_list({"data": {"tasks": [{"id": task_id} for task_id in unique]}})
    assert [t.id for t in tasks] == unique and tasks.problems == ()


@given(json_values)
def test_action_and_chat_bodies_never_raise(body: object) -> None:
    parse_approve(body, "t")
    reply = parse_chat(body)
    parse_chat({"data": body})
    assert reply.task_id is None or reply.task_id.encode("utf-8")


@given(st.binary(max_size=200))
def test_decode_never_raises_on_any_bytes(content: bytes) -> None:
    decoded = decode(content)
    try:
        expected = json.loads(content)
    except (ValueError, RecursionError):
        return
    assert decoded.value == expected or decoded.may_hold_bad_text


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_the_bounded_parse_reads_any_document_as_json_loads_does(value: object) -> None:
    text = json.dumps(value, ensure_ascii=False)
    assert _bounded(text, bad_text=False).value == json.loads(text)
    assert decode(json.dumps(value).encode()).value == value


@given(st.text(max_size=40), st.text(max_size=40))
def test_broken_documents_stay_broken_for_the_bounded_parse(head: str, tail: str) -> None:
    text = head + tail
    try:
        json.loads(text)
    except ValueError:
        assert _bounded(text, bad_text=False).value is INVALID


header_values = st.one_of(
    st.text(max_size=30), st.integers().map(str), st.floats().map(str),
    st.sampled_from(["1e400", str(10**30), "inf", "NaN", "-5", "", "5, 6", "Wed, 21 Oct 2015 07:28:00 GMT"]),
)


@given(st.dictionaries(st.sampled_from(["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"]),
                       header_values))
def test_rate_limit_headers_never_raise_and_stay_sane(headers: dict[str, str]) -> None:
    now = time.time()
    rate = RateLimit.from_headers(headers, now=now)
    if rate is None:
        return
    for count in (rate.limit, rate.remaining):
        assert count is None or (isinstance(count, int) and 0 <= count <= 10**9)
    if rate.reset_at is not None:
        assert now - 86_400 <= rate.reset_at <= now + 8 * 86_400
        assert 0 <= rate.seconds_until_reset(now) <= 8 * 86_400


@given(header_values)
def test_retry_after_is_clamped_or_none(value: str) -> None:
    wait = retry_after_seconds(value)
    assert wait is None or 0 <= wait <= 86_400


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_metadata_formats_to_inert_lines(value: object) -> None:
    for line in format_json(value):
        assert visible(line, newlines=False)


async def test_any_task_renders_as_one_row_of_exact_width() -> None:
    """A row is always one line of the table's width, with nothing a terminal would act on."""
    from textual.app import App, ComposeResult

    from lexi_tui.ui.app import styles_path
    from lexi_tui.ui.widgets.task_table import TaskTable

    class Harness(App[None]):
        CSS_PATH = styles_path()

        def compose(self) -> ComposeResult:
            yield TaskTable()

    async with Harness().run_test(size=(90, 10)) as pilot:
        table = pilot.app.query_one(TaskTable)

        @settings(max_examples=150, deadline=None)
        @given(task_like | json_values, st.integers(min_value=12, max_value=160), st.booleans())
        def check(raw: object, width: int, is_cursor: bool) -> None:
            task = Task.from_api(raw)
            strip = table._render_task(task, width, is_cursor)
            assert strip.cell_length == width
            assert visible(strip.text, newlines=False)

        check()
