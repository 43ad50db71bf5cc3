"""Signing in: the login screen, the keyring, a key revoked while the app is open."""

from __future__ import annotations

import dataclasses

import keyring
from textual.widgets import Input

from lexi_tui.server.runner import start_server
from lexi_tui.ui.main.screen import MainScreen
from lexi_tui.ui.screens.login_screen import LoginScreen
from memory_keyring import MemoryKeyring
from support.app import KEY, make_app, make_service, wait_for


def login_shown(app) -> bool:
    return isinstance(app.screen, LoginScreen) and bool(app.screen.query("#login-key"))


async def type_key(pilot, key: str) -> None:
    box = pilot.app.screen.query_one("#login-key", Input)
    box.value = ""
    box.focus()
    await pilot.press(*key)
    await pilot.press("enter")


async def test_no_keyring_says_so_and_a_bad_then_good_key_signs_in(service) -> None:
    app = make_app(service, api_key=None, use_keyring=True)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await wait_for(pilot, lambda: login_shown(app))
        login = app.screen
        reason = str(login.query_one("#login-reason").render())
        assert "LEXI_API_KEY" in reason  # Plain words and what to do, on a keyring-less box.
        assert login.query_one("#login-key", Input).password  # Masked input.
        await type_key(pilot, "wbk_wrong_000000000000000000")
        await wait_for(pilot, lambda: "refused" in str(login.query_one("#login-status").render()))
        assert isinstance(app.screen, LoginScreen)
        await type_key(pilot, KEY)
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        # No keyring to keep it: the user is told, and nothing was written anywhere.
        assert any(n.title == "Key not saved" for n in app._notifications)
        await wait_for(pilot, lambda: app.screen.state.fetched_at is not None)


async def test_login_stores_the_key_in_the_keyring_and_the_next_start_uses_it(service) -> None:
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    app = make_app(service, api_key=None, use_keyring=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: login_shown(app))
        await type_key(pilot, KEY)
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
    assert memory.get_password("lexi-tui", "test") == KEY
    again = make_app(service, api_key=None, use_keyring=True)
    async with again.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(again.screen, MainScreen) and again.screen.state.fetched_at is not None)


async def test_environment_key_comes_first(service, monkeypatch) -> None:
    monkeypatch.setenv("LEXI_API_KEY", KEY)
    app = make_app(service, api_key=None, use_keyring=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.state.fetched_at is not None)


async def test_a_401_during_use_brings_the_login_screen_back(tmp_path) -> None:
    new_key = "wbk_rotated_1111111111111111"
    with make_service(db_path=str(tmp_path / "lexi.db")) as service:
        app = make_app(service, use_keyring=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.state.fetched_at is not None)
            main = app.screen
            service.stop()  # The key is revoked: the service comes back accepting another.
            rotated = dataclasses.replace(service.options, port=service.port, tasks=None, keys=(new_key,))
            with start_server(rotated):
                await pilot.press("r")
                await wait_for(pilot, lambda: login_shown(app))
                assert "refused" in str(app.screen.query_one("#login-reason").render())
                fetched = main.state.fetched_at
                await type_key(pilot, new_key)
                await wait_for(pilot, lambda: app.screen is main)
                await wait_for(pilot, lambda: main.state.fetched_at != fetched and not main.state.refreshing)
                assert app.provider.masked_key.endswith("1111")
