"""Issue 6, "Faults": the app driven with the pilot against the local service while it is
slow, answers 5xx (JSON and HTML), drops connections, rate-limits hard, or goes away in
the middle of an approve, a dismiss or a chat send.

In every case: no traceback (the app keeps running), no frozen screen (a key still moves
the cursor while requests are out), a clear state on screen, the user's typed text kept,
and at the end the service's own record shows each action the user confirmed applied
exactly once and nothing else. Writes are never retried by the app: the service's
per-endpoint counters must show exactly one POST per user confirmation.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from fault_support import (
    APPROVE,
    CHAT,
    DISMISS,
    LIST,
    PENDING_IDS,
    LossyProxy,
    admin_task,
    assert_alive,
    assert_responsive,
    endpoint_count,
    exhaust_rate_limit,
    loaded,
    make_app,
    make_service,
    record_notifications,
    restart,
    set_faults,
    stats,
    stop_in_background,
    wait_for,
)
from textual.widgets import Input, Static

from lexi_tui.ui.dialogs.dismiss_dialog import DismissDialog
from lexi_tui.ui.main.screen import MainScreen
from lexi_tui.ui.widgets.chat_panel import ChatPanel, TaskCard
from lexi_tui.ui.widgets.status_bar import StatusBar

SIZE = (120, 36)
FIRST, CAMPAIGN, THIRD = PENDING_IDS[0], PENDING_IDS[1], PENDING_IDS[2]
CHAT_ASK = "Find 5 CEOs"  # Short: each typed key costs the pilot ~80 ms.


def status_text(dialog: DismissDialog) -> str:
    return str(dialog.query_one("#dismiss-status", Static).render())


def says_not_sent(dialog: DismissDialog) -> bool:
    """The dialog reports a failed send in its error line and invites a retry."""
    status = dialog.query_one("#dismiss-status", Static)
    return status.has_class("-error") and "try again" in status_text(dialog)


def not_sent_or_lost(chat: ChatPanel) -> bool:
    """The chat said the message was not sent, or that its answer was lost (it may have been)."""
    said = " ".join(chat_errors(chat))
    return "Not sent" in said or "answer was lost" in said


async def send_again(pilot, chat: ChatPanel) -> None:
    """Enter again; after a lost answer the chat first asks (a task may have been queued), and a
    second Enter sends."""
    await pilot.press("enter")
    if chat.lost is not None and chat.lost.asked:
        await pilot.press("enter")


def chat_errors(chat: ChatPanel) -> list[str]:
    return [str(node.render()) for node in chat.query(".chat-error")]


def assert_only(server, approved: set[str] = frozenset(), dismissed: dict[str, str] | None = None) -> None:
    """The service's record: every fixture task applied exactly as the user confirmed."""
    dismissed = dismissed or {}
    for task_id in PENDING_IDS:
        record = admin_task(server, task_id)
        assert record["approve_count"] == (1 if task_id in approved else 0), (task_id, record)
        assert record["dismiss_count"] == (1 if task_id in dismissed else 0), (task_id, record)
        if task_id in dismissed:
            assert record["reason"] == dismissed[task_id]
        if task_id not in approved and task_id not in dismissed:
            assert record["status"] == "pending"


async def go_to(pilot, screen: MainScreen, task_id: str) -> None:
    """Move the cursor to `task_id` with the keys a person would use (g, then j...)."""
    await pilot.press("g")
    while screen.table.current.id != task_id:
        before = screen.table.cursor
        await pilot.press("j")
        assert screen.table.cursor != before, f"{task_id} is not in the list"


async def open_dismiss(pilot, screen: MainScreen, text: str) -> DismissDialog:
    """`d`, then `o` (other reason) and the text: the dialog, ready for Enter."""
    await pilot.press("d", "o", *text)
    dialog = pilot.app.screen
    assert isinstance(dialog, DismissDialog)
    assert dialog.query_one("#reason-text", Input).value == text
    return dialog


async def open_chat(pilot, screen: MainScreen, text: str) -> tuple[ChatPanel, Input]:
    await pilot.press("c", *text)
    chat = screen.chat
    box = chat.query_one("#chat-input", Input)
    assert box.value == text
    return chat, box


# -- latency -----------------------------------------------------------------------------------


async def test_latency_up_to_two_seconds_keeps_the_screen_live() -> None:
    """0.6-2 s per request, the client's default time-outs: everything arrives, nothing freezes."""
    with make_service() as service:
        app = make_app(service, read_retries=2)
        async with app.run_test(size=SIZE) as pilot:
            seen = record_notifications(app)
            screen = await loaded(pilot)
            set_faults(service, latency_ms=(600, 2000))
            bar = screen.query_one(StatusBar)

            await pilot.press("r")
            assert screen.state.refreshing
            await assert_responsive(pilot, screen)
            await wait_for(pilot, lambda: not screen.state.refreshing)

            # Approve: the row says "approving…" and the cursor moves on at once.
            assert screen.table.current.id == FIRST
            await pilot.press("a")
            assert screen.table.busy.get(FIRST) == "approving…"
            assert screen.table.current.id == CAMPAIGN
            await assert_responsive(pilot, screen)
            await wait_for(pilot, lambda: FIRST not in screen.table.visible_ids())

            # Dismiss: the dialog says "Sending…" and keeps the text until the answer.
            dialog = await open_dismiss(pilot, screen, "slow ok")
            await pilot.press("enter")
            assert dialog.sending and "Sending" in status_text(dialog)
            assert app.screen is dialog and dialog.query_one("#reason-text", Input).value == "slow ok"
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
            assert CAMPAIGN not in screen.table.visible_ids()

            # Chat: "Lexi is thinking" while the text stays in the box.
            chat, box = await open_chat(pilot, screen, CHAT_ASK)
            await pilot.press("enter")
            assert chat.sending and chat.query_one("#chat-thinking").display
            assert box.value == CHAT_ASK
            await wait_for(pilot, lambda: len(chat.query(TaskCard)) == 1)
            assert box.value == "" and not chat_errors(chat)

            assert bar.connection == "online"
            assert not screen.table.errors
            assert not [n for n in seen if n[2] == "error"], seen
            assert_alive(app)
        assert_only(service, approved={FIRST}, dismissed={CAMPAIGN: "slow ok"})
        counts = stats(service)["by_endpoint"]
        assert (counts[APPROVE], counts[DISMISS], counts[CHAT]) == (1, 1, 1)


# -- 5xx answers, JSON and HTML ---------------------------------------------------------------


async def test_5xx_answers_with_html_bodies() -> None:
    """Every request answered 500 (JSON) or 502 (an HTML gateway page): reads are retried
    with back-off, writes are not; each failure is said where the user acted."""
    with make_service() as service:
        app = make_app(service, read_retries=2)
        async with app.run_test(size=SIZE) as pilot:
            seen = record_notifications(app)
            screen = await loaded(pilot)
            set_faults(service, error_rate=1.0)
            reads = endpoint_count(service, LIST)

            await pilot.press("r")
            await assert_responsive(pilot, screen)
            await wait_for(pilot, lambda: not screen.state.refreshing)
            assert endpoint_count(service, LIST) == reads + 3  # One read, retried twice.
            assert any(title == "Refresh failed" for title, _, _ in seen), seen
            assert screen.table.task_count == len(PENDING_IDS)  # The last list stays.

            await pilot.press("a")  # FIRST: refused with a 5xx (a 502 from the gateway: outcome unknown).
            await wait_for(pilot, lambda: screen.table.errors.get(FIRST) in ("approve failed", "approve: unknown"))
            assert any(title.startswith("Could not approve") for title, _, _ in seen), seen
            assert FIRST in screen.table.visible_ids()
            await pilot.pause(0.2)
            assert endpoint_count(service, APPROVE) == 1  # Not retried behind the user's back.
            assert screen.table.current.id == FIRST  # Back on the failed task: `a` retries it.

            await pilot.press("down")
            dialog = await open_dismiss(pilot, screen, "html 502")  # CAMPAIGN, under the cursor.
            await pilot.press("enter")
            await wait_for(pilot, lambda: not dialog.sending)
            assert app.screen is dialog and says_not_sent(dialog), status_text(dialog)
            assert dialog.query_one("#reason-text", Input).value == "html 502"
            assert endpoint_count(service, DISMISS) == 1
            messages = " ".join(message for _, message, _ in seen)
            assert "HTML page" in messages and "HTTP 500" in messages and "HTTP 502" in messages

            set_faults(service, error_rate=0.0)
            await pilot.press("enter")  # The user tries again: one more POST, applied.
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
            await pilot.press("g")  # Back to the row marked with the error.
            assert screen.table.current.id == FIRST
            await pilot.press("a")
            await wait_for(pilot, lambda: FIRST not in screen.table.visible_ids())
            assert not screen.table.errors

            set_faults(service, error_rate=1.0)
            chat, box = await open_chat(pilot, screen, CHAT_ASK)
            await pilot.press("enter")
            await wait_for(pilot, lambda: not chat.sending)
            assert box.value == CHAT_ASK and not_sent_or_lost(chat)  # A 502 may have reached Lexi.
            set_faults(service, error_rate=0.0)
            await send_again(pilot, chat)
            await wait_for(pilot, lambda: len(chat.query(TaskCard)) == 1)
            assert box.value == ""
            assert_alive(app)
        assert_only(service, approved={FIRST}, dismissed={CAMPAIGN: "html 502"})
        counts = stats(service)["by_endpoint"]
        assert (counts[APPROVE], counts[DISMISS], counts[CHAT]) == (2, 2, 2)  # One per press.
        assert stats(service)["tasks_by_status"]["pending"] == len(PENDING_IDS) - 2 + 1  # One task from chat.


# -- dropped connections ----------------------------------------------------------------------


async def test_dropped_connections_are_re_read_never_resent() -> None:
    """Every connection closed without an answer: the list goes "offline, retrying", an
    approve is sent once and then re-read (the re-read is dropped too, so the app cannot know
    whether it was applied: the row says "unknown" and stays, and it is never resent by itself),
    the dismiss dialog and the chat box keep the text; once the service answers again, the
    user's own retries apply each action exactly once."""
    with make_service() as service:
        app = make_app(service, read_retries=2)
        async with app.run_test(size=SIZE) as pilot:
            seen = record_notifications(app)
            screen = await loaded(pilot)
            bar = screen.query_one(StatusBar)
            set_faults(service, drop_rate=1.0)

            await pilot.press("r")
            await wait_for(pilot, lambda: bar.connection == "offline")
            assert " · retrying " in bar.detail and "(in " in bar.detail
            assert screen.state.connection is not None
            assert "dropped" in (screen.state.connection.error or "")
            await assert_responsive(pilot, screen)
            await wait_for(pilot, lambda: not screen.state.refreshing)

            reads = endpoint_count(service, LIST)
            await pilot.press("a")  # FIRST: the POST is cut off after sending.
            await wait_for(pilot, lambda: screen.table.errors.get(FIRST) == "approve: unknown")
            await pilot.pause(0.2)
            assert endpoint_count(service, APPROVE) == 1  # Sent once, never blindly again...
            assert endpoint_count(service, LIST) > reads  # ...but re-read before deciding.
            assert admin_task(service, FIRST)["status"] == "pending"
            assert FIRST in screen.table.visible_ids()  # The row agrees with the service.
            assert any(title.startswith("Could not approve") for title, _, _ in seen), seen
            assert screen.table.current.id == FIRST  # The cursor came back to the failed task.

            await pilot.press("down")
            dialog = await open_dismiss(pilot, screen, "dropped")  # CAMPAIGN
            await pilot.press("enter")
            await wait_for(pilot, lambda: not dialog.sending)
            assert app.screen is dialog and says_not_sent(dialog), status_text(dialog)
            assert dialog.query_one("#reason-text", Input).value == "dropped"
            assert endpoint_count(service, DISMISS) == 1
            set_faults(service, drop_rate=0.0)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))

            set_faults(service, drop_rate=1.0)
            chat, box = await open_chat(pilot, screen, CHAT_ASK)
            await pilot.press("enter")
            await wait_for(pilot, lambda: not chat.sending)
            assert box.value == CHAT_ASK and "answer was lost" in " ".join(chat_errors(chat))  # Dropped after sending.
            assert endpoint_count(service, CHAT) == 1
            set_faults(service, drop_rate=0.0)
            await send_again(pilot, chat)
            await wait_for(pilot, lambda: len(chat.query(TaskCard)) == 1)
            assert box.value == ""

            await pilot.press("escape")  # Close the chat; back to the row marked "!".
            await go_to(pilot, screen, FIRST)
            assert screen.table.errors.get(FIRST)
            await pilot.press("a")
            await wait_for(pilot, lambda: FIRST not in screen.table.visible_ids())
            await wait_for(pilot, lambda: bar.connection == "online", timeout=8)  # The scheduled retry.
            assert_alive(app)
        assert_only(service, approved={FIRST}, dismissed={CAMPAIGN: "dropped"})
        counts = stats(service)["by_endpoint"]
        assert (counts[APPROVE], counts[DISMISS], counts[CHAT]) == (2, 2, 2)  # One per press.
        assert stats(service)["tasks_by_status"]["pending"] == len(PENDING_IDS) - 2 + 1


# -- 429 storms -------------------------------------------------------------------------------


async def wait_as_told(seen: list[tuple[str, str, str]]) -> None:
    """What a person does with "Try again in N s": wait N seconds (and a little)."""
    told = [int(m.group(1)) for _, message, _ in seen for m in [re.search(r"Try again in (\d+)", message)] if m]
    assert told, seen
    await asyncio.sleep(told[-1] + 0.1)


async def test_429_storm_while_the_user_acts() -> None:
    """Two calls per 2-second window, shared with another client of the same key: every
    refusal is said where the user acted, nothing typed is lost, nothing is resent by the
    app, and the user's retries after the advertised reset apply each action once."""
    with make_service(rate_limit=2, rate_window=2) as service:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            seen = record_notifications(app)
            screen = await loaded(pilot)
            bar = screen.query_one(StatusBar)
            presses = {APPROVE: 0, DISMISS: 0, CHAT: 0}

            exhaust_rate_limit(service)
            await pilot.press("r")
            await wait_for(pilot, lambda: bar.connection == "rate-limited")
            assert "calls resume" in bar.detail and screen.state.retry_at is not None
            await assert_responsive(pilot, screen)

            exhaust_rate_limit(service)
            await pilot.press("a")  # FIRST
            presses[APPROVE] += 1
            await wait_for(pilot, lambda: screen.table.errors.get(FIRST) == "approve rate limited")
            assert any("Try again in" in message for _, message, _ in seen), seen
            assert FIRST in screen.table.visible_ids()

            chat, box = await open_chat(pilot, screen, CHAT_ASK)
            exhaust_rate_limit(service)
            await pilot.press("enter")
            presses[CHAT] += 1
            await wait_for(pilot, lambda: not chat.sending)
            assert box.value == CHAT_ASK and "Not sent" in " ".join(chat_errors(chat))
            await pilot.press("escape")  # Close the chat: the text waits in the box.

            assert screen.table.current.id == FIRST  # The cursor came back to the failed task.
            await pilot.press("down")
            dialog = await open_dismiss(pilot, screen, "429")  # CAMPAIGN, under the cursor.
            exhaust_rate_limit(service)
            await pilot.press("enter")
            presses[DISMISS] += 1
            await wait_for(pilot, lambda: not dialog.sending)
            assert app.screen is dialog and says_not_sent(dialog), status_text(dialog)
            assert dialog.query_one("#reason-text", Input).value == "429"

            # The storm passes; the user tries each again once the window resets (and again
            # if the app's own scheduled refresh took the slot first).
            while app.screen is dialog:
                assert presses[DISMISS] < 4, status_text(dialog)
                await wait_as_told(seen)
                await pilot.press("enter")
                presses[DISMISS] += 1
                await wait_for(pilot, lambda: not dialog.sending)
            while FIRST in screen.table.visible_ids():
                assert presses[APPROVE] < 4, seen
                await wait_as_told(seen)
                await go_to(pilot, screen, FIRST)
                await pilot.press("a")
                presses[APPROVE] += 1
                await wait_for(pilot, lambda: FIRST not in screen.state.inflight)
            await pilot.press("c")
            assert box.value == CHAT_ASK
            while not chat.query(TaskCard):
                assert presses[CHAT] < 4
                await wait_as_told(seen)
                await pilot.press("enter")
                presses[CHAT] += 1
                await wait_for(pilot, lambda: not chat.sending)
            assert box.value == ""
            assert not screen.table.errors
            assert_alive(app)
        assert_only(service, approved={FIRST}, dismissed={CAMPAIGN: "429"})
        data = stats(service)
        assert data["rate_limited"] >= 4
        assert {label: data["by_endpoint"][label] for label in presses} == presses  # One POST per press.


async def test_the_status_bar_budget_follows_every_answer() -> None:
    """After an approve (no refresh since), the bar shows the budget the last answer gave."""
    with make_service(rate_limit=5, rate_window=60) as service:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = await loaded(pilot)
            bar = screen.query_one(StatusBar)
            assert bar.rate_limit is not None and bar.rate_limit.remaining == 4
            await pilot.press("a")
            await wait_for(pilot, lambda: FIRST not in screen.table.visible_ids())
            assert admin_task(service, FIRST)["approve_count"] == 1
            assert bar.rate_limit.remaining == 3, "the bar still shows the budget from before the approve"


# -- the service stopped and restarted mid-action ------------------------------------------------


async def test_restart_in_the_middle_of_an_approve(tmp_path: Path) -> None:
    """The service stops while an approve waits in it (2 s latency; uvicorn gives in-flight
    requests 1 s, then answers 500): the row says the approve failed, the list says offline,
    keys keep working; after the restart the user's retry approves it exactly once."""
    with make_service(db_path=str(tmp_path / "lexi.db")) as service:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            seen = record_notifications(app)
            screen = await loaded(pilot)
            bar = screen.query_one(StatusBar)
            set_faults(service, latency_ms=(2000, 2000))
            await pilot.press("a")  # FIRST
            await asyncio.sleep(0.1)
            stopping = stop_in_background(service)
            while not stopping.done():
                await assert_responsive(pilot, screen)
            await stopping
            await wait_for(pilot, lambda: screen.table.errors.get(FIRST) == "approve failed")
            assert any(title.startswith("Could not approve") for title, _, _ in seen), seen
            await pilot.press("r")
            await wait_for(pilot, lambda: bar.connection == "offline")
            assert " · retrying " in bar.detail and "(in " in bar.detail
            with restart(service) as back:
                assert admin_task(back, FIRST)["approve_count"] == 0
                await wait_for(pilot, lambda: not screen.state.refreshing)
                await pilot.press("r")
                await wait_for(pilot, lambda: bar.connection == "online")
                await go_to(pilot, screen, FIRST)
                await pilot.press("a")
                await wait_for(pilot, lambda: FIRST not in screen.table.visible_ids())
                assert_alive(app)
                assert_only(back, approved={FIRST})
                assert endpoint_count(back, APPROVE) == 1  # The restarted service's own count.


async def test_restart_in_the_middle_of_a_dismiss(tmp_path: Path) -> None:
    """The service stops 0.1 s into a dismiss that takes 0.5 s: the stop lets it finish, so
    the dialog closes as dismissed; Esc while it is out says so instead of abandoning it."""
    with make_service(db_path=str(tmp_path / "lexi.db")) as service:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = await loaded(pilot)
            dialog = await open_dismiss(pilot, screen, "bye")  # FIRST
            set_faults(service, latency_ms=(500, 500))
            await pilot.press("enter")
            await asyncio.sleep(0.1)
            stopping = stop_in_background(service)
            await pilot.press("escape")  # Not frozen: Esc answers at once, and keeps the dialog.
            assert app.screen is dialog and "Still sending" in status_text(dialog)
            assert dialog.query_one("#reason-text", Input).value == "bye"
            await stopping
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
            assert FIRST not in screen.table.visible_ids()
            assert_alive(app)
        with restart(service) as back:
            assert_only(back, dismissed={FIRST: "bye"})


async def test_restart_in_the_middle_of_a_chat_send(tmp_path: Path) -> None:
    """The service stops while a chat message waits in it: "Not sent", the text stays in
    the box (even across closing and reopening the chat), the list still moves; after the
    restart Enter sends it once, and exactly one task is proposed."""
    with make_service(db_path=str(tmp_path / "lexi.db")) as service:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = await loaded(pilot)
            chat, box = await open_chat(pilot, screen, CHAT_ASK)
            set_faults(service, latency_ms=(2000, 2000))
            await pilot.press("enter")
            await asyncio.sleep(0.1)
            stopping = stop_in_background(service)
            await pilot.press("escape")  # Close the chat while Lexi "thinks"...
            await assert_responsive(pilot, screen)  # ...the list still moves...
            await pilot.press("c")  # ...and back.
            await stopping
            await wait_for(pilot, lambda: not chat.sending)
            assert box.value == CHAT_ASK and "Not sent" in " ".join(chat_errors(chat))
            with restart(service) as back:
                await pilot.press("enter")
                await wait_for(pilot, lambda: len(chat.query(TaskCard)) == 1)
                assert box.value == ""
                assert_alive(app)
                assert stats(back)["tasks_by_status"]["pending"] == len(PENDING_IDS) + 1
                assert_only(back)


# -- answers lost after the service applied the write -------------------------------------------


async def test_an_approve_whose_answer_was_lost_is_re_read_not_resent() -> None:
    """The approve reaches the service and is applied; the answer never comes back. The app
    re-reads before deciding, sees the task is no longer pending, and says it was applied:
    one POST, one approval, and the row agrees with the service."""
    with make_service() as service, LossyProxy(service) as proxy:
        app = make_app(service, base_url=proxy.base_url)
        async with app.run_test(size=SIZE) as pilot:
            seen = record_notifications(app)
            screen = await loaded(pilot)
            proxy.lose_once(r"^POST .*/approve$")
            await pilot.press("a")  # FIRST
            await wait_for(pilot, lambda: FIRST not in screen.table.visible_ids() and not screen.state.inflight)
            assert proxy.lost == [f"POST {proxy.prefix}/v1/lexi/tasks/{FIRST}/approve"]
            assert proxy.forwarded[-1].startswith("GET ")  # The re-read came after the lost POST.
            assert not screen.table.errors and not screen.table.busy
            assert any("the server shows the task was applied" in message for _, message, _ in seen), seen
            assert_alive(app)
        assert endpoint_count(service, APPROVE) == 1
        assert_only(service, approved={FIRST})


async def test_a_dismiss_whose_answer_was_lost_is_applied_once() -> None:
    """The dismissal is applied but its answer lost: the dialog keeps the text; the user's
    Enter again is answered "already handled" by the service and the dialog closes. One
    dismissal, with the user's reason, and the row leaves the list."""
    with make_service() as service, LossyProxy(service) as proxy:
        app = make_app(service, base_url=proxy.base_url)
        async with app.run_test(size=SIZE) as pilot:
            screen = await loaded(pilot)
            dialog = await open_dismiss(pilot, screen, "lost")  # FIRST
            proxy.lose_once(r"^POST .*/dismiss$")
            await pilot.press("enter")
            await wait_for(pilot, lambda: not dialog.sending)
            assert proxy.lost and endpoint_count(service, DISMISS) == 1
            if app.screen is dialog:  # Still open: the user presses Enter again.
                assert dialog.query_one("#reason-text", Input).value == "lost"
                await pilot.press("enter")
                await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
            await wait_for(pilot, lambda: FIRST not in screen.table.visible_ids() and not screen.state.refreshing)
            assert_alive(app)
        assert_only(service, dismissed={FIRST: "lost"})


async def test_a_dismiss_whose_answer_was_lost_is_recognised_as_applied() -> None:
    with make_service() as service, LossyProxy(service) as proxy:
        app = make_app(service, base_url=proxy.base_url)
        async with app.run_test(size=SIZE) as pilot:
            screen = await loaded(pilot)
            dialog = await open_dismiss(pilot, screen, "lost")  # FIRST
            proxy.lose_once(r"^POST .*/dismiss$")
            await pilot.press("enter")
            await wait_for(pilot, lambda: not dialog.sending)
            assert admin_task(service, FIRST)["status"] == "dismissed"
            assert app.screen is not dialog, f"the dialog says: {status_text(dialog)}"
            assert FIRST not in screen.table.visible_ids()


# -- retrying after a failed approve ---------------------------------------------------------------


async def test_pressing_the_key_again_after_a_failed_approve_retries_that_task() -> None:
    with make_service() as service:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = await loaded(pilot)
            await go_to(pilot, screen, THIRD)  # contact_update; the next one needs no confirmation.
            set_faults(service, error_rate=1.0)
            await pilot.press("a")
            await wait_for(pilot, lambda: screen.table.errors.get(THIRD) == "approve failed")
            set_faults(service, error_rate=0.0)
            await pilot.press("a")  # As the notification says.
            await wait_for(pilot, lambda: not screen.state.inflight)
            await pilot.pause(0.2)
        assert_only(service, approved={THIRD})


async def test_a_failure_after_the_user_moved_on_does_not_move_the_cursor() -> None:
    """The approve fails after the user has already moved: the cursor stays where they put
    it (their next key acts on what they see), and the toast says to select the task first."""
    with make_service() as service:
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            seen = record_notifications(app)
            screen = await loaded(pilot)
            await go_to(pilot, screen, THIRD)
            set_faults(service, latency_ms=(600, 600), error_rate=1.0)
            await pilot.press("a")  # Auto-advance to the fourth task ...
            await pilot.press("down")  # ... and the user moves on to the fifth.
            chosen = screen.table.current.id
            assert chosen not in (THIRD, PENDING_IDS[3])
            await wait_for(pilot, lambda: screen.table.errors.get(THIRD) == "approve failed")
            assert screen.table.current.id == chosen
            assert any("select it and press the key again" in title for title, _, _ in seen), seen
        assert_only(service)


# -- Chamelio: the approval form and cancel after a lost answer ---------------------------------


def chamelio_app(server, proxy) -> object:
    """The app on a Chamelio profile, talking to the service through the lossy proxy."""
    from chamelio.chamelio_support import KEY as CHAMELIO_KEY
    from lexi_tui.ui.app import AppSettings, LexiApp

    return LexiApp(AppSettings(profile="cham", provider="chamelio", base_url=f"http://127.0.0.1:{proxy.port}/chamelio",
                               api_key=CHAMELIO_KEY, use_keyring=False, refresh_interval=0, read_retries=0,
                               undo_window=0))


async def open_form(pilot):
    from lexi_tui.ui.dialogs.approve_dialog import ApproveDialog

    await pilot.press("a")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ApproveDialog) and bool(pilot.app.screen.variables))
    return pilot.app.screen


async def test_a_chamelio_approval_whose_answer_was_lost_is_read_back_and_closes_as_applied() -> None:
    from chamelio.chamelio_support import admin_get, new_task, service_options
    from lexi_tui.core import history, watchlist
    from lexi_tui.server import start_server

    with start_server(service_options(chamelio_seed_workflows=0, exec_delay=60.0)) as server, LossyProxy(server) as proxy:
        task_id = new_task(server)
        watchlist.add("cham", task_id)
        app = chamelio_app(server, proxy)
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            screen = await loaded(pilot)
            dialog = await open_form(pilot)
            dialog.query_one("#approve-comment", Input).value = "fine"
            proxy.lose_once(r"^POST .*/approve$")
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
            assert proxy.lost and proxy.forwarded[-1].startswith("GET ")  # Read back, not resent.
            said = " ".join(f"{n.title}: {n.message}" for n in app._notifications)
            assert "Approved with comment" in said and "reading the task back shows it was approved" in said
            assert str(task_id) not in [t.id for t in screen.state.lists["pending"]]
        done = admin_get(server, f"/tasks/{task_id}")
        assert done["outcome"] == "approved" and done["approve_calls"] == 1 and done["comment"] == "fine"
        assert [(e.action, e.outcome) for e in history.read()] == [("approve", "ok")]


async def test_a_chamelio_approval_with_no_answer_and_no_read_keeps_the_form_and_says_it_may_have_been_applied() -> None:
    from chamelio.chamelio_support import admin_get, new_task, service_options
    from lexi_tui.core import history, watchlist
    from lexi_tui.server import start_server

    with start_server(service_options(chamelio_seed_workflows=0, exec_delay=60.0)) as server, LossyProxy(server) as proxy:
        task_id = new_task(server)
        watchlist.add("cham", task_id)
        app = chamelio_app(server, proxy)
        async with app.run_test(size=(120, 40)) as pilot:
            await loaded(pilot)
            dialog = await open_form(pilot)
            dialog.query_one("#approve-comment", Input).value = "keep me"
            proxy.lose = lambda method, path: "/tasks/" in path  # The approve and the read-back both lost.
            await pilot.press("ctrl+s")
            status = dialog.query_one("#approve-status", Static)
            await wait_for(pilot, lambda: "may have been approved" in str(status.render()))
            assert app.screen is dialog and dialog.query_one("#approve-comment", Input).value == "keep me"
            proxy.lose = lambda method, path: False
            await pilot.press("ctrl+s")  # Sending again is safe: the server says it is decided.
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        done = admin_get(server, f"/tasks/{task_id}")
        assert done["outcome"] == "approved" and done["approve_calls"] == 2  # Applied once, refused once.
        assert [e.outcome for e in history.read()] == ["already_handled", "unknown"]


async def test_a_chamelio_cancel_whose_answer_was_lost_is_read_back() -> None:
    from chamelio.chamelio_support import admin_get, new_task, service_options
    from lexi_tui.core import watchlist
    from lexi_tui.server import start_server
    from lexi_tui.ui.dialogs.confirm_dialog import ConfirmDialog

    with start_server(service_options(chamelio_seed_workflows=0, exec_delay=60.0)) as server, LossyProxy(server) as proxy:
        task_id = new_task(server)
        watchlist.add("cham", task_id)
        app = chamelio_app(server, proxy)
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = await loaded(pilot)
            await pilot.press("x")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            proxy.lose_once(r"^POST .*/cancel$")
            await pilot.press("y")
            await wait_for(pilot, lambda: any(n.title == "Cancelled" for n in app._notifications))
            assert "the answer was lost, but the server shows the task was applied" in " ".join(
                n.message for n in app._notifications)
            await wait_for(pilot, lambda: str(task_id) not in [t.id for t in screen.state.lists["pending"]])
            assert not screen.table.errors
        assert admin_get(server, f"/tasks/{task_id}")["cancel_calls"] == 1
