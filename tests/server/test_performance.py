"""Listing must stay fast with a huge inbox (the TUI may poll a big account)."""

from __future__ import annotations

import dataclasses
import time
import uuid

import httpx

from lexi_tui.server import start_server
from lexi_tui.server.seed import generate_tasks

from .conftest import auth, base_options

COUNT = 50_000


def test_listing_50000_pending_tasks_is_well_under_a_second() -> None:
    now = time.time()
    templates = generate_tasks(200, 1, now)  # realistic descriptions and metadata, reused
    records = [dataclasses.replace(templates[n % 200], id=str(uuid.UUID(int=n, version=4)), status="pending",
                                   created_ts=now - n) for n in range(COUNT)]
    with start_server(base_options()) as server:
        server._service.store.insert(records)  # white-box bulk load: the HTTP path is what is timed
        with httpx.Client(base_url=server.base_url, headers=auth(), timeout=30) as client:
            client.get("/v1/lexi/tasks", params={"status": "failed"})  # warm up the connection
            started = time.perf_counter()
            response = client.get("/v1/lexi/tasks")
            elapsed = time.perf_counter() - started
    assert response.status_code == 200
    tasks = response.json()["data"]["tasks"]
    assert len(tasks) == COUNT
    assert tasks[0]["id"] == records[0].id and tasks[-1]["id"] == records[-1].id
    assert elapsed < 1.0, f"listing {COUNT} tasks took {elapsed:.2f} s"
