"""The chat as documented, against the local service: a 402, work done at once, a queued task.

(Lost and contradictory answers, which the local service does not give: tests/hostile/test_chat_answers.py.)
"""

from __future__ import annotations

from textual.widgets import Input, Static

from lexi_tui.ui.widgets.chat_panel import TaskCard
from support.app import chat_lines, loaded, make_app, make_service, send, wait_for


async def test_no_credits_says_so_plainly_keeps_the_message_and_offers_no_retry() -> None:
    with make_service(credits=0) as service:
        app = make_app(service)
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = await loaded(pilot)
            await pilot.press("c")
            await send(pilot, screen, "Find 50 CEOs at law firms in California")
            await wait_for(pilot, lambda: any("credits" in line for line in chat_lines(screen)))
            said = chat_lines(screen)[-1]
            assert "No Lexi credits remaining" in said and "cannot help" in said
            assert "retry" not in said.lower()
            assert screen.chat.query_one("#chat-input", Input).value == "Find 50 CEOs at law firms in California"
            assert not screen.chat.query(TaskCard)


async def test_work_done_at_once_is_shown_as_done_not_as_a_task(service) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        rows = screen.table.task_count
        await pilot.press("c")
        await send(pilot, screen, "Tag jane@acme.com as VIP")
        await wait_for(pilot, lambda: bool(screen.chat.query(".chat-done")))
        done = str(screen.chat.query_one(".chat-done", Static).render())
        assert done.startswith("✔ Done at once") and "nothing waits for your approval" in done
        assert not screen.chat.query(TaskCard) and screen.chat.open_card() is None
        assert screen.chat.query_one("#chat-input", Input).value == ""
        assert screen.table.task_count == rows


async def test_a_queued_task_is_a_card_whose_buttons_have_keys(service) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("c")
        await send(pilot, screen, "Find 50 CEOs at law firms in California")
        await wait_for(pilot, lambda: screen.chat.open_card() is not None)
        card = screen.chat.open_card()
        assert not screen.chat.query(".chat-done")
        labels = [str(button.label) for button in card.query("Button")]
        assert labels == ["Approve  ^y", "Dismiss  ^n"]
        await wait_for(pilot, lambda: screen.state.queued(card.task_id) is not None)
        await pilot.press("ctrl+n")  # Dismiss, with the reason dialog, as the button does.
        from lexi_tui.ui.dialogs.dismiss_dialog import DismissDialog

        await wait_for(pilot, lambda: isinstance(app.screen, DismissDialog))
        assert app.screen.target.id == card.task_id
