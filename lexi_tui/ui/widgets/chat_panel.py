"""The chat panel: talk to Lexi, and act on the task a reply proposes, right there.

Messages go out in a worker with a visible "Lexi is thinking" state. The input is
cleared only once Lexi has answered: a failed send leaves the text in place and says
why, so Enter retries. The conversation id from the first reply is kept for follow-ups.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Label, Static

from lexi_tui.api.errors import LexiError
from lexi_tui.api.models import ChatReply, Task


class TaskCard(Vertical):
    """A task a reply proposed, with approve and dismiss buttons."""

    def __init__(self, task_id: str, summary: str) -> None:
        super().__init__(classes="task-card")
        self.task_id = task_id
        self._summary = summary

    def compose(self) -> ComposeResult:
        yield Static(Text(f"Needs approval: {self._summary}"), classes="task-card-text")
        with Horizontal(classes="task-card-buttons"):
            yield Button("Approve", variant="success", id="card-approve", compact=True)
            yield Button("Dismiss", variant="error", id="card-dismiss", compact=True)

    def describe(self, task: Task) -> None:
        """Show the task's own description once the list has it (the reply may be chatty)."""
        self._summary = f"{task.type}: {task.description}"
        self.query_one(".task-card-text", Static).update(Text(f"Needs approval: {self._summary}"))

    def set_state(self, state: str) -> None:
        """Show the outcome in place of the buttons once the task was acted on."""
        for button in self.query(Button):
            button.display = False
        self.query_one(".task-card-text", Static).update(Text(f"{state.capitalize()}: {self._summary}"))
        self.add_class("-done")


class ChatPanel(Vertical):
    """The conversation with Lexi and the box to write in."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close chat", id="chat.close"),
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
        self.border_title = "Chat with Lexi"

    def compose(self) -> ComposeResult:
        yield VerticalScroll(
            Static(
                Text(
                    "Ask Lexi for work, e.g. “Find 50 CEOs at law firms in California”. "
                    "Tasks it proposes appear here and in the list. Esc closes.",
                    style="dim",
                ),
                classes="chat-hint",
            ),
            id="chat-log",
        )
        yield Label("Lexi is thinking…", id="chat-thinking")
        yield Input(placeholder="Message Lexi…", id="chat-input")

    def on_mount(self) -> None:
        self.query_one("#chat-thinking").display = False

    def focus_input(self) -> None:
        self.query_one("#chat-input", Input).focus()

    def action_close(self) -> None:
        self.post_message(self.Closed())

    @on(Input.Submitted, "#chat-input")
    def _submitted(self, event: Input.Submitted) -> None:
        message = event.value.strip()
        if not message or self.sending:
            return  # Enter again while Lexi is thinking sends nothing.
        self.sending = True
        self.query_one("#chat-thinking").display = True
        self._send(message)

    @work(exclusive=True, group="chat-send")
    async def _send(self, message: str) -> None:
        api = self.app.provider  # type: ignore[attr-defined]
        try:
            reply: ChatReply = await api.chat(message, conversation_id=self.conversation_id)
        except LexiError as error:
            self._add("error", f"Not sent: {error}. Your message is still in the box; press Enter to retry.")
            self.app.handle_api_error(error)  # type: ignore[attr-defined]
            return
        finally:
            self.sending = False
            self.query_one("#chat-thinking").display = False
        self.query_one("#chat-input", Input).value = ""
        self.conversation_id = reply.conversation_id or self.conversation_id
        self._add("user", message)
        self._add("lexi", reply.response or "(empty reply)")
        if reply.task_id and reply.requires_approval:
            card = TaskCard(reply.task_id, reply.response.split("\n", 1)[0][:120])
            self.query_one("#chat-log", VerticalScroll).mount(card)
            self.post_message(self.TaskProposed(reply.task_id))
        self._scroll_to_end()

    def _add(self, who: str, text: str) -> None:
        prefix = {"user": "You", "lexi": "Lexi", "error": "!"}[who]
        body = Text.assemble((f"{prefix}: ", "bold"), text)
        log = self.query_one("#chat-log", VerticalScroll)
        log.mount(Static(body, classes=f"chat-message chat-{who}"))
        self._scroll_to_end()

    def _scroll_to_end(self) -> None:
        log = self.query_one("#chat-log", VerticalScroll)
        self.call_after_refresh(log.scroll_end, animate=False)

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
