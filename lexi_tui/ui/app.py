"""The Textual application: key resolution, the API client's lifetime, screens, commands.

The app owns the one `LexiClient`. The key comes from `LEXI_API_KEY`, then the keyring
(looked up in a worker thread: keyring discovery costs ~200 ms and a locked keyring can
hang), else the login screen. A 401 at any point brings the login screen back.

Start-up paints before it connects: the profile's last-known queue (`ui.main.cached`; read
before Textual loaded, by `ui.first_frame`, or in the disk thread while Textual starts) is on
screen before httpx, the clients, the triage screen's parts and the dialogs are imported; those
load in a thread after that first frame. So this module imports only what the first paint
needs; the rest is imported where it is used. When `lexi-tui` forked the child that finds the
key and the first list meanwhile (`providers.first_fetch`, `AppSettings.first_fetch`), the key
comes from it, and its list, usually here by the first frame, is what the light screen shows
(in place of the kept one) until the triage screen, which takes it as its first call, is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen

from lexi_tui.api.errors import InvalidKeyError, LexiError, RateLimitedError
from lexi_tui.providers.first_fetch import READ_RETRIES, FirstFetch
from lexi_tui.ui.first_frame import StartList, location, read_start_list
from lexi_tui.ui.main.cached import CachedListScreen, ListSaver
from lexi_tui.ui.widgets.task_table import TaskTable

if TYPE_CHECKING:
    from lexi_tui.api.lexi import ResponseInfo
    from lexi_tui.providers import Provider
    from lexi_tui.ui.main.screen import MainScreen
    from lexi_tui.ui.screens.login_screen import LoginScreen

TRIAGE_MODULE = "lexi_tui.ui.main.screen"


def _triage_class() -> type[MainScreen] | None:
    """`MainScreen`, if its module is loaded (if it is not, no triage screen exists yet): asking
    must not import it on the event loop."""
    module = sys.modules.get(TRIAGE_MODULE)
    # Still being imported (in the thread) is not loaded yet: its class may not exist so far.
    return getattr(module, "MainScreen", None) if module is not None else None


def _import_triage(provider: str) -> None:
    """What the triage screen and the client need, imported in a thread after the first paint:
    the screen and its parts (the dialogs among them), the provider's client (httpx), the journal."""
    import importlib

    importlib.import_module(TRIAGE_MODULE)
    importlib.import_module("lexi_tui.core.journal")
    importlib.import_module(f"lexi_tui.providers.{provider}" if provider in ("lexi", "chamelio") else "lexi_tui.providers")


def _forget_lists(profile: str, folder: Path | None) -> None:
    """Remove the profile's kept lists (in the disk thread); a bad name or a folder it cannot
    read leaves nothing to remove."""
    from lexi_tui.core import list_cache

    with contextlib.suppress(OSError, ValueError):
        list_cache.forget_profile(profile, folder)


def styles_path() -> Path:
    """`styles/app.tcss` from a source checkout, else the copy packaged in the wheel."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "styles" / "app.tcss", here / "styles" / "app.tcss"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError("styles/app.tcss is missing from this installation")


@dataclass
class AppSettings:
    """Everything the app needs to start; built by the CLI from flags and config."""

    profile: str = "default"
    provider: str = "lexi"
    base_url: str = "https://data.leadlex.com/functions/v1/api-gateway"
    api_key: str | None = None
    """A key given up front (the demo's); None resolves env, then keyring, then login."""
    use_keyring: bool = True
    refresh_interval: float = 15.0
    undo_window: float = 5.0
    confirm_types: tuple[str, ...] = ("campaign_start",)
    keymap: dict[str, str] = field(default_factory=dict)
    theme: str = "textual-dark"
    read_retries: int = READ_RETRIES
    ca_bundle: str | None = None
    rules: list[Any] = field(default_factory=list)
    """Auto-approve/dismiss rules (`lexi_tui.core.rules.Rule`), run on each refresh."""
    exit_after_load: bool = False
    """Quit once the first list is painted: the benchmark harness times cold start with it."""
    profiles: tuple[Any, ...] = ()
    """Every `config.Profile` the user can switch to in the running app (P)."""
    profile_keys: dict[str, str] = field(default_factory=dict, repr=False)
    """Keys given up front per profile (the demo's); others resolve env, then keyring."""
    transport_factory: Callable[[], Any] | None = None
    """Makes the HTTP transport (`httpx.AsyncBaseTransport`) of each new API client; None: the
    network as configured. The screenshot tool, the snapshot tests and the benchmarks route the
    app to a local service with it while it shows a fixed URL."""
    request_log: Any = None
    """`--debug`: a `core.debuglog.RequestLog` (a listener) attached to every provider."""
    plan: str | None = None
    """The configured LeadLex plan ("starter", "pro", "org") of the profile the app starts on,
    for the refresh planner when the headers do not tell; a profile in `profiles` carries its own."""
    notify: str = "off"
    """New tasks while the terminal is not focused: "off", "bell" or "desktop" (OSC 777 / OSC 9)."""
    list_cache: bool = True
    """Paint the profile's last-known queue at start (`core.list_cache`), and keep each fresh one."""
    list_cache_folder: Path | None = None
    """Where the lists are kept (None: `<data dir>/lists`). The demo keeps its own outside its
    temporary data folder, so its next start paints the last one too."""
    first_fetch: FirstFetch | None = None
    """The child process finding the key and the first list while the app loads
    (`providers.first_fetch.FirstFetch`, started by `lexi-tui` before Textual loads); None: the
    app finds both itself."""
    first_list: tuple[StartList | None, str | None] | None = None
    """The kept queue as `ui.first_frame` read it before Textual loaded (so it is not read
    twice); None: the app reads it in its disk thread."""
    list_cache_names: dict[str, str] = field(default_factory=dict)
    """Base URL -> the name its lists are kept under (default: the URL itself). The demo's service
    listens on a new port each run; its lists are kept under one name."""


class LexiApp(App[None]):
    """lexi-tui: triage the tasks Lexi queued for approval."""

    CSS_PATH = styles_path()
    TITLE = "lexi-tui"
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (110, "-wide")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Quit lexi-tui"),
        Binding("question_mark,f1", "help", "Help", id="app.help", tooltip="This help"),
        Binding("ctrl+t", "toggle_light", "Light/dark", show=False, id="app.toggle_theme",
                tooltip="Switch between the light and the dark theme"),
        Binding("P", "switch_profile", "Profiles", show=False, id="app.profile",
                tooltip="Switch to another profile (e.g. from Lexi to Chamelio)"),
    ]

    def __init__(self, settings: AppSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or AppSettings()
        self._provider: Provider | None = None
        self.location = location(self.settings.profile, self.settings.base_url)
        self.key_problem: str | None = None
        self.last_request_id: str | None = None
        """X-Request-ID of the latest response, for the audit log."""
        self._disk = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lexi-tui-disk")
        """One thread for local writes (the audit log): off the event loop, in order."""
        self._start_list: Future[tuple[StartList | None, str | None]] | None = None
        """The cached queue being read (started here: it reads while Textual starts)."""
        self._first_paint: asyncio.Event | None = None
        """Set once the cached list is painted: the heavy imports wait for it (the GIL)."""
        self._first_fetch_used = False
        """The child's key and first list (`AppSettings.first_fetch`) went to the first start."""
        self.list_saver: ListSaver | None = None
        """Keeps each fresh queue of this profile for the next start (None: not kept)."""
        if self._cache_wanted() and self.settings.first_list is not None:
            self._start_list = Future()  # Read already, before Textual loaded (`ui.first_frame`).
            self._start_list.set_result(self.settings.first_list)
        elif self._cache_wanted():
            self._start_list = self._disk.submit(read_start_list, self.settings.profile,
                                                 self.cache_name(self.settings.base_url), self.settings.list_cache_folder)
        elif not self.settings.list_cache:  # `keep_last_list = false`: no task data left on disk.
            self._disk.submit(_forget_lists, self.settings.profile, self.settings.list_cache_folder)

    def cache_name(self, base_url: str) -> str:
        """The name `base_url`'s lists are kept under (`AppSettings.list_cache_names`)."""
        return self.settings.list_cache_names.get(base_url, base_url)

    def _cache_wanted(self) -> bool:
        """A list cache for this profile: wanted, and a provider with a list endpoint (a watch
        list of tasks added by reference is not a queue fetched at start)."""
        from lexi_tui.providers import info

        if not self.settings.list_cache:
            return False
        try:
            return not info(self.settings.provider).capabilities.add_by_reference
        except ValueError:
            return False

    def write_in_background(self, write: Callable[..., object], *args: object, what: str,
                            report: bool = True) -> Future[Any]:
        """Run `write(*args)` in the disk thread (one thread: local writes happen in the order
        they were asked for, off the event loop) and return its future.

        Args:
            write: a function that does disk I/O (the history, the undo journal).
            args: its arguments.
            what: what is written, for the message ("the history").
            report: show a failure as a toast (never raised into triage). False: the caller
                awaits the future (`asyncio.wrap_future`) and handles the exception itself.
        """
        future = self._disk.submit(write, *args)
        if not report:
            return future

        def done(finished: Future[object]) -> None:
            problem = finished.exception()
            if problem is not None:
                try:
                    self.call_from_thread(self.notify, f"Could not write {what}: {problem}", severity="warning",
                                          markup=False)
                except RuntimeError:  # The app has stopped: the message goes to stderr instead.
                    import sys

                    print(f"lexi-tui: could not write {what}: {problem}", file=sys.stderr)

        future.add_done_callback(done)
        return future

    # -- the provider ------------------------------------------------------------------

    @property
    def provider(self) -> Provider:
        """The approval system this profile talks to (Lexi, Chamelio)."""
        if self._provider is None:
            raise RuntimeError("The provider is used before a key was resolved")
        return self._provider

    @property
    def api(self) -> Provider:
        """Older name of `provider`, kept while tests and tools move over."""
        return self.provider

    def _connect(self, key: str) -> None:
        from lexi_tui.providers import create_provider

        old = self._provider
        self._provider = create_provider(
            self.settings.provider,
            key,
            self.settings.base_url,
            read_retries=self.settings.read_retries,
            ca_bundle=self.settings.ca_bundle,
            profile=self.settings.profile,
            **({"transport": self.settings.transport_factory()} if self.settings.transport_factory else {}),
        )
        self._provider.add_listener(self._on_response)
        if self.settings.request_log is not None:
            self._provider.add_listener(self.settings.request_log)
        if old is not None:
            self.run_worker(old.aclose(), group="close")

    def _on_response(self, info: ResponseInfo) -> None:
        """Every answer. The status bar's words follow it through the refresh engine, which
        hears every answer too (calls left today, online/failing); the raw headers are kept."""
        self.last_request_id = info.request_id
        if info.rate_limit is not None:
            main = self.main_screen  # Under a dialog, maybe: App.query searches only the top screen.
            if main is not None and main.is_mounted:
                main.status_bar.rate_limit = info.rate_limit

    def on_app_focus(self, event: events.AppFocus) -> None:
        """The terminal has focus again (focus reporting): the person is back."""
        main = self.main_screen
        if main is not None:
            main.refresher.focused(True)

    def on_app_blur(self, event: events.AppBlur) -> None:
        """The terminal lost focus: live refresh polls less; new tasks may notify (`notify`)."""
        main = self.main_screen
        if main is not None:
            main.refresher.focused(False)

    async def on_unmount(self) -> None:
        await asyncio.to_thread(self._disk.shutdown, wait=True)  # Every audit line is written.
        if self._provider is not None:
            await self._provider.aclose()

    # -- start-up ----------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        else:
            self.notify(f"Unknown theme {self.settings.theme!r}; using the default.", severity="warning", markup=False)
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        future = self._start_list
        fresh = self._first_answer_now()
        if fresh is not None:
            self._start_list = None
            self._show_first(fresh)  # The server's list, in the first frame.
        elif future is not None and future.done():
            self._show_cached(future)  # In the first frame.
        elif future is not None:
            self._first_paint = asyncio.Event()
            self.run_worker(self._cached_when_read(future), group="cached-list")
        if self.settings.api_key:
            self._start(self.settings.api_key)
        else:
            self._resolve_key()

    async def _cached_when_read(self, future: Future[tuple[StartList | None, str | None]]) -> None:
        try:
            await asyncio.wrap_future(future)
        finally:
            self._show_cached(future)

    def _show_cached(self, future: Future[tuple[StartList | None, str | None]]) -> None:
        """Paint the cached queue (if there is one and the triage screen is not up yet); the
        heavy imports wait for that frame."""
        from lexi_tui.providers import info

        self._start_list = None
        try:
            start, problem = future.result()
        except Exception as error:
            start, problem = None, f"The saved list could not be read ({type(error).__name__}: {error})."
        if problem:
            self.notify(problem, severity="warning", timeout=6, markup=False)
        if start is not None and self.main_screen is None and self.cached_screen is None:
            capabilities = info(self.settings.provider).capabilities
            self.push_screen(CachedListScreen(start, capabilities, self.location))
            self._imports_after_this_frame()
        elif self._first_paint is not None:
            self._first_paint.set()

    def _first_answer_now(self) -> StartList | None:
        """The child's first list, when it has arrived (it usually has by the first frame)."""
        first = self.settings.first_fetch
        if first is None or not first.answer.done():
            return None
        answer = first.answer.result()
        if answer is None or answer.tasks is None:
            return None
        import time

        return StartList(list(answer.tasks), time.time(), tuple(getattr(answer.tasks, "problems", ())))

    class FirstListArrived(Message):
        """The child's answer (`AppSettings.first_fetch`) has come."""

    def on_lexi_app_first_list_arrived(self, message: FirstListArrived) -> None:
        """The child's first list came after the first frame: shown at once, on the light screen
        (the triage screen takes it as its first call when it is up)."""
        if self.main_screen is not None:
            return
        fresh = self._first_answer_now()
        if fresh is not None:
            self._show_first(fresh)

    def _show_first(self, start: StartList) -> None:
        """Show the server's first list before the triage screen is up: on the light screen (in
        place of the kept list, if that is on screen), unless something else is (the login)."""
        from lexi_tui.providers import info

        cached = self.cached_screen
        if cached is not None:
            if not cached.fresh:
                cached.show_fresh(start)
            return
        if len(self.screen_stack) > 1:
            return  # A login or a dialog is up: the triage screen shows the list when it comes.
        self.push_screen(CachedListScreen(start, info(self.settings.provider).capabilities, self.location,
                                          fresh=True))
        self._imports_after_this_frame()

    def _imports_after_this_frame(self) -> None:
        """The light screen was just pushed: the triage screen's imports wait until it is drawn
        (they would hold the interpreter lock while it draws)."""
        if self._first_paint is None:
            self._first_paint = asyncio.Event()
        self.call_after_refresh(self._first_paint.set)

    @property
    def cached_screen(self) -> CachedListScreen | None:
        """The cached queue painted at start, while it is on the stack."""
        return next((s for s in self.screen_stack if isinstance(s, CachedListScreen)), None)

    @work(exclusive=True, group="key")
    async def _resolve_key(self) -> None:
        from lexi_tui.core.keystore import lookup_key
        from lexi_tui.providers import info

        env_var = info(self.settings.provider).env_var  # LEXI_API_KEY or CHAMELIO_API_KEY
        used = self._first_fetch_used  # The child's key and list are the first start's only.
        first, self._first_fetch_used = self.settings.first_fetch, True
        if first is not None and not used and first.request.profile == self.settings.profile:
            found = await asyncio.wrap_future(first.key)  # Looked up by the child, as below.
            if found is not None:
                # In the child's reader thread (or here, if done): post_message is thread-safe.
                first.answer.add_done_callback(lambda _: self.post_message(self.FirstListArrived()))
                if found.key:
                    self._start(found.key, first_fetch=first)
                else:
                    self.key_problem = found.problem
                    self._login(found.problem)
                return
        if not self.settings.use_keyring:
            import os

            key = os.environ.get(env_var, "").strip() or None
            self._start(key) if key else self._login(None)
            return
        found = await asyncio.to_thread(lookup_key, self.settings.profile, env_var=env_var)
        if found.key:
            self._start(found.key)
        else:
            self.key_problem = found.problem
            self._login(found.problem)

    def _start(self, key: str, first_fetch: FirstFetch | None = None) -> None:
        """Connect with `key`, open the profile's undo journal in a thread, then show the triage
        screen.

        The journal is `HeldJournal.open_or_read_only(profile)`: when another lexi-tui already
        has this profile open, this one runs read-only (it triages but sends no action) and never
        reads, clears or writes the first one's journal. Opening takes the profile's lock and
        reads the file (disk I/O: never on the event loop).
        """
        settings = self.settings
        profile = settings.profile

        async def open_triage() -> None:
            if self._first_paint is not None:
                await self._first_paint.wait()  # The cached list first; these imports hold the GIL.
            await asyncio.to_thread(_import_triage, settings.provider)
            from lexi_tui.core.budget import RefreshBudget
            from lexi_tui.core.journal import HeldJournal
            from lexi_tui.ui.main.screen import MainScreen

            if self.settings.profile != profile:
                return  # Switched meanwhile: that start shows its own screen.
            try:
                self._connect(key)
            except ValueError as error:
                self._login(str(error))
                return
            provider = self.provider
            try:
                journal = await asyncio.to_thread(HeldJournal.open_or_read_only, profile)
            except (OSError, ValueError) as problem:  # A profile name no file can have, a broken disk.
                journal = HeldJournal.read_only(profile, reason=f"the undo journal cannot be opened: {problem}")
            if self.settings.profile != profile:
                # The person switched profiles meanwhile: that start shows its own screen (a
                # newer start of the same profile cancels this worker: the group is exclusive).
                journal.close()
                return
            cached = self.cached_screen
            saver = self.list_saver
            if not self._cache_wanted():
                self.list_saver = None
            elif saver is None or (saver.profile, saver.base_url) != (profile, self.cache_name(settings.base_url)):
                self.list_saver = ListSaver(self, profile, self.cache_name(settings.base_url), self._secrets,
                                            settings.list_cache_folder)  # Per profile and server.
            main = MainScreen(
                provider,
                RefreshBudget(settings.refresh_interval),
                settings.confirm_types,
                journal=journal,
                undo_window=settings.undo_window,
                rules=settings.rules,
                cached=cached.start if cached is not None else None,
                select=cached.selected if cached is not None else None,
                confirmed=cached is not None and cached.fresh,
                first_fetch=first_fetch if self.settings.profile == profile else None,
            )
            if cached is not None and self.screen is cached:
                self.switch_screen(main)  # The same rows, the cursor on the same task.
                return
            if cached is not None:  # Something is over it (the help): it goes, the triage screen comes.
                while self.screen is not cached:
                    self.pop_screen()
                self.switch_screen(main)
                return
            self.push_screen(main)

        self.run_worker(open_triage(), group="start", exclusive=True)

    def _secrets(self) -> list[str]:
        """Every key in use: never written into a saved list."""
        import os

        return [os.environ.get("LEXI_API_KEY", ""), os.environ.get("CHAMELIO_API_KEY", ""),
                self._provider.secret if self._provider else "", self.settings.api_key or "",
                *self.settings.profile_keys.values()]

    def _login(self, reason: str | None) -> None:
        def done(key: str | None) -> None:
            if key is None:
                self.exit()
            else:
                self._start(key)

        self.push_screen(
            self._login_screen(reason),
            done,
        )

    def _login_screen(self, reason: str | None) -> LoginScreen:
        from lexi_tui.ui.screens.login_screen import LoginScreen

        return LoginScreen(
            self.settings.profile,
            self.settings.base_url,
            reason=reason,
            store=self.settings.use_keyring,
            ca_bundle=self.settings.ca_bundle,
            provider=self.settings.provider,
            transport_factory=self.settings.transport_factory,
        )

    def request_login(self, reason: str) -> None:
        """A 401 during use: ask for a key again, then carry on where the user was."""
        from lexi_tui.ui.screens.login_screen import LoginScreen

        if isinstance(self.screen, LoginScreen):
            return

        def done(key: str | None) -> None:
            if key is None:
                self.exit()
                return
            self._connect(key)
            main = self.main_screen
            if main is not None:
                main.use_provider(self.provider)
                main.run_refresh()

        self.push_screen(self._login_screen(reason), done)

    # -- errors ------------------------------------------------------------------------

    def _handle_exception(self, error: Exception) -> None:
        self._crash = error
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        """Replace Textual's traceback-with-locals (it could show the key) by a report file.

        The report and the message name the request log when `--debug` wrote one, and every
        key in use is masked: the environment's, the provider's, the profiles' keys given up
        front, and those the API layer registered (`api.text.redact`).
        """
        import os

        from rich.text import Text

        from lexi_tui.core.crash import scrub, write_crash_report

        error = getattr(self, "_crash", None)
        secrets = [os.environ.get("LEXI_API_KEY", ""), os.environ.get("CHAMELIO_API_KEY", ""),
                   self._provider.secret if self._provider else "", self.settings.api_key or "",
                   *self.settings.profile_keys.values()]
        log = getattr(self.settings.request_log, "path", None)
        self.bell()
        summary = scrub(f"{type(error).__name__}: {error}", secrets) if error else "unknown error"
        try:
            where = (f"A crash report was written to {write_crash_report(error, secrets, debug_log=log)}"
                     if error else "")
        except OSError as problem:
            where = f"(The crash report could not be written: {problem})"
        if log is not None:
            where += f"\nThe request log of this session (--debug) is {log}: attach it too."
        message = Text.assemble(("lexi-tui stopped because of an unexpected error.\n", "bold red"),
                                scrub(summary, secrets)[:2_000], "\n", scrub(where, secrets))
        self._exit_renderables.append(message)
        # No animation may start once the app's loop is gone: the widgets still run until the
        # screens are closed, and a tab relabelled then (its count) would start the underline's
        # animation with the animator stopped, which never completes, so whatever waits for
        # animations (the pilot after a key: a crash test hung) would wait forever.
        self.animation_level = "none"
        self._close_messages_no_wait()

    def handle_api_error(self, error: LexiError, *, title: str | None = None, report: bool = True) -> None:
        """Show an API error as a person would want it: what, why, and what next.

        A refused key brings the login screen back; a 429 says when to try again (under every
        reading of the rate-limit headers); anything else is the error's own sentence, with its
        HTTP status and request id. Server text is shown as text, never as markup. The status
        bar's connection state follows the error too, unless the caller has `report`ed it already.
        """
        if report and self.main_screen is not None:
            self.main_screen.refresher.report(error)
        if isinstance(error, InvalidKeyError):
            self.request_login(f"The server refused the key: {error.message}")
            return
        if isinstance(error, RateLimitedError):
            from lexi_tui.core.budget import rate_limited_advice

            self.notify(f"{error.message}. {rate_limited_advice(error)}", title=title or "Rate limited",
                        severity="warning", markup=False)
            return
        self.notify(str(error), title=title or "Request failed", severity="error", timeout=8, markup=False)

    # -- keys and commands ---------------------------------------------------------------

    @property
    def main_screen(self) -> MainScreen | None:
        triage = _triage_class()
        if triage is None:
            return None
        for screen in self.screen_stack:
            if isinstance(screen, triage):
                return screen
        return None

    def command_bindings(self, main: MainScreen) -> list[tuple[str, list[tuple[DOMNode, Binding]]]]:
        """Every key of the triage screen by section, with the node whose action it runs: what
        the help lists and the command palette offers (one list, so the two cannot drift).

        Keys this provider does not have (`check_action` False) are left out; the views are
        named (`MainScreen.relabel`).
        """
        from lexi_tui.ui.widgets.chat_panel import ChatPanel
        from lexi_tui.ui.widgets.json_view import JsonView

        def keys(node: DOMNode, bindings: Iterable[BindingType], relabel: Callable[[Binding], Binding] | None = None,
                 ) -> list[tuple[DOMNode, Binding]]:
            out = []
            for binding in bindings:
                if not isinstance(binding, Binding) or node.check_action(binding.action.split("(")[0], ()) is False:
                    continue
                out.append((node, relabel(binding) if relabel else binding))
            return out

        sections = [("Tasks", keys(main, main.BINDINGS, main.relabel)),
                    ("List", keys(main.table, TaskTable.BINDINGS))]
        if main.capabilities.chat:
            chat = main.chat
            sections.append(("Chat", [(chat, b) for b in ChatPanel.BINDINGS if isinstance(b, Binding)]))
        view = main.detail.json_view
        sections.append(("Metadata", [(view, b) for b in JsonView.BINDINGS if isinstance(b, Binding) and b.id]))
        app_keys = [(node, b) for node, b in keys(self, self.BINDINGS)
                    if b.id != "app.profile" or len(self.settings.profiles) > 1]
        sections.append(("App", app_keys))
        return sections

    def action_help(self) -> None:
        from lexi_tui.ui.screens.help_screen import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        main = self.main_screen
        sections: list[tuple[str, Iterable[Binding]]] = []
        if main is not None:
            sections.extend((title, [binding for _node, binding in found]) for title, found in self.command_bindings(main))
        else:
            sections.append(("App", [b for b in self.BINDINGS if isinstance(b, Binding)]))
        sections.append(("Everywhere", [Binding("ctrl+p", "command_palette", "Command palette: every action by name")]))
        notes = []
        if main is not None:
            notes.append(main.refresher.help_text())  # The plan in force and how calls are spent.
        self.push_screen(HelpScreen(sections, dict(getattr(self, "_keymap", {}) or {}), notes))

    async def action_quit(self) -> None:
        """Quit; with actions still in their undo window, ask what to do with them.

        The windows are paused while the question is open, so "not sent yet" stays true and
        Drop never drops something a timer has sent meanwhile; staying resumes them.
        """
        main = self.main_screen
        if main is None or not main.actions.waiting:
            self.exit()
            return
        from lexi_tui.ui.dialogs.quit_dialog import QuitDialog

        actions = main.actions
        actions.pause_windows()

        def answered(choice: str | None) -> None:
            if choice in ("sent", "dropped"):
                self.exit()
            else:
                actions.resume_windows()

        self.push_screen(QuitDialog(actions.waiting, actions.send_all_now, actions.resend, actions.drop_all), answered)

    def action_switch_profile(self) -> None:
        """`P`: pick another profile (when there is one), then switch to it."""
        from lexi_tui.ui.screens.profile_picker import ProfilePicker

        if len(self.settings.profiles) < 2:
            self.notify("There is only one profile. Add [profiles.NAME] tables to the config to switch.",
                        timeout=5, markup=False)
            return
        if isinstance(self.screen, ProfilePicker):
            return
        if self.main_screen is None:
            self.notify("The list is still loading: switch profiles once it is shown.", timeout=4, markup=False)
            return
        if self.screen is not self.main_screen:  # A dialog may hold typed text: never drop it.
            self.notify("Finish or close this screen first, then press P to switch profiles.", timeout=4,
                        markup=False)
            return

        def chosen(name: str | None) -> None:
            if name and name != self.settings.profile:
                self.switch_profile(name)

        self.push_screen(ProfilePicker(self.settings.profiles, self.settings.profile), chosen)

    def switch_profile(self, name: str) -> bool:
        """Leave the current profile for `name`; False (with a note) when it must wait."""
        profile = next((p for p in self.settings.profiles if p.name == name), None)
        if profile is None:
            self.notify(f"There is no profile named {name!r}.", severity="error", markup=False)
            return False
        main = self.main_screen
        if main is not None and (main.actions.waiting or main.state.inflight):
            self.notify("Actions are still waiting to be sent: press u to undo them or wait a moment, then switch.",
                        title="Not switched", severity="warning", timeout=6, markup=False)
            return False
        if main is not None:
            main.journal.close()  # The profile's lock goes with it: another lexi-tui may open it now.
        while len(self.screen_stack) > 1 and (self.main_screen is not None or self.cached_screen is not None):
            # A popped screen is removed later; its workers (a refresh, reading a task's files)
            # must not outlive the provider they were started for.
            self.workers.cancel_node(self.screen)
            self.pop_screen()
        settings = self.settings
        settings.profile = profile.name
        settings.provider = profile.provider
        settings.base_url = profile.base_url
        settings.ca_bundle = profile.ca_bundle
        settings.api_key = settings.profile_keys.get(profile.name)
        self.location = location(profile.name, profile.base_url)
        self.key_problem = None
        if settings.api_key:
            self._start(settings.api_key)
        else:
            self._resolve_key()
        return True

    def action_toggle_light(self) -> None:
        """ctrl+t: between the configured theme and its light (or dark) counterpart."""
        configured = self.settings.theme if self.settings.theme in self.available_themes else "textual-dark"
        if self.theme != configured:
            self.theme = configured
        else:
            self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    PALETTE_LEAVES_OUT = frozenset({"list.up", "list.down", "list.page_up", "list.page_down"})
    """Keys not offered in the command palette: one row or one page down, run once from a
    palette, is not an action anyone looks for (they are in the help)."""
    PALETTE_TITLES: ClassVar[dict[str, str]] = {
        "chat.approve": "Approve the task Lexi proposed",
        "chat.dismiss": "Dismiss the task Lexi proposed",
    }
    """Palette titles where the footer's short word would be ambiguous out of context."""

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's commands (theme, screenshot…), then every key of the triage screen by
        name, derived from the bindings (`command_bindings`), each with its key as bound now."""
        from functools import partial

        from lexi_tui.ui.keys import format_keys

        main = self.main_screen
        ours = main is not None and screen is main
        for command in super().get_system_commands(screen):
            if not (ours and command.title == "Quit"):  # Ours below: it asks about held actions.
                yield command
        if main is None or not ours:
            return
        keymap: dict[str, str] = dict(getattr(self, "_keymap", {}) or {})
        for _title, found in self.command_bindings(main):
            for node, binding in found:
                if binding.id in self.PALETTE_LEAVES_OUT:
                    continue
                keys = format_keys(keymap.get(binding.id or "", binding.key))
                does = binding.tooltip or binding.description
                title = self.PALETTE_TITLES.get(binding.id or "", binding.description)
                yield SystemCommand(title, f"{does} ({keys})", partial(node.run_action, binding.action))
