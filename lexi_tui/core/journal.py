"""Actions held for the undo window, journalled so that nothing is lost or sent by surprise.

Approve and dismiss wait a few seconds before they are sent, with an undo key. The
journal (one JSON file per profile in the data directory, written atomically) holds
exactly the actions that are waiting: undo removes an entry before anything is sent,
so a crash or a kill can never send an action the user undid. What is still in the
journal at the next start was neither sent nor undone; the app says so instead of
dropping it silently.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class HeldAction:
    """One approve or dismiss waiting for its undo window to close."""

    task_id: str
    task_type: str
    description: str
    verb: str
    """"approve" or "dismiss"."""
    reason: str | None = None
    due: float = 0.0
    """Wall-clock time when it is sent."""
    action_id: str = field(default_factory=lambda: uuid.uuid4().hex)


class HeldJournal:
    """The on-disk list of held actions for one profile."""

    def __init__(self, profile: str, folder: Path | None = None) -> None:
        if folder is None:
            from lexi_tui.core.config import data_dir

            folder = data_dir() / "held"
        self.path = folder / f"{profile}.json"
        self._actions: dict[str, HeldAction] = {}

    def leftovers(self) -> list[HeldAction]:
        """Actions a previous session held and never sent nor undid (it crashed or was killed)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        actions = []
        for item in data if isinstance(data, list) else []:
            try:
                actions.append(HeldAction(**item))
            except TypeError:
                continue
        return actions

    def clear(self) -> None:
        self._actions.clear()
        self._write()

    @property
    def actions(self) -> list[HeldAction]:
        """Held actions, oldest first."""
        return list(self._actions.values())

    def hold(self, action: HeldAction) -> None:
        self._actions[action.action_id] = action
        self._write()

    def release(self, action_id: str) -> HeldAction | None:
        """Remove an action (sent or undone); returns it, or None if it was not held."""
        action = self._actions.pop(action_id, None)
        if action is not None:
            self._write()
        return action

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps([asdict(a) for a in self._actions.values()], indent=1)
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".held-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)  # Atomic: a kill leaves the old or the new list.
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def due_in(seconds: float) -> float:
    return time.time() + seconds
