"""The user's settings: one TOML file under the platform's config folder.

The file is optional: with no file the app runs against the production API with the
defaults below, so a first run needs nothing but a key. When a file exists it is checked
strictly (unknown settings, wrong types, impossible values are errors naming the field),
because a silently ignored typo such as `refresh_intervall = 5` would leave a person
wondering why their setting has no effect.

Settings beyond the obvious ones (every one optional):

* `plan = "starter" | "pro" | "org"`, at the top level and per profile (the profile's wins;
  `Profile.plan` is None when neither sets it). The LeadLex plan whose limits the refresh
  budget uses when the rate-limit headers do not tell (`PLAN_LIMITS`: Starter 100 calls a day
  and 10 a minute, Pro 1,000 and 50, Org 10,000 and 200; api-docs/leadlex-facts.md). A
  LeadLex setting: a Chamelio profile cannot set it, and the top-level value does not apply
  to Chamelio profiles.
* `allow_insecure_http = true`, per profile: the key may then travel over plain http:// to a
  host that is not this machine (a test server on the LAN). Without it such a `base_url` is
  refused here, and the API client refuses it too: over plain HTTP anyone on the path reads
  the key. http:// to a loopback address (127.0.0.0/8, ::1, localhost) is always allowed.
* `notify = "off" | "bell" | "desktop"` (top level, default "off"): whether the app tells the
  person when new tasks arrive while the terminal is not focused, with the terminal bell or a
  desktop notification.
* `keep_last_list = true | false` (top level, default true): keep each profile's last queue in
  the data folder (`<data dir>/lists`, 0600, never the key) and paint it at the next start
  while the fresh one is fetched. false keeps no task data on disk and starts on an empty list.

This module stays cheap to import (stdlib plus platformdirs): it is on the start-up path,
so it must not pull in httpx, keyring or Textual.
"""

from __future__ import annotations

import ipaddress
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

APP_NAME = "lexi-tui"
DEFAULT_BASE_URL = "https://data.leadlex.com/functions/v1/api-gateway"
"""Production API gateway (kept in step with `lexi_tui.api.lexi.DEFAULT_BASE_URL`,
which is not imported here because that would import httpx at start-up)."""

MIN_REFRESH_INTERVAL = 1.0
"""Shortest live-refresh period accepted: anything faster only burns the rate limit."""

# Profile names become keyring usernames and `--profile` arguments: keep them typeable.
_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_TOP_LEVEL_KEYS = (
    "default_profile", "refresh_interval", "undo_window", "confirm_types", "theme", "plan", "notify", "keep_last_list",
    "profiles",
    "keymap",
    "rules",  # [[rules]] tables are read by lexi_tui.core.rules.
)
_PROFILE_KEYS = ("base_url", "provider", "ca_bundle", "plan", "allow_insecure_http")


@dataclass(frozen=True)
class PlanLimits:
    """A LeadLex plan's limits; both hold at once (api-docs/leadlex-facts.md, "Rate limits")."""

    daily: int
    """Calls per day; the count resets at midnight UTC."""
    per_minute: int


PLAN_LIMITS: dict[str, PlanLimits] = {
    "starter": PlanLimits(daily=100, per_minute=10),
    "pro": PlanLimits(daily=1_000, per_minute=50),
    "org": PlanLimits(daily=10_000, per_minute=200),
}
"""The `plan` values and their limits, for the refresh budget when the headers do not tell."""

NOTIFY_MODES = ("off", "bell", "desktop")
"""The `notify` values: how the app signals new tasks while the terminal is unfocused."""
PROVIDER_BASE_URLS = {"lexi": DEFAULT_BASE_URL, "chamelio": "https://platform.chamelio.ai"}
"""Each provider's production URL: a profile's base_url when it names none."""
_TOML_POSITION = re.compile(r"at line (\d+), column (\d+)")


class ConfigError(Exception):
    """The config file cannot be used as written.

    The message always names the file and what is wrong with it (the field, or the TOML
    line for a syntax error), so it can be shown to a person as-is.
    """


@dataclass(frozen=True)
class Profile:
    """One API account: where to connect; the key lives in the keyring under `name`."""

    name: str
    base_url: str
    provider: str = "lexi"
    ca_bundle: str | None = None
    """A PEM file of CA certificates to trust instead of the system's (corporate proxies)."""
    plan: str | None = None
    """The LeadLex plan ("starter", "pro", "org"): the profile's own, else the top-level one;
    None when neither is set (and always for a Chamelio profile)."""
    allow_insecure_http: bool = False
    """The key may go over plain http:// to a non-loopback host (the client refuses otherwise)."""

    @property
    def plan_limits(self) -> PlanLimits | None:
        """`PLAN_LIMITS[plan]`, or None when no plan is set."""
        return PLAN_LIMITS.get(self.plan) if self.plan is not None else None


def _default_profiles(plan: str | None = None) -> dict[str, Profile]:
    return {"default": Profile("default", DEFAULT_BASE_URL, plan=plan)}


@dataclass(frozen=True)
class Config:
    """Everything the app reads from the config file, with defaults filled in.

    `path` is the file the values were read from, or None when no file existed and the
    built-in defaults are in use.
    """

    profiles: dict[str, Profile]
    default_profile: str = "default"
    refresh_interval: float = 15.0  # seconds, 0 = live refresh off
    undo_window: float = 5.0
    """Seconds an approve or dismiss is held, with an undo key, before it is sent; 0 sends at once."""
    confirm_types: tuple[str, ...] = ("campaign_start",)
    keymap: dict[str, str] = field(default_factory=dict)
    """Binding id -> comma-separated keys, passed to Textual's `App.set_keymap`."""
    theme: str = "textual-dark"
    plan: str | None = None
    """The top-level `plan`: LeadLex profiles without their own use it (see `Profile.plan`)."""
    notify: str = "off"
    """"off", "bell" or "desktop": signal new tasks while the terminal is unfocused."""
    keep_last_list: bool = True
    """Keep each profile's last queue on disk and paint it at the next start."""
    path: Path | None = None

    def profile(self, name: str | None) -> Profile:
        """The profile called `name`, or the default profile when `name` is None.

        Raises ConfigError listing the known names, so a mistyped `--profile` can be
        corrected without opening the file.
        """
        wanted = self.default_profile if name is None else name
        try:
            return self.profiles[wanted]
        except KeyError:
            known = ", ".join(sorted(self.profiles)) or "(none)"
            where = f" in {self.path}" if self.path is not None else ""
            raise ConfigError(f"There is no profile named {wanted!r}{where}; known profiles: {known}.") from None


DEFAULT_CONFIG_TOML = f'''\
# lexi-tui configuration. Every setting is optional; the values shown are the defaults.
# Location: $XDG_CONFIG_HOME/lexi-tui/config.toml (usually ~/.config/lexi-tui/config.toml)
# on Linux, ~/Library/Application Support/lexi-tui/config.toml on macOS,
# %LOCALAPPDATA%\\lexi-tui\\config.toml on Windows.

# The profile used when no other is chosen on the command line.
default_profile = "default"

# Seconds between live refreshes of the task list; 0 turns live refresh off.
# Anything but 0 must be at least {MIN_REFRESH_INTERVAL:g}.
refresh_interval = 15

# Seconds an approve or dismiss waits, with an undo key (u), before it is sent; 0 = at once.
undo_window = 5

# Task types that ask "are you sure?" before they are approved.
confirm_types = ["campaign_start"]

# Colour theme: textual-dark, textual-light, nord, gruvbox, tokyo-night, ...
theme = "textual-dark"

# Your LeadLex plan: "starter" (100 calls a day, 10 a minute), "pro" (1,000 and 50) or
# "org" (10,000 and 200). The refresh budget uses it when the rate-limit headers do not
# say; a profile's own `plan` wins. Unset, the budget assumes nothing beyond the headers.
# plan = "starter"

# New tasks while the terminal is not focused: "off", "bell" (terminal bell) or "desktop"
# (a desktop notification).
notify = "off"

# Keep each profile's last list of tasks (in the data folder, readable only by you, never the
# key) and show it at the next start, marked with its age, while the fresh one is fetched.
keep_last_list = true

# One table per API account; base_url defaults to production. The API key is NOT
# stored here: `lexi-tui login` puts it in the system keyring (one entry per
# profile), or set LEXI_API_KEY in the environment.
[profiles.default]
base_url = "{DEFAULT_BASE_URL}"
provider = "lexi"

# A Chamelio account (approval steps of legal workflows); its key comes from
# `lexi-tui login --profile chamelio` or CHAMELIO_API_KEY.
# [profiles.chamelio]
# provider = "chamelio"
# base_url = "https://platform.chamelio.ai"

# [profiles.staging]
# base_url = "https://staging.example.com/functions/v1/api-gateway"
# ca_bundle = "~/corp-root-ca.pem"   # trust a corporate CA (TLS verification stays on)
# plan = "pro"                       # this account's plan, if not the top-level one

# A test server on another machine over plain HTTP: the key then travels unencrypted, so it
# is refused unless the profile says so (http:// to this machine is always allowed).
# [profiles.lab]
# base_url = "http://lab-server.internal:8787/functions/v1/api-gateway"
# allow_insecure_http = true

# Key bindings: binding id = comma-separated keys (Textual key names).
[keymap]
# "task.approve" = "a"
'''
"""A commented example config that documents every field and loads to the defaults."""


def config_path() -> Path:
    """Where the config file is looked for (honours XDG_CONFIG_HOME on Linux)."""
    # appauthor=False: on Windows, avoid the doubled `lexi-tui\lexi-tui` folder.
    return platformdirs.user_config_path(APP_NAME, appauthor=False) / "config.toml"


DATA_DIR_ENV = "LEXI_TUI_DATA_DIR"
"""Overrides the data folder on every platform (`--demo` points it at a temporary folder)."""


def data_dir() -> Path:
    """Where the app keeps its own data (honours LEXI_TUI_DATA_DIR, then XDG_DATA_HOME on
    Linux). Not created here."""
    import os

    override = os.environ.get(DATA_DIR_ENV, "").strip()
    if override:
        return Path(override)
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def calls_today_path(profile: str) -> Path:
    """The file the refresh engine keeps today's call count of `profile` in (so a restart
    keeps the count: under per-minute headers it is all the app knows of the day)."""
    import re

    return data_dir() / f"calls-today-{re.sub(r'[^A-Za-z0-9_.-]', '_', profile) or 'default'}.json"


def load_config(path: Path | None = None) -> Config:
    """Read and check the config file at `path` (default: `config_path()`).

    A missing file gives the defaults. Anything else that stops the file being used as
    written (unreadable, not UTF-8, bad TOML, unknown settings, wrong types, negative
    intervals) raises ConfigError naming the file and the field or line.
    """
    file = config_path() if path is None else Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        return Config(profiles=_default_profiles())
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read ({exc.strerror or exc}).") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: is not UTF-8 text (bad byte at offset {exc.start}).") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_syntax_message(file, text, exc)) from exc
    return _build(data, file)


def _syntax_message(file: Path, text: str, exc: tomllib.TOMLDecodeError) -> str:
    """Say where the TOML is broken, quoting the line, since tomllib only gives a position."""
    message = str(exc)
    match = _TOML_POSITION.search(message)
    if not match:
        return f"{file}: not valid TOML: {message}."
    line_no = int(match.group(1))
    lines = text.splitlines()
    line = lines[line_no - 1] if 0 < line_no <= len(lines) else ""
    shown = line.strip()
    if len(shown) > 120:
        shown = shown[:117] + "..."
    # The line is shown back to the person who wrote it; escape anything unprintable.
    shown = shown.encode("unicode_escape").decode("ascii") if not shown.isprintable() else shown
    quoted = f": {shown}" if shown else ""
    return f"{file}: not valid TOML: {message}. Line {line_no}{quoted}"


def _build(data: dict[str, Any], file: Path) -> Config:
    def fail(name: str, problem: str) -> ConfigError:
        return ConfigError(f"{file}: {name} {problem}.")

    unknown = sorted(set(data) - set(_TOP_LEVEL_KEYS))
    if unknown:
        raise fail(
            _names(unknown),
            f"{'is not a known setting' if len(unknown) == 1 else 'are not known settings'} "
            f"(known: {', '.join(_TOP_LEVEL_KEYS)})",
        )

    default_profile = _string(data, "default_profile", "default", fail)
    theme = _string(data, "theme", "textual-dark", fail)
    plan = _choice(data, "plan", tuple(PLAN_LIMITS), fail) if "plan" in data else None
    notify = _choice(data, "notify", NOTIFY_MODES, fail) if "notify" in data else "off"
    keep_last_list = data.get("keep_last_list", True)
    if not isinstance(keep_last_list, bool):
        raise fail("keep_last_list", f"must be true or false, not {_kind(keep_last_list)}")

    refresh_interval = data.get("refresh_interval", 15.0)
    if isinstance(refresh_interval, bool) or not isinstance(refresh_interval, (int, float)):
        raise fail("refresh_interval", f"must be a number of seconds, not {_kind(refresh_interval)}")
    refresh_interval = float(refresh_interval)
    if not math.isfinite(refresh_interval) or refresh_interval < 0:
        raise fail("refresh_interval", "must be 0 (live refresh off) or a positive number of seconds")
    if 0 < refresh_interval < MIN_REFRESH_INTERVAL:
        raise fail(
            "refresh_interval",
            f"must be 0 (off) or at least {MIN_REFRESH_INTERVAL:g} second; faster refreshes only exhaust the rate limit",
        )

    undo_window = data.get("undo_window", 5.0)
    if isinstance(undo_window, bool) or not isinstance(undo_window, (int, float)):
        raise fail("undo_window", f"must be a number of seconds, not {_kind(undo_window)}")
    undo_window = float(undo_window)
    if not math.isfinite(undo_window) or not 0 <= undo_window <= 60:
        raise fail("undo_window", "must be between 0 (send at once) and 60 seconds")

    confirm_raw = data.get("confirm_types", ["campaign_start"])
    if not isinstance(confirm_raw, list):
        raise fail("confirm_types", f"must be a list of task types, not {_kind(confirm_raw)}")
    for index, item in enumerate(confirm_raw):
        if not isinstance(item, str) or not item:
            raise fail(f"confirm_types[{index}]", f"must be a non-empty string, not {_kind(item)}")
    confirm_types = tuple(confirm_raw)

    profiles = _default_profiles(plan)
    profiles_raw = data.get("profiles", {})
    if not isinstance(profiles_raw, dict):
        raise fail("profiles", f"must be a table of [profiles.NAME] tables, not {_kind(profiles_raw)}")
    for name, table in profiles_raw.items():
        where = f"profiles.{_key(name)}"
        if not _PROFILE_NAME.fullmatch(name):
            raise fail(
                where,
                "is not a usable profile name (use up to 64 letters, digits, '-', '_' or '.', "
                "starting with a letter or digit)",
            )
        if not isinstance(table, dict):
            raise fail(where, f"must be a table, not {_kind(table)}")
        unknown = sorted(set(table) - set(_PROFILE_KEYS))
        if unknown:
            raise fail(
                f"{where}.{_key(unknown[0])}",
                f"is not a known profile setting (known: {', '.join(_PROFILE_KEYS)})",
            )
        provider = _string(table, "provider", "lexi", fail, prefix=where)
        if provider not in PROVIDER_BASE_URLS:
            raise fail(f"{where}.provider", f"must be one of {', '.join(map(repr, PROVIDER_BASE_URLS))}, not {provider!r}")
        base_url = _string(table, "base_url", PROVIDER_BASE_URLS[provider], fail, prefix=where)
        _check_url(base_url, f"{where}.base_url", fail)
        ca_bundle = _string(table, "ca_bundle", "-", fail, prefix=where) if "ca_bundle" in table else None
        if ca_bundle is not None and not Path(ca_bundle).expanduser().is_file():
            raise fail(f"{where}.ca_bundle", f"is not a readable file: {ca_bundle}")
        insecure = table.get("allow_insecure_http", False)
        if not isinstance(insecure, bool):
            raise fail(f"{where}.allow_insecure_http", f"must be true or false, not {_kind(insecure)}")
        if not insecure and _plain_http_elsewhere(base_url):
            raise fail(
                f"{where}.base_url",
                "is plain http:// to another machine, so the API key would travel unencrypted; use https://, "
                "or set allow_insecure_http = true in this profile if that is really meant",
            )
        own_plan = _choice(table, "plan", tuple(PLAN_LIMITS), fail, prefix=where) if "plan" in table else None
        if own_plan is not None and provider != "lexi":
            raise fail(f"{where}.plan", f"is a LeadLex plan, and this profile's provider is {provider!r}")
        profiles[name] = Profile(
            name=name,
            base_url=base_url.rstrip("/"),
            provider=provider,
            ca_bundle=str(Path(ca_bundle).expanduser()) if ca_bundle else None,
            plan=(own_plan or plan) if provider == "lexi" else None,
            allow_insecure_http=insecure,
        )

    if default_profile not in profiles:
        raise fail(
            "default_profile",
            f"names a profile that does not exist ({default_profile!r}; known: {', '.join(sorted(profiles))})",
        )

    keymap_raw = data.get("keymap", {})
    if not isinstance(keymap_raw, dict):
        raise fail("keymap", f"must be a table of binding id = keys, not {_kind(keymap_raw)}")
    keymap: dict[str, str] = {}
    for binding_id, keys in keymap_raw.items():
        if not isinstance(keys, str) or not keys.strip():
            raise fail(
                f"keymap.{_key(binding_id)}",
                f'must be a string of comma-separated keys such as "a,ctrl+a", not {_kind(keys)}',
            )
        keymap[binding_id] = keys

    return Config(
        profiles=profiles,
        default_profile=default_profile,
        refresh_interval=refresh_interval,
        undo_window=undo_window,
        confirm_types=confirm_types,
        keymap=keymap,
        theme=theme,
        plan=plan,
        notify=notify,
        keep_last_list=keep_last_list,
        path=file,
    )


def _string(table: dict[str, Any], name: str, default: str, fail: Any, prefix: str = "") -> str:
    value = table.get(name, default)
    full = f"{prefix}.{name}" if prefix else name
    if not isinstance(value, str):
        raise fail(full, f"must be a string, not {_kind(value)}")
    if not value.strip():
        raise fail(full, "must not be empty")
    return value.strip()


def _choice(table: dict[str, Any], name: str, allowed: tuple[str, ...], fail: Any, prefix: str = "") -> str:
    """A string setting that must be one of `allowed` (case as written: values are lower case)."""
    full = f"{prefix}.{name}" if prefix else name
    value = table.get(name)
    if not isinstance(value, str) or value not in allowed:
        raise fail(full, f"must be one of {', '.join(map(repr, allowed))}, not {_kind(value)}")
    return value


def _plain_http_elsewhere(url: str) -> bool:
    """Whether `url` is http:// to a host that is not a loopback address."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        return False
    host = (parts.hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # A name: it may resolve anywhere.


def _check_url(url: str, name: str, fail: Any) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise fail(name, f"must be an http:// or https:// URL, not {url!r}")


def _kind(value: object) -> str:
    """Name a TOML value's type the way the file's author would."""
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value!r})" if value else "an empty string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__} ({value})"  # dates and times


def _key(name: str) -> str:
    """A TOML key as it would be written in the file: quoted when it is not bare."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else f'"{name}"'


def _names(names: list[str]) -> str:
    return ", ".join(_key(name) for name in names)
