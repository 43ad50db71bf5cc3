"""The config file: defaults, the documented format, and errors that name the field."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lexi_tui.core.config import (
    DEFAULT_BASE_URL,
    DEFAULT_CONFIG_TOML,
    NOTIFY_MODES,
    PLAN_LIMITS,
    Config,
    ConfigError,
    PlanLimits,
    Profile,
    config_path,
    data_dir,
    load_config,
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_paths_follow_xdg(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert config_path() == home / "config" / "lexi-tui" / "config.toml"
    assert data_dir() == home / "data" / "lexi-tui"


def test_missing_file_gives_defaults() -> None:
    config = load_config()
    assert config.path is None
    assert config.default_profile == "default"
    assert config.refresh_interval == 15.0
    assert config.confirm_types == ("campaign_start",)
    assert config.keymap == {}
    assert config.theme == "textual-dark"
    assert config.profiles == {"default": Profile("default", DEFAULT_BASE_URL, "lexi")}
    assert config.profile(None) == Profile("default", "https://data.leadlex.com/functions/v1/api-gateway")


def test_default_path_is_read(tmp_path: Path) -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text('theme = "nord"\n', encoding="utf-8")
    config = load_config()
    assert config.theme == "nord"
    assert config.path == path


def test_documented_format(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        default_profile = "staging"
        refresh_interval = 30        # seconds between live refreshes; 0 turns it off
        confirm_types = ["campaign_start", "email_send"]
        theme = "gruvbox"
        [profiles.default]
        base_url = "https://data.leadlex.com/functions/v1/api-gateway"
        provider = "lexi"
        [profiles.staging]
        base_url = "https://staging.example.com/functions/v1/api-gateway/"
        [keymap]
        "task.approve" = "a"         # binding id = keys
        "task.dismiss" = "d,delete"
        """,
    )
    config = load_config(path)
    assert config.path == path
    assert config.refresh_interval == 30.0 and isinstance(config.refresh_interval, float)
    assert config.confirm_types == ("campaign_start", "email_send")
    assert config.theme == "gruvbox"
    assert config.keymap == {"task.approve": "a", "task.dismiss": "d,delete"}
    staging = config.profile(None)
    assert staging == Profile("staging", "https://staging.example.com/functions/v1/api-gateway", "lexi")
    assert config.profile("default").base_url == DEFAULT_BASE_URL


def test_default_profile_always_exists_unless_overridden(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[profiles.work]\n[profiles.default]\nbase_url = "http://127.0.0.1:8787/x"\n'))
    assert config.profile("default").base_url == "http://127.0.0.1:8787/x"
    # A profile without base_url talks to production (a second account, say).
    assert config.profile("work") == Profile("work", DEFAULT_BASE_URL)
    assert load_config(write(tmp_path, "[profiles.x]\n")).profile("default").base_url == DEFAULT_BASE_URL


def test_refresh_zero_turns_live_refresh_off(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "refresh_interval = 0\n")).refresh_interval == 0.0
    assert load_config(write(tmp_path, "refresh_interval = 2.5\n")).refresh_interval == 2.5


def test_default_config_toml_documents_every_field_and_loads_to_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, DEFAULT_CONFIG_TOML))
    defaults = load_config(tmp_path / "absent.toml")
    assert dataclasses.replace(config, path=None) == defaults
    for name in ("default_profile", "refresh_interval", "confirm_types", "theme", "[profiles.", "base_url", "provider",
                 "[keymap]", "plan", "notify", "allow_insecure_http"):
        assert name in DEFAULT_CONFIG_TOML
    # The commented-out examples are valid too once uncommented.
    uncommented = DEFAULT_CONFIG_TOML.replace("# [profiles.staging]", "[profiles.staging]")
    uncommented = uncommented.replace('# base_url = "https://staging', 'base_url = "https://staging')
    uncommented = uncommented.replace('# "task.approve"', '"task.approve"')
    uncommented = uncommented.replace('# plan = "starter"', 'plan = "starter"').replace('# plan = "pro"', 'plan = "pro"')
    for line in ("[profiles.lab]", 'base_url = "http://lab-server', "allow_insecure_http = true"):
        uncommented = uncommented.replace(f"# {line}", line)
    config = load_config(write(tmp_path, uncommented))
    assert "staging" in config.profiles and config.keymap == {"task.approve": "a"}
    assert config.plan == "starter" and config.profile("staging").plan == "pro"
    assert config.profile("lab").allow_insecure_http and config.profile("lab").plan == "starter"


def test_unknown_profile_lists_known_names(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[profiles.staging]\n"))
    with pytest.raises(ConfigError) as caught:
        config.profile("prod")
    message = str(caught.value)
    assert "'prod'" in message and "default, staging" in message and str(config.path) in message


def test_config_is_frozen() -> None:
    config = load_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.theme = "nord"  # type: ignore[misc]
    assert isinstance(config, Config)


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("refresh_interval = -1\n", "refresh_interval", "positive"),
        ("refresh_interval = 0.2\n", "refresh_interval", "at least 1"),
        ('refresh_interval = "15"\n', "refresh_interval", "not a string"),
        ("refresh_interval = true\n", "refresh_interval", "not a boolean"),
        ("refresh_interval = nan\n", "refresh_interval", "positive"),
        ('confirm_types = "campaign_start"\n', "confirm_types", "must be a list"),
        ("confirm_types = [1]\n", "confirm_types[0]", "non-empty string"),
        ("theme = 3\n", "theme", "must be a string"),
        ('theme = ""\n', "theme", "must not be empty"),
        ("default_profile = 1\n", "default_profile", "must be a string"),
        ('default_profile = "nope"\n', "default_profile", "does not exist"),
        ("profiles = 1\n", "profiles", "must be a table"),
        ("[profiles.s]\nbase_url = 5\n", "profiles.s.base_url", "must be a string"),
        ('[profiles.s]\nbase_url = "ftp://x"\n', "profiles.s.base_url", "http:// or https://"),
        ('[profiles.s]\nbase_url = "data.leadlex.com"\n', "profiles.s.base_url", "http:// or https://"),
        ('[profiles.s]\nprovider = ""\n', "profiles.s.provider", "must not be empty"),
        ('[profiles.s]\nbaseurl = "https://x"\n', "profiles.s.baseurl", "not a known profile setting"),
        ('[profiles."a b"]\n', 'profiles."a b"', "not a usable profile name"),
        ('[keymap]\n"task.approve" = 1\n', 'keymap."task.approve"', "comma-separated keys"),
        ('[keymap]\n"task.approve" = ["a"]\n', 'keymap."task.approve"', "not a list"),
        ("keymap = 1\n", "keymap", "must be a table"),
        ("refresh_intervall = 5\n", "refresh_intervall", "not a known setting"),
        ('plan = "Pro"\n', "plan", "must be one of 'starter', 'pro', 'org'"),
        ("plan = 1000\n", "plan", "not a number"),
        ('notify = "loud"\n', "notify", "must be one of 'off', 'bell', 'desktop'"),
        ("notify = true\n", "notify", "not a boolean"),
        ('[profiles.s]\nplan = "gold"\n', "profiles.s.plan", "must be one of"),
        ('[profiles.s]\nprovider = "chamelio"\nplan = "pro"\n', "profiles.s.plan", "LeadLex plan"),
        ('[profiles.s]\nallow_insecure_http = "yes"\n', "profiles.s.allow_insecure_http", "true or false"),
        ('[profiles.s]\nbase_url = "http://10.0.0.5:8787/x"\n', "profiles.s.base_url", "allow_insecure_http = true"),
        ('[profiles.s]\nbase_url = "http://lexi.corp/x"\n', "profiles.s.base_url", "unencrypted"),
    ],
)
def test_wrong_values_name_the_field(tmp_path: Path, text: str, field: str, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {field} "), message
    assert words in message


def test_toml_syntax_error_quotes_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'theme = "nord"\nrefresh_interval = = 3\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message and "not valid TOML" in message
    assert "Line 2: refresh_interval = = 3" in message


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    directory = tmp_path / "dir.toml"
    directory.mkdir()
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(directory)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b'theme = "\xff"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(binary)


def test_importing_config_and_keystore_stays_light() -> None:
    """Start-up path: neither module may import keyring, httpx or Textual."""
    code = (
        "import sys, lexi_tui.core.config, lexi_tui.core.keystore\n"
        "heavy = [m for m in ('keyring', 'httpx', 'textual') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)


def test_plan_is_top_level_or_per_profile_and_the_profiles_wins(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, """\
        plan = "starter"
        [profiles.big]
        plan = "org"
        [profiles.same]
        [profiles.legal]
        provider = "chamelio"
        """))
    assert config.plan == "starter"
    assert config.profile("default").plan == "starter" and config.profile("same").plan == "starter"
    assert config.profile("big").plan == "org" and config.profile("big").plan_limits == PlanLimits(10_000, 200)
    assert config.profile("legal").plan is None  # A LeadLex setting: not for Chamelio.
    unset = load_config(write(tmp_path, "[profiles.x]\n"))
    assert unset.plan is None and unset.profile("x").plan is None and unset.profile("x").plan_limits is None
    assert load_config().profile(None).plan is None


def test_the_plan_table_is_the_documented_one() -> None:
    assert PLAN_LIMITS == {"starter": PlanLimits(daily=100, per_minute=10), "pro": PlanLimits(1_000, 50),
                           "org": PlanLimits(10_000, 200)}


def test_notify_defaults_to_off(tmp_path: Path) -> None:
    assert load_config().notify == "off" and NOTIFY_MODES == ("off", "bell", "desktop")
    assert load_config(write(tmp_path, 'notify = "bell"\n')).notify == "bell"
    assert load_config(write(tmp_path, 'notify = "desktop"\n')).notify == "desktop"


def test_keep_last_list_is_a_boolean_on_by_default(tmp_path: Path) -> None:
    assert load_config().keep_last_list is True
    assert load_config(write(tmp_path, "keep_last_list = false\n")).keep_last_list is False
    with pytest.raises(ConfigError, match="keep_last_list"):
        load_config(write(tmp_path, 'keep_last_list = "no"\n'))


def test_plain_http_needs_allow_insecure_http_except_to_this_machine(tmp_path: Path) -> None:
    for url in ("http://127.0.0.1:8787/x", "http://127.5.0.1/x", "http://localhost:1/x", "http://[::1]:8787/x",
                "https://lexi.corp/x"):
        profile = load_config(write(tmp_path, f'[profiles.s]\nbase_url = "{url}"\n')).profile("s")
        assert not profile.allow_insecure_http
    lab = load_config(write(tmp_path, '[profiles.s]\nbase_url = "http://10.0.0.5/x"\nallow_insecure_http = true\n'))
    assert lab.profile("s").allow_insecure_http and lab.profile("s").base_url == "http://10.0.0.5/x"
