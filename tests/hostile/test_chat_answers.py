"""The chat as documented, against answers the local service does not give: a lost answer, a
contradictory one, and a retry that must not queue the same task twice without the person
knowing. (402, done-at-once and queued replies from the local service: tests/ui/test_chat_panel.py.)"""

from __future__ import annotations

from hostile_lexi import RATE, HostileLexi, task
from textual.widgets import Input

from lexi_tui.ui.widgets.chat_panel import TaskCard
from support.app import chat_lines, loaded, send, wait_for
from support.hostile_server import Reply, Request


async def test_a_lost_answer_says_a_task_may_be_queued_refreshes_and_asks_before_sending_again() -> None:
    with HostileLexi(pending=[task("t-1", "an old task")]) as lexi:
        def lost_then_queued(request: Request) -> Reply:
            # Lexi received it and queued a task, but the answer never arrives.
            lexi.lists["pending"] = [task("t-new", "Search for 50 CEOs"), task("t-1", "an old task")]
            return Reply(drop_after=0, headers=[("Content-Type", "application/json")], body=b'{"data": {}}')

        lexi.chat = lost_then_queued
        app = lexi.app()
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = await loaded(pilot)
            gets = len(lexi.sent("GET"))
            await pilot.press("c")
            await send(pilot, screen, "Find 50 CEOs")
            await wait_for(pilot, lambda: any("answer was lost" in line for line in chat_lines(screen)))
            said = chat_lines(screen)[-1]
            assert "may have received the message" in said and "a task may have been queued" in said
            assert "press Enter to retry" not in said
            assert screen.chat.query_one("#chat-input", Input).value == "Find 50 CEOs"  # Kept.
            # The list is read again: the task Lexi queued shows up.
            await wait_for(pilot, lambda: len(lexi.sent("GET")) > gets and "t-new" in screen.table.visible_ids())
            # Enter again asks first, naming what was queued since; nothing is sent yet.
            await pilot.press("enter")
            asked = chat_lines(screen)[-1]
            assert "may already have reached Lexi" in asked and "Search for 50 CEOs" in asked
            assert "Press Enter again to send it anyway" in asked
            assert len(lexi.sent("POST", "/v1/lexi/chat")) == 1
            # A second Enter sends it (the person was told).
            lexi.chat = lambda request: Reply.json({"data": {"response": "Queued again", "task_id": "t-new2",
                                                             "requires_approval": True, "conversation_id": "c"}},
                                                   headers=RATE)
            await pilot.press("enter")
            await wait_for(pilot, lambda: len(lexi.sent("POST", "/v1/lexi/chat")) == 2)
            await wait_for(pilot, lambda: bool(screen.chat.query(TaskCard)))
            assert screen.chat.query_one("#chat-input", Input).value == ""


async def test_a_reply_that_needs_approval_but_names_no_task_says_so_and_refreshes() -> None:
    with HostileLexi(pending=[task("t-1", "an old task")]) as lexi:
        lexi.chat = lambda request: Reply.json({"data": {"response": "Queued it", "task_id": None,
                                                         "requires_approval": True, "conversation_id": "c"}},
                                               headers=RATE)
        app = lexi.app()
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await loaded(pilot)
            gets = len(lexi.sent("GET"))
            await pilot.press("c")
            await send(pilot, screen, "Find 50 CEOs")
            await wait_for(pilot, lambda: any("named no task" in line for line in chat_lines(screen)))
            assert not screen.chat.query(TaskCard)
            await wait_for(pilot, lambda: len(lexi.sent("GET")) > gets)


async def test_the_chat_sends_through_the_screens_provider() -> None:
    """The screen keeps the provider it was built with; the chat must not use the app's."""
    with HostileLexi(pending=[task("t-1", "an old task")]) as lexi:
        app = lexi.app()
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await loaded(pilot)
            sent: list[str] = []
            real_chat = screen.provider.chat

            async def spying(message, conversation_id=None):
                sent.append(message)
                return await real_chat(message, conversation_id=conversation_id)

            screen.provider.chat = spying  # type: ignore[method-assign]
            app._provider = None  # The app's provider is gone (e.g. switching profiles).
            await pilot.press("c")
            await send(pilot, screen, "hello")
            await wait_for(pilot, lambda: any(line.startswith("Lexi: ok") for line in chat_lines(screen)))
            assert sent == ["hello"]
