"""The deterministic chat intent parser, without HTTP."""

from __future__ import annotations

import pytest

from lexi_tui.server.drafts import name_id
from lexi_tui.server.intents import parse_message


def task(message: str):
    intent = parse_message(message)
    assert intent.kind == "task", (message, intent)
    assert intent.draft is not None
    return intent.draft


@pytest.mark.parametrize(("message", "description", "query", "per_page"), [
    ("Find 50 CEOs at law firms in California", "Search for 50 CEOs at law firms in California",
     {"person_titles": ["CEO"], "organization_industries": ["Legal"], "person_locations": ["California"]}, 50),
    ("Find 20 CEOs at law firms in New York", "Search for 20 CEOs at law firms in New York",
     {"person_titles": ["CEO"], "organization_industries": ["Legal"], "person_locations": ["New York"]}, 20),
    ("find ctos and cfos at saas companies in new york and new jersey",
     "Search for 25 CTOs and CFOs at SaaS companies in New York and New Jersey",
     {"person_titles": ["CTO", "CFO"], "organization_industries": ["Computer Software"],
      "person_locations": ["New York", "New Jersey"]}, 25),
    ("Search for 1000 VPs of Sales at banks in London", "Search for 500 VPs of Sales at banks in London",
     {"person_titles": ["VP of Sales"], "organization_industries": ["Banking"], "person_locations": ["London"]}, 500),
    ("Look for heads of marketing in the healthcare industry in Texas",
     "Search for 25 Heads of Marketing at healthcare companies in Texas",
     {"person_titles": ["Head of Marketing"], "organization_industries": ["Hospital & Health Care"],
      "person_locations": ["Texas"]}, 25),
    ("Find 30 founders at hospitals in Chicago, Boston", "Search for 30 founders at hospitals in Chicago and Boston",
     {"person_titles": ["Founder"], "organization_industries": ["Hospital & Health Care"],
      "person_locations": ["Chicago", "Boston"]}, 30),
    ("Find 10 managing partners at law firms in nyc", "Search for 10 managing partners at law firms in New York",
     {"person_titles": ["Managing Partner"], "organization_industries": ["Legal"], "person_locations": ["New York"]}, 10),
    ("Find 0 CEOs at banks", "Search for 1 CEOs at banks",
     {"person_titles": ["CEO"], "organization_industries": ["Banking"]}, 1),
])
def test_prospect_searches(message, description, query, per_page) -> None:
    draft = task(message)
    assert draft.type == "prospect_search"
    assert draft.description == description
    assert draft.metadata == {"query": query, "per_page": per_page}


def test_prospect_search_can_name_a_list() -> None:
    draft = task("Find 50 CEOs at law firms in California and save them to a list called West Legal")
    assert draft.metadata["list_name"] == "West Legal"
    assert draft.metadata["per_page"] == 50


def test_campaign_start() -> None:
    draft = task("start the Q2 Outreach campaign for 150 contacts")
    assert draft.type == "campaign_start"
    assert draft.description == "Start campaign 'Q2 Outreach' for 150 contacts"
    assert draft.metadata == {"campaign_id": name_id("campaign", "Q2 Outreach"), "campaign_name": "Q2 Outreach",
                              "contact_count": 150}
    quoted = task('Launch campaign "Spring Webinar Follow-up" for 1,200 people')
    assert quoted.metadata["campaign_name"] == "Spring Webinar Follow-up"
    assert quoted.metadata["contact_count"] == 1200
    lower = task("kick off the renewal nudge campaign")
    assert lower.metadata["campaign_name"] == "Renewal Nudge"
    assert lower.metadata["contact_count"] > 0


@pytest.mark.parametrize(("message", "filter_", "updates"), [
    ("update the contacts in Texas, set stage to qualified", {"location": "Texas"}, {"stage": "qualified"}),
    ("Update the 40 contacted leads in California: set stage to qualified",
     {"location": "California", "stage": "contacted"}, {"stage": "qualified"}),
    ("mark the webinar attendees on list Hot Leads as qualified", {"list_name": "Hot Leads"}, {"stage": "qualified"}),
    ("tag all leads in Boston with conference", {"location": "Boston"}, {"tags_add": ["conference"]}),
    ("assign the new leads in Ohio to Sam Okafor", {"location": "Ohio", "stage": "new"}, {"owner": "Sam Okafor"}),
    ("Update all contacts: set lead status to Working", {}, {"lead_status": "Working"}),
])
def test_contact_updates(message, filter_, updates) -> None:
    draft = task(message)
    assert draft.type == "contact_update"
    assert draft.metadata["filter"] == filter_
    assert draft.metadata["updates"] == updates
    assert isinstance(draft.metadata["contact_count"], int) and draft.metadata["contact_count"] > 0


def test_contact_update_count_from_message() -> None:
    assert task("Update the 40 contacted leads in California: set stage to qualified").metadata["contact_count"] == 40


@pytest.mark.parametrize(("message", "operation", "name", "count"), [
    ("create a list called Q3 Targets", "create", "Q3 Targets", None),
    ("make a new Enterprise Accounts list", "create", "Enterprise Accounts", None),
    ("create a Q3 Targets list with the 40 CFOs from Monday", "create", "Q3 Targets", 40),
    ("add the 20 CTOs from yesterday to list Q3 Targets", "add", "Q3 Targets", 20),
    ("add qualified leads in Texas to the Hot Leads list", "add", "Hot Leads", None),
    ('remove 12 churned contacts from list "Churn Risk"', "remove", "Churn Risk", 12),
])
def test_list_operations(message, operation, name, count) -> None:
    draft = task(message)
    assert draft.type == "list_operation"
    assert draft.metadata["operation"] == operation
    assert draft.metadata["list_name"] == name
    if count is not None:
        assert draft.metadata["contact_count"] == count
    if operation != "create":
        assert draft.metadata["list_id"] == name_id("list", name)


@pytest.mark.parametrize(("message", "kind"), [
    ("hello", "greeting"), ("Good morning", "greeting"), ("help", "help"), ("what can you do?", "help"),
    ("thanks!", "thanks"), ("what is pending?", "pending_summary"), ("update my contacts", "clarify"), ("", "help"),
])
def test_replies_without_tasks(message, kind) -> None:
    intent = parse_message(message)
    assert intent.kind == kind
    assert intent.draft is None


def test_parser_is_deterministic() -> None:
    messages = ["kick off the renewal nudge campaign", "update the contacts in Texas, set stage to qualified",
                "add qualified leads in Texas to the Hot Leads list"]
    assert [parse_message(m) for m in messages] == [parse_message(m) for m in messages]


def test_reply_explains_and_asks_for_approval() -> None:
    intent = parse_message("Find 50 CEOs at law firms in California")
    assert intent.reply.startswith("I'll search for 50 CEOs at law firms in California")
    assert "approval" in intent.reply


def test_pathological_input_is_fast() -> None:
    import time

    started = time.perf_counter()
    parse_message("add " + "to " * 1300 + "list")
    parse_message("find " + "in " * 1300)
    parse_message("set " * 600 + "to " * 600)
    assert time.perf_counter() - started < 1.0
