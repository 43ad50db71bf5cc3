"""A huge inbox lists whole and in order (the TUI may poll a big account).

How fast is measured by the benchmarks, not asserted here: a timed test fails on a busy machine."""

from __future__ import annotations

import dataclasses
import time
import uuid

import httpx

from lexi_tui.server import start_server
from lexi_tui.server.seed import generate_tasks

from .conftest import auth, base_options

COUNT = 50_000


def test_listing_50000_pending_tasks_returns_them_all_newest_first() -> None:
    now = time.time()
    templates = generate_tasks(200, 1, now)  # realistic descriptions and metadata, reused
    records = [dataclasses.replace(templates[n % 200], id=str(uuid.UUID(int=n, version=4)), status="pending",
                                   created_ts=now - n) for n in range(COUNT)]
    with start_server(base_options()) as server:
        server._service.store.insert(records)  # white-box bulk load: the HTTP path is what is timed
        with httpx.Client(base_url=server.base_url, headers=auth(), timeout=30) as client:
            client.get("/v1/lexi/tasks", params={"status": "failed"})  # warm up the connection
            response = client.get("/v1/lexi/tasks")
    assert response.status_code == 200
    tasks = response.json()["data"]["tasks"]
    assert len(tasks) == COUNT
    assert tasks[0]["id"] == records[0].id and tasks[-1]["id"] == records[-1].id
