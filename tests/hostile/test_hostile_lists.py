"""What a hostile or broken Lexi can send to the list, and what the screen makes of it.

Through the hostile server (`hostile_lexi.HostileLexi`, real loopback HTTP): duplicated ids,
an empty id, lone surrogates, a task nested 100,000 deep, look-alike ids and ids with control
characters, a 30 MB description and megabytes of metadata. The list shows every task it can
(one row per id, as many rows as the tab counts), says under the list what it left out (once
per distinct set of problems), shows ids in their escaped form, sends and copies them byte for
byte, and keeps answering keys.
"""

from __future__ import annotations

import time
from urllib.parse import unquote

from hostile_lexi import HostileLexi, body_of, task
from textual.widgets import Static, Tab

from lexi_tui.ui.main.screen import MainScreen
from support.app import loaded, wait_for

DEEP = ('{"id": "deep", "type": "prospect_search", "status": "pending", "description": "nested too deep", '
        '"metadata": ' + "[" * 100_000 + "]" * 100_000 + "}")
LOOK_ALIKE = "t-1\u200b"
"""Shows like "t-1" unless escaped."""
CONTROL_ID = "ctl\x1b]2;pwned\x07"


def problems_line(screen: MainScreen) -> str:
    return str(screen.query_one("#list-problems", Static).render())


def fields(screen: MainScreen) -> str:
    return str(screen.detail.query_one("#detail-fields", Static).render())


def tab(screen: MainScreen, view: str) -> str:
    return screen.query_one(f"#view-{view}", Tab).label.plain


async def test_bad_tasks_are_left_out_said_once_and_the_others_shown() -> None:
    tasks = [task("t-1", "first copy"), task("t-1", "second copy"), task("", "empty id"),
             task("surrogate", "bad \ud800 text"), DEEP, task("t-2", "plain"), task(LOOK_ALIKE, "look-alike"),
             task(CONTROL_ID, "control characters in the id")]
    with HostileLexi(pending=body_of(tasks)) as lexi:
        app = lexi.app()
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await loaded(pilot)
            assert screen.table.visible_ids() == ["t-1", "t-2", LOOK_ALIKE, CONTROL_ID]
            assert tab(screen, "pending") == "Pending 4"  # As many rows as the tab says.
            assert screen.table.get("t-1").description == "first copy"
            await wait_for(pilot, lambda: "⚠" in problems_line(screen))  # Said once the list is shown.
            shown = problems_line(screen)
            assert "⚠ The server sent 2 tasks with id t-1; only the first is shown." in shown
            assert "1 task without an id was skipped." in shown
            assert "not valid Unicode" in shown and "(id surrogate)" in shown
            assert "too deep" in shown or "nested" in shown
            assert len(shown.splitlines()) == 3  # Three rows at most, whatever the list holds.

            # Refreshes that bring the same problems do not touch the line...
            box = screen.query_one("#list-problems", Static)
            updates: list[object] = []
            real_update = box.update
            box.update = lambda *args, **kwargs: (updates.append(args), real_update(*args, **kwargs))[1]  # type: ignore[method-assign]
            fetches = len(lexi.sent("GET"))
            for _ in range(2):
                await pilot.press("r")
                await wait_for(pilot, lambda: not screen.state.refreshing)
            assert len(lexi.sent("GET")) >= fetches + 2 and updates == []
            # ...and a list without them takes the line away.
            lexi.lists["pending"] = [task("t-1", "first copy"), task("t-2", "plain")]
            await pilot.press("r")
            await wait_for(pilot, lambda: not screen.query_one("#list-problems").has_class("-shown"))
            assert len(updates) == 1 and tab(screen, "pending") == "Pending 2"


async def test_ids_are_shown_escaped_and_sent_and_copied_byte_for_byte() -> None:
    with HostileLexi(pending=[task("t-1", "the real one"), task(LOOK_ALIKE, "the look-alike"),
                              task(CONTROL_ID, "control characters in the id")]) as lexi:
        app = lexi.app()
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = await loaded(pilot)
            assert "ID t-1\n" in fields(screen) + "\n"
            await pilot.press("down")
            assert "ID t-1\\u200b" in fields(screen)  # Two ids that look alike are told apart.
            await pilot.press("y")
            assert app.clipboard == LOOK_ALIKE
            assert any("t-1\\u200b" in n.message and "exactly as the server sent it" in n.message
                       for n in app._notifications)
            await pilot.press("down")
            shown = fields(screen)
            assert "ID ctl\\x1b]2;pwned\\x07" in shown and "\x1b" not in shown and "\x07" not in shown
            await pilot.press("a")  # Acted on: the raw id is what is sent.
            await wait_for(pilot, lambda: bool(lexi.sent("POST", "/approve")))
            target = lexi.sent("POST", "/approve")[0].target
            assert unquote(target) == f"/v1/lexi/tasks/{CONTROL_ID}/approve"


async def test_a_30_mb_description_and_megabytes_of_metadata_do_not_freeze_the_app() -> None:
    huge = "thirty megabytes " + "x" * 30_000_000
    blob = "y" * 5_000_000
    with HostileLexi(pending=[task("huge", huge), task("blob", "big metadata", metadata={"blob": blob}),
                              task("small", "a small one")]) as lexi:
        app = lexi.app()
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await loaded(pilot)
            table = screen.table
            width = table.scrollable_content_region.width
            assert table.render_line(0).cell_length == width  # The row is one line, cut.
            shown = fields(screen)
            assert len(shown) < 1_000 and "30.0 MB more (⏎, then ⏎ again, shows it all)" in shown
            # Responsive: one key moves the cursor (measured by the harness, not timed here).
            started = time.perf_counter()
            await pilot.press("down")
            moved_in = time.perf_counter() - started
            assert table.current is not None and table.current.id == "blob"
            view = screen.detail.json_view
            await wait_for(pilot, lambda: bool(view.lines))
            cut = [line for line in view.lines if "more (⏎ shows it all)" in line]
            assert cut and all(len(line) < 5_000 for line in view.lines)
            assert "5.0 MB more" in cut[0]
            await pilot.press("down")
            assert table.current.id == "small"
            # In full, on request, formatted off the event loop.
            await pilot.press("up", "up", "enter")
            assert view.has_focus and table.current.id == "huge"
            await pilot.press("enter")
            await wait_for(pilot, lambda: view.everything and len(view.lines) > 100_000, timeout=30)
            assert view.lines[-3:] == ["", "Metadata:", "{}"] and "".join(view.lines[1:-3]) == huge  # All of it.
            assert all(len(line) <= view.scrollable_content_region.width for line in view.lines[:50])
            assert screen.detail.border_title.startswith("Details: everything")
            await pilot.press("end")
            assert view.scroll_offset.y > 100_000
            await pilot.press("enter")  # Back to the short form.
            await wait_for(pilot, lambda: not view.everything and bool(view.lines))
            await pilot.press("escape")
            assert table.has_focus
            # Filtering searches the start of a description: no 30 MB casefold per keystroke.
            await pilot.press("slash", "t", "h", "i", "r", "t", "y")
            assert table.visible_ids() == ["huge"]
            print(f"30 MB list: one key moved the cursor in {moved_in * 1000:.0f} ms (pilot, includes idle waits)")
