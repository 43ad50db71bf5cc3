"""Chamelio tables in the service's SQLite file, on the Lexi store's connection and lock.

A task is one JSON document (see `workflows`) plus the columns the store queries: status, the
time it next moves on its own (`advance_at`: intake/review with a step delay, the step after a
decision), and call counters for the admin view. Every change reads, edits and writes the
document under the shared lock, so concurrent approvals of one task have exactly one winner.
Like Lexi's tasks, timed moves are lazy (done on the next request or by the background loop).
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from . import workflows as wf
from .workflows import Event

SCHEMA = """
CREATE TABLE IF NOT EXISTS chamelio_workflows (id INTEGER PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chamelio_tasks (
    id INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    advance_at REAL,
    approve_calls INTEGER NOT NULL DEFAULT 0,
    cancel_calls INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chamelio_tasks_due ON chamelio_tasks (advance_at) WHERE advance_at IS NOT NULL;
"""


class ChamelioStoreError(Exception):
    """Base of the errors the routes turn into `{"detail": ...}` answers."""


class TaskNotFound(ChamelioStoreError):
    pass


class NotAwaitingApproval(ChamelioStoreError):
    pass


class CannotCancel(ChamelioStoreError):
    pass


class CannotAdvance(ChamelioStoreError):
    pass


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class ChamelioStore:
    """Chamelio workflows and tasks; `connection`/`lock` are shared with the Lexi TaskStore."""

    def __init__(self, connection: sqlite3.Connection, lock: threading.RLock, *, exec_delay: float = 3.0,
                 step_delay: float = 0.0, clock: Callable[[], float] = time.time) -> None:
        self._db = connection
        self._lock = lock
        self.exec_delay = exec_delay
        self.step_delay = step_delay
        self._clock = clock
        with self._lock:
            self._db.executescript(SCHEMA)
            self._refresh_next_due()

    def _refresh_next_due(self) -> None:
        self._next_due = self._db.execute("SELECT MIN(advance_at) FROM chamelio_tasks").fetchone()[0]

    def _schedule(self, doc: dict[str, Any], now: float) -> float | None:
        """When the task next moves on its own, from where it is now."""
        position = doc.get("position")
        if doc.get("status") not in wf.OPEN_STATUSES or position in (None, "approval"):
            return None
        if position in ("action", "rejection"):
            return now + self.exec_delay
        return now + self.step_delay if self.step_delay > 0 else None

    def _note_due(self, advance_at: float | None) -> None:
        if advance_at is not None and (self._next_due is None or advance_at < self._next_due):
            self._next_due = advance_at

    # -- writing -----------------------------------------------------------------------------

    def insert_workflows(self, workflows: Sequence[dict[str, Any]]) -> None:
        with self._lock:
            self._db.executemany("INSERT OR IGNORE INTO chamelio_workflows (id, doc) VALUES (?, ?)",
                                 [(w["workflow_id"], _dumps(w)) for w in workflows])

    def insert_tasks(self, docs: Sequence[dict[str, Any]], source: str,
                     advance_at: Sequence[float | None] | None = None) -> list[int]:
        """Insert tasks, keeping any id already stored (a restart with the same --db and seed);
        returns the ids actually inserted."""
        inserted: list[int] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for index, doc in enumerate(docs):
                    due = advance_at[index] if advance_at is not None else self._schedule(doc, self._clock())
                    cursor = self._db.execute(
                        "INSERT OR IGNORE INTO chamelio_tasks (id, workflow_id, status, advance_at, source, doc)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (doc["task_id"], doc["workflow_id"], doc["status"], due, source, _dumps(doc)))
                    if cursor.rowcount == 1:
                        inserted.append(doc["task_id"])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._refresh_next_due()
        return inserted

    def _load(self, task_id: int) -> dict[str, Any]:
        row = self._db.execute("SELECT doc FROM chamelio_tasks WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            raise TaskNotFound(task_id)
        return json.loads(row[0])

    def _save(self, doc: dict[str, Any], now: float) -> None:
        due = self._schedule(doc, now)
        self._db.execute("UPDATE chamelio_tasks SET status = ?, advance_at = ?, doc = ? WHERE id = ?",
                         (doc["status"], due, _dumps(doc), doc["task_id"]))
        self._note_due(due)

    def decide(self, task_id: int, approved: bool, comment: str | None, variables: list[dict[str, str]],
               user_email: str | None, check: Callable[[dict[str, Any]], None] = lambda doc: None,
               ) -> tuple[dict[str, Any], list[Event]]:
        """Approve or reject. Counts the call, then: NotAwaitingApproval (409), `check(doc)`
        (raises for invalid variables or an injected failure; nothing is applied), apply."""
        now = self._clock()
        with self._lock:
            doc = self._load(task_id)
            self._db.execute("UPDATE chamelio_tasks SET approve_calls = approve_calls + 1 WHERE id = ?", (task_id,))
            if not wf.awaiting_approval(doc):
                raise NotAwaitingApproval(task_id)
            check(doc)
            events = wf.decide(doc, approved, comment, variables, user_email, now)
            self._save(doc, now)
        return doc, events

    def cancel(self, task_id: int, reason: str | None = None) -> tuple[dict[str, Any], list[Event]]:
        """Cancel an open task (CannotCancel once finished); `reason` goes into the webhook."""
        now = self._clock()
        with self._lock:
            doc = self._load(task_id)
            self._db.execute("UPDATE chamelio_tasks SET cancel_calls = cancel_calls + 1 WHERE id = ?", (task_id,))
            try:
                events = wf.cancel(doc, now, reason)
            except ValueError:
                raise CannotCancel(task_id) from None
            self._save(doc, now)
        return doc, events

    def advance(self, task_id: int) -> tuple[dict[str, Any], list[Event]]:
        """Move a task one step on now (admin): intake -> review -> approval, action -> completed."""
        now = self._clock()
        with self._lock:
            doc = self._load(task_id)
            try:
                events = wf.advance(doc, now)
            except ValueError as exc:
                raise CannotAdvance(str(exc)) from None
            self._save(doc, now)
        return doc, events

    def create_task(self, workflow_id: int | None, title: str | None, stage: str, with_files: bool,
                    rng: random.Random) -> tuple[dict[str, Any], list[Event]]:
        """A new task (admin) in an existing workflow (the first one, created if none exists)."""
        now = self._clock()
        with self._lock:
            if workflow_id is None:
                row = self._db.execute("SELECT doc FROM chamelio_workflows ORDER BY id LIMIT 1").fetchone()
            else:
                row = self._db.execute("SELECT doc FROM chamelio_workflows WHERE id = ?", (workflow_id,)).fetchone()
                if row is None:
                    raise TaskNotFound(workflow_id)
            if row is None:
                workflow = wf.workflow_doc(1, wf.TEMPLATES[0], 1)
                self.insert_workflows([workflow])
            else:
                workflow = json.loads(row[0])
            top = self._db.execute("SELECT MAX(id) FROM chamelio_tasks").fetchone()[0]
            task_id = max(wf.FIRST_TASK_ID, (top or 0) + 1)
            doc = wf.new_task(task_id, workflow, rng, now, with_files=with_files, title=title)
            for _ in range(("intake", "review", "approval").index(stage)):
                wf.advance(doc, now)
            events = wf.created(doc)
            self.insert_tasks([doc], "admin")
        return doc, events

    # -- timed moves -------------------------------------------------------------------------

    def has_due(self, now: float | None = None) -> bool:
        due = self._next_due
        return due is not None and due <= (self._clock() if now is None else now)

    def process_due(self, now: float | None = None) -> list[Event]:
        """Move every task whose time has come; returns the events of those moves."""
        now = self._clock() if now is None else now
        if not self.has_due(now):
            return []
        events: list[Event] = []
        with self._lock:
            rows = self._db.execute("SELECT doc FROM chamelio_tasks WHERE advance_at <= ? ORDER BY advance_at",
                                    (now,)).fetchall()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for (text,) in rows:
                    doc = json.loads(text)
                    try:
                        moved = wf.advance(doc, now)
                    except ValueError:  # nothing to do after all: just clear the timer
                        moved = []
                    self._save(doc, now)
                    events.extend(moved)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._refresh_next_due()
        return events

    # -- reading -----------------------------------------------------------------------------

    def get(self, task_id: int) -> dict[str, Any]:
        with self._lock:
            return self._load(task_id)

    def admin_record(self, task_id: int) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT doc, approve_calls, cancel_calls, advance_at, source FROM chamelio_tasks WHERE id = ?",
                (task_id,)).fetchone()
        if row is None:
            return None
        doc = json.loads(row[0])
        decision = doc.get("decision") or {}
        step = wf.current_step(doc) or {}
        outcome = "cancelled" if doc["status"] == "cancelled" else (
            None if not decision else ("approved" if decision.get("approved") else "rejected"))
        return {
            "task_id": doc["task_id"], "status": doc["status"], "current_step_type": step.get("step_type"),
            "current_step_name": step.get("step_name"), "awaiting_approval": wf.awaiting_approval(doc),
            "approve_calls": row[1], "cancel_calls": row[2], "outcome": outcome,
            "approved": decision.get("approved"), "comment": decision.get("comment"),
            "variables": decision.get("variables", []), "user_email": decision.get("user_email"),
            "decided_at": decision.get("decided_at"), "advance_at": wf.iso(row[3]), "source": row[4],
        }

    def ids(self) -> list[int]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT id FROM chamelio_tasks ORDER BY id").fetchall()]

    def count_by_status(self) -> dict[str, int]:
        with self._lock:
            return dict(self._db.execute("SELECT status, COUNT(*) FROM chamelio_tasks GROUP BY status").fetchall())
