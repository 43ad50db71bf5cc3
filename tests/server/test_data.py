"""Seed data (`--seed-tasks`) and task files (`--tasks`, `POST /_admin/tasks`)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from lexi_tui.server import start_server
from lexi_tui.server.records import TaskDataError, load_tasks_file, validate_tasks
from lexi_tui.server.seed import generate_tasks

from .conftest import add_tasks, admin_client, admin_task, auth, base_options

STATUSES = ("pending", "approved", "dismissed", "completed", "failed")
TYPES = {"prospect_search", "campaign_start", "contact_update", "list_operation"}


def everything(server) -> list[dict]:
    tasks: list[dict] = []
    with httpx.Client(base_url=server.base_url, headers=auth()) as client:
        for status in STATUSES:
            tasks += client.get("/v1/lexi/tasks", params={"status": status}).json()["data"]["tasks"]
    return tasks


def test_seed_is_deterministic_and_varied() -> None:
    now = 1_780_000_000.0
    first = generate_tasks(60, 7, now)
    assert first == generate_tasks(60, 7, now)
    assert [t.id for t in first] != [t.id for t in generate_tasks(60, 8, now)]
    statuses = Counter(t.status for t in first)
    assert set(statuses) == set(STATUSES)
    assert 0.5 <= statuses["pending"] / 60 <= 0.7
    assert {t.type for t in first} == TYPES
    assert len({t.description for t in first}) > 40
    for record in first:
        metadata = json.loads(record.metadata_json)
        assert now - 14 * 24 * 3600 <= record.created_ts <= now
        assert ("result" in metadata) == (record.status == "completed")
        assert ("error" in metadata) == (record.status == "failed")
        assert (record.reason is not None) == (record.status == "dismissed")
        if record.type == "prospect_search":
            assert isinstance(metadata["per_page"], int) and isinstance(metadata["query"], dict)
        if record.type == "campaign_start":
            assert {"campaign_id", "contact_count"} <= set(metadata)


@pytest.mark.parametrize("n", [5, 6, 10, 50])
def test_small_seeds_still_cover_every_status_and_type(n: int) -> None:
    records = generate_tasks(n, 0, 0.0)
    assert {r.status for r in records} == set(STATUSES)
    assert {r.type for r in records} == TYPES


def test_seeded_servers_agree(make_server) -> None:
    a = everything(make_server(seed_tasks=40, random_seed=3))
    b = everything(make_server(seed_tasks=40, random_seed=3))
    c = everything(make_server(seed_tasks=40, random_seed=4))
    strip = [{k: v for k, v in t.items() if k != "created_at"} for t in a]
    assert strip == [{k: v for k, v in t.items() if k != "created_at"} for t in b]
    assert {t["id"] for t in a} != {t["id"] for t in c}
    assert len(a) == 40 and Counter(t["status"] for t in a)["pending"] == 24


def test_seeded_dismissals_have_reasons(make_server) -> None:
    server = make_server(seed_tasks=30)
    dismissed = [t for t in everything(server) if t["status"] == "dismissed"]
    assert dismissed
    for task in dismissed:
        assert admin_task(server, task["id"])["reason"]


UNUSUAL = [
    {"id": "odd-1", "type": "mystery_type", "status": "pending", "description": "",
     "created_at": "2026-02-24T18:00:00+02:00", "metadata": None},
    {"id": "odd-2", "type": "prospect_search", "description": "Ünïcødé 🚀 \u202e RTL \x1b]2;title\x07 \x1b[31mred",
     "metadata": {"big": 123456789012345678901234567890, "nested": {"a": [1, {"b": None}]}, "f": 1.5}},
    {"type": "campaign_start", "description": "x" * 10_000, "metadata": ["list", "metadata"]},
    {"id": "odd-4", "type": "", "status": "archived", "description": "unknown status", "metadata": "just text"},
    {"id": "odd-5", "type": "list_operation", "status": "dismissed", "description": "with reason",
     "reason": "duplicate", "created_at": "2026-01-01T00:00:00"},
    {"id": "odd/6", "type": "contact_update", "description": "extra keys ignored", "note": "fixture comment"},
]


def test_unusual_tasks_file_loads(tmp_path: Path, make_server) -> None:
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(UNUSUAL), encoding="utf-8")
    server = make_server(tasks_file=str(path))
    pending = {t["id"]: t for t in everything(server) if t["status"] == "pending"}
    assert pending["odd-1"]["type"] == "mystery_type"
    assert pending["odd-1"]["created_at"] == "2026-02-24T16:00:00Z"  # normalised to UTC
    assert pending["odd-1"]["metadata"] is None
    assert pending["odd-2"]["description"] == UNUSUAL[1]["description"]
    assert pending["odd-2"]["metadata"] == UNUSUAL[1]["metadata"]
    generated = [t for t in pending.values() if t["type"] == "campaign_start"]
    assert len(generated) == 1 and len(generated[0]["description"]) == 10_000
    assert generated[0]["metadata"] == ["list", "metadata"]
    assert "odd-4" not in {t["id"] for t in everything(server)}  # unknown statuses are never listed
    assert admin_task(server, "odd-4")["status"] == "archived"
    assert admin_task(server, "odd-4")["metadata"] == "just text"
    assert admin_task(server, "odd-5")["reason"] == "duplicate"
    assert admin_task(server, "odd-5")["created_at"] == "2026-01-01T00:00:00Z"
    assert pending["odd/6"]["metadata"] == {}
    created = datetime.fromisoformat(pending["odd/6"]["created_at"]).timestamp()
    assert abs(created - time.time()) < 60  # missing created_at means "now"
    with httpx.Client(base_url=server.base_url, headers=auth()) as client:
        assert client.post("/v1/lexi/tasks/odd-4/approve").json()["error"]["message"] == \
            "Task is not in pending status"


@pytest.mark.parametrize(("data", "fragment"), [
    ({"tasks": []}, "must be a JSON list of task objects, got object"),
    ("tasks", "must be a JSON list of task objects, got string"),
    ([{"type": "a", "description": "b"}, "oops"], "Task at index 1 must be an object, got string"),
    ([{"type": "a", "description": 5}], "Task at index 0: 'description' must be a string, got number"),
    ([{"type": "a"}], "Task at index 0: 'description' is required"),
    ([{"description": "d"}], "Task at index 0: 'type' is required"),
    ([{"type": None, "description": "d"}], "Task at index 0: 'type' must be a string, got null"),
    ([{"type": "a", "description": "d"}, {"id": 12, "type": "a", "description": "d"}],
     "Task at index 1: 'id' must be a string, got number"),
    ([{"id": "", "type": "a", "description": "d"}], "Task at index 0: 'id' must not be empty"),
    ([{"id": "x", "type": "a", "description": "d"}, {"id": "x", "type": "a", "description": "d"}],
     "Task at index 1: duplicate id 'x' (also at index 0)"),
    ([{"type": "a", "description": "d", "status": 1}], "Task at index 0: 'status' must be a string, got number"),
    ([{"type": "a", "description": "d", "created_at": "yesterday"}],
     "Task at index 0: 'created_at' is not an ISO 8601 timestamp: 'yesterday'"),
    ([{"type": "a", "description": "d", "created_at": 1700000000}],
     "Task at index 0: 'created_at' must be an ISO 8601 string, got number"),
    ([{"type": "a", "description": "d", "reason": 3}], "Task at index 0: 'reason' must be a string, got number"),
])
def test_invalid_task_data_is_rejected_with_index_and_field(data, fragment) -> None:
    with pytest.raises(TaskDataError) as caught:
        validate_tasks(data, 0.0)
    assert fragment in str(caught.value)


def test_unreadable_or_invalid_json_files(tmp_path: Path) -> None:
    with pytest.raises(TaskDataError, match="Cannot read tasks file"):
        load_tasks_file(tmp_path / "missing.json", 0.0)
    bad = tmp_path / "bad.json"
    bad.write_text("[{", encoding="utf-8")
    with pytest.raises(TaskDataError, match="is not valid JSON"):
        load_tasks_file(bad, 0.0)
    nan = tmp_path / "nan.json"
    nan.write_text('[{"type": "a", "description": "d", "metadata": NaN}]', encoding="utf-8")
    with pytest.raises(TaskDataError, match="is not valid JSON"):
        load_tasks_file(nan, 0.0)


def test_bad_tasks_file_fails_start_and_cleans_up(tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    path.write_text('[{"type": "a", "description": "ok"}, {"type": "a", "description": 7}]', encoding="utf-8")
    with pytest.raises(TaskDataError, match="index 1: 'description'"):
        start_server(base_options(tasks_file=str(path)))


def test_cli_exits_2_on_a_bad_tasks_file(tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    path.write_text('[{"type": "a", "description": "ok"}, {"type": 3, "description": "x"}]', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "lexi_tui.server", "--port", "0", "--tasks", str(path)],
                            capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert result.returncode == 2
    assert "Task at index 1: 'type' must be a string, got number" in result.stderr
    assert "listening" not in result.stdout


def test_admin_insert_validation(server) -> None:
    url = f"{server.root_url}/_admin/tasks"
    bad = admin_client().post(url, json=[{"type": "a"}])
    assert bad.status_code == 400
    assert bad.json()["error"] == {"code": "validation_error", "message": "Task at index 0: 'description' is required"}
    ids = add_tasks(server, [{"id": "admin-dup", "type": "a", "description": "d"}])
    assert ids == ["admin-dup"]
    again = admin_client().post(url, json=[{"id": "new-one", "type": "a", "description": "d"},
                                           {"id": "admin-dup", "type": "a", "description": "d"}])
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert admin_client().get(f"{server.root_url}/_admin/tasks/new-one").status_code == 404  # all or nothing


def test_restart_with_same_file_and_db_keeps_state(tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps([{"id": "keep-1", "type": "a", "description": "d"}]), encoding="utf-8")
    options = base_options(tasks_file=str(path), db_path=str(tmp_path / "state.db"), seed_tasks=10)
    with start_server(options) as first:
        httpx.post(f"{first.base_url}/v1/lexi/tasks/keep-1/dismiss", json={"reason": "testing"}, headers=auth())
        count = len(everything(first))
    with start_server(options) as second:
        assert admin_task(second, "keep-1")["status"] == "dismissed"
        assert admin_task(second, "keep-1")["reason"] == "testing"
        assert len(everything(second)) == count  # seed and file were not inserted twice
