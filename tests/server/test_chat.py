"""POST /v1/lexi/chat over HTTP: tasks created from intents, conversations, validation."""

from __future__ import annotations

import re
import uuid

import pytest

from .conftest import admin_client

CONVERSATION_ID = re.compile(r"^conv_[0-9a-f]{8,}$")


def chat(api, message, **extra):
    response = api.post("/v1/lexi/chat", json={"message": message, **extra})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == {"response", "task_id", "requires_approval", "conversation_id"}
    return data


def test_docs_example_creates_a_pending_prospect_search(api) -> None:
    data = chat(api, "Find 50 CEOs at law firms in California")
    assert data["requires_approval"] is True
    uuid.UUID(data["task_id"])
    assert CONVERSATION_ID.match(data["conversation_id"])
    assert "50 CEOs at law firms in California" in data["response"]
    assert "approv" in data["response"]
    pending = {t["id"]: t for t in api.get("/v1/lexi/tasks", params={"status": "pending"}).json()["data"]["tasks"]}
    task = pending[data["task_id"]]
    assert task["type"] == "prospect_search"
    assert task["description"] == "Search for 50 CEOs at law firms in California"
    assert task["metadata"] == {
        "query": {"person_titles": ["CEO"], "organization_industries": ["Legal"], "person_locations": ["California"]},
        "per_page": 50,
    }
    assert api.get("/v1/lexi/tasks").json()["data"]["tasks"][0]["id"] == data["task_id"]  # newest first


@pytest.mark.parametrize(("message", "task_type", "metadata_keys"), [
    ("Start the Q2 Outreach campaign for 150 contacts", "campaign_start", {"campaign_id", "campaign_name", "contact_count"}),
    ("Update the contacts in Texas: set stage to qualified", "contact_update", {"filter", "updates", "contact_count"}),
    ("Create a list called Q3 Targets", "list_operation", {"operation", "list_name"}),
    ("Add the 20 CTOs from yesterday to list Q3 Targets", "list_operation",
     {"operation", "list_name", "list_id", "contact_count", "selection"}),
])
def test_other_intents_create_tasks(api, message, task_type, metadata_keys) -> None:
    data = chat(api, message)
    assert data["requires_approval"] is True
    task = next(t for t in api.get("/v1/lexi/tasks").json()["data"]["tasks"] if t["id"] == data["task_id"])
    assert task["type"] == task_type and task["status"] == "pending"
    assert set(task["metadata"]) == metadata_keys


def test_campaign_metadata_matches_the_docs(api) -> None:
    data = chat(api, "start the Q2 Outreach campaign for 150 contacts")
    task = next(t for t in api.get("/v1/lexi/tasks").json()["data"]["tasks"] if t["id"] == data["task_id"])
    assert task["description"] == "Start campaign 'Q2 Outreach' for 150 contacts"
    assert task["metadata"]["campaign_name"] == "Q2 Outreach"
    assert task["metadata"]["contact_count"] == 150
    uuid.UUID(task["metadata"]["campaign_id"])


@pytest.mark.parametrize("message", ["hello", "Hi Lexi!", "help", "What can you do?", "asdf qwerty", "thanks"])
def test_non_tasks_get_help_and_no_task(api, message) -> None:
    before = len(api.get("/v1/lexi/tasks").json()["data"]["tasks"])
    data = chat(api, message)
    assert data["task_id"] is None and data["requires_approval"] is False
    assert data["response"]
    assert len(api.get("/v1/lexi/tasks").json()["data"]["tasks"]) == before


def test_help_lists_capabilities(api) -> None:
    text = chat(api, "help")["response"]
    for phrase in ("Find 50 CEOs", "campaign", "contacts", "list", "approve"):
        assert phrase in text


def test_pending_question_reports_the_live_count(api) -> None:
    count = len(api.get("/v1/lexi/tasks").json()["data"]["tasks"])
    data = chat(api, "What is pending?")
    assert data["task_id"] is None
    assert str(count) in data["response"] or (count == 0 and "Nothing" in data["response"])


def test_conversation_ids_are_kept_and_messages_stored(server, api) -> None:
    first = chat(api, "hello", context={"screen": "inbox"})
    conversation_id = first["conversation_id"]
    # Documented: a follow-up continues a conversation by sending its id inside `context`.
    second = chat(api, "Find 10 CTOs at banks in London", context={"conversation_id": conversation_id})
    assert second["conversation_id"] == conversation_id
    adopted = chat(api, "hello again", context={"conversation_id": "conv_from_client_123"})
    assert adopted["conversation_id"] == "conv_from_client_123"
    assert chat(api, "hi", context={"conversation_id": None})["conversation_id"] != conversation_id
    # There is no top-level conversation_id on this endpoint: it is ignored (a new conversation).
    ignored = chat(api, "hi", conversation_id=conversation_id)
    assert ignored["conversation_id"] != conversation_id and CONVERSATION_ID.match(ignored["conversation_id"])

    stored = admin_client().get(f"{server.root_url}/_admin/conversations/{conversation_id}").json()["data"]
    messages = stored["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[0]["content"] == "hello" and messages[0]["context"] == {"screen": "inbox"}
    assert messages[1]["content"] == first["response"]
    assert messages[3]["task_id"] == second["task_id"]
    unknown = admin_client().get(f"{server.root_url}/_admin/conversations/conv_never")
    assert unknown.status_code == 404


@pytest.mark.parametrize(("body", "message"), [
    ({}, "Missing message parameter"),
    ({"message": ""}, "Missing message parameter"),
    ({"message": "   "}, "Missing message parameter"),
    ({"message": None}, "Missing message parameter"),
    ({"message": 42}, "message must be a string"),
    ({"message": ["hi"]}, "message must be a string"),
    ({"message": "hi", "context": {"conversation_id": 7}}, "context.conversation_id must be a string"),
    ({"message": "hi", "context": [1]}, "context must be an object"),
    ({"message": "hi", "context": "x"}, "context must be an object"),
    (["message"], "Request body must be a JSON object"),
])
def test_chat_validation(api, body, message) -> None:
    response = api.post("/v1/lexi/chat", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "validation_error", "message": message}}


@pytest.mark.parametrize("content", [b"", b"{oops"])
def test_chat_without_valid_body(api, content) -> None:
    response = api.post("/v1/lexi/chat", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    expected = "Missing message parameter" if not content else "Request body must be valid JSON"
    assert response.json()["error"]["message"] == expected


def test_null_context_and_conversation_are_accepted(api) -> None:
    data = chat(api, "help", conversation_id=None, context=None)
    assert CONVERSATION_ID.match(data["conversation_id"])
