"""Fixtures for the Chamelio tests: the local service's Chamelio face on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lexi_tui.server import RunningServer, start_server

from .chamelio_support import service_options


@pytest.fixture(scope="module")
def service() -> Iterator[RunningServer]:
    """One seeded service per module (2 workflows, ids from 1001); tests create their own tasks
    through the admin endpoint when they change state."""
    with start_server(service_options()) as running:
        yield running


@pytest.fixture
def make_service() -> Iterator[Callable[..., RunningServer]]:
    """Dedicated services (options as keyword overrides), all stopped after the test."""
    started: list[RunningServer] = []

    def make(**overrides: Any) -> RunningServer:
        running = start_server(service_options(**overrides))
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()
