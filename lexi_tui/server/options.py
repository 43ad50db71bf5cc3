"""Configuration of the local Lexi-compatible service.

Everything the service can be told lives in one frozen dataclass so that the CLI, the
in-process runner used by the demo and the tests all describe a server the same way.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

#: The key accepted when no key is configured at all, so `lexi-tui serve` works out of the box.
DEMO_KEY = "wbk_demo_0000000000000000"

#: Mount point of every public route; only the host differs from production.
GATEWAY_PREFIX = "/functions/v1/api-gateway"

#: Production base URL, for documentation and messages only.
PRODUCTION_BASE_URL = "https://data.leadlex.com/functions/v1/api-gateway"

#: The statuses the list endpoint accepts, in the order the docs name them.
TASK_STATUSES: tuple[str, ...] = ("pending", "approved", "dismissed", "completed", "failed")

#: The task types the docs name (stored types may be any string).
TASK_TYPES: tuple[str, ...] = ("prospect_search", "campaign_start", "contact_update", "list_operation")

#: The Chamelio face's key when no Chamelio key is configured (`--chamelio-key`).
CHAMELIO_DEMO_KEY = "ca_demo_0000000000000000"

#: Mount point of the Chamelio face: its base URL is `http://HOST:PORT/chamelio`.
CHAMELIO_PREFIX = "/chamelio"

#: Production base URL of Chamelio, for documentation and messages only.
CHAMELIO_PRODUCTION_BASE_URL = "https://platform.chamelio.ai"

#: `--chamelio-key-state KEY=STATE`: the states a configured key can be in.
CHAMELIO_KEY_STATES: tuple[str, ...] = ("active", "inactive", "revoked", "expired")

@dataclasses.dataclass(frozen=True)
class PlanLimits:
    """One LeadLex plan's documented limits, per workspace (here: per key)."""

    daily: int
    per_minute: int


#: The documented plans (https://docs.leadlex.com/authentication): both limits hold at once.
PLAN_RATE_LIMITS: dict[str, PlanLimits] = {
    "starter": PlanLimits(daily=100, per_minute=10),
    "pro": PlanLimits(daily=1_000, per_minute=50),
    "org": PlanLimits(daily=10_000, per_minute=200),
}

#: `--rate-headers`: which window the X-RateLimit-* headers describe when both limits are on.
RATE_HEADER_WINDOWS: tuple[str, ...] = ("daily", "minute")

#: `--chamelio-webhook-task-id`: how webhook payloads spell `task_id`.
WEBHOOK_TASK_ID_STYLES: tuple[str, ...] = ("int", "string")

#: Lexi credits a key starts with (`--credits`): plenty, so chat never runs dry by accident.
DEFAULT_CREDITS = 1_000_000

#: Largest request body accepted (`--max-body`), in bytes.
DEFAULT_MAX_BODY = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class ServerOptions:
    """How one instance of the local service behaves.

    Defaults match `lexi-tui serve` without arguments, except `port`: the CLI default is 8787,
    while 0 (pick a free port) is what in-process users almost always want.
    """

    host: str = "127.0.0.1"
    port: int = 0
    db_path: str | None = None
    keys: tuple[str, ...] = ()
    keys_without_lexi: tuple[str, ...] = ()
    plan: str | None = None
    """The LeadLex plan ("starter", "pro", "org"): sets `daily_limit` and `rate_limit` unless given."""
    daily_limit: int | None = None
    """Calls per key per (virtual) UTC day; None = the plan's, or off without a plan; 0 = off."""
    rate_limit: int | None = None
    """Calls per key per `rate_window`; None = the plan's per-minute limit, or off; 0 = off."""
    rate_window: float = 60.0
    """Length of the per-minute window in (virtual) seconds."""
    rate_headers: str = "daily"
    """Which window X-RateLimit-* describe when both limits are on: "daily" or "minute"."""
    retry_after: bool = False
    """Send `Retry-After` on Lexi 429s (the vendor documents none, so off by default)."""
    time_scale: float = 1.0
    """K: every window and retry delay runs K times faster (see `clock`)."""
    credits: int = DEFAULT_CREDITS
    """Lexi credits each key starts with (kept in the database)."""
    max_body: int = DEFAULT_MAX_BODY
    """Largest request body in bytes (413 above it); 0 = no limit."""
    exec_delay: float = 3.0
    failure_rate: float = 0.1
    seed_tasks: int = 0
    random_seed: int = 0
    tasks_file: str | None = None
    tasks: tuple[dict[str, Any], ...] | None = None
    latency_ms: tuple[float, float] = (0.0, 0.0)
    error_rate: float = 0.0
    drop_rate: float = 0.0
    admin: bool = False
    quiet: bool = True
    # -- the Chamelio face (mounted at /chamelio) --
    chamelio_keys: tuple[str, ...] = ()
    chamelio_key_states: tuple[tuple[str, str], ...] = ()
    """(key, state) pairs: a key in state inactive/revoked/expired answers that 401."""
    chamelio_rate_limit: int = 0
    """Chamelio calls per key per `rate_window` (on the scaled clock); 0 = off."""
    chamelio_seed_workflows: int = 0
    chamelio_step_delay: float = 0.0
    """Seconds a task spends at intake and at review before moving on (divided by time_scale);
    0 = it waits there."""
    chamelio_webhook_url: str | None = None
    chamelio_webhook_secret: str | None = None
    chamelio_approve_failure_rate: float = 0.0
    """Share of approvals answered 500 "Failed to submit approval" (nothing is applied)."""
    chamelio_webhook_task_id: str = "int"
    """How webhook payloads spell task_id: "int" (as the REST API) or "string" (as the
    vendor's webhook examples)."""

    def __post_init__(self) -> None:
        """Reject impossible values early, where the caller can see which one is wrong."""
        problems: list[str] = []
        if not 0 <= self.port <= 65535:
            problems.append(f"port must be between 0 and 65535, got {self.port}")
        problems.extend(self._limit_problems())
        if not (self.exec_delay >= 0 and math.isfinite(self.exec_delay)):
            problems.append(f"exec_delay must be >= 0, got {self.exec_delay}")
        if self.seed_tasks < 0:
            problems.append(f"seed_tasks must be >= 0, got {self.seed_tasks}")
        for name in ("failure_rate", "error_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                problems.append(f"{name} must be between 0 and 1, got {value}")
        low, high = self.latency_ms
        if not (0 <= low <= high and math.isfinite(high)):
            problems.append(f"latency_ms must be 0 <= min <= max, got {self.latency_ms}")
        if self.chamelio_rate_limit < 0:
            problems.append(f"chamelio_rate_limit must be >= 0, got {self.chamelio_rate_limit}")
        if self.chamelio_seed_workflows < 0:
            problems.append(f"chamelio_seed_workflows must be >= 0, got {self.chamelio_seed_workflows}")
        if not (self.chamelio_step_delay >= 0 and math.isfinite(self.chamelio_step_delay)):
            problems.append(f"chamelio_step_delay must be >= 0, got {self.chamelio_step_delay}")
        if not 0.0 <= self.chamelio_approve_failure_rate <= 1.0:
            problems.append(f"chamelio_approve_failure_rate must be between 0 and 1, "
                            f"got {self.chamelio_approve_failure_rate}")
        for pair in self.chamelio_key_states:
            if len(pair) != 2 or pair[1] not in CHAMELIO_KEY_STATES:
                problems.append(f"chamelio_key_states entries are (key, state) with state one of "
                                f"{', '.join(CHAMELIO_KEY_STATES)}, got {pair!r}")
        if self.chamelio_webhook_url is not None:
            if not self.chamelio_webhook_url.startswith(("http://", "https://")):
                problems.append(f"chamelio_webhook_url must be an http(s) URL, got {self.chamelio_webhook_url!r}")
            if not self.chamelio_webhook_secret:
                problems.append("chamelio_webhook_url needs chamelio_webhook_secret to sign deliveries")
        if self.chamelio_webhook_task_id not in WEBHOOK_TASK_ID_STYLES:
            problems.append(f"chamelio_webhook_task_id must be one of {', '.join(WEBHOOK_TASK_ID_STYLES)}, "
                            f"got {self.chamelio_webhook_task_id!r}")
        problems.extend(self._key_problems())
        overlap = set(self.keys) & set(self.keys_without_lexi)
        if overlap:
            problems.append(f"a key cannot both have and lack the lexi permission: {sorted(overlap)}")
        if problems:
            raise ValueError("; ".join(problems))

    def _limit_problems(self) -> list[str]:
        """What is wrong with the rate-limit, quota, credit, body and clock settings."""
        problems: list[str] = []
        if self.plan is not None and self.plan not in PLAN_RATE_LIMITS:
            problems.append(f"plan must be one of {', '.join(PLAN_RATE_LIMITS)}, got {self.plan!r}")
        for name in ("daily_limit", "rate_limit"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                problems.append(f"{name} must be an integer >= 0, got {value!r}")
        if not (self.rate_window > 0 and math.isfinite(self.rate_window)):
            problems.append(f"rate_window must be > 0, got {self.rate_window}")
        if self.rate_headers not in RATE_HEADER_WINDOWS:
            problems.append(f"rate_headers must be one of {', '.join(RATE_HEADER_WINDOWS)}, got {self.rate_headers!r}")
        if not (isinstance(self.time_scale, (int, float)) and self.time_scale > 0 and math.isfinite(self.time_scale)):
            problems.append(f"time_scale must be a finite number > 0, got {self.time_scale!r}")
        if isinstance(self.credits, bool) or not isinstance(self.credits, int) or self.credits < 0:
            problems.append(f"credits must be an integer >= 0, got {self.credits!r}")
        if isinstance(self.max_body, bool) or not isinstance(self.max_body, int) or self.max_body < 0:
            problems.append(f"max_body must be an integer >= 0, got {self.max_body!r}")
        return problems

    def _key_problems(self) -> list[str]:
        """Keys must be non-empty and free of whitespace (they travel in one header)."""
        everything = [*self.keys, *self.keys_without_lexi, *self.chamelio_keys,
                      *(pair[0] for pair in self.chamelio_key_states if pair)]
        bad = [key for key in everything if not isinstance(key, str) or not key or any(c.isspace() for c in key)]
        return [f"{len(bad)} key(s) are empty or contain whitespace"] if bad else []

    @property
    def effective_daily_limit(self) -> int:
        """Calls per key per UTC day in force (0 = no daily limit)."""
        if self.daily_limit is not None:
            return self.daily_limit
        return PLAN_RATE_LIMITS[self.plan].daily if self.plan in PLAN_RATE_LIMITS else 0

    @property
    def effective_rate_limit(self) -> int:
        """Calls per key per `rate_window` in force (0 = no per-minute limit)."""
        if self.rate_limit is not None:
            return self.rate_limit
        return PLAN_RATE_LIMITS[self.plan].per_minute if self.plan in PLAN_RATE_LIMITS else 0

    def key_permissions(self) -> dict[str, bool]:
        """Map every accepted key to whether it holds the `lexi` permission.

        The demo key is only accepted when no key at all was configured, so a test that
        configures keys never accidentally passes with the demo key.
        """
        if not self.keys and not self.keys_without_lexi:
            return {DEMO_KEY: True}
        permissions = {key: False for key in self.keys_without_lexi}
        permissions.update({key: True for key in self.keys})
        return permissions

    def chamelio_key_table(self) -> dict[str, str]:
        """Map every Chamelio key the face knows to its state ("active", "revoked", ...).

        The Chamelio demo key is accepted only when no active Chamelio key was configured;
        a key given a state with `--chamelio-key-state` is in that state even if also listed
        as a plain key.
        """
        table = {key: "active" for key in self.chamelio_keys} or {CHAMELIO_DEMO_KEY: "active"}
        table.update(dict(self.chamelio_key_states))
        return table

    def chamelio_active_keys(self) -> list[str]:
        """Keys a client can use for the Chamelio face (what the CLI prints at start)."""
        return [key for key, state in self.chamelio_key_table().items() if state == "active"]

    def lexi_keys(self) -> list[str]:
        """Keys a client can use for the Lexi endpoints (what the CLI prints at start)."""
        return [key for key, allowed in self.key_permissions().items() if allowed]


def parse_latency(text: str) -> tuple[float, float]:
    """Parse `--latency`: `MS` (fixed) or `MIN-MAX` (uniform), in milliseconds.

    Raises ValueError with a message fit for argparse.
    """
    parts = text.strip().split("-")
    try:
        if len(parts) == 1:
            low = high = float(parts[0])
        elif len(parts) == 2:
            low, high = float(parts[0]), float(parts[1])
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f"invalid latency {text!r}: use MS or MIN-MAX, e.g. 50 or 20-200") from None
    if not (0 <= low <= high and math.isfinite(high)):
        raise ValueError(f"invalid latency {text!r}: need 0 <= MIN <= MAX")
    return (low, high)
