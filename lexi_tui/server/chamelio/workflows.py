"""Chamelio workflows: templates, the task lifecycle, and seeding.

Every workflow runs the same path of steps (step types in brackets):

    Intake [intake] -> Review [review] -> Approval [approval] -> Finalize [action] -> completed
                                                  \\-rejected-> Rejection notice [action] -> completed

A task is `pending` at intake, `in_progress` from review on, `completed` after its last step,
`cancelled` when cancelled (its current step becomes null). A **rejected** task follows the
rejection path: it answers `in_progress`, then completes after `--exec-delay` like an approved
one; its approval step run keeps the status `rejected` (`approved` for an approval), which is
how a client tells the two outcomes apart. `failed` only appears in seeded history.

A task is a JSON document (`doc`) kept by the store; the functions here change a doc in place
and return the webhook events the change causes, as `(event, data)` pairs. The `data` shapes
are the documented ones, field for field (and no event carries the step's type, as documented:
a receiver must read the task to learn it):

    flows.tasks.created      task_id, workflow_id, workflow_name, workflow_version, initiated_by,
                             current_step {step_id, step_name, assignee}, variables
    flows.tasks.step_change  task_id, workflow_id, workflow_name,
                             previous_step {step_id, step_name, completed_by, completed_at, outcome},
                             current_step {step_id, step_name, assignee}
    flows.tasks.completed    task_id, completed_at, duration_hours, variables, outputs
    flows.tasks.canceled     task_id, canceled_by, canceled_at, reason, step_at_cancellation
    flows.tasks.commented    task_id, comment_id, comment_text, commented_by, current_step

Assumptions where the pages give a field but not its content: `initiated_by` is the task's
owner; a step's `assignee` is the task's assignee; `completed_by` is whoever decided (the
approve call's `user_email`, else the API key's owner, `API_KEY_OWNER`) and the assignee for
intake and review, whose `outcome` is `submitted`; `outputs` is `{approval_outcome,
final_step_name}`; `step_at_cancellation` is `{step_id, step_name}`; `canceled_by` is the API
key's owner. `completed` and `canceled` carry `task_id` too (the pages' field lists omit it,
but an event nobody can attribute is useless). `commented` is sent when an approve or reject
carries a non-blank comment, just before its `step_change`, with the approval step as
`current_step` (the pages do not say what triggers it).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable
from typing import Any

FIRST_TASK_ID = 1001
POSITIONS = ("intake", "review", "approval", "action", "rejection")
EVENT_CREATED = "flows.tasks.created"
EVENT_STEP_CHANGE = "flows.tasks.step_change"
EVENT_COMPLETED = "flows.tasks.completed"
EVENT_CANCELED = "flows.tasks.canceled"
EVENT_COMMENTED = "flows.tasks.commented"
EVENTS = (EVENT_CREATED, EVENT_STEP_CHANGE, EVENT_COMPLETED, EVENT_CANCELED, EVENT_COMMENTED)
#: Who acts through the API when the call names nobody (the approve page: user_email
#: "defaults to API key owner"); the face has no account behind its keys.
API_KEY_OWNER = "api.owner@example.com"
OPEN_STATUSES = ("pending", "in_progress")

Event = tuple[str, dict[str, Any]]

PEOPLE = (
    "Dana Whitfield", "Marcus Oyelaran", "Priya Raman", "Tomás Ferreira", "Hannah Becker", "Kenji Watanabe",
    "Alicia Moreno", "Samuel Osei", "Claire Dubois", "Ravi Menon", "Ingrid Larsen", "Jonah Feld",
)
PARTIES = (
    "Northwind Traders", "Contoso Ltd", "Fabrikam Inc", "Tailspin Toys", "Wingtip Partners", "Alpine Ski House",
    "Blue Yonder Airlines", "Coho Winery", "Adventure Works", "Litware Inc", "Proseware", "Lucerne Publishing",
    "Trey Research", "Woodgrove Bank", "Fourth Coffee", "Graphic Design Institute",
)
_ANCHOR = dt.date(2026, 1, 5)  # seeded dates are fixed, not relative to today: same seed, same data


def email_of(person: str) -> str:
    first, _, last = person.lower().replace("á", "a").partition(" ")
    return f"{first}.{last.replace(' ', '')}@example.com"


@dataclasses.dataclass(frozen=True)
class VarSpec:
    """One variable of a template: how its value is made for a seeded task."""

    variable_id: str
    name: str
    type: str
    make: Callable[[random.Random, dict[str, str]], str]
    required: bool = True
    options: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Template:
    key: str
    name: str
    title: str  # format string with {party}
    review: str
    approval: str
    action: str
    intake: tuple[VarSpec, ...]
    to_approve: tuple[VarSpec, ...]
    files: tuple[tuple[str, str], ...]  # (file name pattern with {party}/{n}, content type)


def _money(low: int, high: int, step: int) -> Callable[[random.Random, dict[str, str]], str]:
    return lambda rng, ctx: str(rng.randrange(low, high, step))


def _date(low: int, high: int) -> Callable[[random.Random, dict[str, str]], str]:
    return lambda rng, ctx: (_ANCHOR + dt.timedelta(days=rng.randint(low, high))).isoformat()


def _pick(*values: str) -> Callable[[random.Random, dict[str, str]], str]:
    return lambda rng, ctx: rng.choice(values)


def _ctx(name: str) -> Callable[[random.Random, dict[str, str]], str]:
    return lambda rng, ctx: ctx[name]


def _person(rng: random.Random, ctx: dict[str, str]) -> str:
    return email_of(rng.choice(PEOPLE))


def _bool(rng: random.Random, ctx: dict[str, str]) -> str:
    return rng.choice(("true", "false"))


def _blank(rng: random.Random, ctx: dict[str, str]) -> str:
    return ""


_RISK = ("Low", "Medium", "High")
TEMPLATES: tuple[Template, ...] = (
    Template(
        "vendor", "Vendor Contract Approval", "Vendor contract – {party}", "Legal review", "General Counsel approval",
        "Send for signature",
        intake=(VarSpec("counterparty", "Counterparty", "business", _ctx("party")),
                VarSpec("requester", "Requester", "user_entity", _ctx("requester")),
                VarSpec("contract_value", "Contract value (USD)", "number", _money(5000, 250000, 500))),
        to_approve=(VarSpec("approved_value", "Approved contract value (USD)", "number", _ctx("contract_value")),
                    VarSpec("effective_date", "Effective date", "date", _date(10, 120)),
                    VarSpec("auto_renewal", "Auto-renewal", "boolean", _bool),
                    VarSpec("signatory_email", "Signatory", "email", _person),
                    VarSpec("risk_rating", "Risk rating", "select", _pick(*_RISK), options=_RISK),
                    VarSpec("approval_notes", "Approval notes", "text", _blank, required=False)),
        files=(("{party} MSA v{n}.pdf", "application/pdf"), ("{party} security questionnaire.xlsx",
               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
    ),
    Template(
        "nda", "NDA Review", "NDA – {party}", "Counsel review", "Legal approval", "Countersign and file",
        intake=(VarSpec("counterparty", "Counterparty", "business", _ctx("party")),
                VarSpec("requester", "Requester", "user_entity", _ctx("requester"))),
        to_approve=(VarSpec("term_months", "Term (months)", "number", _pick("12", "24", "36")),
                    VarSpec("mutual", "Mutual NDA", "boolean", _bool),
                    VarSpec("expiry_date", "Expiry date", "date", _date(365, 1100)),
                    VarSpec("counterparty_contact", "Counterparty contact", "email",
                            lambda rng, ctx: f"legal@{ctx['party'].split()[0].lower()}.example"),
                    VarSpec("nda_form", "NDA form", "select", _pick("Mutual", "One-way", "Custom"),
                            options=("Mutual", "One-way", "Custom")),
                    VarSpec("conditions", "Conditions", "text", _blank, required=False)),
        files=(("NDA {party} redline {n}.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),),
    ),
    Template(
        "employment", "Employment Agreement", "Offer letter – {person}", "HR review", "Employment counsel approval",
        "Issue agreement",
        intake=(VarSpec("candidate", "Candidate", "text", _ctx("person")),
                VarSpec("hiring_manager", "Hiring manager", "user_entity", _ctx("requester"))),
        to_approve=(VarSpec("base_salary", "Base salary (USD)", "number", _money(70000, 240000, 1000)),
                    VarSpec("start_date", "Start date", "date", _date(20, 90)),
                    VarSpec("non_compete", "Non-compete clause", "boolean", _bool),
                    VarSpec("hr_contact", "HR contact", "email", _person),
                    VarSpec("employment_type", "Employment type", "select", _pick("Full-time", "Part-time", "Contractor"),
                            options=("Full-time", "Part-time", "Contractor")),
                    VarSpec("special_terms", "Special terms", "text", _blank, required=False)),
        files=(("Offer letter {person}.pdf", "application/pdf"),),
    ),
    Template(
        "dpa", "Data Processing Agreement", "DPA – {party}", "Privacy review", "DPO approval", "Register processor",
        intake=(VarSpec("processor", "Processor", "business", _ctx("party")),
                VarSpec("requester", "Requester", "user_entity", _ctx("requester"))),
        to_approve=(VarSpec("records_count", "Data subjects (approx.)", "number", _money(1000, 500000, 1000)),
                    VarSpec("review_date", "Next review", "date", _date(180, 400)),
                    VarSpec("cross_border", "Cross-border transfer", "boolean", _bool),
                    VarSpec("dpo_email", "DPO", "email", _person),
                    VarSpec("transfer_mechanism", "Transfer mechanism", "select", _pick("SCCs", "Adequacy", "BCRs"),
                            options=("SCCs", "Adequacy", "BCRs", "None")),
                    VarSpec("dpo_notes", "DPO notes", "text", _blank, required=False)),
        files=(("DPA {party} signed draft.pdf", "application/pdf"),),
    ),
    Template(
        "policy", "Policy Exception Request", "Travel policy exception – {person}", "Compliance review",
        "Compliance approval", "Notify finance",
        intake=(VarSpec("employee", "Employee", "user_entity", _ctx("requester")),
                VarSpec("reason", "Reason", "text", _pick("Client visit on short notice", "Conference speaker",
                                                          "Board meeting travel"))),
        to_approve=(VarSpec("amount", "Amount (USD)", "number", _money(300, 9000, 50)),
                    VarSpec("valid_until", "Valid until", "date", _date(5, 60)),
                    VarSpec("one_off", "One-off exception", "boolean", _bool),
                    VarSpec("finance_contact", "Finance contact", "email", _person),
                    VarSpec("cost_center", "Cost center", "select", _pick("Legal", "Sales", "R&D", "G&A"),
                            options=("Legal", "Sales", "R&D", "G&A"))),
        files=(),
    ),
    Template(
        "claims", "Marketing Claims Review", "Campaign claims – {party} co-marketing", "Regulatory review",
        "Marketing counsel approval", "Publish",
        intake=(VarSpec("partner", "Partner", "business", _ctx("party")),
                VarSpec("owner", "Campaign owner", "user_entity", _ctx("requester"))),
        to_approve=(VarSpec("claims_count", "Claims to approve", "number", _pick("2", "3", "5", "8")),
                    VarSpec("launch_date", "Launch date", "date", _date(7, 45)),
                    VarSpec("substantiated", "Claims substantiated", "boolean", _bool),
                    VarSpec("reviewer_email", "Reviewer", "email", _person),
                    VarSpec("region", "Region", "select", _pick("US", "EU", "UK", "Global"),
                            options=("US", "EU", "UK", "Global")),
                    VarSpec("required_disclaimers", "Required disclaimers", "text", _blank, required=False)),
        files=(("{party} campaign copy v{n}.pdf", "application/pdf"), ("Substantiation memo.docx",
               "application/vnd.openxmlformats-officedocument.wordprocessingml.document")),
    ),
)
TEMPLATES_BY_KEY = {t.key: t for t in TEMPLATES}


def workflow_doc(workflow_id: int, template: Template, version: int, suffix: str = "") -> dict[str, Any]:
    """A workflow: its template, name, version and steps (ids are unique per workflow)."""
    def step(kind: str, name: str, step_type: str) -> dict[str, str]:
        return {"step_id": f"wf{workflow_id}-{kind}", "step_name": name, "step_type": step_type}

    return {
        "workflow_id": workflow_id, "workflow_name": template.name + suffix, "workflow_version": version,
        "template": template.key,
        "steps": {"intake": step("intake", "Intake", "intake"), "review": step("review", template.review, "review"),
                  "approval": step("approval", template.approval, "approval"),
                  "action": step("finalize", template.action, "action"),
                  "rejection": step("rejected", "Rejection notice", "action")},
    }


# -- lifecycle ---------------------------------------------------------------------------------


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    moment = dt.datetime.fromtimestamp(ts, tz=dt.UTC).replace(microsecond=0, tzinfo=None)
    return moment.isoformat() + "Z"


def current_step(doc: dict[str, Any]) -> dict[str, str] | None:
    position = doc.get("position")
    return doc["steps"][position] if position else None


def awaiting_approval(doc: dict[str, Any]) -> bool:
    return doc.get("position") == "approval" and doc.get("status") in OPEN_STATUSES


def step_ref(doc: dict[str, Any], step: dict[str, str]) -> dict[str, Any]:
    """`{step_id, step_name, assignee}` of a step of this task (no step type: see above)."""
    return {"step_id": step["step_id"], "step_name": step["step_name"], "assignee": doc["assignee_email"]}


def _variables(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(v) for v in doc["variables"]]


def created_data(doc: dict[str, Any]) -> dict[str, Any]:
    """`flows.tasks.created` data."""
    step = current_step(doc)
    return {
        "task_id": doc["task_id"], "workflow_id": doc["workflow_id"], "workflow_name": doc["workflow_name"],
        "workflow_version": doc["workflow_version"], "initiated_by": doc["owner_email"],
        "current_step": step_ref(doc, step) if step else None, "variables": _variables(doc),
    }


def step_change_data(doc: dict[str, Any], previous: dict[str, str], completed_by: str, completed_at: float,
                     outcome: str) -> dict[str, Any]:
    """`flows.tasks.step_change` data (`outcome`: approved, rejected or submitted)."""
    step = current_step(doc)
    return {
        "task_id": doc["task_id"], "workflow_id": doc["workflow_id"], "workflow_name": doc["workflow_name"],
        "previous_step": {"step_id": previous["step_id"], "step_name": previous["step_name"],
                          "completed_by": completed_by, "completed_at": iso(completed_at), "outcome": outcome},
        "current_step": step_ref(doc, step) if step else None,
    }


def completed_data(doc: dict[str, Any], final_step: dict[str, str] | None) -> dict[str, Any]:
    """`flows.tasks.completed` data."""
    decision = doc.get("decision") or {}
    outcome = None if not decision else ("approved" if decision.get("approved") else "rejected")
    hours = max(0.0, (doc["completed_ts"] - doc["created_ts"]) / 3600.0)
    return {
        "task_id": doc["task_id"], "completed_at": iso(doc["completed_ts"]), "duration_hours": round(hours, 2),
        "variables": _variables(doc),
        "outputs": {"approval_outcome": outcome, "final_step_name": final_step["step_name"] if final_step else None},
    }


def canceled_data(doc: dict[str, Any], step: dict[str, str] | None, by: str, reason: str | None) -> dict[str, Any]:
    """`flows.tasks.canceled` data."""
    return {
        "task_id": doc["task_id"], "canceled_by": by, "canceled_at": iso(doc["cancelled_ts"]), "reason": reason,
        "step_at_cancellation": {"step_id": step["step_id"], "step_name": step["step_name"]} if step else None,
    }


def commented_data(doc: dict[str, Any], comment: dict[str, Any]) -> dict[str, Any]:
    """`flows.tasks.commented` data."""
    step = current_step(doc)
    return {
        "task_id": doc["task_id"], "comment_id": comment["comment_id"], "comment_text": comment["text"],
        "commented_by": comment["by"], "current_step": step_ref(doc, step) if step else None,
    }


def _open_run(doc: dict[str, Any], position: str, ts: float) -> None:
    step = doc["steps"][position]
    runs = doc["step_runs"]
    runs.append({"step_run_id": doc["task_id"] * 100 + len(runs) + 1, **step, "status": "in_progress",
                 "variables": [], "started_at": iso(ts), "completed_at": None})
    doc["position"] = position
    doc["updated_ts"] = ts


def _close_run(doc: dict[str, Any], status: str, ts: float) -> None:
    if doc["step_runs"]:
        run = doc["step_runs"][-1]
        run["status"] = status
        run["completed_at"] = iso(ts)


def _move(doc: dict[str, Any], position: str, ts: float, run_status: str = "completed",
          completed_by: str | None = None, outcome: str = "submitted") -> list[Event]:
    """Close the current step's run, open `position`'s; the step_change event it causes."""
    previous = current_step(doc)
    _close_run(doc, run_status, ts)
    _open_run(doc, position, ts)
    doc["status"] = "in_progress"
    if previous is None:
        return []
    by = completed_by or doc["assignee_email"]
    return [(EVENT_STEP_CHANGE, step_change_data(doc, previous, by, ts, outcome))]


def created(doc: dict[str, Any]) -> list[Event]:
    """The event announcing a new task."""
    return [(EVENT_CREATED, created_data(doc))]


def advance(doc: dict[str, Any], ts: float) -> list[Event]:
    """Move past a step that needs no decision; ValueError at approval or when finished."""
    position = doc.get("position")
    if doc.get("status") not in OPEN_STATUSES or position is None:
        raise ValueError("Task has finished")
    if position == "intake":
        return _move(doc, "review", ts)
    if position == "review":
        return _move(doc, "approval", ts)
    if position in ("action", "rejection"):
        final = current_step(doc)
        _close_run(doc, "completed", ts)
        doc.update(position=None, status="completed", completed_ts=ts, updated_ts=ts)
        return [(EVENT_COMPLETED, completed_data(doc, final))]
    raise ValueError("Task is awaiting approval")


def decide(doc: dict[str, Any], approved: bool, comment: str | None, variables: list[dict[str, str]],
           user_email: str | None, ts: float) -> list[Event]:
    """Record the decision on the approval step and move to the next step of its path."""
    submitted = {v["variable_id"]: v["value"] for v in variables}
    run = doc["step_runs"][-1]
    approval_step = doc["steps"]["approval"]["step_id"]
    for spec in doc["approval"]["variables_to_approve"]:
        if spec["variable_id"] in submitted:
            spec["value"] = submitted[spec["variable_id"]]
    run["variables"] = [{"variable_type": v["type"], "value": v["value"], "step_id": approval_step,
                         "variable_id": v["variable_id"]} for v in variables]
    by_id = {v["variable_id"]: v for v in doc["variables"]}
    for v in variables:
        entry = {"variable_type": v["type"], "value": v["value"], "step_id": approval_step, "variable_id": v["variable_id"]}
        if v["variable_id"] in by_id:
            by_id[v["variable_id"]].update(entry)
        else:
            doc["variables"].append(entry)
    doc["decision"] = {"approved": approved, "comment": comment, "variables": variables, "user_email": user_email,
                       "decided_at": iso(ts)}
    by = user_email or API_KEY_OWNER
    events: list[Event] = []
    if comment is not None and comment.strip():
        events.append((EVENT_COMMENTED, commented_data(doc, _add_comment(doc, comment, by, ts))))
    outcome = "approved" if approved else "rejected"
    return events + _move(doc, "action" if approved else "rejection", ts, run_status=outcome, completed_by=by,
                          outcome=outcome)


def _add_comment(doc: dict[str, Any], text: str, by: str, ts: float) -> dict[str, Any]:
    """Keep a comment on the task (ids are `cmt_<task>_<n>`, stable across restarts)."""
    comments = doc.setdefault("comments", [])
    comment = {"comment_id": f"cmt_{doc['task_id']}_{len(comments) + 1}", "text": text, "by": by, "at": iso(ts),
               "step_id": (current_step(doc) or {}).get("step_id")}
    comments.append(comment)
    return comment


def cancel(doc: dict[str, Any], ts: float, reason: str | None = None, by: str = API_KEY_OWNER) -> list[Event]:
    """Stop an open task; ValueError once it has finished."""
    if doc.get("status") not in OPEN_STATUSES:
        raise ValueError("Task cannot be cancelled in its current state")
    step = current_step(doc)
    _close_run(doc, "cancelled", ts)
    doc.update(position=None, status="cancelled", updated_ts=ts, cancelled_ts=ts)
    return [(EVENT_CANCELED, canceled_data(doc, step, by, reason))]


def _fail(doc: dict[str, Any], ts: float) -> None:
    _close_run(doc, "failed", ts)
    doc.update(position=None, status="failed", completed_ts=ts, updated_ts=ts)


# -- building tasks ----------------------------------------------------------------------------


def new_task(task_id: int, workflow: dict[str, Any], rng: random.Random, ts: float, *, with_files: bool,
             title: str | None = None) -> dict[str, Any]:
    """A task at intake, with intake variables, its approval form and (maybe) files."""
    template = TEMPLATES_BY_KEY.get(workflow.get("template", ""), TEMPLATES[0])
    owner, requester, assignee = rng.sample(PEOPLE, 3)
    ctx = {"party": rng.choice(PARTIES), "person": rng.choice(PEOPLE), "requester": email_of(requester)}
    intake_step = workflow["steps"]["intake"]["step_id"]
    variables = []
    for spec in template.intake:
        value = spec.make(rng, ctx)
        ctx[spec.variable_id] = value
        variables.append({"variable_type": spec.type, "value": value, "step_id": intake_step,
                          "variable_id": spec.variable_id})
    to_approve = []
    for spec in template.to_approve:
        item: dict[str, Any] = {"variable_id": spec.variable_id, "variable_name": spec.name,
                                "variable_type": spec.type, "value": spec.make(rng, ctx), "required": spec.required}
        if spec.options:
            item["options"] = list(spec.options)
        to_approve.append(item)
    files = []
    if with_files and template.files:
        for index, (pattern, content_type) in enumerate(template.files[:rng.randint(1, len(template.files))]):
            name = pattern.format(party=ctx["party"], person=ctx["person"], n=rng.randint(2, 7))
            files.append({"file_id": f"file_{task_id}_{index + 1}", "file_name": name, "content_type": content_type,
                          "variable_id": "supporting_documents" if index else "primary_document",
                          "size": rng.randint(18_000, 2_400_000)})
        for file in files:
            variables.append({"variable_type": "file", "value": file["file_id"], "step_id": intake_step,
                              "variable_id": file["variable_id"]})
    approvers = [email_of(p) for p in rng.sample(PEOPLE, 2)]
    doc: dict[str, Any] = {
        "task_id": task_id, "task_title": title or template.title.format(party=ctx["party"], person=ctx["person"]),
        "workflow_id": workflow["workflow_id"], "workflow_name": workflow["workflow_name"],
        "workflow_version": workflow["workflow_version"], "steps": workflow["steps"],
        "position": None, "status": "pending", "created_ts": ts, "updated_ts": ts, "completed_ts": None,
        "owner_email": email_of(owner), "assignee_email": email_of(assignee),
        "collaborator_emails": [email_of(p) for p in rng.sample(PEOPLE, rng.randint(0, 2))],
        "step_runs": [], "variables": variables,
        "approval": {"variables_to_approve": to_approve, "files": files,
                     "eligible_approvers_active": approvers,
                     "next_eligible_approvers": [email_of(rng.choice(PEOPLE))]},
        "decision": None,
    }
    _open_run(doc, "intake", ts)
    doc["status"] = "pending"
    return doc


def bring_to(doc: dict[str, Any], stage: str, ts: float, rng: random.Random) -> None:
    """Move a fresh task to a seeded stage (intake, review, approval, executing, completed,
    rejected, failed, cancelled), spreading the steps' times before `ts`."""
    created = doc["created_ts"]
    span = max(1.0, ts - created)
    times = sorted(created + rng.uniform(0.05, 0.95) * span for _ in range(4))
    if stage == "intake":
        return
    if stage == "cancelled":
        cancel(doc, times[0])
        return
    advance(doc, times[0])
    if stage == "review":
        return
    advance(doc, times[1])
    if stage == "approval":
        return
    approved = stage != "rejected"
    decide(doc, approved, rng.choice(("Looks good.", "Approved per standard terms.", None)) if approved
           else "Terms outside our risk appetite.", [], email_of(rng.choice(PEOPLE)), times[2])
    if stage == "executing":
        return
    if stage == "failed":
        _fail(doc, times[3])
        return
    advance(doc, times[3])


def seed_workflows(n: int, seed: int, now: float) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    """N workflows and their tasks (ids from 1001), as (task doc, stage) pairs.

    Everything but times comes from `random.Random(seed)`. Each workflow has 3-5 tasks, at
    least two of them at the approval step (the first with files).
    """
    rng = random.Random(f"chamelio-seed:{seed}")
    workflows: list[dict[str, Any]] = []
    tasks: list[tuple[dict[str, Any], str]] = []
    task_id = FIRST_TASK_ID
    for index in range(n):
        template = TEMPLATES[index % len(TEMPLATES)]
        suffix = f" ({index // len(TEMPLATES) + 1})" if index >= len(TEMPLATES) else ""
        workflow = workflow_doc(index + 1, template, rng.randint(1, 6), suffix)
        workflows.append(workflow)
        extra = rng.choices(("intake", "review", "approval", "executing", "completed", "rejected", "failed",
                             "cancelled"), (2, 2, 3, 1, 3, 1, 1, 1), k=rng.randint(1, 3))
        stages = ["approval", "approval", *extra]
        for position, stage in enumerate(stages):
            created = now - rng.uniform(600, 10 * 24 * 3600)
            with_files = position == 0 or rng.random() < 0.4
            doc = new_task(task_id, workflow, rng, created, with_files=with_files)
            bring_to(doc, stage, now - rng.uniform(30, 300), rng)
            tasks.append((doc, stage))
            task_id += 1
    return workflows, tasks
