"""Crash reports: scrubbed traceback, the debug log named, a clear reason when none can be written."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from fs_support import run_on_small_fs

from lexi_tui.core.crash import CrashReportUnwritable, crash_dir, write_crash_report

KEY = "wbk_live_5f2c9a7e1d3b4c6a8e0f"


def boom() -> RuntimeError:
    try:
        raise RuntimeError(f"failed while using {KEY}")
    except RuntimeError as error:
        return error


def test_the_report_keeps_the_scrubbed_traceback_and_names_the_debug_log(tmp_path: Path) -> None:
    log = tmp_path / "requests.log"
    path = write_crash_report(boom(), [KEY], debug_log=log)
    text = path.read_text()
    assert path.parent == crash_dir() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "RuntimeError" in text and "in boom" in text and KEY not in text and "wbk_…8e0f" in text
    assert f"Debug log of this session: {log}" in text
    assert "Debug log" not in write_crash_report(boom()).read_text()


def test_an_unwritable_crash_folder_gives_the_folder_and_the_cause(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("LEXI_TUI_DATA_DIR", str(blocker))
    with pytest.raises(CrashReportUnwritable) as caught:
        write_crash_report(boom())
    assert isinstance(caught.value, OSError)
    assert str(caught.value) == f"{blocker / 'crashes'}: Not a directory"
    # As the app shows it: "(The crash report could not be written: <folder>: <cause>)".


def test_a_read_only_disk_says_so(tmp_path: Path) -> None:
    message = run_on_small_fs(tmp_path / "data", "readonly", """
        import json
        from lexi_tui.core.crash import CrashReportUnwritable, write_crash_report
        try:
            write_crash_report(RuntimeError("x"))
        except CrashReportUnwritable as e:
            print(json.dumps(str(e)))
    """)
    assert message.endswith("/crashes: Read-only file system")
    assert os.path.basename(os.path.dirname(message.split(":")[0])) == "data"
