"""Builders for the four documented task types.

Both the chat intent parser and the seed generator go through these functions, so every task
the service invents has the documented shape (`metadata.query.person_titles`, `per_page`,
`campaign_id`, `contact_count`, ...) and a description phrased like the vendor's examples.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from typing import Any

from .vocab import join_words, phrase_for_industry, plural_for_title

#: Namespace for ids derived from names (a campaign or list called X always has the same id).
NAME_NAMESPACE = uuid.UUID("6b1d3c52-2f4e-4a7b-9c1e-3d5f7a9b1c2d")

MAX_PER_PAGE = 500
DEFAULT_PER_PAGE = 25
MAX_CONTACTS = 10_000


@dataclasses.dataclass(frozen=True)
class TaskDraft:
    """A task about to be stored: what the list endpoint will show, plus a chat sentence."""

    type: str
    description: str
    metadata: dict[str, Any]
    plan: str  # "I'll search for ..." — the first sentence of Lexi's chat reply


def name_id(kind: str, name: str) -> str:
    """A stable UUID for a named campaign or list, so repeated mentions agree."""
    return str(uuid.uuid5(NAME_NAMESPACE, f"{kind}:{name.strip().lower()}"))


def stable_number(text: str, low: int, high: int) -> int:
    """A deterministic pseudo-random integer in [low, high] derived from `text`.

    Used where a real backend would know a number the user did not say (an audience size).
    """
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return low + int.from_bytes(digest[:8], "big") % (high - low + 1)


def clamp(value: int, low: int, high: int) -> int:
    """Keep user-supplied counts within what the simulated backend accepts."""
    return max(low, min(high, value))


def prospect_search(
    count: int,
    titles: list[str],
    industries: list[str],
    locations: list[str],
    extra_query: dict[str, Any] | None = None,
    industry_phrases: list[str] | None = None,
) -> TaskDraft:
    """A `prospect_search` task: "Search for 50 CEOs at law firms in California"."""
    query: dict[str, Any] = {}
    if titles:
        query["person_titles"] = list(titles)
    if industries:
        query["organization_industries"] = list(industries)
    if locations:
        query["person_locations"] = list(locations)
    if extra_query:
        query.update(extra_query)
    who = join_words([plural_for_title(t) for t in titles]) or "prospects"
    text = f"{count} {who}"
    phrases = industry_phrases or [phrase_for_industry(i) for i in industries]
    if phrases:
        text += f" at {join_words(phrases)}"
    if locations:
        text += f" in {join_words(locations)}"
    return TaskDraft(
        type="prospect_search",
        description=f"Search for {text}",
        metadata={"query": query, "per_page": count},
        plan=f"I'll search for {text} and save them to your CRM.",
    )


def campaign_start(name: str, count: int, campaign_id: str | None = None) -> TaskDraft:
    """A `campaign_start` task: "Start campaign 'Q2 Outreach' for 150 contacts"."""
    return TaskDraft(
        type="campaign_start",
        description=f"Start campaign '{name}' for {count} contacts",
        metadata={
            "campaign_id": campaign_id or name_id("campaign", name),
            "campaign_name": name,
            "contact_count": count,
        },
        plan=f"I'll start the '{name}' campaign and schedule emails to {count} contacts.",
    )


def describe_filter(filter_: dict[str, Any]) -> str:
    """Prose for a contact filter: " in Texas in stage 'contacted'" (empty for all contacts)."""
    parts: list[str] = []
    if "person_titles" in filter_:
        parts.append(f" ({join_words(list(filter_['person_titles']))})")
    if "organization_industries" in filter_:
        parts.append(f" at {join_words([phrase_for_industry(i) for i in filter_['organization_industries']])}")
    if "location" in filter_:
        parts.append(f" in {filter_['location']}")
    if "stage" in filter_:
        parts.append(f" in stage '{filter_['stage']}'")
    if "list_name" in filter_:
        parts.append(f" on list '{filter_['list_name']}'")
    if "tag" in filter_:
        parts.append(f" tagged '{filter_['tag']}'")
    if "campaign_name" in filter_:
        parts.append(f" who {filter_.get('engagement', 'received')} '{filter_['campaign_name']}'")
    return "".join(parts)


def describe_updates(updates: dict[str, Any]) -> str:
    """Prose for contact updates: "set stage to qualified, add tag 'webinar'"."""
    parts: list[str] = []
    for field, value in updates.items():
        if field == "tags_add":
            parts.append(f"add tag {join_words([repr(str(v)) for v in value])}")
        else:
            parts.append(f"set {field.replace('_', ' ')} to {value}")
    return ", ".join(parts)


def contact_update(filter_: dict[str, Any], updates: dict[str, Any], count: int) -> TaskDraft:
    """A `contact_update` task: "Update 40 contacts in Texas: set stage to qualified"."""
    changes = describe_updates(updates)
    scope = describe_filter(filter_)
    return TaskDraft(
        type="contact_update",
        description=f"Update {count} contacts{scope}: {changes}",
        metadata={"filter": dict(filter_), "updates": dict(updates), "contact_count": count},
        plan=f"I'll update {count} contacts{scope} ({changes}).",
    )


def list_operation(operation: str, list_name: str, count: int | None = None,
                   selection: str | None = None) -> TaskDraft:
    """A `list_operation` task: create a list, or add/remove contacts to/from one."""
    metadata: dict[str, Any] = {"operation": operation, "list_name": list_name}
    if operation != "create":
        metadata["list_id"] = name_id("list", list_name)
    if count is not None:
        metadata["contact_count"] = count
    if selection:
        metadata["selection"] = selection
    if operation == "create":
        description = f"Create list '{list_name}'"
        if count:
            description += f" with {count} contacts"
        plan = f"I'll create a new list called '{list_name}'" + (f" with {count} contacts." if count else ".")
    elif operation == "remove":
        description = f"Remove {count} contacts from list '{list_name}'"
        plan = f"I'll remove {count} contacts from the '{list_name}' list."
    else:
        description = f"Add {count} contacts to list '{list_name}'"
        plan = f"I'll add {count} contacts to the '{list_name}' list."
    return TaskDraft(type="list_operation", description=description, metadata=metadata, plan=plan)
