"""Key latency under a real pty: cursor movement and one filter keystroke with 10,000 tasks.

What a user perceives is the time from a key to the terminal changing, so this times bytes
on the pty master, not the app's internals: key -> first output byte for `j`, and key ->
output quiescence for a filter letter (the last byte before QUIET seconds of silence; the
silence itself is not counted), which repaints the list, the counts and the detail pane.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from benchmarks.pty_probe import PtyChild

QUIET = 0.030
LOAD_TIMEOUT = 60.0
GAP = 0.02
"""Extra silence between presses, so one key's frame never overlaps the next key."""


@dataclass
class KeyRuns:
    """Per-session medians, in seconds (bytes for `bytes_per_key`)."""

    first_byte: list[float] = field(default_factory=list)
    settle: list[float] = field(default_factory=list)
    filter_settle: list[float] = field(default_factory=list)
    bytes_per_key: list[float] = field(default_factory=list)


def _session(child: PtyChild, key: bytes, presses: int, filter_letters: tuple[str, ...], runs: KeyRuns) -> None:
    firsts, settles, sizes = [], [], []
    for _ in range(presses):
        before = child.bytes_read
        sent = child.send(key)
        if not child.wait_for(lambda: child.bytes_read > before, 2.0):
            raise TimeoutError(f"no output within 2 s of {key!r}")
        firsts.append(child.last_output_at - sent)
        settles.append(child.wait_quiet(QUIET, 5.0) - sent)
        sizes.append(child.bytes_read - before)
        child.pump(GAP)
    runs.first_byte.append(statistics.median(firsts))
    runs.settle.append(statistics.median(settles))
    runs.bytes_per_key.append(statistics.median(sizes))
    if not filter_letters:
        return
    child.send(b"/")
    child.wait_quiet(0.2, 5.0)
    times = []
    for letter in filter_letters:
        times.append(child.settle_after(letter.encode(), QUIET))
        child.wait_quiet(0.2, 5.0)
        child.send(b"\x7f")  # Backspace: back to the full list before the next letter.
        child.wait_quiet(0.2, 5.0)
    runs.filter_settle.append(statistics.median(times))


def measure_keys(argv: list[str], env: dict[str, str], marker: str, sessions: int, presses: int,
                 filter_letters: tuple[str, ...] = (), key: bytes = b"j") -> KeyRuns:
    """`sessions` fresh processes; in each, wait for `marker` on screen, then time `key` (cursor
    down) `presses` times and each of `filter_letters` after `/`."""
    runs = KeyRuns()
    for _ in range(sessions):
        with PtyChild(argv, env) as child:
            if not child.wait_text(marker, LOAD_TIMEOUT):
                raise RuntimeError(f"{argv[0]}: {marker!r} never appeared on the terminal")
            child.wait_quiet(0.3, 10.0)
            _session(child, key, presses, filter_letters, runs)
    return runs
