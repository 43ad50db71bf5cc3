"""The app's idea of "now", in one place so tests and screenshots can pin it."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware (UTC). Snapshot tests replace this function."""
    return datetime.now(UTC)
