"""The API key never lands on a command line or in a file outside the keyring."""

from __future__ import annotations

import os
from pathlib import Path

from lexi_tui.cli.main import build_parser
from lexi_tui.server.options import ServerOptions
from lexi_tui.server.runner import start_server
from lexi_tui.ui.app import AppSettings, LexiApp
from lexi_tui.ui.main.screen import MainScreen

KEY = "wbk_secret_5ecret5ecret5ecret9f9f"


def _all_options(parser) -> set[str]:
    options = set(parser._option_string_actions)
    for action in parser._actions:
        choices = getattr(action, "choices", None)
        for choice in choices.values() if isinstance(choices, dict) else ():
            if hasattr(choice, "_option_string_actions"):
                options |= _all_options(choice)
    return options


def test_no_command_takes_the_key_as_an_argument() -> None:
    """A key in argv is visible to every user of the machine through `ps`."""
    options = _all_options(build_parser())
    assert not {o for o in options if any(word in o for word in ("key", "token", "secret"))}


async def test_a_session_leaves_the_key_in_no_file(tmp_path) -> None:
    with start_server(ServerOptions(keys=(KEY,), seed_tasks=20, exec_delay=0, admin=True)) as server:
        os.environ["LEXI_API_KEY"] = KEY
        try:
            app = LexiApp(AppSettings(base_url=server.base_url, use_keyring=False, refresh_interval=0))
            async with app.run_test(size=(100, 30)) as pilot:
                while not (isinstance(app.screen, MainScreen) and app.screen.state.fetched_at is not None):
                    await pilot.pause(0.05)
                await pilot.press("a", "y", "Y", "question_mark", "escape")
                await pilot.pause(0.3)
                app.save_screenshot(path=str(tmp_path), filename="shot.svg")
        finally:
            del os.environ["LEXI_API_KEY"]
    home = Path(os.environ["HOME"])
    written = [p for root in (home, tmp_path) for p in root.rglob("*") if p.is_file()]
    assert any(p.name == "shot.svg" for p in written)
    for path in written:
        assert KEY.encode() not in path.read_bytes(), f"the key was written to {path}"


def test_no_committed_picture_shows_a_key_unmasked() -> None:
    """Snapshots and README screenshots are made from a running app with real keys: a key
    on screen would be committed for everyone to read. Masked keys (`wbk_…beef`) are fine."""
    import re

    repo = Path(__file__).resolve().parent.parent
    pictures = [*repo.glob("screenshots/*.svg"), *repo.glob("tests/snapshots/__snapshots__/**/*.svg")]
    assert len(pictures) > 10
    unmasked = re.compile(r"(?:wbk|ca)_[A-Za-z0-9_]{8,}")
    for picture in pictures:
        text = picture.read_text(encoding="utf-8").replace("&#160;", " ")
        assert not unmasked.search(text), f"{picture.name} shows {unmasked.search(text).group()}"
