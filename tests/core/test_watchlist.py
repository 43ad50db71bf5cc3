"""The watch list: ids that fit, nothing silently dropped, damaged files repaired and kept aside."""

from __future__ import annotations

import json
import stat
import threading

import pytest

from lexi_tui.core import watchlist
from lexi_tui.core.watchlist import MAX_TASK_ID, WatchListError, parse_task_id

PROFILE = "legal"


def test_add_remove_and_the_file_format() -> None:
    assert watchlist.load(PROFILE) == []
    assert watchlist.add(PROFILE, 1002) and watchlist.add(PROFILE, 1001)
    assert not watchlist.add(PROFILE, 1002)
    assert watchlist.read(PROFILE).ids == [1002, 1001] and watchlist.read(PROFILE).problem is None
    path = watchlist.path_for(PROFILE)
    assert json.loads(path.read_text()) == {"version": 1, "tasks": [1002, 1001]}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert watchlist.remove(PROFILE, 1002) and not watchlist.remove(PROFILE, 1002)
    watchlist.add(PROFILE, MAX_TASK_ID)  # The largest id the REST API takes.
    watchlist.clear(PROFILE)
    assert watchlist.load(PROFILE) == []


@pytest.mark.parametrize("bad", [0, -5, MAX_TASK_ID + 1, 2**64, True, 3.0, "12", None])
def test_ids_that_do_not_fit_are_refused_with_a_message_and_never_stored(bad: object) -> None:
    with pytest.raises(ValueError) as caught:
        watchlist.add(PROFILE, bad)  # type: ignore[arg-type]
    assert str(caught.value) and "Traceback" not in str(caught.value)
    assert not watchlist.path_for(PROFILE).exists()


@pytest.mark.parametrize(("value", "expected"), [(5, 5), ("1001", 1001), (" 42 ", 42), (str(MAX_TASK_ID), MAX_TASK_ID)])
def test_parse_task_id_accepts_ints_and_digit_strings(value: object, expected: int) -> None:
    assert parse_task_id(value) == expected


@pytest.mark.parametrize(("value", "words"), [
    ("task_def456", "is not a Chamelio task id"), (str(MAX_TASK_ID + 1), "past the largest"), ("-3", "not a Chamelio"),
    (0, "positive"), (1.5, "whole number"), (False, "whole number"), ("9" * 40, "not a Chamelio task id"),
])
def test_parse_task_id_refuses_the_rest(value: object, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_task_id(value)


def test_a_file_holding_ids_that_do_not_fit_is_repaired_and_kept_aside() -> None:
    path = watchlist.path_for(PROFILE)
    path.parent.mkdir(parents=True)
    original = json.dumps({"version": 1, "tasks": [1001, 2**63, -4, "1003", 1002, True, 1001, 1.5]})
    path.write_text(original)
    found = watchlist.read(PROFILE)
    assert found.ids == [1001, 1002]
    assert found.problem is not None and found.problem.kept_aside is not None
    assert "5 entries that are not task ids" in found.problem.message
    assert str(found.problem.kept_aside) in found.problem.message
    assert found.problem.kept_aside.read_text() == original
    assert stat.S_IMODE(found.problem.kept_aside.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"version": 1, "tasks": [1001, 1002]}  # Every later start is fine.
    assert watchlist.read(PROFILE).problem is None


@pytest.mark.parametrize("content", [b"{broken", b"\xff\xfe\x00", b'{"version": 9, "tasks": [1]}', b'"a string"'])
def test_an_unreadable_file_is_moved_aside_not_emptied_silently(content: bytes) -> None:
    path = watchlist.path_for(PROFILE)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    assert watchlist.add(PROFILE, 7)  # A change repairs it too (the problem is logged).
    (aside,) = path.parent.glob("legal.json.corrupt-*")
    assert aside.read_bytes() == content
    assert watchlist.load(PROFILE) == [7]


def test_a_full_list_refuses_instead_of_forgetting_the_oldest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watchlist, "MAX_TASKS", 3)
    for task_id in (1, 2, 3):
        watchlist.add(PROFILE, task_id)
    with pytest.raises(WatchListError, match="already holds 3 tasks"):
        watchlist.add(PROFILE, 4)
    assert watchlist.load(PROFILE) == [1, 2, 3]


def test_concurrent_writers_lose_nothing() -> None:
    def writer(start: int) -> None:
        for n in range(start, start + 40):
            watchlist.add(PROFILE, n)

    threads = [threading.Thread(target=writer, args=(k * 1000 + 1,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(watchlist.load(PROFILE)) == 160


def test_an_unwritable_folder_is_a_watch_list_error(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("LEXI_TUI_DATA_DIR", str(blocker))
    with pytest.raises(WatchListError, match="Not a directory"):
        watchlist.add(PROFILE, 1)
    assert watchlist.load(PROFILE) == []
