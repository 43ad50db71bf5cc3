"""Deterministic chat intent parser: what Lexi does with a chat message.

Production Lexi is an LLM; locally we only need the same *effects*. Regular expressions over a
small vocabulary are enough, and being deterministic (no randomness, no clock) makes every
reply reproducible in tests. A message does one of three things:

* **Queue a task** (`requires_approval: true`, a `task_id`): prospect search, campaign start,
  contact update, list create/add/remove, with the documented metadata shapes.
* **Do the work at once** (`requires_approval: false`, `task_id: null`; the docs say Lexi may),
  with a reply saying what was done:
    - "How many credits do I have?" / "credit balance" -> the balance after this message;
    - "What's pending?" / "how many tasks need my approval" -> the live pending count;
    - "Tag jane@acme.com as VIP" (one contact named by email) -> tagged at once; the action is
      kept (see `/_admin/conversations/ID`, `actions`). Tagging a *selection* of contacts
      ("tag the contacts in Texas as warm") still queues a contact_update task.
* **Just answer**: greetings, thanks, help, or a question back when an update is unclear.

Credits (documented: 1 per message, 5 for a prospect search task): every answered message costs
`MESSAGE_CREDITS`, a message that queues a prospect search `PROSPECT_SEARCH_CREDITS` more.
"""

from __future__ import annotations

import dataclasses
import re

from . import drafts
from .drafts import TaskDraft
from .vocab import find_industries, find_titles, tidy_location

_I = re.IGNORECASE

MESSAGE_CREDITS = 1
"""Credits every answered message costs."""
PROSPECT_SEARCH_CREDITS = 5
"""Credits a message costs on top when it queues a prospect search task."""

HELP_TEXT = (
    "I'm Lexi. I can prepare these for you:\n"
    "• Find prospects — \"Find 50 CEOs at law firms in California\"\n"
    "• Start a campaign — \"Start the Q2 Outreach campaign for 150 contacts\"\n"
    "• Update contacts — \"Update the contacts in Texas: set stage to qualified\"\n"
    "• Manage lists — \"Create a list called Q3 Targets\" or \"Add the 20 CTOs to list Q3 Targets\"\n"
    "Nothing runs until you approve the task.\n"
    "I can also answer at once: \"How many credits do I have?\", \"What's pending?\", "
    "or tag one contact — \"Tag jane@acme.com as VIP\"."
)


@dataclasses.dataclass(frozen=True)
class ChatIntent:
    """What a message means: a task to queue (`draft`), work done at once (`action`), or a
    reply only.

    `kind` is "task", "help", "greeting", "thanks", "clarify", "pending_summary" or
    "credit_balance" (the app fills in the live pending count / balance for those two), or
    "contact_tag" (done at once; `action` says what was done).
    """

    kind: str
    reply: str
    draft: TaskDraft | None = None
    action: dict[str, object] | None = None

    @property
    def credits(self) -> int:
        """What answering this message costs."""
        extra = PROSPECT_SEARCH_CREDITS if self.draft is not None and self.draft.type == "prospect_search" else 0
        return MESSAGE_CREDITS + extra


_END = (r"(?=\s+(?:with|who|that|at|from|for|in|to|and then|and save|and add|and put|using|having|working)\b"
        r"|,(?!\s*(?-i:[A-Z]))|[.!?;:]|$)")
_NUMBER_WORDS = {"ten": 10, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "a hundred": 100,
                 "one hundred": 100, "a dozen": 12, "a few": 5}
_COUNT_NOUN = r"(?:contacts?|people|leads?|prospects?|recipients?|records?)"

_PROSPECT_VERB = re.compile(
    r"\b(?:find|search(?: for)?|look (?:for|up)|source|prospect|pull|get me|show me|discover|identify|locate)\b", _I)
_CAMPAIGN_VERB = re.compile(r"\b(?:start|launch|kick[ -]?off|begin|activate|resume|restart|run|send out)\b", _I)
_LIST_CREATE = re.compile(r"\b(?:create|make|build|set up|start|new)\b[^.?!]*?\blist\b", _I)
_LIST_ADD = re.compile(r"\b(?:add|put|save)\b(.*?)\b(?:to|into|onto|on)\b\s+(.*)", _I)
_LIST_REMOVE = re.compile(r"\b(?:remove|delete|drop|take)\b(.*?)\b(?:from|off)\b\s+(.*)", _I)
_UPDATE_VERB = re.compile(r"\b(?:update|change|set|mark|move|tag|assign|edit|bulk[- ]update)\b", _I)
_CONTACT_WORDS = re.compile(r"\b(?:contacts?|leads?|prospects?|people|records?|everyone)\b", _I)


def first_number(text: str) -> int | None:
    """The first count in `text` ("50", "1,200", "fifty"); None when there is none."""
    match = re.search(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?![\w.])", text)
    if match:
        return int(match.group(1).replace(",", ""))
    lowered = text.lower()
    for word, value in _NUMBER_WORDS.items():
        if re.search(rf"\b{word}\b", lowered):
            return value
    return None


def _quoted(text: str) -> str | None:
    match = re.search(r"[\"“‘]([^\"“”‘’]+)[\"”’]|(?<!\w)'([^']+)'(?!\w)", text)
    return (match.group(1) or match.group(2)).strip() if match else None


def _clean_name(name: str | None) -> str | None:
    if not name:
        return None
    name = re.sub(r"^(?:the|my|our|a|an|new)\s+", "", name.strip(" '\"“”‘’"), flags=_I).strip()
    if not name or name.lower() in {"new", "email", "list", "campaign", "it", "this", "that"}:
        return None
    return name.title() if name == name.lower() else name


def parse_locations(text: str) -> list[str]:
    """Locations the user named after "in" ("in New York and New Jersey" -> two entries)."""
    text = re.sub(r"\bin\s+(?:the\s+)?[\w &-]+?\s+(?:industry|sector|space|vertical)\b", " ", text, flags=_I)
    text = re.sub(r"\bin\s+(?:the\s+)?['\"]?[\w-]+['\"]?\s+stage\b|\bin\s+stage\s+\S+", " ", text, flags=_I)
    text = re.sub(r"\b(?:in|on)\s+(?:the\s+|my\s+)?list\b.*", " ", text, flags=_I)
    found: list[str] = []
    for match in re.finditer(r"\bin\s+(?!(?:the\s+)?(?:crm|list|stage|my|our|your|a|an)\b)(.+?)" + _END, text, _I):
        raw = match.group(1).strip()
        if find_industries(raw) or find_titles(raw) or re.search(r"\d", raw):
            continue
        for part in re.split(r",\s*|\s+(?:and|or|&)\s+", raw):
            part = re.sub(r"^the\s+", "", part.strip(), flags=_I)
            if part:
                location = tidy_location(part)
                if location not in found:
                    found.append(location)
    return found


def _prospect(message: str) -> TaskDraft | None:
    titles = find_titles(message)
    industries = find_industries(message)
    locations = parse_locations(message)
    generic = re.search(r"\b(?:prospects?|leads?|contacts?|people|decision[- ]makers?|companies)\b", message, _I)
    if not (titles or industries or locations or generic):
        return None
    asked = first_number(message)
    count = drafts.clamp(asked if asked is not None else drafts.DEFAULT_PER_PAGE, 1, drafts.MAX_PER_PAGE)
    draft = drafts.prospect_search(
        count, [t for t, _ in titles], [i for i, _ in industries], locations,
        industry_phrases=[p for _, p in industries],
    )
    save = re.search(r"\b(?:save|add|put)\b.*?\b(?:to|into|in|on)\b\s+(.*\blist\b.*)", message, _I)
    list_name = _list_name(save.group(1)) if save else None
    if list_name:
        draft = dataclasses.replace(
            draft, description=f"{draft.description} and save to list '{list_name}'",
            metadata={**draft.metadata, "list_name": list_name},
            plan=draft.plan.replace("save them to your CRM", f"save them to the '{list_name}' list"))
    if asked is not None and asked > drafts.MAX_PER_PAGE:
        draft = dataclasses.replace(draft, plan=draft.plan + f" (A single search is capped at {drafts.MAX_PER_PAGE}.)")
    return draft


def _campaign(message: str) -> TaskDraft:
    stop = r"(?=\s+(?:for|to|with|on|now|today|tomorrow)\b|[.!?,;]|$)"
    name = _clean_name(_quoted(message))
    patterns = (
        rf"\bcampaign\s+(?:called|named|titled)\s+(.+?){stop}",
        r"\b(?:start|launch|kick[ -]?off|begin|activate|resume|restart|run|send out)\s+(.+?)\s+campaign\b",
        rf"\bcampaign\s+(.+?){stop}",
    )
    for pattern in patterns:
        if name:
            break
        match = re.search(pattern, message, _I)
        name = _clean_name(match.group(1)) if match else None
    name = name or "Untitled Campaign"
    counted = re.search(rf"(\d{{1,3}}(?:,\d{{3}})+|\d+)\s+{_COUNT_NOUN}", message, _I)
    if counted:
        count = int(counted.group(1).replace(",", ""))
    else:
        count = drafts.stable_number("audience:" + name.lower(), 2, 16) * 25
    return drafts.campaign_start(name, drafts.clamp(count, 1, drafts.MAX_CONTACTS))


def _list_name(text: str, create: bool = False) -> str | None:
    """The list a message names: quoted, "list called X", "list X" or "the X list"."""
    quoted = _clean_name(_quoted(text))
    if quoted:
        return quoted
    called = r"\blist\s+(?:called|named|titled)\s+(.+?)(?=\s+(?:with|for|containing|from|and)\b|[.!?,;]|$)"
    if create:
        patterns = (called, r"\b(?:create|make|build|set up|start)\s+(?:a\s+|an\s+|the\s+)?(?:new\s+)?(.+?)\s+list\b")
    else:
        patterns = (called, r"^\s*(?:the\s+|my\s+|our\s+|a\s+|an\s+)?(?:new\s+)?list\s+(.+?)(?=[.!?,;]|$)",
                    r"^\s*(?:the\s+|my\s+|our\s+|a\s+|an\s+)?(?:new\s+)?(.+?)\s+list\b")
    for pattern in patterns:
        match = re.search(pattern, text, _I)
        if match and _clean_name(match.group(1)):
            return _clean_name(match.group(1))
    return None


def _list_operation(message: str) -> TaskDraft | None:
    for regex, operation in ((_LIST_ADD, "add"), (_LIST_REMOVE, "remove")):
        match = regex.search(message)
        if match and re.search(r"\blist\b", match.group(2), _I):
            selection = match.group(1).strip(" ,") or None
            name = _list_name(match.group(2)) or "Untitled List"
            count = first_number(selection or "")
            if count is None:
                count = drafts.stable_number(f"{operation}:{selection}:{name}", 5, 120)
            return drafts.list_operation(operation, name, drafts.clamp(count, 1, drafts.MAX_CONTACTS), selection)
    if _LIST_CREATE.search(message):
        name = _list_name(message, create=True) or "Untitled List"
        with_part = re.search(r"\b(?:with|containing)\b(.*)", message, _I)
        count = first_number(with_part.group(1)) if with_part else None
        selection = with_part.group(1).strip(" .") if with_part else None
        return drafts.list_operation("create", name, count, selection or None)
    return None


def _updates(message: str) -> dict[str, object]:
    end = r"(?=\s+(?:for|where|and|in|on)\b|[.!?,;]|$)"
    updates: dict[str, object] = {}
    for match in re.finditer(rf"\bset\s+(?:the\s+|their\s+|its\s+)?([a-z][a-z _-]*?)\s+to\s+['\"]?(.+?)['\"]?{end}", message, _I):
        field = re.sub(r"[\s-]+", "_", match.group(1).strip().lower())
        field = "stage" if field in {"stage", "status", "lifecycle_stage", "deal_stage", "pipeline_stage"} else field
        updates[field] = match.group(2).strip()
    match = re.search(r"\bmark\s+.+?\s+as\s+['\"]?(.+?)['\"]?(?=[.!?,;]|$)", message, _I)
    if match:
        updates.setdefault("stage", match.group(1).strip())
    match = re.search(r"\bmove\s+.+?\s+to\s+(?:the\s+)?['\"]?([\w -]+?)['\"]?(?:\s+stage)?(?=[.!?,;]|$)", message, _I)
    if match and not re.search(r"\blist\b", match.group(0), _I):
        updates.setdefault("stage", match.group(1).strip())
    match = re.search(r"\btag\s+.+?\s+(?:with|as)\s+['\"]?(.+?)['\"]?(?=[.!?,;]|$)", message, _I)
    if match:
        updates["tags_add"] = [match.group(1).strip()]
    match = re.search(r"\bassign\s+.+?\s+to\s+(.+?)(?=[.!?,;]|$)", message, _I)
    if match:
        updates.setdefault("owner", match.group(1).strip())
    if "stage" in updates:
        updates["stage"] = re.sub(r"\s+", "_", str(updates["stage"]).strip().lower())
    return updates


def _filter(selection: str) -> dict[str, object]:
    filter_: dict[str, object] = {}
    titles = find_titles(selection)
    if titles:
        filter_["person_titles"] = [t for t, _ in titles]
    industries = find_industries(selection)
    if industries:
        filter_["organization_industries"] = [i for i, _ in industries]
    locations = parse_locations(selection)
    if locations:
        filter_["location"] = locations[0] if len(locations) == 1 else locations
    stage = re.search(r"\bin\s+(?:the\s+)?['\"]?([\w-]+)['\"]?\s+stage\b|\bin\s+stage\s+['\"]?([\w-]+)", selection, _I) or \
        re.search(r"\b(new|contacted|qualified|unqualified|nurture|cold|warm|hot|churned)\s+(?:contacts|leads|prospects)\b",
                  selection)
    if stage:
        filter_["stage"] = next(g for g in stage.groups() if g).lower()
    on_list = re.search(r"\b(?:in|on|from)\s+(?:the\s+|my\s+)?list\s+['\"]?(.+?)['\"]?(?=[.!?,;:]|$)", selection, _I) or \
        re.search(r"\b(?:in|on|from)\s+(?:the\s+|my\s+)?['\"]?([\w -]+?)['\"]?\s+list\b", selection, _I)
    if on_list:
        filter_["list_name"] = on_list.group(1).strip()
    tagged = re.search(r"\btagged\s+['\"]?([\w-]+)", selection, _I)
    if tagged:
        filter_["tag"] = tagged.group(1)
    engaged = re.search(r"\b(opened|clicked|replied to)\s+(?:the\s+)?['\"]?(.+?)['\"]?\s+campaign\b", selection, _I)
    if engaged:
        filter_["engagement"], filter_["campaign_name"] = engaged.group(1).lower(), engaged.group(2)
    return filter_


def _contact_update(message: str) -> TaskDraft | None:
    updates = _updates(message)
    if not updates:
        return None
    # The selection is what comes before the first instruction ("update the contacts in Texas").
    head = re.split(r"\b(?:set|as|with)\b|:", message, maxsplit=1, flags=_I)[0]
    filter_ = _filter(head)
    count = first_number(head)
    if count is None:
        count = drafts.stable_number("contacts:" + repr(sorted(filter_.items())), 8, 400)
    return drafts.contact_update(filter_, updates, drafts.clamp(count, 1, drafts.MAX_CONTACTS))


_EMAIL = r"[^@\s\"'“”‘’]+@[^@\s\"'“”‘’.]+(?:\.[^@\s\"'“”‘’.]+)+"
_DIRECT_TAG = re.compile(
    rf"^(?:please\s+)?(?:tag|label)\s+(?:the\s+)?(?:contact\s+)?({_EMAIL})\s+(?:with|as)\s+(?:the\s+)?"
    r"(?:tag\s+)?[\"'“‘]?([^\"'“”‘’.!?]{1,60}?)[\"'”’]?\s*[.!]?$", _I)
_CREDIT_QUESTION = re.compile(
    r"\bcredit balance\b|\bcredits?\s+(?:left|remaining|balance)\b|"
    r"\b(?:how many|how much|what(?:'s| is| are)?|check|show|tell me)\b[^.?!]*\b(?:credits|my credit|lexi credit)\b",
    _I)


def _direct(text: str) -> ChatIntent | None:
    """Messages Lexi answers by doing the work at once (no task to approve)."""
    if _CREDIT_QUESTION.search(text):
        return ChatIntent("credit_balance", "")
    tag = _DIRECT_TAG.match(text)
    if tag:
        email, label = tag.group(1).lower(), tag.group(2).strip()
        action: dict[str, object] = {"type": "contact_tag", "contact_email": email, "tags_add": [label]}
        return ChatIntent("contact_tag", f"Done: I tagged {email} with '{label}'. Nothing needed your approval.",
                          action=action)
    return None


def credit_reply(balance: int | None) -> str:
    """Reply for "how many credits do I have?", with the balance after this message."""
    if balance is None:
        return "I can't see your credit balance right now."
    noun = "credit" if balance == 1 else "credits"
    return f"You have {balance:,} Lexi {noun} left (this question used {MESSAGE_CREDITS})."


def _task_reply(draft: TaskDraft) -> str:
    return f"{draft.plan} I've queued this as a task — it needs your approval before I run it."


def parse_message(message: str) -> ChatIntent:
    """Decide what a chat message asks for. Pure and deterministic."""
    text = " ".join(message.split())
    direct = _direct(text)
    if direct is not None:
        return direct
    candidates: list[tuple[int, str]] = []
    if re.search(r"\bcampaign\b", text, _I) and (m := _CAMPAIGN_VERB.search(text)):
        candidates.append((m.start(), "campaign"))
    if re.search(r"\blist\b", text, _I):
        positions = [m.start() for m in (_LIST_CREATE.search(text), _LIST_ADD.search(text), _LIST_REMOVE.search(text)) if m]
        if positions:
            candidates.append((min(positions), "list"))
    if (m := _UPDATE_VERB.search(text)) and (_CONTACT_WORDS.search(text) or re.search(r"\bset\b.+\bto\b", text, _I)):
        candidates.append((m.start(), "update"))
    if m := _PROSPECT_VERB.search(text):
        candidates.append((m.start(), "prospect"))
    elif find_titles(text) and (find_industries(text) or parse_locations(text)):
        candidates.append((len(text), "prospect"))

    clarify: ChatIntent | None = None
    for _, kind in sorted(candidates):
        draft: TaskDraft | None
        if kind == "campaign":
            draft = _campaign(text)
        elif kind == "list":
            draft = _list_operation(text)
        elif kind == "update":
            draft = _contact_update(text)
            if draft is None and clarify is None:
                clarify = ChatIntent("clarify", "What should I change on those contacts? For example: "
                                     "\"Update the contacts in Texas: set stage to qualified\".")
        else:
            draft = _prospect(text)
        if draft is not None:
            return ChatIntent("task", _task_reply(draft), draft)
    if clarify is not None:
        return clarify

    lowered = text.lower()
    if re.search(r"\b(?:pending|waiting|to approve|need(?:s)? (?:my )?approval|my tasks|queue)\b", lowered):
        return ChatIntent("pending_summary", "")
    if re.match(r"^(?:thanks|thank you|thx|cheers)\b", lowered):
        return ChatIntent("thanks", "You're welcome! Ask me any time you need prospects, campaigns, "
                          "contact updates or lists.")
    if re.match(r"^(?:hi|hello|hey|yo|hiya|howdy|good (?:morning|afternoon|evening))\b", lowered):
        return ChatIntent("greeting", "Hello! " + HELP_TEXT)
    return ChatIntent("help", HELP_TEXT)


def pending_summary(count: int) -> str:
    """Reply for "what's pending?" once the app knows the live count."""
    if count == 0:
        return "Nothing is waiting for your approval right now. " + HELP_TEXT.splitlines()[0]
    noun = "task is" if count == 1 else "tasks are"
    return f"{count} {noun} waiting for your approval. Review them in your task list."
