"""A compressed Starter day of live refresh against the local service (issue 12).

The service and the engine's clock run 2,880 times faster (a day in 30 s); the run lives through
the rest of today and one whole day (at most a minute) with a scripted person approving tasks
through the same provider (`benchmarks.day`, whose figures the benchmark reports). Behaviour only:
no 429, the reserve left at every midnight, every approval applied and followed to its end, live
refresh still running in the evening, and no state that outlived the time it named.
"""

from __future__ import annotations

import pytest

from benchmarks.day import WORK_END, WORK_START, live_through_day
from lexi_tui.core.plans import STARTER


@pytest.mark.slow
def test_a_compressed_starter_day_lasts_with_no_429_and_the_reserve_intact() -> None:
    run = live_through_day("starter", "daily", scale=2880.0, approvals=20)
    assert run.rate_limited == {0: 0, 1: 0}, run.summary()
    assert set(run.calls_left) == {0, 1} and all(left >= STARTER.reserve for left in run.calls_left.values()), run.summary()
    assert run.approvals_tried >= 20 and run.approvals_failed == []
    assert sum(run.finished.values()) == run.approvals_tried and "gave up" not in run.finished
    # The list lasted the day: polled in every working hour, and still after the person left.
    assert all(run.polls_by_hour[hour] >= 1 for hour in range(WORK_START, WORK_END)), run.polls_by_hour
    assert sum(run.polls_by_hour[WORK_END:]) >= 2, run.polls_by_hour
    assert run.false_states == 0
