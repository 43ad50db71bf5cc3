"""The local audit log: append, read newest first, survive damage, never hold the key."""

from __future__ import annotations

import dataclasses
import json
import stat
import threading
from pathlib import Path

import pytest

from lexi_tui.core import history
from lexi_tui.core.history import HistoryEntry, append, filter_entries, read


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
    assert [e.task_id for e in read(path)] == ["task-5", "task-3", "task-1"]


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
