"""The chat panel: talk to Lexi, and act on the task a reply proposes, right there.

Messages go out in a worker with a visible "Lexi is thinking" state, through the screen's
provider (`MainScreen.provider`, the one the screen was built with). The input is cleared
only once Lexi has answered: a failed send leaves the text in place and says why, and
whether sending again can help:

* 402 "No Lexi credits remaining" and 403 (no lexi permission): sending again cannot help
  until someone changes the account, so there is no "press Enter to retry";
* a lost answer (the request may have reached Lexi: `core.outcomes.classify` says UNKNOWN)
  may have queued a task: the chat says so and refreshes the list, and sending the same text
  again first asks, naming the tasks that were queued since;
* other failures (a network error before sending, a 5xx, a 429) can be retried with Enter.

Three kinds of answer are shown differently (`ChatReply`): a queued task is a card with
Approve (ctrl+y) and Dismiss (ctrl+n); work done at once says so and that nothing waits for
approval; a contradictory answer (approval required, no task id) says so and refreshes the
list. Every text from the server is shown through `ui.text.plain` (inert).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Label, Static

from lexi_tui.api.errors import (
    InsufficientCreditsError,
    InvalidKeyError,
    LexiError,
    PermissionDeniedError,
    RateLimitedError,
)
from lexi_tui.api.models import ChatReply, Task
from lexi_tui.core.budget import rate_limited_advice
from lexi_tui.core.outcomes import Outcome, classify
from lexi_tui.ui.dialogs.inputs import SteadyInput
from lexi_tui.ui.text import plain

if TYPE_CHECKING:
    from lexi_tui.ui.main.screen import MainScreen

SUMMARY_CHARS = 300
"""Characters of a card's summary (the task's description, or the reply's first line)."""


class TaskCard(Vertical):
    """A task a reply proposed, with approve and dismiss buttons."""

    def __init__(self, task_id: str, summary: str) -> None:
        super().__init__(classes="task-card")
        self.task_id = task_id
        self._summary = summary
        self.done = False

    def compose(self) -> ComposeResult:
        yield Static(self._line("Needs approval"), classes="task-card-text")
        with Horizontal(classes="task-card-buttons"):
            yield Button("Approve  ^y", variant="success", id="card-approve", compact=True)
            yield Button("Dismiss  ^n", variant="error", id="card-dismiss", compact=True)

    def _line(self, state: str) -> Text:
        line = Text(end="")
        line.append(f"{state}: ", style="bold")
        line.append_text(plain(self._summary, single_line=True, limit=SUMMARY_CHARS))
        return line

    def describe(self, task: Task) -> None:
        """Show the task's own description once the list has it (the reply may be chatty)."""
        self._summary = f"{task.type}: {task.description}"
        if not self.done:
            self.query_one(".task-card-text", Static).update(self._line("Needs approval"))

    def set_state(self, state: str) -> None:
        """Show the outcome in place of the buttons once the task was acted on."""
        self.done = True
        for button in self.query(Button):
            button.display = False
        self.query_one(".task-card-text", Static).update(self._line(state.capitalize()))
        self.add_class("-done")
        self.screen.refresh_bindings()  # ^y / ^n leave the footer with the last open card.


@dataclass
class LostMessage:
    """A message whose answer was lost: Lexi may have received it and queued a task."""

    text: str
    pending_before: frozenset[str]
    """Ids of the pending tasks when it was sent: a task not among them appeared since."""
    at: float
    asked: bool = False
    """Sending it again was asked about once; the next Enter sends."""


class ChatPanel(Vertical):
    """The conversation with Lexi and the box to write in."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close chat", id="chat.close", tooltip="Close the chat (the conversation is kept)"),
        Binding("ctrl+y", "card('approve')", "Approve", id="chat.approve",
                tooltip="Approve the task Lexi proposed last (its Approve button)"),
        Binding("ctrl+n", "card('dismiss')", "Dismiss", id="chat.dismiss",
                tooltip="Dismiss the task Lexi proposed last, with a reason (its Dismiss button)"),
    ]

    class TaskProposed(Message):
        """A reply queued a task that requires approval."""

        def __init__(self, task_id: str) -> None:
            super().__init__()
            self.task_id = task_id

    class ActOnTask(Message):
        """The user pressed Approve or Dismiss on a task card."""

        def __init__(self, task_id: str, action: str) -> None:
            super().__init__()
            self.task_id = task_id
            self.action = action

    class Closed(Message):
        pass

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.conversation_id: str | None = None
        self.sending = False
        self.lost: LostMessage | None = None
        """The latest message whose answer was lost, until it is sent again or another is."""
        self.border_title = "Chat with Lexi"

    @property
    def main(self) -> MainScreen:
        """The triage screen this panel belongs to (its provider, its lists, its refresh)."""
        return cast("MainScreen", self.screen)

    def compose(self) -> ComposeResult:
        yield VerticalScroll(
            Static(
                Text(
                    "Ask Lexi for work, e.g. “Find 50 CEOs at law firms in California”. "
                    "Tasks it proposes appear here and in the list. Esc closes.",
                ),
                classes="chat-hint",
            ),
            id="chat-log",
        )
        yield Label("Lexi is thinking…", id="chat-thinking")
        yield SteadyInput(placeholder="Message Lexi…", id="chat-input")

    def on_mount(self) -> None:
        self.query_one("#chat-thinking").display = False

    def focus_input(self) -> None:
        self.query_one("#chat-input", Input).focus()

    def action_close(self) -> None:
        self.post_message(self.Closed())

    # -- cards -----------------------------------------------------------------------------

    def open_card(self) -> TaskCard | None:
        """The newest card whose task has not been acted on from here."""
        cards = [card for card in self.query(TaskCard) if not card.done]
        return cards[-1] if cards else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """^y / ^n are offered only while a proposed task waits on a card."""
        if action == "card":
            return self.open_card() is not None
        return True

    def action_card(self, action: str) -> None:
        card = self.open_card()
        if card is not None:
            self.post_message(self.ActOnTask(card.task_id, action))

    def card_for(self, task_id: str) -> TaskCard | None:
        for card in self.query(TaskCard):
            if card.task_id == task_id:
                return card
        return None

    @on(Button.Pressed, "#card-approve")
    def _card_approve(self, event: Button.Pressed) -> None:
        card = next((node for node in event.button.ancestors if isinstance(node, TaskCard)), None)
        if card is not None:
            self.post_message(self.ActOnTask(card.task_id, "approve"))
            self.focus_input()  # Keys typed next belong to the conversation, not the list.

    @on(Button.Pressed, "#card-dismiss")
    def _card_dismiss(self, event: Button.Pressed) -> None:
        card = next((node for node in event.button.ancestors if isinstance(node, TaskCard)), None)
        if card is not None:
            self.post_message(self.ActOnTask(card.task_id, "dismiss"))

    # -- sending ---------------------------------------------------------------------------

    @on(Input.Submitted, "#chat-input")
    def _submitted(self, event: Input.Submitted) -> None:
        message = event.value.strip()
        if not message or self.sending:
            return  # Enter again while Lexi is thinking sends nothing.
        lost = self.lost
        if lost is not None and lost.text == message and not lost.asked:
            lost.asked = True
            self._add("note", self._resend_question(lost))
            return
        self.lost = None
        self.sending = True
        self.query_one("#chat-thinking").display = True
        self._send(message)

    def _resend_question(self, lost: LostMessage) -> str:
        """Before sending a message again whose answer was lost: what may have happened."""
        state = self.main.state
        since = [task for task in state.pending() if task.id not in lost.pending_before]
        when = time.strftime("%H:%M:%S", time.localtime(lost.at))
        text = f"This message may already have reached Lexi: its answer was lost at {when}. "
        if since:
            names = "; ".join(f"{task.type}: {task.description[:80]}" for task in since[:3])
            more = f" and {len(since) - 3} more" if len(since) > 3 else ""
            text += f"Pending since then: {names}{more}. "
        elif state.refreshing:
            text += "The list is still being refreshed. "
        else:
            text += "No new pending task has appeared since. "
        return text + "Press Enter again to send it anyway (it may queue the same task twice)."

    @work(exclusive=True, group="chat-send")
    async def _send(self, message: str) -> None:
        screen = self.main
        provider = screen.provider
        pending_before = frozenset(task.id for task in screen.state.pending())
        try:
            reply: ChatReply = await provider.chat(message, conversation_id=self.conversation_id)
        except LexiError as error:
            self._failed(message, error, pending_before)
            return
        finally:
            self.sending = False
            self.query_one("#chat-thinking").display = False
        self.query_one("#chat-input", Input).value = ""
        self.conversation_id = reply.conversation_id or self.conversation_id
        self._add("user", message)
        self._add("lexi", reply.response or "(empty reply)")
        if reply.queued_task and reply.task_id is not None:
            card = TaskCard(reply.task_id, reply.response.split("\n", 1)[0])
            self.query_one("#chat-log", VerticalScroll).mount(card)
            self.post_message(self.TaskProposed(reply.task_id))
            self.call_after_refresh(screen.refresh_bindings)  # ^y / ^n appear in the footer.
        elif reply.done_at_once:
            self._add("done", "✔ Done at once: nothing waits for your approval (Lexi answered, or did the work "
                              "itself).")
        else:
            self._add("note", "Lexi says this needs approval but named no task. The list is being refreshed: "
                              "look for it there.")
            screen.run_refresh()
        self._scroll_to_end()

    def _failed(self, message: str, error: LexiError, pending_before: frozenset[str]) -> None:
        """Say why `message` was not sent, and whether sending it again can help."""
        kept = "Your message is still in the box"
        if isinstance(error, InsufficientCreditsError):
            self._add("error", f"Not sent: {error}. Sending it again cannot help until the workspace has "
                               f"Lexi credits. {kept}.")
            return
        if isinstance(error, PermissionDeniedError):
            self._add("error", f"Not sent: {error}. This key lacks the lexi permission, so sending again cannot "
                               f"help; ask an admin to grant it. {kept}.")
            return
        if isinstance(error, InvalidKeyError):
            self._add("error", f"Not sent: the server refused the key. {kept}; sign in again, then press Enter.")
            self.main.lexi.handle_api_error(error)
            return
        if isinstance(error, RateLimitedError):
            self._add("error", f"Not sent: {error.message}. {rate_limited_advice(error)} {kept}; "
                               "press Enter to send it then.")
            return
        if classify(error) is Outcome.UNKNOWN:
            self.lost = LostMessage(message, pending_before, time.time())
            self._add("error", f"The answer was lost ({error.message}): Lexi may have received the message, and "
                               f"a task may have been queued. The list is being refreshed; check it before "
                               f"sending again. {kept}.")
            self.main.run_refresh()
            return
        if error.retryable:
            self._add("error", f"Not sent: {error}. {kept}; press Enter to retry.")
        else:
            self._add("error", f"Not sent: {error}. {kept}.")

    def _add(self, who: str, text: str) -> None:
        prefix = {"user": "You: ", "lexi": "Lexi: ", "error": "! ", "note": "? ", "done": ""}[who]
        body = Text(end="")
        body.append(prefix, style="bold")
        body.append_text(plain(text))
        log = self.query_one("#chat-log", VerticalScroll)
        log.mount(Static(body, classes=f"chat-message chat-{who}"))
        self._scroll_to_end()

    def _scroll_to_end(self) -> None:
        log = self.query_one("#chat-log", VerticalScroll)
        self.call_after_refresh(log.scroll_end, animate=False)
