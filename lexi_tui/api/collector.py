"""Keep CPython's garbage collector off the keys' way: what lives long is frozen out of it.

A full collection scans every object the collector tracks, and in CPython 3.11 it holds the
interpreter lock throughout, whichever thread it runs in, so it stops the event loop: with
Textual, the app and the first list loaded that is 40-60 ms, again and again while a person
triages; with a list of 50,000 tasks (some 400,000 tracked objects a list) 110-150 ms.

Two moves keep that work small (stdlib only, no Textual):

* `freeze()`: once the first list is on screen, everything alive then (modules, widgets,
  styles, the list) moves to the collector's permanent generation (`gc.freeze()`, constant
  time), so later collections scan only what came after. Frozen objects are still freed when
  their last reference goes (reference counting); only a reference cycle among them would
  never be collected, which is why this happens at a few chosen moments, not on a timer.
* `parsing_large()`: while a large answer is decoded and parsed (in a thread), automatic
  collection is paused, and what was parsed is frozen at the end. The hundreds of thousands of
  new objects are then never scanned at all (without it, the collections their allocation
  triggers scan them again and again, the longest at the end: the whole new list). The young
  generations are collected first (cheap: they are small), so what is frozen at the end is the
  new list and what the process made during the parse.

Both nest and work from any thread; neither re-enables a collector someone else disabled.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pausing = 0
_paused_by_us = False


def freeze() -> None:
    """Move every object alive now out of the collector's reach (`gc.freeze()`)."""
    gc.freeze()


@contextmanager
def parsing_large() -> Iterator[None]:
    """No automatic collection while the block runs (in any thread); on the way out, what it
    made is frozen and collection resumes (when it was running before)."""
    global _pausing, _paused_by_us
    with _lock:
        if _pausing == 0:
            _paused_by_us = gc.isenabled()
            if _paused_by_us:
                gc.collect(1)  # The young generations: what is frozen at the end is then mostly the new list.
                gc.disable()
        _pausing += 1
    try:
        yield
    finally:
        with _lock:
            _pausing -= 1
            if _pausing == 0 and _paused_by_us:
                gc.freeze()
                gc.enable()
                _paused_by_us = False


def paused() -> bool:
    """Whether a `parsing_large` block is running now."""
    return _pausing > 0
