"""Timers the actions start with no time left still fire.

Textual's one-shot timer divides by its delay when it starts late, so `set_timer(0, ...)`
dies in its task and its callback never runs; the actions give it at least `SOONEST`.
"""

from __future__ import annotations

from support.app import PENDING_IDS, admin_task, loaded, make_app, wait_for


async def test_a_burst_of_outcomes_past_the_longest_gathering_is_still_shown(service) -> None:
    app = make_app(service, confirm_types=())
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = await loaded(pilot)
        toasts = screen.actions.toasts
        toasts.LONGEST = 0.0  # The burst has gone on for longer than a gathering may wait: show it now.
        await pilot.press("a")
        await wait_for(pilot, lambda: admin_task(service, PENDING_IDS[0])["status"] != "pending")
        await pilot.press("a", "a")
        # The first is shown at once; the next two come within `QUIET` and are gathered, each
        # gathering shown at once (it may not wait longer than LONGEST after its first).
        await wait_for(pilot, lambda: sum(str(n.title).startswith("Approved") for n in app._notifications) == 3,
                       timeout=3)
        assert not toasts.pending


async def test_an_undo_window_resumed_with_nothing_left_is_sent(service) -> None:
    app = make_app(service, confirm_types=(), undo_window=30)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("a")
        held = screen.actions
        await wait_for(pilot, lambda: bool(screen.state.held) and bool(screen.state.hold_timers))
        held.pause_windows()
        for action in screen.state.held.values():
            action.remaining = 0.0  # Paused at the very end of its window.
        held.resume_windows()
        await wait_for(pilot, lambda: admin_task(service, PENDING_IDS[0])["status"] != "pending", timeout=5)
