"""What each approval system can do, declared: loaded without httpx.

The screens, the commands' help and the completion scripts read a provider's views, reasons and
words from here before any client exists (`lexi-tui --help` must not pay for httpx).
"""

from __future__ import annotations

from dataclasses import dataclass

from lexi_tui.api.models import DISMISS_REASONS


@dataclass(frozen=True)
class Capabilities:
    """What a provider supports; screens show only the keys and fields that apply."""

    views: tuple[str, ...]
    """Status views, the first being the approval queue the app opens on."""
    executing_view: str | None = None
    """Where an approved task waits while it runs (followed until it finishes)."""
    finished_views: tuple[str, ...] = ()
    chat: bool = False
    comments: bool = False
    """Approve and reject can carry a comment."""
    variables: bool = False
    """An approval can set variables (a form validates each type before sending)."""
    reasons: tuple[tuple[str, str], ...] = ()
    """Preset reasons for dismissing/rejecting: (code, when to use it)."""
    dismiss_label: str = "Dismiss"
    cancel: bool = False
    add_by_reference: bool = False
    """Tasks are added by id or URL (no list endpoint) and kept in a watch list."""
    known_types: bool = True
    """Task types come from a fixed vocabulary (Lexi's); False: free text (a workflow name)."""
    reads_one_task: bool = False
    """`get(task_id)` reads one task now, in one call (after a 409, to say where it went)."""
    status_read_calls: int = 1
    """The most calls one `status_of` makes (Lexi reads lists: up to 5; Chamelio: 1)."""


LEXI_VIEWS = ("pending", "approved", "completed", "dismissed", "failed")

LEXI_CAPABILITIES = Capabilities(
    views=LEXI_VIEWS,
    executing_view="approved",
    finished_views=("completed", "failed"),
    chat=True,
    reasons=DISMISS_REASONS,
    reads_one_task=False,
    status_read_calls=len(LEXI_VIEWS),
)


REJECT_PRESETS: tuple[tuple[str, str], ...] = (
    ("Terms need changes", "send it back: the terms must be renegotiated"),
    ("Missing documents", "a file or a signature is missing"),
    ("Outside policy", "the request breaks a policy or an approval limit"),
    ("Duplicate request", "the same request already exists"),
)
"""Rejection presets: the chosen text is sent as the rejection's comment."""

CHAMELIO_CAPABILITIES = Capabilities(
    views=("pending", "in_progress", "completed", "failed", "cancelled"),
    executing_view="in_progress",
    finished_views=("completed", "failed", "cancelled"),
    chat=False,
    comments=True,
    variables=True,
    reasons=REJECT_PRESETS,
    dismiss_label="Reject",
    cancel=True,
    add_by_reference=True,
    known_types=False,
    reads_one_task=True,
    status_read_calls=1,
)
