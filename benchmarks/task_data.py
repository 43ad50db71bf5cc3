"""Synthetic pending tasks in the list endpoint's shape, and list bodies built from them.

The harness needs exactly N pending tasks (`--seed-tasks` mixes statuses), realistic enough
that row rendering and filtering do representative work, and deterministic so runs compare.
"""

from __future__ import annotations

import functools
import gc
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

TYPES = ("prospect_search", "contact_update", "list_operation", "campaign_start")
_TITLES = ("CFOs", "heads of sales", "CTOs", "VPs of marketing", "founders", "procurement leads", "HR directors")
_INDUSTRIES = ("fintech", "logistics", "healthcare", "SaaS", "retail", "manufacturing", "energy", "legal")
_CITIES = ("Berlin", "Munich", "Vienna", "Zurich", "Hamburg", "Paris", "Amsterdam", "Madrid", "Milan")


def _description(rng: random.Random, kind: str) -> str:
    title, industry, city = rng.choice(_TITLES), rng.choice(_INDUSTRIES), rng.choice(_CITIES)
    if kind == "prospect_search":
        return f"Find {rng.randint(10, 200)} {title} at {industry} companies in {city}"
    if kind == "contact_update":
        return f"Move {rng.randint(2, 60)} {title} in {city} to stage 'qualified'"
    if kind == "list_operation":
        return f"Add {rng.randint(5, 300)} {industry} leads from {city} to list 'Q3 {industry}'"
    return f"Start campaign 'Intro {industry} {city}' for {rng.randint(20, 500)} {title}"


@functools.lru_cache(maxsize=8)
def _cached(count: int, seed: int) -> tuple[dict[str, Any], ...]:
    enabled = gc.isenabled()
    gc.disable()  # 50,000 small dicts: generational GC would only slow building them
    try:
        return tuple(_generate(count, seed, time.time()))
    finally:
        if enabled:
            gc.enable()


def pending_tasks(count: int, seed: int = 1) -> list[dict[str, Any]]:
    """`count` pending task dicts (id, type, status, description, created_at, metadata), newest first.

    All four types appear, campaign_start included; callers that must not hit the confirm
    dialog pass `confirm_types=()` to the app rather than skew the data. Cached per (count,
    seed): treat the dicts as read-only.
    """
    return list(_cached(count, seed))


def _generate(count: int, seed: int, now: float) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    tasks: list[dict[str, Any]] = []
    for n in range(count):
        kind = TYPES[n % len(TYPES)]
        created = datetime.fromtimestamp(now - 37 * n - 5, tz=UTC)
        tasks.append({
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "type": kind,
            "status": "pending",
            "description": _description(rng, kind),
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z",
            "metadata": {"source": "benchmark", "batch": n // 100, "limit": 25 + n % 50},
        })
    return tasks


def list_body(tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """The list endpoint's response body around `tasks`, shaped as the service sends it."""
    return {"data": {"tasks": tasks}}


def with_changed_descriptions(tasks: list[dict[str, Any]], every: int, tag: str) -> list[dict[str, Any]]:
    """A copy where every `every`-th task (1 = all) has a new description; ids and order kept."""
    return [
        {**task, "description": f"{task['description']} ({tag})"} if n % every == 0 else task
        for n, task in enumerate(tasks)
    ]
