"""Keep CPython's garbage collector off the keys' way: what lives long is frozen out of it.

A full collection scans every object the collector tracks, and in CPython 3.11 it holds the
interpreter lock throughout, whichever thread it runs in, so it stops the event loop: with
Textual, the app and the first list loaded that is 40-60 ms, again and again while a person
triages; with a list of 50,000 tasks (some 400,000 tracked objects a list) 110-150 ms.

Two moves keep that work small (stdlib only, no Textual):

* `freeze_once()`: once the first list is on screen, everything alive then (modules, widgets,
  styles, the list) moves to the collector's permanent generation (`gc.freeze()`, constant
  time), so later collections scan only what came after. Frozen objects are still freed when
  their last reference goes (reference counting); only a reference cycle among them would
  never be collected, which is why this happens at a few chosen moments, not on a timer.
* `parsing_large()`: while a large answer is decoded and parsed (in a thread), automatic
  collection is paused, and what was parsed is frozen at the end. The hundreds of thousands of
  new objects are then never scanned at all (without it, the collections their allocation
  triggers scan them again and again, the longest at the end: the whole new list). What is
  not frozen is collected first (cheap once the start-up objects are frozen), so what is frozen
  at the end is the new list and what the process made during the parse.
* `tidy()`: the price of freezing is that a reference cycle that was frozen and later dropped is
  never collected (measured: ~1,500 objects a refresh of 50,000 tasks, the screens, messages
  and tasks the app made during the parse). `tidy` unfreezes, collects everything and freezes
  what is left: a full pause (150-175 ms at 50,000 tasks), so the app calls it only while the
  person is away, and only after a parse froze something (`untidy`).

All of them nest and work from any thread; none re-enables a collector someone else disabled.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pausing = 0
_paused_by_us = False
_untidy = 0


_frozen_once = False


def freeze_once() -> None:
    """Move every object alive now out of the collector's reach (`gc.freeze()`), the first time
    it is called in this process (a second main screen, after a profile switch, finds the
    start-up objects frozen already)."""
    global _frozen_once
    with _lock:
        if not _frozen_once:
            _frozen_once = True
            gc.freeze()


@contextmanager
def parsing_large() -> Iterator[None]:
    """No automatic collection while the block runs (in any thread); on the way out, what it
    made is frozen and collection resumes (when it was running before)."""
    global _pausing, _paused_by_us, _untidy
    with _lock:
        if _pausing == 0:
            _paused_by_us = gc.isenabled()
            if _paused_by_us:
                gc.collect()  # Only what is not frozen: cheap once the app's start-up objects are.
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
                _untidy += 1


def untidy() -> int:
    """Parses frozen since the last `tidy()`: how many times cycles may have been frozen."""
    return _untidy


def tidy() -> bool:
    """Collect everything, what was frozen too, and freeze what is left. A full collection:
    call it when nobody waits for a key. Returns False (and does nothing) during a parse or
    while someone else has the collector disabled."""
    global _untidy
    with _lock:
        if _pausing or not gc.isenabled():
            return False
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        _untidy = 0
        return True


def paused() -> bool:
    """Whether a `parsing_large` block is running now."""
    return _pausing > 0
