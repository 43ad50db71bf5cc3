"""`approve` of a task whose type is in the config's `confirm_types` (default: campaign_start).

On a terminal the person is asked, task by task, before anything is sent:

    Start campaign 'Q2 Outreach' for 150 contacts? [y/N]

preceded by what decides it: the counts in the task's metadata (`contact_count = 150`), since
the description is the assistant's prose and the metadata is what approving acts on. Without a
terminal on both stdin and stdout (a pipe, cron, CI) nobody can answer: such a task is not
sent unless `--yes` was given, and its result line says why and how.

Stdlib only.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TextIO

NEEDS_YES = ("needs confirmation ({type} is in confirm_types): run on a terminal to be asked, or add --yes to "
             "approve it without asking")
DECLINED = "declined at the prompt"


def needs_confirmation(task: Any, confirm_types: Iterable[str]) -> bool:
    """Whether approving `task` asks first (its type is one of `confirm_types`)."""
    return str(task.type) in set(confirm_types)


def deciding_facts(metadata: Any) -> list[str]:
    """`name = value` for the metadata's counts (`contact_count`, ...): what approving acts on.

    Assumption: a campaign's size is a top-level number whose key ends in `count`, as in the
    documented example (`{"campaign_id": ..., "contact_count": 150}`).
    """
    if not isinstance(metadata, dict):
        return []
    facts = []
    for key, value in metadata.items():
        if isinstance(key, str) and key.lower().endswith("count") and isinstance(value, (int, float)) \
                and not isinstance(value, bool):
            facts.append(f"{key} = {value:g}" if isinstance(value, float) else f"{key} = {value}")
    return facts


def question(task: Any) -> str:
    """The prompt for one task (its text is already cleaned by the API models)."""
    from lexi_tui.api.text import clean

    facts = deciding_facts(task.metadata)
    said = (f"  Its metadata says {clean(', '.join(facts), multiline=False)}: that is what approving acts on.\n"
            if facts else "  Its metadata names no count: check it with `lexi-tui tasks --json` first.\n")
    ask = task.description.rstrip(" .?") or f"Approve {task.type} task {task.id}"
    return f"{task.type} task {task.id}\n{said}{ask}? [y/N] "


def interactive(stdin: TextIO | None = None, stdout: TextIO | None = None) -> bool:
    """Whether someone can answer: stdin and stdout are both terminals."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    return bool(stdin.isatty() and stdout.isatty())


def ask(task: Any, stdin: TextIO | None = None, prompt_to: TextIO | None = None) -> bool:
    """Ask about `task`; True only for an answer starting with y (EOF or anything else: no)."""
    stdin, prompt_to = stdin or sys.stdin, prompt_to or sys.stderr
    prompt_to.write(question(task))
    prompt_to.flush()
    answer = stdin.readline()
    return answer.strip().lower().startswith("y")
