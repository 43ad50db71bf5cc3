"""The cached last list: what it keeps (task JSON only, never the key), per endpoint, atomic and
bounded, and every file it cannot trust ignored with a sentence rather than painted."""

from __future__ import annotations

import json
import os
import stat
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fs_support import run_on_small_fs

from lexi_tui.core import list_cache
from lexi_tui.core.list_cache import FORMAT, VERSION, cache_path, forget_profile, load, save

PROFILE = "work"
URL = "https://data.leadlex.com/functions/v1/api-gateway"
DEMO_URL = "http://127.0.0.1:8765/functions/v1/api-gateway"
KEY = "wbk_live_0123456789abcdef0123"
FETCHED = 1_796_000_000.0  # 2026-11-30


def tasks(count: int = 3) -> list[dict[str, Any]]:
    return [{"id": f"t-{n}", "type": "prospect_search", "status": "pending", "description": f"Find {n} CFOs",
             "created_at": "2026-11-30T09:00:00.000Z", "metadata": {"limit": n, "nested": {"a": [1, 2]}}}
            for n in range(count)]


def test_a_saved_list_comes_back_exactly_with_its_fetch_time_in_a_private_file() -> None:
    sent = tasks()
    assert save(PROFILE, URL, sent, fetched_at=FETCHED, secrets=[KEY]) is None
    loaded = load(PROFILE, URL, now=FETCHED + 90)
    assert loaded.problem is None and loaded.cached is not None
    assert loaded.cached.tasks == sent and loaded.cached.fetched_at == FETCHED and loaded.cached.view == "pending"
    assert loaded.cached.age(now=FETCHED + 90) == 90
    path = cache_path(PROFILE, URL)
    assert loaded.cached.path == path and path.parent.name == "lists"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # No temporary file left behind.


def test_the_file_holds_task_json_and_times_only_never_the_key_the_url_or_a_header() -> None:
    url = "https://user:hunter2@api.example.com/functions/v1/api-gateway?token=abc123"
    save(PROFILE, url, tasks(), fetched_at=FETCHED, secrets=[KEY])
    raw = cache_path(PROFILE, url).read_bytes()
    body = json.loads(raw)
    assert set(body) == {"format", "version", "profile", "endpoint", "view", "fetched_at", "saved_at", "tasks"}
    for secret in (KEY, "hunter2", "abc123", "api.example.com", "Authorization", "Bearer"):
        assert secret.encode() not in raw
    assert body["format"] == FORMAT and body["version"] == VERSION and body["profile"] == PROFILE


def test_a_list_holding_the_key_is_not_written() -> None:
    echoed = [*tasks(1), {"id": "t-x", "description": f"key was {KEY}"}]
    why = save(PROFILE, URL, echoed, fetched_at=FETCHED, secrets=["", KEY])
    assert why is not None and "API key" in why and KEY not in why
    assert not cache_path(PROFILE, URL).exists()
    escaped = [{"id": "t-y", "description": "ключ " + "k\u00e9y-\u00e9"}]  # The JSON-escaped form is caught too.
    assert save(PROFILE, URL, escaped, fetched_at=FETCHED, secrets=["k\u00e9y-\u00e9"]) is not None


def test_each_endpoint_keeps_its_own_list() -> None:
    save(PROFILE, URL, tasks(2), fetched_at=FETCHED)
    save(PROFILE, DEMO_URL, tasks(5), fetched_at=FETCHED + 1)
    cached = load(PROFILE, URL).cached
    demo = load(PROFILE, DEMO_URL).cached
    assert cached is not None and demo is not None
    assert len(cached.tasks) == 2 and len(demo.tasks) == 5
    assert cache_path(PROFILE, URL) != cache_path(PROFILE, DEMO_URL)
    assert load(PROFILE, "http://127.0.0.1:9999/other") == list_cache.Loaded()  # Never seen: no list, no problem.
    assert load("other-profile", URL) == list_cache.Loaded()
    assert load(PROFILE, URL, "approved") == list_cache.Loaded()


def test_a_newer_save_replaces_the_list_whole() -> None:
    save(PROFILE, URL, tasks(4), fetched_at=FETCHED)
    save(PROFILE, URL, tasks(1), fetched_at=FETCHED + 60)
    cached = load(PROFILE, URL).cached
    assert cached is not None and cached.tasks == tasks(1) and cached.fetched_at == FETCHED + 60


def _write_raw(content: bytes | str) -> Path:
    path = cache_path(PROFILE, URL)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def _body(**changes: Any) -> str:
    body: dict[str, Any] = {"format": FORMAT, "version": VERSION, "profile": PROFILE,
                            "endpoint": list_cache.endpoint_id(URL), "view": "pending", "fetched_at": FETCHED,
                            "saved_at": FETCHED, "tasks": tasks(1)}
    body.update(changes)
    return json.dumps(body)


@pytest.mark.parametrize(("content", "said"), [
    (b"", "not valid JSON"),
    (_body()[:40], "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
    ("[" * 100_000, "not valid JSON"),
    ('{"held": []}', "not a lexi-tui list cache"),
    ("[1, 2, 3]", "not a lexi-tui list cache"),
    (_body(version=2), "another version"),
    (_body(profile="someone-else"), "another profile"),
    (_body(endpoint=list_cache.endpoint_id(DEMO_URL)), "another profile, server or view"),
    (_body(view="approved"), "another profile, server or view"),
    (_body(fetched_at="yesterday"), "when the list was fetched"),
    (_body(fetched_at=None), "when the list was fetched"),
    (_body(fetched_at=True), "when the list was fetched"),
    (_body(fetched_at=-5), "when the list was fetched"),
    (_body().replace(f'"fetched_at": {FETCHED}', '"fetched_at": NaN'), "when the list was fetched"),
    (_body(fetched_at=time.time() + 86_400), "from the future"),
    (_body(tasks={"t-1": {}}), "does not hold a list of tasks"),
    (_body(tasks=[{"id": "t-1"}, "t-2"]), "does not hold a list of tasks"),
], ids=lambda value: None if isinstance(value, str) and len(value) < 40 else "")
def test_a_file_it_cannot_trust_is_ignored_and_said(content: bytes | str, said: str) -> None:
    path = _write_raw(content)
    loaded = load(PROFILE, URL)
    assert loaded.cached is None
    assert loaded.problem is not None and said in loaded.problem and path.name in loaded.problem
    assert "Traceback" not in loaded.problem
    assert path.exists()  # Left for the next save to replace; nothing else is touched.


def test_a_file_larger_than_the_bound_is_not_even_read() -> None:
    _write_raw(_body(tasks=tasks(50)))
    loaded = load(PROFILE, URL, max_bytes=1000)
    assert loaded.cached is None and loaded.problem is not None and "more than the 1,000" in loaded.problem


def test_a_list_too_large_to_keep_is_not_written_and_the_older_one_is_removed() -> None:
    save(PROFILE, URL, tasks(1), fetched_at=FETCHED)
    why = save(PROFILE, URL, tasks(200), fetched_at=FETCHED + 60, max_bytes=10_000)
    assert why is not None and "not saved" in why
    assert not cache_path(PROFILE, URL).exists()  # An old list never stands in for a newer one.
    assert load(PROFILE, URL) == list_cache.Loaded()


def test_a_clock_slightly_behind_the_file_counts_as_now() -> None:
    save(PROFILE, URL, tasks(1), fetched_at=FETCHED + 100)
    cached = load(PROFILE, URL, now=FETCHED).cached
    assert cached is not None and cached.age(now=FETCHED) == 0


def test_ids_and_odd_text_survive_byte_for_byte_and_parse_like_a_fresh_list() -> None:
    odd = [{"id": " t/1?x=%20 ", "type": "prospect_search", "status": "pending", "description": "naïve 🚀 \x1b]2;x\x07"},
           {"id": "t-2", "type": "weird_new_type", "status": "pending", "description": "lone \ud800 surrogate"},
           {"id": "", "description": "no id"}]
    save(PROFILE, URL, odd, fetched_at=FETCHED)
    cached = load(PROFILE, URL).cached
    assert cached is not None and cached.tasks == odd
    parsed = cached.task_list()
    assert [task.id for task in parsed] == [" t/1?x=%20 "]  # Bad text and no id: skipped, and said.
    assert "\x1b" not in parsed[0].description  # Cleaned on parsing, like a fresh list.
    assert len(parsed.problems) == 2


def test_describe_says_when_the_list_is_from() -> None:
    save(PROFILE, URL, tasks(1), fetched_at=FETCHED)
    cached = load(PROFILE, URL, now=FETCHED).cached
    assert cached is not None
    when = datetime.fromtimestamp(FETCHED)
    assert cached.describe(now=FETCHED + 60) == f"as of {when:%H:%M}"
    assert cached.describe(now=FETCHED + 3 * 86_400) == f"as of {when:%a} {when.day} {when:%b %H:%M}"


def test_forgetting_a_profile_removes_its_lists_only() -> None:
    for profile in (PROFILE, "work-2", "other"):
        save(profile, URL, tasks(1), fetched_at=FETCHED)
    save(PROFILE, DEMO_URL, tasks(1), fetched_at=FETCHED)
    assert forget_profile(PROFILE) == 2
    assert load(PROFILE, URL).cached is None and load(PROFILE, DEMO_URL).cached is None
    assert load("work-2", URL).cached is not None and load("other", URL).cached is not None
    assert forget_profile("never-used") == 0


@pytest.mark.parametrize("name", ["", "../x", "a b", "-dash", "x" * 65])
def test_names_that_cannot_be_a_file_name_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        cache_path(name, URL)
    with pytest.raises(ValueError):
        save(PROFILE, URL, [], fetched_at=FETCHED, view=name or "Bad")
    with pytest.raises(ValueError):
        forget_profile(name)


def test_the_data_folder_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEXI_TUI_DATA_DIR", str(tmp_path / "elsewhere"))
    save(PROFILE, URL, tasks(1), fetched_at=FETCHED)
    assert cache_path(PROFILE, URL).parent == tmp_path / "elsewhere" / "lists"
    assert (tmp_path / "elsewhere" / "lists").is_dir()


def test_a_folder_that_cannot_exist_raises_os_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("in the way")
    with pytest.raises(OSError):
        save(PROFILE, URL, tasks(1), fetched_at=FETCHED, folder=blocker / "lists")
    unreadable = load(PROFILE, URL, folder=blocker / "lists")
    assert unreadable.cached is None and unreadable.problem is not None and "could not be read" in unreadable.problem


def test_a_full_disk_raises_and_keeps_the_previous_list(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = run_on_small_fs(data, "full", setup=f"""
        from lexi_tui.core.list_cache import save
        save({PROFILE!r}, {URL!r}, [{{"id": "t-old"}}], fetched_at={FETCHED})
    """, code=f"""
        import json
        from lexi_tui.core.list_cache import load, save
        try:
            save({PROFILE!r}, {URL!r}, [{{"id": "t-%d" % n, "description": "x" * 500}} for n in range(20000)],
                 fetched_at={FETCHED + 60})
            raised = None
        except OSError as error:
            raised = error.strerror
        cached = load({PROFILE!r}, {URL!r}).cached
        print(json.dumps([raised, cached.tasks if cached else None]))
    """)
    raised, kept = result
    assert raised and "space" in raised.lower()
    assert kept == [{"id": "t-old"}]


def test_nothing_but_its_own_files_in_its_folder_is_touched() -> None:
    folder = cache_path(PROFILE, URL).parent
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("mine")
    os.chmod(folder, 0o700)
    save(PROFILE, URL, tasks(1), fetched_at=FETCHED)
    forget_profile(PROFILE)
    assert (folder / "notes.txt").read_text() == "mine"
