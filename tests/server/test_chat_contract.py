"""POST /v1/lexi/chat as documented (issue 12): conversations by context.conversation_id, context
validation, credits and 402, work done at once, and /_admin/credits."""

from __future__ import annotations

import dataclasses
import uuid

import httpx
import pytest

from lexi_tui.server import start_server
from lexi_tui.server.keys import mask_key

from .conftest import KEY, KEY2, NO_LEXI_KEY, admin_client, admin_get, admin_post, auth, base_options

NO_CREDITS = {"error": {"code": "insufficient_credits", "message": "No Lexi credits remaining"}}
PROSPECTS = "Find 50 CEOs at law firms in California"


def post_chat(server, body, key: str = KEY) -> httpx.Response:
    return admin_client().post(f"{server.base_url}/v1/lexi/chat", json=body, headers=auth(key))


def chat(server, message: str, key: str = KEY, **body) -> dict:
    response = post_chat(server, {"message": message, **body}, key)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == {"response", "task_id", "requires_approval", "conversation_id"}
    return data


def balance(server, key: str = KEY) -> int:
    accounts = admin_get(server, "/credits")["accounts"]
    return next(a["balance"] for a in accounts if a["key"] == mask_key(key))


def pending_ids(server) -> set[str]:
    response = admin_client().get(f"{server.base_url}/v1/lexi/tasks", headers=auth())
    return {t["id"] for t in response.json()["data"]["tasks"]}


# -- conversations and context -------------------------------------------------------------------


def test_the_docs_follow_up_continues_by_context_conversation_id(server) -> None:
    first = chat(server, "Start the Q2 Outreach campaign for 150 contacts")
    follow = chat(server, "Can you make the email more casual?",
                  context={"conversation_id": first["conversation_id"]})
    assert follow["conversation_id"] == first["conversation_id"]
    both = chat(server, "hello", conversation_id="conv_top_level_is_ignored",
                context={"conversation_id": first["conversation_id"]})
    assert both["conversation_id"] == first["conversation_id"]  # context wins; top level is never read
    alone = chat(server, "hello", conversation_id=first["conversation_id"])
    assert alone["conversation_id"] != first["conversation_id"]
    assert chat(server, "hello", context={"conversation_id": ""})["conversation_id"] != first["conversation_id"]
    stored = admin_get(server, f"/conversations/{first['conversation_id']}")
    assert [m["content"] for m in stored["messages"] if m["role"] == "user"] == [
        "Start the Q2 Outreach campaign for 150 contacts", "Can you make the email more casual?", "hello"]


def test_every_context_field_is_optional_and_kept(server) -> None:
    context = {"list_id": str(uuid.uuid4()), "campaign_id": str(uuid.uuid4()), "screen": "campaigns"}
    data = chat(server, "help", context=context)
    stored = admin_get(server, f"/conversations/{data['conversation_id']}")
    assert stored["messages"][0]["context"] == context
    assert chat(server, "help", context={})["requires_approval"] is False
    assert chat(server, "help", context=None)["task_id"] is None


@pytest.mark.parametrize(("body", "message"), [
    ({"message": "hi", "context": "conv_1"}, "context must be an object"),
    ({"message": "hi", "context": 5}, "context must be an object"),
    ({"message": "hi", "context": {"list_id": 5}}, "context.list_id must be a string"),
    ({"message": "hi", "context": {"campaign_id": ["c"]}}, "context.campaign_id must be a string"),
    ({"message": "hi", "context": {"conversation_id": {"id": "x"}}}, "context.conversation_id must be a string"),
    ({"context": {"conversation_id": "conv_x"}}, "Missing message parameter"),
    ({"message": "x" * 12_001}, "message must be at most 12000 characters"),
])
def test_context_and_message_validation_use_the_documented_envelope(server, body, message) -> None:
    before = balance(server)
    response = post_chat(server, body)
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "validation_error", "message": message}}
    assert balance(server) == before  # a refused message costs nothing


def test_documented_auth_errors(server) -> None:
    missing = admin_client().post(f"{server.base_url}/v1/lexi/chat", json={"message": "hi"})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_key"
    forbidden = post_chat(server, {"message": "hi"}, NO_LEXI_KEY)
    assert forbidden.status_code == 403
    assert forbidden.json() == {"error": {"code": "insufficient_permissions", "message": "Missing lexi permission"}}


# -- work done at once ------------------------------------------------------------------------------


def test_a_credit_question_is_answered_at_once_with_the_balance(make_server) -> None:
    server = make_server(credits=50)
    data = chat(server, "How many credits do I have?")
    assert data["requires_approval"] is False and data["task_id"] is None
    assert "49 Lexi credits left" in data["response"]
    assert balance(server) == 49


def test_tagging_one_contact_is_done_at_once_and_recorded(server) -> None:
    before = pending_ids(server)
    data = chat(server, "Tag jane.doe@acme.com as VIP")
    assert data["requires_approval"] is False and data["task_id"] is None
    assert data["response"].startswith("Done: I tagged jane.doe@acme.com with 'VIP'")
    assert pending_ids(server) == before
    actions = admin_get(server, f"/conversations/{data['conversation_id']}")["actions"]
    assert [(a["type"], a["contact_email"], a["tags_add"]) for a in actions] == [
        ("contact_tag", "jane.doe@acme.com", ["VIP"])]
    selection = chat(server, "tag the contacts in Texas as warm")  # a selection still needs approval
    assert selection["requires_approval"] is True and selection["task_id"] in pending_ids(server)


def test_pending_question_is_answered_at_once(server) -> None:
    data = chat(server, "How many tasks need my approval?")
    assert data["requires_approval"] is False and data["task_id"] is None
    assert "waiting for your approval" in data["response"] or "Nothing is waiting" in data["response"]


@pytest.mark.parametrize(("message", "task_type"), [
    (PROSPECTS, "prospect_search"),
    ("Start the Q2 Outreach campaign for 150 contacts", "campaign_start"),
    ("Update the contacts in Texas: set stage to qualified", "contact_update"),
    ("Create a list called Q3 Targets", "list_operation"),
])
def test_work_that_needs_approval_still_queues_a_task(server, message, task_type) -> None:
    data = chat(server, message)
    assert data["requires_approval"] is True and data["task_id"] in pending_ids(server)


# -- credits ------------------------------------------------------------------------------------------


def test_one_credit_per_message_and_five_more_for_a_prospect_search(make_server) -> None:
    server = make_server(credits=20)
    chat(server, "hello")
    assert balance(server) == 19
    chat(server, "Start the Q2 Outreach campaign for 150 contacts")
    assert balance(server) == 18
    chat(server, PROSPECTS)
    assert balance(server) == 12
    assert balance(server, KEY2) == 20  # a key is a workspace: its own balance


def test_a_prospect_search_that_cannot_be_paid_in_full_is_refused_whole(make_server) -> None:
    server = make_server(credits=5)  # a prospect search costs 1 + 5 = 6
    before = pending_ids(server)
    refused = post_chat(server, {"message": PROSPECTS})
    assert refused.status_code == 402 and refused.json() == NO_CREDITS
    assert pending_ids(server) == before and balance(server) == 5  # nothing queued, nothing taken
    assert admin_get(server, "/stats")["tasks_by_status"].get("pending", 0) == 0
    assert "Hello" in chat(server, "hello")["response"]  # an ordinary message still fits
    assert balance(server) == 4


def test_402_when_nothing_is_left_and_nothing_is_answered(make_server) -> None:
    server = make_server(credits=1)
    first = chat(server, "hello")
    refused = post_chat(server, {"message": "hello again", "context": {"conversation_id": first["conversation_id"]}})
    assert refused.status_code == 402 and refused.json() == NO_CREDITS
    stored = admin_get(server, f"/conversations/{first['conversation_id']}")
    assert len(stored["messages"]) == 2  # the refused message was not answered nor kept
    assert post_chat(server, {"message": ""}).status_code == 400  # validation comes before credits
    assert post_chat(server, {"message": "hi"}, KEY2).status_code == 200


def test_rate_limited_chat_costs_no_credit(make_server) -> None:
    server = make_server(rate_limit=1, credits=10)
    assert post_chat(server, {"message": "hi"}).status_code == 200
    refused = post_chat(server, {"message": "hi"})
    assert refused.status_code == 429
    assert refused.json() == {"error": {"code": "rate_limited", "message": "Rate limit exceeded"}}
    assert balance(server) == 9


def test_balances_survive_a_restart_with_the_same_db(tmp_path) -> None:
    options = base_options(db_path=str(tmp_path / "lexi.db"), credits=30)
    with start_server(options) as first:
        chat(first, PROSPECTS)
        admin_post(first, "/credits", {"key": KEY2, "balance": 3})
    with start_server(dataclasses.replace(options, credits=1_000)) as again:
        assert balance(again) == 24  # the stored balance wins over a new --credits
        assert balance(again, KEY2) == 3


def test_admin_credits_show_masked_keys_and_can_be_set(make_server) -> None:
    server = make_server(credits=7)
    view = admin_get(server, "/credits")
    assert view == {"initial_credits": 7, "accounts": [{"key": mask_key(KEY), "balance": 7},
                                                       {"key": mask_key(KEY2), "balance": 7}]}
    changed = admin_post(server, "/credits", {"key_suffix": KEY[-6:], "balance": 0})["data"]
    assert changed == {"key": mask_key(KEY), "balance": 0}
    assert post_chat(server, {"message": "hi"}).status_code == 402
    for body in ({"key": KEY}, {"key": KEY, "balance": -1}, {"key": KEY, "balance": 1.5}, {"balance": 3}):
        response = admin_client().post(f"{server.root_url}/_admin/credits", json=body)
        assert response.status_code == 400 and KEY not in response.text
    missing = admin_client().post(f"{server.root_url}/_admin/credits", json={"key": NO_LEXI_KEY, "balance": 1})
    assert missing.status_code == 404  # a key without the lexi permission has no credits to set
