"""Switch profiles in the running app: a picker, and the switch itself.

One person often clears approvals from more than one system, so `P` (or "Switch profile"
in the command palette) lists the config's profiles with their provider and host. Choosing
one closes the current profile's main screen and connection and opens the chosen profile's
(its key resolved as at start: a demo key, the provider's environment variable, the
keyring, else the login screen). Actions still in their undo window, or on their way,
belong to the current profile: the switch waits until they are sent or undone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from lexi_tui.ui.app import LexiApp


class ProfilePicker(ModalScreen[str | None]):
    """Returns the chosen profile's name, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "cancel", "Cancel", id="profiles.cancel"),
    ]

    def __init__(self, profiles: tuple[Any, ...], current: str) -> None:
        super().__init__()
        self.profiles = profiles
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label("Switch profile", classes="dialog-title")
            options = []
            for profile in self.profiles:
                host = urlsplit(profile.base_url).netloc or profile.base_url
                line = Text.assemble((profile.name, "bold"), f"  {profile.provider}", (f"  {host}", "dim"))
                if profile.name == self.current:
                    line.append("  (current)", style="italic")
                options.append(Option(line, id=profile.name))
            yield OptionList(*options, id="profile-list")
            yield Static(Text("Enter switches; Esc stays here.", style="dim"))

    def on_mount(self) -> None:
        names = [p.name for p in self.profiles]
        options = self.query_one("#profile-list", OptionList)
        if self.current in names:
            options.highlighted = names.index(self.current)
        options.focus()

    @on(OptionList.OptionSelected, "#profile-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


def open_profile_picker(app: LexiApp) -> None:
    """Show the picker (when there is anything to pick), then switch."""
    if len(app.settings.profiles) < 2:
        app.notify("There is only one profile. Add [profiles.NAME] tables to the config to switch.",
                   timeout=5, markup=False)
        return
    from lexi_tui.ui.main.screen import MainScreen

    if isinstance(app.screen, ProfilePicker):
        return
    if not isinstance(app.screen, MainScreen):  # A dialog may hold typed text: never drop it.
        app.notify("Finish or close this screen first, then press P to switch profiles.", timeout=4, markup=False)
        return

    def chosen(name: str | None) -> None:
        if name and name != app.settings.profile:
            switch_profile(app, name)

    app.push_screen(ProfilePicker(app.settings.profiles, app.settings.profile), chosen)


def switch_profile(app: LexiApp, name: str) -> bool:
    """Leave the current profile for `name`; False (with a note) when it must wait."""
    from lexi_tui.ui.main.screen import MainScreen

    profile = next((p for p in app.settings.profiles if p.name == name), None)
    if profile is None:
        app.notify(f"There is no profile named {name!r}.", severity="error", markup=False)
        return False
    main = app.main_screen
    if main is not None and (main.journal.actions or main.inflight):
        app.notify("Actions are still waiting to be sent: press u to undo them or wait a moment, then switch.",
                   title="Not switched", severity="warning", timeout=6, markup=False)
        return False
    while len(app.screen_stack) > 1:
        if isinstance(app.screen, MainScreen) or app.main_screen is not None:
            # A popped screen is removed later; its workers (a refresh, reading a task's files)
            # must not outlive the provider they were started for.
            app.workers.cancel_node(app.screen)
            app.pop_screen()
        else:
            break
    settings = app.settings
    settings.profile = profile.name
    settings.provider = profile.provider
    settings.base_url = profile.base_url
    settings.ca_bundle = profile.ca_bundle
    settings.api_key = settings.profile_keys.get(profile.name)
    host = urlsplit(profile.base_url).netloc or profile.base_url
    app.location = f"{profile.name} @ {host}"
    app.key_problem = None
    if settings.api_key:
        app._start(settings.api_key)
    else:
        app._resolve_key()
    return True
