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


async def test_the_report_and_the_message_name_the_debug_log_and_mask_every_key(service, monkeypatch, capsys,
                                                                                 tmp_path) -> None:
    from lexi_tui.core.debuglog import RequestLog

    other_key = "wbk_otherprofile_0000000000feed"  # A key given up front for another profile.
    log = RequestLog(tmp_path / "requests.log")

    def broken_refresh(self) -> None:
        raise RuntimeError(f"boom with {KEY} and {other_key}")

    monkeypatch.setattr(MainScreen, "action_refresh", broken_refresh)
    app = make_app(service, request_log=log, profile_keys={"other": other_key})
    with pytest.raises(RuntimeError):
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.state.fetched_at is not None)
            await pilot.press("r")
            await pilot.pause(0.2)
    report = next(crash_dir().glob("crash-*.txt")).read_text()
    assert f"Debug log of this session: {log.path}" in report
    assert KEY not in report and other_key not in report and "wbk_…feed" in report
    shown = capsys.readouterr().err.replace("\n", "")
    assert str(log.path) in shown and "--debug" in shown
    assert KEY not in shown and other_key not in shown
    assert log.path.exists() and "GET /v1/lexi/tasks" in log.path.read_text()
