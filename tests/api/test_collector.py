"""`api.collector`: automatic collection paused while a large body is parsed, what it made frozen."""

from __future__ import annotations

import gc
import threading

from lexi_tui.api import collector


def test_collection_is_paused_inside_and_what_was_made_is_frozen_after() -> None:
    assert gc.isenabled()
    before = gc.get_freeze_count()
    with collector.parsing_large():
        assert not gc.isenabled() and collector.paused()
        made = [{"task": n} for n in range(1_000)]
    assert gc.isenabled() and not collector.paused()
    assert gc.get_freeze_count() >= before + len(made)


def test_overlapping_parses_in_threads_resume_collection_once_both_are_done() -> None:
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with collector.parsing_large():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    try:
        assert inside.wait(5)
        with collector.parsing_large():
            assert not gc.isenabled()
        assert not gc.isenabled()  # The other thread's parse is still running.
    finally:
        release.set()
        thread.join(5)
    assert gc.isenabled()


def test_a_collector_someone_else_disabled_stays_disabled() -> None:
    gc.disable()
    try:
        with collector.parsing_large():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_cycle_frozen_during_a_parse_and_dropped_is_collected_by_tidy() -> None:
    import weakref

    class Node:
        pass

    with collector.parsing_large():
        node = Node()
        node.self = node  # A reference cycle: only the collector can free it.
        alive = weakref.ref(node)
    assert collector.untidy() >= 1
    del node
    gc.collect()
    assert alive() is not None  # Frozen: the collector does not see it.
    assert collector.tidy()
    assert alive() is None and collector.untidy() == 0
    assert gc.isenabled()
