"""Fixtures for the pilot tests: a fresh local service per test, on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lexi_tui.server.runner import RunningServer
from support.app import make_service


@pytest.fixture
def service() -> Iterator[RunningServer]:
    with make_service() as server:
        yield server
