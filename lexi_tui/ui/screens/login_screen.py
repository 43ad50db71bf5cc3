"""The login screen: a masked key, checked against the API before it is stored.

The key goes to the OS keyring (in a worker with a time-out: a locked keyring can hang).
Where there is no keyring, as on most SSH servers, the screen says so in plain words and
the key is used for this session only; it is never written to a file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Static

from lexi_tui.api.errors import InvalidKeyError, LexiError, PermissionDeniedError
from lexi_tui.api.text import mask_key, redact
from lexi_tui.ui.dialogs.inputs import SteadyInput
from lexi_tui.ui.text import plain, toast


class LoginScreen(Screen[str | None]):
    """Returns the accepted key, or None if the user quits."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q,escape", "quit", "Quit", id="login.quit"),
    ]

    def __init__(
        self, profile: str, base_url: str, *, reason: str | None = None, store: bool = True, ca_bundle: str | None = None,
        provider: str = "lexi", transport_factory: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__()
        from lexi_tui.providers import info

        self.provider = info(provider)
        self.ca_bundle = ca_bundle
        self.transport_factory = transport_factory
        self.profile = profile
        self.base_url = base_url
        self.reason = reason
        self.store = store
        self.checking = False

    def compose(self) -> ComposeResult:
        with Center():
            with Vertical(id="login", classes="dialog"):
                yield Label(plain(f"Sign in to {self.provider.title}"), classes="dialog-title")
                yield Static(plain(f"Profile {self.profile} · {self.base_url}", limit=500), classes="dialog-subject")
                if self.reason:
                    yield Static(plain(redact(self.reason), limit=2_000), id="login-reason")
                yield SteadyInput(placeholder=f"API key ({self.provider.key_hint})", password=True, id="login-key")
                yield Static(
                    Text(
                        "The key is checked against the API, then kept in the system keyring "
                        f"(never in a file). {self.provider.env_var} in the environment takes precedence.",
                    ),
                    classes="login-note",
                )
                yield Static("", id="login-status")
                yield Button("Sign in  ⏎", variant="primary", id="login-submit")

    def on_mount(self) -> None:
        self.query_one("#login-key", Input).focus()

    def action_quit(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#login-key")
    @on(Button.Pressed, "#login-submit")
    def _submit(self) -> None:
        key = self.query_one("#login-key", Input).value.strip()
        if not key or self.checking:
            return
        self.checking = True
        self._status(f"Checking {mask_key(key)}…")
        self._check(key)

    @work(exclusive=True, group="login")
    async def _check(self, key: str) -> None:
        try:
            transport = self.transport_factory() if self.transport_factory else None
            await self.provider.check_key(key, self.base_url, ca_bundle=self.ca_bundle, transport=transport)
        except InvalidKeyError:
            self._fail(f"{mask_key(key)} was refused: the key is invalid, revoked or expired.")
            return
        except PermissionDeniedError:
            self._fail(f"{mask_key(key)} is valid but lacks the lexi permission; ask an admin to grant it.")
            return
        except (LexiError, ValueError) as error:
            self._fail(f"Could not check the key: {error}")
            return
        note = await self._store(key)
        if note:
            toast(self.app, note, title="Key not saved", severity="warning", timeout=12)
        self.dismiss(key)

    async def _store(self, key: str) -> str | None:
        """Store the key; a note for the user when it could not be stored."""
        if not self.store:
            return None
        from lexi_tui.core.keystore import KeyringUnavailable, store_key

        try:
            await asyncio.to_thread(store_key, self.profile, key)
        except KeyringUnavailable as error:
            return f"{error} The key works for this session only."
        return None

    def _fail(self, message: str) -> None:
        self.checking = False
        self._status(message, error=True)
        self.query_one("#login-key", Input).focus()

    def _status(self, message: str, *, error: bool = False) -> None:
        status = self.query_one("#login-status", Static)
        status.update(plain(redact(message), limit=2_000))
        status.set_class(error, "-error")
