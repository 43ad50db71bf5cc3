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

#: Documented plan limits (requests per minute), for help texts.
PLAN_RATE_LIMITS = {"starter": 10, "pro": 50}


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
    rate_limit: int = 0
    rate_window: float = 60.0
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
    chamelio_seed_workflows: int = 0
    chamelio_step_delay: float = 0.0
    """Seconds a task spends at intake and at review before moving on; 0 = it waits there."""
    chamelio_webhook_url: str | None = None
    chamelio_webhook_secret: str | None = None
    chamelio_approve_failure_rate: float = 0.0
    """Share of approvals answered 500 "Failed to submit approval" (nothing is applied)."""

    def __post_init__(self) -> None:
        """Reject impossible values early, where the caller can see which one is wrong."""
        problems: list[str] = []
        if not 0 <= self.port <= 65535:
            problems.append(f"port must be between 0 and 65535, got {self.port}")
        if self.rate_limit < 0:
            problems.append(f"rate_limit must be >= 0, got {self.rate_limit}")
        if not (self.rate_window > 0 and math.isfinite(self.rate_window)):
            problems.append(f"rate_window must be > 0, got {self.rate_window}")
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
        overlap = set(self.keys) & set(self.keys_without_lexi)
        if overlap:
            problems.append(f"a key cannot both have and lack the lexi permission: {sorted(overlap)}")
        if problems:
            raise ValueError("; ".join(problems))

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
