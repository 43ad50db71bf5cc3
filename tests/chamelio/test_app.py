"""The app with a Chamelio profile, driven by Textual's pilot against the local service.

Real loopback HTTP throughout; the service's admin endpoint is the judge of what was applied
(outcome, comment, variables as submitted, how many calls arrived).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from textual.widgets import Input, OptionList, Static

from lexi_tui.core import history, watchlist
from lexi_tui.core.config import Profile
from lexi_tui.server import RunningServer, start_server
from lexi_tui.ui.app import AppSettings, LexiApp
from lexi_tui.ui.dialogs.add_task_dialog import AddTaskDialog
from lexi_tui.ui.dialogs.approve_dialog import ApproveDialog
from lexi_tui.ui.dialogs.confirm_dialog import ConfirmDialog
from lexi_tui.ui.dialogs.dismiss_dialog import DismissDialog
from lexi_tui.ui.main.screen import MainScreen
from lexi_tui.ui.screens.help_screen import HelpScreen
from lexi_tui.ui.screens.profile_picker import ProfilePicker
from support.app import loaded, wait_for

from .chamelio_support import KEY, admin_get, admin_post, base_url, new_task, service_options

LEXI_KEY = "wbk_chamelio_app_test_00000c0de"
PROFILE = "cham"
FIXTURE_TASKS = json.loads((__import__("pathlib").Path(__file__).parent.parent / "fixtures" / "tasks.json").read_text())


@pytest.fixture
def server() -> Any:
    with start_server(service_options(keys=(LEXI_KEY,), tasks=tuple(FIXTURE_TASKS), failure_rate=0.0,
                                      chamelio_seed_workflows=0, exec_delay=60.0)) as running:
        yield running


def make_app(server: RunningServer, **overrides: Any) -> LexiApp:
    settings: dict[str, Any] = dict(
        profile=PROFILE, provider="chamelio", base_url=base_url(server), api_key=KEY, use_keyring=False,
        refresh_interval=0, read_retries=0, undo_window=0,
    )
    settings.update(overrides)
    return LexiApp(AppSettings(**settings))


def record(server: RunningServer, task_id: int) -> dict[str, Any]:
    return admin_get(server, f"/tasks/{task_id}")


def notices(app: LexiApp) -> str:
    return "\n".join(f"{n.title}: {n.message}" for n in app._notifications)


async def open_approve(pilot: Any) -> ApproveDialog:
    await pilot.press("a")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ApproveDialog))
    dialog = pilot.app.screen
    await wait_for(pilot, lambda: bool(dialog.variables) and bool(dialog.query(".var-row")))
    return dialog


def field(dialog: ApproveDialog, variable_id: str) -> Input:
    index = [v.variable_id for v in dialog.variables].index(variable_id)
    return dialog.query_one(f"#var-{index}", Input)


async def test_add_a_task_by_its_url(server: RunningServer) -> None:
    task_id = new_task(server, files=True)
    url = record(server, task_id)["task"]["task_url"]
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        assert screen.table.task_count == 0
        await pilot.press("plus")
        await wait_for(pilot, lambda: isinstance(app.screen, AddTaskDialog))
        dialog = app.screen
        box = dialog.query_one("#add-ref", Input)
        box.value = "https://platform.chamelio.ai/workflows/9"  # A link, but not to a task.
        await pilot.press("enter")
        status = dialog.query_one("#add-status", Static)
        assert "is not a Chamelio task" in str(status.render())
        assert isinstance(app.screen, AddTaskDialog) and box.value.endswith("/workflows/9")  # Kept to fix.
        box.value = url
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_for(pilot, lambda: screen.table.current is not None)
        assert screen.table.current.id == str(task_id)
        assert screen.state.view == "pending"
        assert watchlist.load(PROFILE) == [task_id]
        # The files of the approval step are listed by name in the detail pane.
        fields = screen.detail.query_one("#detail-fields", Static)
        await wait_for(pilot, lambda: "Files " in str(fields.render()))
        assert ".pdf" in str(fields.render())


async def test_adding_an_unknown_task_keeps_the_text_and_watches_nothing(server: RunningServer) -> None:
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        await pilot.press("plus")
        await wait_for(pilot, lambda: isinstance(app.screen, AddTaskDialog))
        box = app.screen.query_one("#add-ref", Input)
        box.value = "#987654"
        await pilot.press("enter")
        status = app.screen.query_one("#add-status", Static)
        await wait_for(pilot, lambda: "No such task" in str(status.render()))
        assert box.value == "#987654"
        assert watchlist.load(PROFILE) == []


async def test_approve_with_an_edited_variable_and_a_comment(server: RunningServer) -> None:
    task_id = new_task(server)
    watchlist.add(PROFILE, task_id)
    app = make_app(server)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        assert [t.id for t in screen.state.lists["pending"]] == [str(task_id)]
        dialog = await open_approve(pilot)
        dialog.query_one("#approve-comment", Input).value = "Cap agreed with procurement"
        value = field(dialog, "approved_value")
        value.value = "20k"  # Not a number: caught before sending.
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ApproveDialog)
        assert "must be a number" in str(dialog.query(".var-error.-error").first(Static).render())
        assert record(server, task_id)["approve_calls"] == 0
        assert dialog.query_one("#approve-comment", Input).value == "Cap agreed with procurement"
        value.value = "20000"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        done = record(server, task_id)
        assert done["outcome"] == "approved" and done["approve_calls"] == 1
        assert done["comment"] == "Cap agreed with procurement"
        sent = {v["variable_id"]: v["value"] for v in done["variables"]}
        assert sent["approved_value"] == "20000"
        assert "approval_notes" not in sent  # Empty and optional: not sent.
        assert all(t.id != str(task_id) for t in screen.state.lists["pending"])


async def test_a_failed_approval_keeps_everything_typed_and_enter_retries(server: RunningServer) -> None:
    task_id = new_task(server)
    watchlist.add(PROFILE, task_id)
    admin_post(server, "/faults", {"fail_next_approvals": 1})
    app = make_app(server)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        dialog = await open_approve(pilot)
        dialog.query_one("#approve-comment", Input).value = "ok by me"
        field(dialog, "approved_value").value = "31000"
        await pilot.press("ctrl+s")
        status = dialog.query_one("#approve-status", Static)
        await wait_for(pilot, lambda: "Not applied" in str(status.render()))
        assert "Failed to submit approval" in str(status.render())
        assert "Everything you typed is kept" in str(status.render())
        assert isinstance(app.screen, ApproveDialog)
        assert dialog.query_one("#approve-comment", Input).value == "ok by me"
        assert field(dialog, "approved_value").value == "31000"
        assert record(server, task_id)["outcome"] is None
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        done = record(server, task_id)
        assert done["outcome"] == "approved" and done["comment"] == "ok by me"
        assert {v["variable_id"]: v["value"] for v in done["variables"]}["approved_value"] == "31000"


async def test_reject_with_a_comment(server: RunningServer) -> None:
    task_id = new_task(server)
    watchlist.add(PROFILE, task_id)
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DismissDialog))
        assert "Reject task" in str(app.screen.query_one(".dialog-title").render())
        await pilot.press("o")
        app.screen.query_one("#reason-text", Input).value = "Liability cap is missing"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        done = record(server, task_id)
        assert done["outcome"] == "rejected" and done["comment"] == "Liability cap is missing"
        assert all(t.id != str(task_id) for t in screen.state.lists["pending"])


async def test_cancel_asks_first_and_then_cancels(server: RunningServer) -> None:
    task_id = new_task(server)
    watchlist.add(PROFILE, task_id)
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")  # The safe answer: nothing is sent.
        await pilot.pause()
        assert record(server, task_id)["cancel_calls"] == 0
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: record(server, task_id)["outcome"] == "cancelled")
        await wait_for(pilot, lambda: all(t.id != str(task_id) for t in screen.state.lists["pending"]))
        await pilot.press("5")  # The cancelled view.
        await wait_for(pilot, lambda: [t.id for t in screen.state.lists.get("cancelled", [])] == [str(task_id)])
        assert screen.table.current is not None and screen.table.current.id == str(task_id)
        assert record(server, task_id)["cancel_calls"] == 1


async def test_approving_a_task_someone_else_decided_explains_and_refreshes(server: RunningServer) -> None:
    task_id = new_task(server)
    watchlist.add(PROFILE, task_id)
    app = make_app(server)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        dialog = await open_approve(pilot)
        # Meanwhile a colleague approves it in Chamelio's own UI.
        response = httpx.post(f"{base_url(server)}/tasks/{task_id}/approve", json={"approved": True},
                              headers={"X-API-Key": KEY}, timeout=5)
        assert response.status_code == 200
        dialog.query_one("#approve-comment", Input).value = "late"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_for(pilot, lambda: "no longer awaiting approval" in notices(app))
        assert "Task is not awaiting approval" in notices(app)
        assert "It is now in progress at 'Send for signature'" in notices(app)
        await wait_for(pilot, lambda: all(t.id != str(task_id) for t in screen.state.lists["pending"]))
        await pilot.press("2")  # In progress: where the task went.
        await wait_for(pilot, lambda: [t.id for t in screen.state.lists.get("in_progress", [])] == [str(task_id)])
        done = record(server, task_id)
        assert done["approve_calls"] == 2 and done["comment"] is None  # Ours was not applied.


async def test_switch_between_a_lexi_and_a_chamelio_profile(server: RunningServer) -> None:
    task_id = new_task(server)
    watchlist.add(PROFILE, task_id)
    lexi = Profile("work", server.base_url)
    chamelio = Profile(PROFILE, base_url(server), provider="chamelio")
    app = make_app(server, profile="work", provider="lexi", base_url=server.base_url, api_key=LEXI_KEY,
                   profiles=(lexi, chamelio), profile_keys={"work": LEXI_KEY, PROFILE: KEY})
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        assert screen.capabilities.chat and not screen.capabilities.add_by_reference
        lexi_pending = {t.id for t in screen.state.lists["pending"]}
        assert lexi_pending and str(task_id) not in lexi_pending
        await pilot.press("P")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfilePicker))
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen is not screen)
        chamelio_screen = await loaded(pilot)
        assert chamelio_screen.capabilities.add_by_reference and not chamelio_screen.capabilities.chat
        assert [t.id for t in chamelio_screen.state.lists["pending"]] == [str(task_id)]
        assert app.location.startswith(f"{PROFILE} @ ")
        assert len([s for s in app.screen_stack if isinstance(s, MainScreen)]) == 1
        footer_keys = {b.binding.id for b in app.active_bindings.values() if b.enabled}
        assert "task.add" in footer_keys and "chat.open" not in footer_keys
        await pilot.press("P")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfilePicker))
        options = app.screen.query_one(OptionList)
        options.highlighted = 0
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen is not chamelio_screen)
        back = await loaded(pilot)
        assert {t.id for t in back.state.lists["pending"]} == lexi_pending
        assert app.settings.provider == "lexi" and app.location.startswith("work @ ")


async def test_a_chamelio_profile_signs_in_with_a_chamelio_key(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from lexi_tui.ui.screens.login_screen import LoginScreen

    from .chamelio_support import INACTIVE

    monkeypatch.setenv("LEXI_API_KEY", LEXI_KEY)  # Lexi's variable is not a Chamelio key.
    monkeypatch.delenv("CHAMELIO_API_KEY", raising=False)
    app = make_app(server, api_key=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen))
        login = app.screen
        assert "Sign in to Chamelio" in str(login.query_one(".dialog-title").render())
        box = login.query_one("#login-key", Input)
        box.value = INACTIVE
        await pilot.press("enter")
        status = login.query_one("#login-status", Static)
        await wait_for(pilot, lambda: "was refused" in str(status.render()))
        assert INACTIVE not in str(status.render())  # Masked.
        box.value = KEY
        await pilot.press("enter")
        await loaded(pilot)
        assert app.provider.capabilities.add_by_reference


async def test_chamelio_api_key_in_the_environment_skips_the_login(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAMELIO_API_KEY", KEY)
    app = make_app(server, api_key=None)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await loaded(pilot)
        assert screen.capabilities.dismiss_label == "Reject"
        footer = {b.binding.id: b.binding.description for b in app.active_bindings.values()}
        assert footer["task.dismiss"] == "Reject"


async def test_rejecting_a_task_that_moved_on_says_so_and_refreshes(server: RunningServer) -> None:
    task_id = new_task(server)
    watchlist.add(PROFILE, task_id)
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DismissDialog))
        httpx.post(f"{base_url(server)}/tasks/{task_id}/cancel", headers={"X-API-Key": KEY}, timeout=5)
        await pilot.press("1")  # The first preset.
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_for(pilot, lambda: "Task is not awaiting approval" in notices(app))
        await wait_for(pilot, lambda: all(t.id != str(task_id) for t in screen.state.lists["pending"]))
        # Said in Chamelio's words: the user rejected, nothing was "dismissed".
        assert "Could not reject: already handled" in [n.title for n in app._notifications]
        assert "dismiss" not in notices(app).lower()
        done = record(server, task_id)
        assert done["outcome"] == "cancelled" and done["approve_calls"] == 1 and done["comment"] is None
    assert [(e.action, e.outcome) for e in history.read()] == [("dismiss", "already_handled")]  # Log values stay.


def on_screen(widget: Any) -> str:
    """The lines a widget shows, as text."""
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


async def test_a_held_reject_that_fails_says_reject_in_the_row_and_the_toast(server: RunningServer) -> None:
    task_id = new_task(server)
    watchlist.add(PROFILE, task_id)
    app = make_app(server, undo_window=0.5)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DismissDialog))
        await pilot.press("1", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_for(pilot, lambda: any(n.title.startswith("Rejecting: u takes it back until ")
                                          for n in app._notifications))
        assert "rejecting in 1s" in on_screen(screen.table)
        server.stop()  # The undo window closes with the service gone: the reject fails.
        await wait_for(pilot, lambda: "reject failed" in on_screen(screen.table))
        assert any(n.title.startswith("Could not reject; ") for n in app._notifications)
        assert "dismiss" not in on_screen(screen.table).lower() and "dismiss" not in notices(app).lower()


async def test_help_describes_the_dismiss_key_as_reject(server: RunningServer) -> None:
    task_id = new_task(server)
    watchlist.add(PROFILE, task_id)
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        shown = "\n".join(on_screen(static) for static in app.screen.query(Static))
        row = next(line for line in shown.splitlines() if "task.dismiss" in line)
        assert "Reject the task" in row and "Dismiss" not in row


async def test_forget_stops_watching_and_sends_nothing(server: RunningServer) -> None:
    first, second = new_task(server), new_task(server)
    watchlist.add(PROFILE, first)
    watchlist.add(PROFILE, second)
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        assert screen.table.current is not None
        gone = screen.table.current.id
        await pilot.press("minus")
        await wait_for(pilot, lambda: len(watchlist.load(PROFILE)) == 1)
        assert str(watchlist.load(PROFILE)[0]) != gone
        assert [t.id for t in screen.state.lists["pending"]] == [str(watchlist.load(PROFILE)[0])]
        assert record(server, int(gone))["outcome"] is None  # Only the local list changed.
        await pilot.press("r")
        await wait_for(pilot, lambda: not screen.state.refreshing)
        assert [t.id for t in screen.state.lists["pending"]] == [str(watchlist.load(PROFILE)[0])]


async def test_profiles_do_not_switch_under_an_open_dialog(server: RunningServer) -> None:
    task_id = new_task(server)
    watchlist.add(PROFILE, task_id)
    other = Profile("work", server.base_url)
    app = make_app(server, profiles=(Profile(PROFILE, base_url(server), provider="chamelio"), other),
                   profile_keys={PROFILE: KEY, "work": LEXI_KEY})
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        dialog = await open_approve(pilot)
        dialog.query_one("#approve-comment", Input).value = "half-typed"
        app.action_switch_profile()
        await pilot.pause()
        assert app.screen is dialog and app.settings.profile == PROFILE
        assert dialog.query_one("#approve-comment", Input).value == "half-typed"
        assert "close this screen first" in notices(app)


async def test_bulk_approve_of_marked_chamelio_tasks_opens_each_form_in_turn(server: RunningServer) -> None:
    """Marked tasks with an approval form are never approved unseen: each task's form opens
    in turn ("Approve task 1 of 2"), sends what was typed there, and Esc stops the run with
    the rest still marked."""
    ids = [new_task(server), new_task(server), new_task(server)]
    for task_id in ids:
        watchlist.add(PROFILE, task_id)
    app = make_app(server)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("space", "space", "space", "a")
        await wait_for(pilot, lambda: isinstance(app.screen, ApproveDialog) and bool(app.screen.variables))
        first = app.screen
        assert str(first.query_one(".dialog-title").render()) == "Approve task 1 of 3"
        field(first, "approved_value").value = "777"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ApproveDialog) and app.screen is not first
                       and bool(app.screen.variables))
        second = app.screen
        assert str(second.query_one(".dialog-title").render()) == "Approve task 2 of 3"
        await pilot.press("ctrl+s")  # Nothing changed: approved as the server has it.
        await wait_for(pilot, lambda: isinstance(app.screen, ApproveDialog) and app.screen is not second
                       and bool(app.screen.variables))
        await pilot.press("escape")  # Nothing typed: it closes without asking, and the run stops.
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_for(pilot, lambda: "they stay marked" in notices(app))
        approved = [i for i in ids if record(server, i)["outcome"] == "approved"]
        assert len(approved) == 2 and all(record(server, i)["approve_calls"] == 1 for i in approved)
        left = next(i for i in ids if i not in approved)
        assert record(server, left)["approve_calls"] == 0
        assert list(screen.table.marked) == [str(left)]
        sent = [{v["variable_id"]: v["value"] for v in record(server, i)["variables"] or []} for i in approved]
        assert {"approved_value": "777"} in sent  # Only what was typed is sent...
        assert {} in sent  # ...and nothing for the form left as it was.


async def test_control_sequences_in_a_task_title_never_reach_the_screen(server: RunningServer) -> None:
    task_id = new_task(server, title="NDA \x1b]2;pwned\x07 [bold red]Acme[/] \x1b[31mLtd")
    watchlist.add(PROFILE, task_id)
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        task = screen.table.current
        assert task is not None and "\x1b" not in task.description and "\x07" not in task.description
        assert "[bold red]Acme[/]" in task.description  # Shown as typed, not as markup.
        fields = str(screen.detail.query_one("#detail-fields", Static).render())
        assert "[bold red]Acme[/]" in fields
        dialog = await open_approve(pilot)
        subject = str(dialog.query_one(".dialog-subject", Static).render())
        assert "\x1b" not in subject and "[bold red]Acme[/]" in subject


def bottom_line(app: LexiApp) -> str:
    """The last row of the screen as the user sees it (the text cells of a screenshot)."""
    import html
    import re

    cells = re.findall(r'<text[^>]*? x="([\d.]+)"[^>]*?clip-path="url\(#[^)]*-line-(\d+)\)"[^>]*>(.*?)</text>',
                       app.export_screenshot(), re.S)
    last = app.size.height - 1
    row = sorted((float(x), html.unescape(text)) for x, line, text in cells if int(line) == last)
    return "".join(text for _, text in row).replace("\xa0", " ")


@pytest.mark.parametrize("provider", ["lexi", "chamelio"])
async def test_the_footer_shows_the_main_keys_and_help_at_120_columns(server: RunningServer, provider: str) -> None:
    if provider == "chamelio":
        watchlist.add(PROFILE, new_task(server))
        app = make_app(server)
    else:
        app = make_app(server, profile="work", provider="lexi", base_url=server.base_url, api_key=LEXI_KEY)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        await pilot.pause()
        footer = bottom_line(app)
        dismiss = "d Reject" if provider == "chamelio" else "d Dismiss"
        for key in ("a Approve", dismiss, "u Undo", "? Help", "q Quit", "^p palette"):
            assert key in footer, f"{key!r} is not on the footer: {footer!r}"
        assert ("+ Add" in footer) == (provider == "chamelio") and ("c Chat" in footer) == (provider == "lexi")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert "a Approve" in bottom_line(app)  # At 80 columns the first keys come first.


async def test_the_form_says_what_it_will_send_and_sends_only_that(server: RunningServer) -> None:
    task_id = new_task(server)
    watchlist.add(PROFILE, task_id)
    app = make_app(server)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        dialog = await open_approve(pilot)
        changes = dialog.query_one("#approve-changes", Static)
        assert str(changes.render()) == "Will send: no change to the variables."
        value = field(dialog, "approved_value")
        before = value.value
        label = next(v.name for v in dialog.variables if v.variable_id == "approved_value")
        value.value = "about 20k"  # Not a number: changed, but it will not be sent as it is.
        await pilot.pause()
        assert str(changes.render()) == f"Changed (not sent until fixed): {label} '{before}' → 'about 20k'"
        value.value = "125000"
        await pilot.pause()
        assert str(changes.render()) == f"Will send: {label} '{before}' → '125000'"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
    sent = record(server, task_id)["variables"]
    assert [(v["variable_id"], v["value"]) for v in sent] == [("approved_value", "125000")]


async def test_esc_in_the_form_asks_before_throwing_edits_away(server: RunningServer) -> None:
    task_id = new_task(server)
    watchlist.add(PROFILE, task_id)
    app = make_app(server)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        dialog = await open_approve(pilot)
        field(dialog, "approved_value").value = "1"
        await pilot.press("escape")
        asked = app.screen
        assert isinstance(asked, ConfirmDialog)
        assert "Closing throws away what you typed: 1 changed variable." in str(
            asked.query_one(".dialog-subject").render())
        await pilot.press("n")  # Keep editing: everything is still there.
        assert app.screen is dialog and field(dialog, "approved_value").value == "1"
        await pilot.press("escape", "y")  # Discard.
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        dialog = await open_approve(pilot)
        await pilot.press("escape")  # Nothing typed: it closes at once.
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
    assert record(server, task_id)["approve_calls"] == 0


async def test_cancel_asks_with_two_buttons_that_say_what_they_do(server: RunningServer) -> None:
    task_id = new_task(server)
    watchlist.add(PROFILE, task_id)
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        labels = [str(button.label) for button in app.screen.query("Button")]
        assert labels == ["Cancel the workflow  y", "Keep it  n"]
        assert "at once (there is no undo window)" in str(app.screen.query_one(".dialog-subject").render())
        await pilot.press("n")
    assert record(server, task_id)["cancel_calls"] == 0


async def test_a_burst_of_keys_in_the_form_sends_exactly_what_was_typed(server: RunningServer) -> None:
    """Backspaces and digits arriving in one burst (paste, SSH) are applied in order: the form
    sends the number typed, not what Textual's reordering left (`ui/dialogs/inputs.py`)."""
    from textual import events

    task_id = new_task(server)
    watchlist.add(PROFILE, task_id)
    app = make_app(server)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        dialog = await open_approve(pilot)
        box = field(dialog, "approved_value")
        box.focus()
        await pilot.pause()
        box.value = "120000"
        box.cursor_position = len(box.value)
        await pilot.pause()
        burst = [("backspace", None)] * 6 + [(c, c) for c in "125000"]
        for key, character in burst:  # All queued at once, as the driver does for one read.
            app.post_message(events.Key(key, character))
        await wait_for(pilot, lambda: box.value == "125000", timeout=3)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
    sent = {v["variable_id"]: v["value"] for v in record(server, task_id)["variables"]}
    assert sent == {"approved_value": "125000"}
