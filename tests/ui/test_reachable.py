"""Every action reachable at every size: the palette, the footer, the help, empty views.

Against the local service, driven with the pilot at 120x36, 80x24 and 60x20.
"""

from __future__ import annotations

import html
import re

from rich.console import Console
from textual.binding import Binding
from textual.command import CommandPalette
from textual.widgets import Static

from lexi_tui.ui.app import LexiApp
from lexi_tui.ui.main.screen import MainScreen
from lexi_tui.ui.screens.help_screen import HelpScreen, KeyTable
from lexi_tui.ui.screens.history_screen import HistoryScreen
from lexi_tui.ui.widgets.task_table import TaskTable
from support.app import loaded, make_app, make_service, wait_for


def bottom_line(app: LexiApp) -> str:
    """The last row of the screen as the user sees it (the text cells of a screenshot)."""
    cells = re.findall(r'<text[^>]*? x="([\d.]+)"[^>]*?clip-path="url\(#[^)]*-line-(\d+)\)"[^>]*>(.*?)</text>',
                       app.export_screenshot(), re.S)
    last = app.size.height - 1
    row = sorted((float(x), html.unescape(text)) for x, line, text in cells if int(line) == last)
    return "".join(text for _, text in row).replace("\xa0", " ")


async def test_the_palette_offers_every_key_by_name(service) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        titles = {command.title for command in app.get_system_commands(screen)}
        # Derived from the bindings: every binding of the screen, the list and the app is there
        # (but one-row moves, and keys this provider has not got).
        declared = [b for b in (*MainScreen.BINDINGS, *TaskTable.BINDINGS, *LexiApp.BINDINGS) if isinstance(b, Binding)]
        hidden = {"task.cancel", "task.add", "task.forget", "app.profile", *LexiApp.PALETTE_LEAVES_OUT}
        for binding in declared:
            if binding.id in hidden:
                continue
            assert screen.relabel(binding).description in titles, f"{binding.id} is not in the palette"
        for missing_before in ("History", "Undo", "Mark", "Mark all", "Clear marks", "Pause rules", "Rules dry run",
                               "Show pending tasks", "Show failed tasks", "Next view", "Previous view"):
            assert missing_before in titles
        assert sum(title == "Quit" for title in titles) == 1
        # Run one through the palette itself.
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"History")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))


async def test_the_palette_shows_the_keys_as_remapped(service) -> None:
    app = make_app(service, keymap={"app.history": "H"})
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        commands = {command.title: command.help for command in app.get_system_commands(screen)}
        assert commands["History"].endswith("(H)")


async def test_help_and_quit_stay_on_the_footer_at_80_and_60_columns(service) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: "q Quit" in bottom_line(app))
        wide = bottom_line(app)
        for key in ("space Mark", "a Approve", "d Dismiss", "u Undo", "c Chat", "q Quit", "? Help", "^p palette"):
            assert key in wide, f"{key!r} is not on the footer at 120 columns: {wide!r}"
        # The tests turn live refresh off, so "updated just now · live refresh off" takes 38
        # columns of the bottom row: at 60 columns the palette key loses its word.
        for size, keys in (((80, 24), ("? Help", "q Quit", "^p palette", "a Approve")), ((60, 20), ("? Help", "q Quit", "^p"))):
            await pilot.resize_terminal(*size)
            await wait_for(pilot, lambda: all(key in bottom_line(app) for key in keys))
            footer = bottom_line(app)
            for key in keys:
                assert key in footer, f"{key!r} is not on the footer at {size}: {footer!r}"


async def test_at_60_columns_with_live_refresh_the_footer_keeps_approve_too(service) -> None:
    app = make_app(service, refresh_interval=60)
    async with app.run_test(size=(60, 20)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: "q Quit" in bottom_line(app))
        footer = bottom_line(app)
        for key in ("a Approve", "? Help", "q Quit", "^p palette"):
            assert key in footer, f"{key!r} is not on the footer: {footer!r}"


async def test_the_chats_keys_are_on_the_footer_while_it_is_open(service) -> None:
    app = make_app(service)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: "esc Close chat" in bottom_line(app))
        assert "^y" not in bottom_line(app)  # No card yet: nothing to approve.
        screen.chat.query_one("#chat-input").value = "Find 50 CEOs at law firms in California"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "^y Approve" in bottom_line(app))
        footer = bottom_line(app)  # "updated … · live refresh off" takes a third of the row here.
        assert "^n Dismiss" in footer and "Help" in footer and "palette" in footer
        await pilot.press("ctrl+y")  # Approves the proposed task, as its button does.
        card = screen.chat.open_card()
        await wait_for(pilot, lambda: screen.chat.open_card() is None)
        await wait_for(pilot, lambda: "^y" not in bottom_line(app))
        assert card is None or card.done


def help_lines(help_screen: HelpScreen) -> list[str]:
    """The key table as drawn at the width the help screen gives it."""
    static = help_screen.query_one("#help-keys", Static)
    width = static.content_region.width
    console = Console(width=width, color_system=None, legacy_windows=False)
    table = KeyTable(help_screen.rows(), {})
    with console.capture() as capture:
        console.print(table)
    return capture.get().splitlines()


async def test_help_is_readable_at_80x24_and_60x20(service) -> None:
    app = make_app(service)
    for size in ((80, 24), (60, 20)):
        async with app.run_test(size=size) as pilot:
            await loaded(pilot)
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
            help_screen = app.screen
            lines = help_lines(help_screen)
            flat = " ".join(" ".join(lines).split())
            entries = [row for _, rows in help_screen.rows() for row in rows]
            for _keys, does, binding_id in entries:
                assert " ".join(does.split()) in flat, f"{does!r} is missing at {size}"
                assert binding_id in flat
            sections = len(help_screen.rows())
            # At 80 columns an entry takes at most two lines; at 60 at most three.
            most = 2 if size[0] == 80 else 3
            assert len(lines) <= most * len(entries) + 2 * sections, f"{len(lines)} lines at {size}"
        app = make_app(service)


async def test_empty_views_say_why() -> None:
    # Every answer takes 300 ms: the first list is still on its way when the screen appears.
    with make_service(tasks=(), latency_ms=(300.0, 300.0)) as service:
        app = make_app(service)
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
            screen = app.screen
            await wait_for(pilot, lambda: bool(screen.detail.query("#detail-fields")))  # Mounted.
            fields = screen.detail.query_one("#detail-fields", Static)
            await wait_for(pilot, lambda: "Not fetched yet" in str(fields.render()))
            assert "Not fetched yet" in screen.table.render_line(1).text
            await wait_for(pilot, lambda: "No pending tasks: the queue is clear" in str(fields.render()))
            assert "No pending tasks: the queue is clear" in screen.table.render_line(1).text
            await pilot.press("5")  # Failed: fetched as a count or on demand.
            await wait_for(pilot, lambda: "No failed tasks" in str(fields.render()))
            assert "No failed tasks" in screen.table.render_line(1).text
            assert "No task selected" not in str(fields.render())


async def test_a_filter_that_matches_nothing_says_so(service) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("slash", *"zzz")
        assert screen.table.task_count == 0
        assert "No task here matches “zzz”" in screen.table.render_line(1).text


async def test_campaign_rows_keep_the_contact_count_in_view_at_80_columns(service) -> None:
    app = make_app(service)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot)
        line = next(screen.table.render_line(y).text for y in range(6)
                    if "campaign_start" in screen.table.render_line(y).text)
        assert "150 contacts" in line
        assert screen.table.select(next(i for i in screen.table.visible_ids()
                                        if screen.table.get(i).type == "campaign_start"))
        await wait_for(pilot, lambda: "150 contacts" in str(screen.detail.query_one("#detail-fields", Static).render()))


async def test_h_closes_the_history_after_esc_leaves_its_filter(service) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await pilot.press("slash", "x", "escape")
        history = app.screen
        assert history.query_one("#history-filter").value == ""
        await pilot.press("h")
        assert app.screen is screen
