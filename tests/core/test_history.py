"""The local audit log: append, read newest first, survive damage (counted, never rewritten),
refuse cleanly when it cannot be written, never hold the key."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import stat
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from fs_support import run_on_small_fs

from lexi_tui.core import history
from lexi_tui.core.history import (
    HistoryEntry,
    HistoryUnreadable,
    HistoryUnwritable,
    append,
    filter_entries,
    preflight,
    read,
    read_report,
)


def entry(n: int = 1, **changes: object) -> HistoryEntry:
    base = HistoryEntry(
        time=f"2026-11-23T10:{n % 60:02d}:00.000Z", profile="default", task_id=f"task-{n}",
        task_type="prospect_search", description=f"Search for {n} CEOs at law firms", action="approve",
        reason=None, comment=None, outcome="ok", detail=None, request_id=f"req_{n}", source="manual",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_append_then_read_newest_first(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "history.jsonl"
    first, second = entry(1), entry(2, action="dismiss", reason="duplicate", source="rule:dups")
    append(first, path)
    append(second, path)
    assert read(path) == [second, first]
    assert read(path, limit=1) == [second]
    assert read(path, limit=0) == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().splitlines()) == 2


def test_default_location_is_the_data_folder() -> None:
    from lexi_tui.core.config import data_dir

    append(entry(7))
    assert history.history_path() == data_dir() / "history.jsonl"
    assert [e.task_id for e in read()] == ["task-7"]


def test_missing_file_is_an_empty_history(tmp_path: Path) -> None:
    assert read(tmp_path / "none.jsonl") == []


def test_corrupt_and_truncated_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    append(entry(1), path)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("not json\n")
        handle.write('{"time": "x"}\n')  # Missing required fields.
        handle.write('["a list"]\n')
        handle.write(json.dumps({**json.loads(entry(2).to_json()), "outcome": 3}) + "\n")  # Wrong type.
        handle.write(json.dumps({**json.loads(entry(3).to_json()), "future_field": 1}) + "\n")  # Newer writer.
        handle.write(entry(4).to_json()[:40])  # A crash mid-line: no newline.
    append(entry(5), path)  # Starts on a fresh line instead of gluing onto the fragment.
    before = path.read_bytes()
    assert [e.task_id for e in read(path)] == ["task-5", "task-3", "task-1"]
    report = read_report(path)
    assert [e.task_id for e in report.entries] == ["task-5", "task-3", "task-1"]
    assert report.skipped == 5 and report.problem is not None
    assert str(path) in report.problem.message and "5 lines" in report.problem.message
    assert "left as it is" in report.problem.message
    assert path.read_bytes() == before  # Append-only: damage is reported, never rewritten away.
    assert read_report(path, limit=1).skipped == 0  # Only the lines scanned are counted.
    assert read_report(tmp_path / "absent.jsonl").problem is None


def test_the_key_never_reaches_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "wbk_live_5f2c9a7e1d3b4c6a8e0f"
    monkeypatch.setenv("LEXI_API_KEY", secret)
    path = tmp_path / "history.jsonl"
    append(entry(1, detail=f"refused key {secret}", comment="pasted wbk_other_0123456789abcdef here"), path)
    text = path.read_text()
    assert secret not in text and "0123456789abcdef" not in text
    (stored,) = read(path)
    assert stored.detail == "refused key wbk_…8e0f" and "wbk_…cdef" in (stored.comment or "")
    assert set(json.loads(text)) == {f.name for f in dataclasses.fields(HistoryEntry)}


def test_server_text_is_stored_as_plain_ascii(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    hostile = entry(1, description="Café \x1b]52;c;cHduZWQ=\x07 – 東京\nnext")
    append(hostile, path)
    raw = path.read_bytes()
    assert raw.isascii() and b"\x1b" not in raw and raw.count(b"\n") == 1
    assert read(path) == [hostile]  # `tail -f` is safe, and nothing is lost.


def test_limit_reads_backwards_across_blocks(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    lines = [entry(n, task_id=f"task-{n}", description="x" * (n % 700)).to_json() for n in range(1500)]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    assert [e.task_id for e in read(path, limit=3)] == ["task-1499", "task-1498", "task-1497"]
    everything = read(path)
    assert len(everything) == 1500 and everything[-1].task_id == "task-0"


def test_concurrent_appends_stay_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"

    def writer(k: int) -> None:
        for n in range(50):
            append(entry(n, task_id=f"w{k}-{n}", description="d" * 3000), path)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(read(path)) == 200


def test_filter_matches_any_field_case_insensitively() -> None:
    entries = [
        entry(1),
        entry(2, action="dismiss", reason="duplicate", source="rule:Duplicates"),
        entry(3, outcome="failed", detail="Task not found", task_type="campaign_start"),
    ]
    assert filter_entries(entries, "") == entries
    assert filter_entries(entries, "DUPLICATE") == [entries[1]]
    assert filter_entries(entries, "task-3") == [entries[2]]
    assert filter_entries(entries, "failed campaign") == [entries[2]]  # Every word, any field.
    assert filter_entries(entries, "failed duplicate") == []
    assert filter_entries(entries, "law firms") == entries
    assert filter_entries(entries, "2026-11-23T10:02") == [entries[1]]


def test_an_unreadable_history_is_an_error_naming_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "history.jsonl"
    folder.mkdir()  # Something that exists but cannot be read as the log.
    with pytest.raises(HistoryUnreadable) as caught:
        read_report(folder)
    assert isinstance(caught.value, OSError) and str(folder) in str(caught.value)
    assert "Is a directory" in str(caught.value)


def test_preflight_passes_without_writing_a_line(tmp_path: Path) -> None:
    path = tmp_path / "new" / "history.jsonl"
    preflight(path)
    assert path.exists() and path.read_bytes() == b"" and stat.S_IMODE(path.stat().st_mode) == 0o600
    append(entry(1), path)
    before = path.read_bytes()
    preflight(path)
    assert path.read_bytes() == before
    preflight()  # The default location works too.


def test_preflight_refuses_a_folder_it_cannot_create(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(HistoryUnwritable) as caught:
        preflight(blocker / "history.jsonl")
    assert "Not a directory" in str(caught.value) and str(blocker / "history.jsonl") in str(caught.value)
    assert caught.value.filename == str(blocker / "history.jsonl") and caught.value.strerror  # As bulk reads it.


def fake_statvfs(free_blocks: int, flag: int = 0):
    return lambda folder: SimpleNamespace(f_frsize=4096, f_bavail=free_blocks, f_bfree=free_blocks, f_flag=flag)


def test_preflight_refuses_a_nearly_full_or_read_only_file_system(tmp_path: Path) -> None:
    """The thresholds, portably (statvfs injected); the real kernel errors are the tests below."""
    path = tmp_path / "history.jsonl"
    with pytest.raises(HistoryUnwritable) as full:
        preflight(path, statvfs=fake_statvfs(3))
    assert full.value.errno == errno.ENOSPC and "No space left on device (12 KiB free)" in str(full.value)
    assert "no action is sent" in str(full.value)
    with pytest.raises(HistoryUnwritable) as read_only:
        preflight(path, statvfs=fake_statvfs(10**6, flag=os.ST_RDONLY))
    assert read_only.value.errno == errno.EROFS and "Read-only file system" in str(read_only.value)
    preflight(path, statvfs=fake_statvfs(10**6))
    preflight(path, min_free=0, statvfs=fake_statvfs(0))


def test_append_on_a_device_with_no_space_says_so() -> None:
    """/dev/full answers every write with ENOSPC: the kernel's own "disk full"."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with pytest.raises(HistoryUnwritable) as caught:
        append(entry(1), Path("/dev/full"))
    assert caught.value.errno == errno.ENOSPC and "No space left on device" in str(caught.value)


def test_a_really_full_and_a_really_read_only_file_system(tmp_path: Path) -> None:
    code = """
        import json
        from lexi_tui.core import history
        out = {}
        try:
            history.preflight()
        except history.HistoryUnwritable as e:
            out["preflight"] = str(e)
        try:
            history.append(history.HistoryEntry("2026-01-01T00:00:00.000Z", "p", "t", "x", "d", "approve", None,
                                                None, "ok", None, None, "manual"))
        except history.HistoryUnwritable as e:
            out["append"] = str(e)
        print(json.dumps(out))
    """
    setup = "from lexi_tui.core import history; history.preflight()"
    full = run_on_small_fs(tmp_path / "full", "full", code, setup)
    assert "No space left on device" in full["preflight"] and "No space left on device" in full["append"]
    read_only = run_on_small_fs(tmp_path / "ro", "readonly", code, setup)
    assert "Read-only file system" in read_only["preflight"] and "Read-only file system" in read_only["append"]


def test_outcomes_include_the_policy_values() -> None:
    assert set(history.OUTCOMES) == {"ok", "failed", "already_handled", "not_found", "unknown", "not_sent", "dry_run"}
    assert set(history.ACTIONS) == {"approve", "dismiss", "cancel"}
