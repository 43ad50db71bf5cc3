"""SQLite storage for tasks, chat conversations, Lexi credits and the work Lexi did at once.

One connection shared by all threads behind a lock: every operation is tiny, and holding the
lock across "read status, change status" makes transitions atomic even before SQLite's own
`UPDATE ... WHERE status = 'pending'` check (which is kept anyway, and its rowcount decides).
Execution of approved tasks is lazy — a due time is stored, and due tasks are finished at the
start of the next request or by a light background loop — so it survives restarts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Union

from .drafts import TaskDraft
from .outcomes import finish
from .records import TaskRecord, dumps_compact, iso_z

SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_ts REAL NOT NULL,
    metadata TEXT NOT NULL,
    reason TEXT,
    source TEXT NOT NULL,
    approve_count INTEGER NOT NULL DEFAULT 0,
    dismiss_count INTEGER NOT NULL DEFAULT 0,
    approved_ts REAL,
    dismissed_ts REAL,
    finished_ts REAL,
    execute_at REAL,
    updated_ts REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks (status, created_ts DESC, seq DESC);
CREATE INDEX IF NOT EXISTS tasks_due ON tasks (execute_at) WHERE status = 'approved';
CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, created_ts REAL NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    task_id TEXT,
    context TEXT,
    created_ts REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation_id, seq);
CREATE TABLE IF NOT EXISTS lexi_credits (
    account TEXT PRIMARY KEY,
    balance INTEGER NOT NULL,
    updated_ts REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS lexi_actions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_ts REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS lexi_actions_by_conversation ON lexi_actions (conversation_id, seq);
"""

#: A chat reply, or a function that writes it once the balance after charging is known.
Reply = Union[str, Callable[[int | None], str]]

_LIST_SQL = (
    "SELECT json_object('id', id, 'type', type, 'status', status, 'description', description,"
    " 'created_at', created_at, 'metadata', json(metadata))"
    " FROM tasks WHERE status = ? ORDER BY created_ts DESC, seq DESC"
)


class StoreError(Exception):
    """Base of the errors the HTTP layer turns into error envelopes."""


class TaskNotFound(StoreError):
    """No task has this id (404 not_found)."""


def _simulates(metadata_json: str, fault: str) -> bool:
    metadata = json.loads(metadata_json)
    return isinstance(metadata, dict) and metadata.get("simulate") == fault


class TaskBackendError(Exception):
    """The service failed to apply a transition (metadata {"simulate": "approve_error"})."""


class TaskStateError(StoreError):
    """The task is not pending; the message is the documented 400 message."""


class DuplicateTaskError(StoreError):
    """Inserting tasks whose ids already exist (admin endpoint only)."""


class InsufficientCredits(StoreError):
    """The workspace cannot pay for a chat message (402 insufficient_credits)."""

    def __init__(self, balance: int, cost: int) -> None:
        super().__init__(f"balance {balance} cannot pay {cost}")
        self.balance = balance
        self.cost = cost


def conflict_message(status: str) -> str:
    """The 400 message for acting on a task that is not pending.

    Completed and failed tasks got there by being approved, so they report "approved" too.
    """
    if status in ("approved", "completed", "failed"):
        return "Task has already been approved"
    if status == "dismissed":
        return "Task has already been dismissed"
    return "Task is not in pending status"


class TaskStore:
    """All persistent state of one service instance."""

    def __init__(self, path: str, *, exec_delay: float = 3.0, failure_rate: float = 0.1,
                 credits: int = 1_000_000, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.exec_delay = exec_delay
        self.failure_rate = failure_rate
        self.initial_credits = credits
        self._clock = clock
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.executescript(SCHEMA)
        self._next_due: float | None = None
        self._refresh_next_due()

    def close(self) -> None:
        """Close the connection (checkpoints the WAL so only the .db file remains)."""
        with self._lock:
            self._db.close()

    def shared_connection(self) -> tuple[sqlite3.Connection, threading.RLock]:
        """The connection and its lock, for other tables in the same file (the Chamelio face).
        Closing this store closes them too."""
        return self._db, self._lock

    def _refresh_next_due(self) -> None:
        row = self._db.execute("SELECT MIN(execute_at) FROM tasks WHERE status = 'approved'").fetchone()
        self._next_due = row[0]

    # -- tasks -------------------------------------------------------------------------------

    def insert(self, records: Sequence[TaskRecord], *, keep_existing: bool = True) -> list[str]:
        """Insert tasks. With keep_existing, ids already stored are left as they are (so a
        restart with the same --db and --tasks/--seed-tasks keeps state); otherwise an
        existing id raises DuplicateTaskError and nothing is inserted."""
        now = self._clock()
        rows = [
            (r.id, r.type, r.status, r.description, iso_z(r.created_ts), r.created_ts, r.metadata_json, r.reason,
             r.source, r.approved_ts, r.dismissed_ts, r.finished_ts, r.execute_at, now)
            for r in records
        ]
        verb = "INSERT OR IGNORE" if keep_existing else "INSERT"
        with self._lock:
            if not keep_existing:
                ids = [r.id for r in records]
                for start in range(0, len(ids), 500):
                    chunk = ids[start:start + 500]
                    marks = ",".join("?" * len(chunk))
                    taken = self._db.execute(f"SELECT id FROM tasks WHERE id IN ({marks})", chunk).fetchone()
                    if taken:
                        raise DuplicateTaskError(f"Task id {taken[0]!r} already exists")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    f"{verb} INTO tasks (id, type, status, description, created_at, created_ts, metadata, reason,"
                    " source, approved_ts, dismissed_ts, finished_ts, execute_at, updated_ts)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._refresh_next_due()
        return [r.id for r in records]

    def list_body(self, status: str) -> bytes:
        """The complete JSON body of the list endpoint, built by SQLite row by row.

        Metadata is stored as JSON text and never decoded here, which keeps 50,000 tasks well
        under a second.
        """
        with self._lock:
            rows = self._db.execute(_LIST_SQL, (status,)).fetchall()
        return ('{"data":{"tasks":[' + ",".join([row[0] for row in rows]) + "]}}").encode("utf-8")

    def _status_of(self, task_id: str) -> str:
        row = self._db.execute("SELECT status FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            raise TaskNotFound(task_id)
        return row[0]

    def approve(self, task_id: str) -> None:
        """pending -> approved, scheduling execution after exec_delay. Exactly one concurrent
        caller wins; the others get TaskStateError (or TaskNotFound)."""
        now = self._clock()
        execute_at = now + self.exec_delay
        with self._lock:
            row = self._db.execute("SELECT metadata FROM tasks WHERE id = ?", (task_id,)).fetchone()
            if row is not None and '"approve_error"' in row[0] and _simulates(row[0], "approve_error"):
                # A per-task fault for tests: this task's approval fails on the service's side.
                raise TaskBackendError("Execution backend unavailable")
            cursor = self._db.execute(
                "UPDATE tasks SET status = 'approved', approve_count = approve_count + 1, approved_ts = ?,"
                " execute_at = ?, updated_ts = ? WHERE id = ? AND status = 'pending'",
                (now, execute_at, now, task_id))
            if cursor.rowcount != 1:
                raise TaskStateError(conflict_message(self._status_of(task_id)))
            if self._next_due is None or execute_at < self._next_due:
                self._next_due = execute_at

    def dismiss(self, task_id: str, reason: str | None) -> None:
        """pending -> dismissed, keeping the reason (for the admin view / analytics)."""
        now = self._clock()
        with self._lock:
            cursor = self._db.execute(
                "UPDATE tasks SET status = 'dismissed', dismiss_count = dismiss_count + 1, dismissed_ts = ?,"
                " reason = ?, updated_ts = ? WHERE id = ? AND status = 'pending'",
                (now, reason, now, task_id))
            if cursor.rowcount != 1:
                raise TaskStateError(conflict_message(self._status_of(task_id)))

    def has_due(self, now: float | None = None) -> bool:
        """Cheap check (no SQL) whether an approved task's execution time has come."""
        due = self._next_due
        return due is not None and due <= (self._clock() if now is None else now)

    def process_due(self, now: float | None = None) -> int:
        """Finish every approved task whose time has come; returns how many changed."""
        now = self._clock() if now is None else now
        if not self.has_due(now):
            return 0
        changed = 0
        with self._lock:
            rows = self._db.execute(
                "SELECT id, type, metadata FROM tasks WHERE status = 'approved' AND execute_at <= ?"
                " ORDER BY execute_at", (now,)).fetchall()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for task_id, task_type, metadata_json in rows:
                    status, metadata = finish(task_id, task_type, json.loads(metadata_json), self.failure_rate)
                    cursor = self._db.execute(
                        "UPDATE tasks SET status = ?, metadata = ?, finished_ts = ?, execute_at = NULL, updated_ts = ?"
                        " WHERE id = ? AND status = 'approved'",
                        (status, dumps_compact(metadata), now, now, task_id))
                    changed += cursor.rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._refresh_next_due()
        return changed

    def admin_record(self, task_id: str) -> dict[str, Any] | None:
        """Everything stored about a task, for tests and the demo (`GET /_admin/tasks/{id}`)."""
        with self._lock:
            cursor = self._db.execute("SELECT * FROM tasks WHERE id = ?", (task_id,))
            row = cursor.fetchone()
            names = [d[0] for d in cursor.description]
        if row is None:
            return None
        raw = dict(zip(names, row, strict=True))

        def when(ts: float | None) -> str | None:
            return iso_z(ts) if ts is not None else None

        return {
            "id": raw["id"], "type": raw["type"], "status": raw["status"], "description": raw["description"],
            "created_at": raw["created_at"], "metadata": json.loads(raw["metadata"]), "reason": raw["reason"],
            "source": raw["source"], "approve_count": raw["approve_count"], "dismiss_count": raw["dismiss_count"],
            "approved_at": when(raw["approved_ts"]), "dismissed_at": when(raw["dismissed_ts"]),
            "finished_at": when(raw["finished_ts"]), "execute_at": when(raw["execute_at"]),
            "updated_at": when(raw["updated_ts"]),
        }

    def count_by_status(self) -> dict[str, int]:
        """Task counts per stored status (any string), for stats and Lexi's "what's pending"."""
        with self._lock:
            return dict(self._db.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status").fetchall())

    # -- chat --------------------------------------------------------------------------------

    def record_chat(self, conversation_id: str, message: str, context: Any, reply: Reply,
                    draft: TaskDraft | None, task_id: str | None, *, account: str | None = None, cost: int = 0,
                    action: dict[str, Any] | None = None) -> tuple[str, int | None]:
        """Store one exchange atomically: charge the credits, queue the task it created (if
        any), record the work done at once (`action`, if any) and both messages, creating
        the conversation on first use — an unknown id supplied by the client is adopted.

        Args:
            account: the workspace paying (`keys.account_id`); None charges nothing.
            cost: credits the exchange costs. When the balance is lower, InsufficientCredits
                is raised and nothing at all is stored (no half-done message).
            reply: the assistant's text, or a function of the balance after charging.

        Returns the reply text and the balance after charging (None without an account).
        """
        now = self._clock()
        context_json = None if context is None else dumps_compact(context)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                balance = self._charge(account, cost, now) if account is not None else None
                text = reply(balance) if callable(reply) else reply
                self._db.execute("INSERT OR IGNORE INTO conversations (id, created_ts) VALUES (?, ?)",
                                 (conversation_id, now))
                if draft is not None and task_id is not None:
                    self._db.execute(
                        "INSERT INTO tasks (id, type, status, description, created_at, created_ts, metadata, source,"
                        " updated_ts) VALUES (?, ?, 'pending', ?, ?, ?, ?, 'chat', ?)",
                        (task_id, draft.type, draft.description, iso_z(now), now, dumps_compact(draft.metadata), now))
                if action is not None:
                    self._db.execute("INSERT INTO lexi_actions (conversation_id, kind, detail, created_ts)"
                                     " VALUES (?, ?, ?, ?)",
                                     (conversation_id, str(action.get("type", "action")), dumps_compact(action), now))
                self._db.executemany(
                    "INSERT INTO messages (conversation_id, role, content, task_id, context, created_ts)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [(conversation_id, "user", message, None, context_json, now),
                     (conversation_id, "assistant", text, task_id, None, now)])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return text, balance

    # -- credits -----------------------------------------------------------------------------

    def _balance(self, account: str) -> int:
        row = self._db.execute("SELECT balance FROM lexi_credits WHERE account = ?", (account,)).fetchone()
        return self.initial_credits if row is None else row[0]

    def _charge(self, account: str, cost: int, now: float) -> int:
        """Take `cost` credits (inside the caller's transaction); InsufficientCredits if short."""
        balance = self._balance(account)
        if balance < cost:
            raise InsufficientCredits(balance, cost)
        self._db.execute("INSERT OR REPLACE INTO lexi_credits (account, balance, updated_ts) VALUES (?, ?, ?)",
                         (account, balance - cost, now))
        return balance - cost

    def balance(self, account: str) -> int:
        """The workspace's credit balance (the `--credits` start value until first charged)."""
        with self._lock:
            return self._balance(account)

    def set_balance(self, account: str, balance: int) -> None:
        """Set a workspace's balance (admin), kept across restarts like every balance."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO lexi_credits (account, balance, updated_ts) VALUES (?, ?, ?)",
                             (account, balance, self._clock()))

    def actions(self, conversation_id: str) -> list[dict[str, Any]]:
        """What Lexi did at once in a conversation (no task), oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT detail, created_ts FROM lexi_actions WHERE conversation_id = ?"
                                    " ORDER BY seq", (conversation_id,)).fetchall()
        return [{**json.loads(detail), "created_at": iso_z(ts)} for detail, ts in rows]

    def conversation(self, conversation_id: str) -> list[dict[str, Any]] | None:
        """Messages of a conversation in order, or None if it was never used."""
        with self._lock:
            known = self._db.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            rows = self._db.execute(
                "SELECT role, content, task_id, context, created_ts FROM messages WHERE conversation_id = ?"
                " ORDER BY seq", (conversation_id,)).fetchall()
        if known is None:
            return None
        return [{"role": role, "content": content, "task_id": task_id,
                 "context": None if context is None else json.loads(context), "created_at": iso_z(ts)}
                for role, content, task_id, context, ts in rows]

