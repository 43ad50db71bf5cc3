"""Fixtures for the pilot tests: a fresh local service per test, on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ui_support import make_service

from lexi_tui.server.runner import RunningServer


@pytest.fixture
def service() -> Iterator[RunningServer]:
    with make_service() as server:
        yield server
