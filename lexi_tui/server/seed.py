"""Realistic seed data for `--seed-tasks N`.

The demo and manual testing need a believable inbox: all four task types, all five statuses
(about 60% pending), completed tasks with results, failed ones with errors, dismissed ones
with reasons, spread over the last two weeks. Everything except the anchor time comes from
`random.Random(seed)`, so the same seed always produces the same tasks (same ids too, which
lets a restart with the same --db skip what is already there).
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from . import drafts
from .drafts import TaskDraft
from .outcomes import build_error, build_result
from .records import TaskRecord, dumps_compact
from .vocab import (
    INDUSTRIES,
    SEED_CAMPAIGNS,
    SEED_DISMISS_REASONS,
    SEED_LISTS,
    SEED_LOCATIONS,
    SEED_OWNERS,
    SEED_STAGES,
    SEED_TAGS,
    TITLES,
)

FOURTEEN_DAYS = 14 * 24 * 3600
_TYPE_WEIGHTS = (("prospect_search", 40), ("campaign_start", 20), ("contact_update", 20), ("list_operation", 20))
_EMPLOYEE_RANGES = ("1,10", "11,50", "51,200", "201,500", "501,1000", "1001,5000")


def status_plan(n: int, rng: random.Random) -> list[str]:
    """Statuses for n tasks: ~60% pending, and every status present once n >= 5."""
    pending = round(n * 0.6)
    if n >= 5:
        pending = min(pending, n - 4)  # leave room for one of each other status
    rest = n - pending
    shares = (("completed", 0.40), ("dismissed", 0.25), ("failed", 0.20), ("approved", 0.15))
    counts = {name: int(rest * share) for name, share in shares}
    if n >= 5:
        for name in counts:
            counts[name] = max(1, counts[name])
    while sum(counts.values()) > rest:  # only reachable for n < 5
        largest = max(counts, key=lambda k: counts[k])
        counts[largest] -= 1
    counts["completed"] += rest - sum(counts.values())
    statuses = ["pending"] * pending + [name for name, count in counts.items() for _ in range(count)]
    rng.shuffle(statuses)
    return statuses


def type_plan(n: int, rng: random.Random) -> list[str]:
    """Types for n tasks, weighted, with all four present once n >= 4."""
    names = [name for name, _ in _TYPE_WEIGHTS]
    weights = [weight for _, weight in _TYPE_WEIGHTS]
    types = names[:n] + rng.choices(names, weights, k=max(0, n - len(names)))
    rng.shuffle(types)
    return types


def _sample(rng: random.Random, pool: tuple[Any, ...] | list[Any], low: int, high: int) -> list[Any]:
    return rng.sample(list(pool), rng.randint(low, high))


def _prospect(rng: random.Random) -> TaskDraft:
    titles = [t for _, t, _ in _sample(rng, TITLES, 1, 2)]
    industries = list(dict.fromkeys(i for _, i, _ in _sample(rng, INDUSTRIES, 0, 2))) if rng.random() < 0.85 else []
    locations = _sample(rng, SEED_LOCATIONS, 1, 2) if rng.random() < 0.9 else []
    extra: dict[str, Any] = {}
    if rng.random() < 0.3:
        extra["organization_num_employees_ranges"] = sorted(rng.sample(_EMPLOYEE_RANGES, 2), key=_EMPLOYEE_RANGES.index)
    if rng.random() < 0.15:
        extra["q_keywords"] = rng.choice(("contract management", "e-discovery", "legal ops", "compliance"))
    count = rng.choice((10, 20, 25, 25, 50, 50, 75, 100, 150, 200, 500))
    return drafts.prospect_search(count, titles, industries, locations, extra_query=extra or None)


def _campaign(rng: random.Random) -> TaskDraft:
    name = rng.choice(SEED_CAMPAIGNS)
    count = rng.choice((25, 40, 60, 80, 120, 150, 200, 250, 400, 750, 1200))
    return drafts.campaign_start(name, count, campaign_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)))


def _contact_update(rng: random.Random) -> TaskDraft:
    filter_: dict[str, Any] = {}
    choice = rng.random()
    if choice < 0.3:
        filter_["location"] = rng.choice(SEED_LOCATIONS)
    elif choice < 0.55:
        filter_["list_name"] = rng.choice(SEED_LISTS)
    elif choice < 0.75:
        filter_["stage"] = rng.choice(SEED_STAGES)
    else:
        filter_["engagement"] = rng.choice(("opened", "clicked", "replied to"))
        filter_["campaign_name"] = rng.choice(SEED_CAMPAIGNS)
    updates: dict[str, Any] = {}
    change = rng.random()
    if change < 0.5:
        updates["stage"] = rng.choice(SEED_STAGES)
    elif change < 0.75:
        updates["owner"] = rng.choice(SEED_OWNERS)
    else:
        updates["tags_add"] = [rng.choice(SEED_TAGS)]
    return drafts.contact_update(filter_, updates, rng.randint(3, 420))


def _list_operation(rng: random.Random) -> TaskDraft:
    name = rng.choice(SEED_LISTS)
    operation = rng.choices(("create", "add", "remove"), (3, 5, 2))[0]
    count = rng.randint(5, 250)
    if operation == "create":
        return drafts.list_operation("create", name, count if rng.random() < 0.5 else None)
    return drafts.list_operation(operation, name, count)


_BUILDERS = {"prospect_search": _prospect, "campaign_start": _campaign,
             "contact_update": _contact_update, "list_operation": _list_operation}


def generate_tasks(n: int, seed: int, now: float, exec_delay: float = 3.0) -> list[TaskRecord]:
    """N seeded tasks, newest first. Approved ones are still "executing": they finish a little
    after start-up (exec_delay plus up to 90 s), so the demo shows tasks completing."""
    rng = random.Random(f"seed-tasks:{seed}")
    statuses = status_plan(n, rng)
    types = type_plan(n, rng)
    offsets = sorted(rng.uniform(60, FOURTEEN_DAYS) for _ in range(n))
    records: list[TaskRecord] = []
    for index in range(n):
        task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        draft = _BUILDERS[types[index]](rng)
        status = statuses[index]
        created = round(now - offsets[index])
        metadata = dict(draft.metadata)
        approved_ts = dismissed_ts = finished_ts = execute_at = None
        reason = None
        if status in ("approved", "completed", "failed"):
            approved_ts = created + rng.uniform(30, min(offsets[index], 6 * 3600))
        if status == "completed":
            metadata["result"] = build_result(task_id, draft.type, metadata)
            finished_ts = approved_ts + rng.uniform(2, 120) if approved_ts else None
        elif status == "failed":
            metadata["error"] = build_error(task_id, draft.type, metadata)
            finished_ts = approved_ts + rng.uniform(2, 60) if approved_ts else None
        elif status == "approved":
            approved_ts = now - rng.uniform(1, 20)
            execute_at = now + exec_delay + rng.uniform(5, 90)
        elif status == "dismissed":
            reason = rng.choice(SEED_DISMISS_REASONS)
            dismissed_ts = created + rng.uniform(60, min(offsets[index], 24 * 3600))
        records.append(TaskRecord(
            id=task_id, type=draft.type, status=status, description=draft.description, created_ts=created,
            metadata_json=dumps_compact(metadata), reason=reason, source="seed", approved_ts=approved_ts,
            dismissed_ts=dismissed_ts, finished_ts=finished_ts, execute_at=execute_at))
    return records
