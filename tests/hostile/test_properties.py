"""Property-based tests: parsing and rendering hold for any JSON the server might send."""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lexi_tui.api.models import Task, parse_approve, parse_chat, parse_task_list
from lexi_tui.api.text import clean
from lexi_tui.ui.widgets.json_view import format_json

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)
task_like = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values, "type": json_values, "status": json_values, "description": json_values,
        "created_at": json_values, "metadata": json_values,
    },
)


def visible(text: str, *, newlines: bool) -> bool:
    allowed = {"\u200d"} | ({"\n", "\t"} if newlines else set())
    return all(ch in allowed or unicodedata.category(ch) not in ("Cc", "Cf") for ch in text)


@given(st.text())
def test_clean_leaves_no_control_or_format_characters(text: str) -> None:
    assert visible(clean(text), newlines=True)
    assert visible(clean(text, multiline=False), newlines=False)


@given(st.one_of(json_values, st.fixed_dictionaries({"data": st.fixed_dictionaries({"tasks": st.lists(task_like | json_values, max_size=5)})})))
def test_any_body_parses_to_tasks_or_nothing(body: object) -> None:
    tasks = parse_task_list(body)
    for task in tasks:
        assert isinstance(task, Task)
        for field in (task.id, str(task.type), str(task.status), task.description):
            assert visible(field, newlines=False)


@given(json_values)
def test_action_and_chat_bodies_never_raise(body: object) -> None:
    parse_approve(body, "t")
    parse_chat(body)
    parse_chat({"data": body})


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
