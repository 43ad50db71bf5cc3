"""LeadLex's plans: the documented limits, and what of them the app keeps for the person.

Documented (https://docs.leadlex.com/authentication, summed up in shared/api-docs/leadlex-facts.md):
Starter 100 calls a day and 10 a minute, Pro 1,000 and 50, Org 10,000 and 200, both limits at once
per workspace; the daily count resets at midnight UTC.

Not documented, chosen here (the policy; `lexi_tui.core.budget` applies it):

* `reserve`: calls per day that live refresh (background work) never spends, so the person's own
  approvals, dismissals, chat and `r` always have room: a fifth of Starter's day (20 calls: a
  morning of approvals), a tenth of Pro's (100), a twentieth of Org's (500).
* `allowance`: calls per day set aside for the person's ordinary work on top of the reserve:
  approvals, dismissals, chat and the checks that follow an approved task until it finishes.
  Each such call uses up the allowance first, so the person's work does not starve live
  refresh later in the day; what is unused is released to live refresh over the last 4 hours
  before the reset. Starter 30 (about 15 approvals with their follow-up checks), Pro 200,
  Org 1,500.
* `background_per_minute`: calls background work may make in any 60 s, counting every call the
  app made in that minute, so the person keeps the rest of each minute: 4 of Starter's 10 (the
  person keeps 6), 20 of Pro's 50, 80 of Org's 200.

Starter's day is then 20 kept + 30 for the person's work + 50 for live refresh (one poll every
29 minutes spread evenly, more often while the person is there and less while away).

`Plan.custom` derives the same shares for limits that match no plan (a custom contract, a test
service): a fifth of the day (at least 5 calls) kept, three tenths for the person's work, and
two fifths of the minute (at least 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Plan:
    """One plan's limits and the share of them kept for the person.

    Args:
        name: the config's spelling (`plan = "starter"`), or "custom".
        title: how the screen names it.
        daily: calls per UTC day (None: no daily quota is known, e.g. Chamelio).
        per_minute: calls per minute (None: unknown).
        reserve: calls per day background work never spends.
        allowance: calls per day set aside for the person's work beyond the reserve.
        background_per_minute: calls background work may make in any 60 s (all calls counted).
    """

    name: str
    title: str
    daily: int | None
    per_minute: int | None
    reserve: int
    allowance: int
    background_per_minute: int | None

    @property
    def person_per_minute(self) -> int | None:
        """Calls of each minute background work always leaves to the person."""
        if self.per_minute is None or self.background_per_minute is None:
            return None
        return self.per_minute - self.background_per_minute

    @classmethod
    def custom(cls, daily: int | None, per_minute: int | None) -> Plan:
        """A plan for limits that match none of the documented ones, with the same shares.

        Args:
            daily: calls per day, if known.
            per_minute: calls per minute, if known.
        """
        reserve = max(5, math.ceil(daily * 0.2)) if daily else 0
        allowance = math.floor(daily * 0.3) if daily else 0
        if daily is not None:
            reserve = min(reserve, daily // 2)  # A tiny quota still leaves background something.
        background = max(1, math.floor(per_minute * 0.4)) if per_minute else None
        title = "a custom plan" if daily or per_minute else "no known plan"
        return cls("custom", title, daily, per_minute, reserve, allowance, background)


STARTER = Plan("starter", "Starter", daily=100, per_minute=10, reserve=20, allowance=30, background_per_minute=4)
PRO = Plan("pro", "Pro", daily=1_000, per_minute=50, reserve=100, allowance=200, background_per_minute=20)
ORG = Plan("org", "Org", daily=10_000, per_minute=200, reserve=500, allowance=1_500, background_per_minute=80)

PLANS: dict[str, Plan] = {plan.name: plan for plan in (STARTER, PRO, ORG)}
"""The documented plans by their config name."""

PLAN_NAMES: tuple[str, ...] = tuple(PLANS)
"""What `plan = "..."` in the config may say (the config's validation uses it)."""

CONSERVATIVE = STARTER
"""The assumption when nothing says which plan is in force but a LeadLex quota surely applies:
the smallest plan, so the app never spends faster than any workspace allows."""

STARTER_DAILY_PER_MINUTE = 10
"""10: the tightest ratio of daily to per-minute limits among the plans (Pro's is 20, Org's 50).
When the headers give only a per-minute limit that matches no plan, the daily quota is assumed
to be this many times it."""


def plan_named(name: str | None) -> Plan | None:
    """The plan a config names ("starter", "Pro", ...); None for None or an unknown name.

    Args:
        name: the config's `plan` value.
    """
    if name is None:
        return None
    return PLANS.get(name.strip().lower())


def plan_with_daily_limit(limit: int | None) -> Plan | None:
    """The documented plan whose daily limit is `limit` (100 → Starter), else None.

    Args:
        limit: an `X-RateLimit-Limit` value read as a daily limit.
    """
    return next((plan for plan in PLANS.values() if limit is not None and plan.daily == limit), None)


def plan_with_minute_limit(limit: int | None) -> Plan | None:
    """The documented plan whose per-minute limit is `limit` (50 → Pro), else None.

    Args:
        limit: an `X-RateLimit-Limit` value read as a per-minute limit.
    """
    return next((plan for plan in PLANS.values() if limit is not None and plan.per_minute == limit), None)
