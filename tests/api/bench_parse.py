"""Measure what reading a 10,000-task list costs (a script, not a test: run it by hand).

    .venv/bin/python -m tests.api.bench_parse [--size 10000] [--runs 9]

Three figures per body shape, each the median (and minimum) of `--runs` runs, in ms:

* `loads`: `json.loads` of the body bytes alone (the floor: nothing the client adds);
* `parse`: building the `Task` list from the decoded body as the client does it
  (`parse_task_list`; since the byte scan for surrogates exists, with `check_text=False`,
  which is what the client passes for a body whose bytes hold none);
* `list_tasks`: `LexiClient.list_tasks()` end to end over an in-memory transport (the
  client's own decoding, checks and parsing, the thread hops included, no network).

Shapes: `small` is the benchmark harness's tasks (flat metadata), `rich` has the nested
prospect-search metadata the service seeds (query lists, several levels), `hostile` is
`rich` with one task nested 100,000 levels deep in the middle (the whole body then cannot
be read by `json.loads`; `loads` is left out for it).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from lexi_tui.api.lexi import LexiClient
from lexi_tui.api.models import parse_task_list

KEY = "wbk_bench_0000000000000000"


def small_tasks(size: int) -> list[dict[str, Any]]:
    from benchmarks.task_data import pending_tasks

    return pending_tasks(size)


def rich_tasks(size: int) -> list[dict[str, Any]]:
    tasks = []
    for n in range(size):
        tasks.append({
            "id": str(uuid.UUID(int=n * 7919 + 1, version=4)),
            "type": ("prospect_search", "campaign_start", "contact_update", "list_operation")[n % 4],
            "status": "pending",
            "description": f"Find {20 + n % 80} CEOs at law firms in New York (batch {n // 100})",
            "created_at": "2026-02-24T16:00:00Z",
            "metadata": {
                "query": {"person_titles": ["CEO", "Managing Partner"], "organization_industries": ["Legal"],
                          "person_locations": ["New York", "Boston"], "employee_ranges": ["51,200", "201,500"]},
                "per_page": 20 + n % 30,
                "list": {"id": f"list-{n % 17}", "name": "Q2 Outreach", "tags": ["legal", "ny"]},
            },
        })
    return tasks


def hostile_body(tasks: list[dict[str, Any]], depth: int = 100_000) -> bytes:
    half = len(tasks) // 2
    head = json.dumps({"data": {"tasks": tasks[:half]}})[:-3]  # drop the closing "]}}"
    tail = json.dumps(tasks[half:])[1:]  # drop the opening "["
    deep = '{"id": "deep", "type": "list_operation", "metadata": ' + "[" * depth + "]" * depth + "}"
    return f"{head}, {deep}, {tail}}}}}".encode()


def timed(action: Callable[[], Any], runs: int) -> tuple[float, float]:
    figures = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        action()
        figures.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(figures), min(figures)


def time_list_tasks(content: bytes, runs: int) -> tuple[int, float, float]:
    """Task count, median and minimum ms of `list_tasks()` on one client and one loop."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=content, headers={"content-type": "application/json"})

    async def run() -> tuple[int, float, float]:
        transport = httpx.MockTransport(handler)
        async with LexiClient(KEY, "https://lexi.invalid/gw", transport=transport, read_retries=0) as client:
            count = len(await client.list_tasks())
            figures = []
            for _ in range(runs):
                gc.collect()
                started = time.perf_counter()
                await client.list_tasks()
                figures.append((time.perf_counter() - started) * 1000.0)
        return count, statistics.median(figures), min(figures)

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    bodies = {
        "small": json.dumps({"data": {"tasks": small_tasks(args.size)}}).encode(),
        "rich": json.dumps({"data": {"tasks": rich_tasks(args.size)}}).encode(),
        "hostile": hostile_body(rich_tasks(args.size)),
    }
    for shape, content in bodies.items():
        line = [f"{shape:8} {len(content) / 1e6:5.1f} MB"]
        if shape != "hostile":
            decoded = json.loads(content)
            options = {"check_text": False} if "check_text" in inspect.signature(parse_task_list).parameters else {}
            line.append("loads {:6.1f} ms (min {:6.1f})".format(*timed(lambda: json.loads(content), args.runs)))
            line.append("parse {:6.1f} ms (min {:6.1f})".format(
                *timed(lambda: parse_task_list(decoded, **options), args.runs)))
        try:
            count, median, least = time_list_tasks(content, args.runs)
        except Exception as error:  # the client as it stood before this change refused such a body
            line.append(f"list_tasks refused: {type(error).__name__}: {error}")
        else:
            line.append(f"list_tasks {median:6.1f} ms (min {least:6.1f})  {count} tasks")
        print("  ".join(line))


if __name__ == "__main__":
    main()
