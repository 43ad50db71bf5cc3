"""Suite-wide isolation: no test touches the real home, config, data or keyring.

Every test gets fresh XDG config/data folders and the keyring's `fail` backend (what a
headless CI box or SSH server has), unless it installs a backend of its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    for name in ("config", "data", "cache", "state"):
        (home / name).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.delenv("LEXI_API_KEY", raising=False)
    monkeypatch.delenv("COLORTERM", raising=False)
    try:
        import keyring.core

        keyring.core._keyring_backend = None  # Forget a backend chosen by an earlier test.
    except ImportError:  # pragma: no cover - keyring is a hard dependency
        pass
