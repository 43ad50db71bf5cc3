"""An unexpected exception: the terminal is restored and a report without secrets is written."""

from __future__ import annotations

import os
import stat

import pytest

from lexi_tui.core.crash import crash_dir, scrub
from lexi_tui.ui.main.screen import MainScreen
from support.app import KEY, make_app, wait_for


def test_scrub_masks_keys_and_bearer_tokens() -> None:
    text = f"headers={{'Authorization': 'Bearer {KEY}'}} key={KEY} other=ca_live_abcdef123456"
    cleaned = scrub(text, [KEY])
    assert KEY not in cleaned and "ca_live_abcdef123456" not in cleaned
    assert "wbk_…c0de" in cleaned


async def test_a_crash_writes_a_scrubbed_report_and_says_where(service, monkeypatch, capsys) -> None:
    def broken_refresh(self) -> None:
        key = KEY  # A local holding the key: Textual's default traceback would print it.
        raise RuntimeError(f"boom while using {key}")

    monkeypatch.setattr(MainScreen, "action_refresh", broken_refresh)
    app = make_app(service)
    with pytest.raises(RuntimeError):
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.state.fetched_at is not None)
            await pilot.press("r")
            await pilot.pause(0.2)
    reports = list(crash_dir().glob("crash-*.txt"))
    assert len(reports) == 1
    report = reports[0].read_text()
    assert "RuntimeError" in report and "broken_refresh" in report
    assert KEY not in report and "wbk_…c0de" in report
    assert stat.S_IMODE(os.stat(reports[0]).st_mode) == 0o600
    shown = capsys.readouterr().err.replace("\n", "")
    assert "unexpected error" in shown and reports[0].name in shown
    assert KEY not in shown and "wbk_…c0de" in shown
