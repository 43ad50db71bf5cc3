"""The key's home: env var first, then the keyring; guidance instead of a plain-text fallback."""

from __future__ import annotations

import time
from collections.abc import Iterator

import keyring
import keyring.backends.null
import keyring.errors
import pytest

from lexi_tui.api.text import mask_key
from lexi_tui.core import keystore
from lexi_tui.core.keystore import (
    ENV_VAR,
    SERVICE,
    KeyLookup,
    KeyringUnavailable,
    backend_name,
    delete_key,
    lookup_key,
    store_key,
)
from memory_keyring import BrokenKeyring, HangingKeyring, MemoryKeyring

KEY = "wbk_5e1f0c9d8b7a6f5e4d3c2b1a00991a2b"
MASKED = "wbk_…1a2b"


@pytest.fixture
def memory() -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def hanging() -> Iterator[HangingKeyring]:
    backend = HangingKeyring()
    keyring.set_keyring(backend)
    yield backend
    backend.release()  # Let the abandoned worker threads finish.


def test_constants() -> None:
    assert SERVICE == "lexi-tui" and ENV_VAR == "LEXI_API_KEY"
    assert mask_key(KEY) == MASKED


def test_store_lookup_delete_round_trip(memory: MemoryKeyring) -> None:
    assert lookup_key("default") == KeyLookup(None, "none")
    assert store_key("default", KEY) == "Memory Keyring"
    assert memory.entries == {(SERVICE, "default"): KEY}
    assert lookup_key("default") == KeyLookup(KEY, "keyring")
    assert delete_key("default") is True
    assert memory.entries == {}
    assert delete_key("default") is False
    assert lookup_key("default") == KeyLookup(None, "none")


def test_one_entry_per_profile(memory: MemoryKeyring) -> None:
    store_key("default", KEY)
    store_key("staging", "wbk_staging_key_0000ffff")
    assert lookup_key("staging").key == "wbk_staging_key_0000ffff"
    assert delete_key("staging") is True
    assert lookup_key("default").key == KEY
    assert backend_name() == "Memory Keyring"


def test_env_var_takes_precedence(memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    store_key("default", KEY)
    monkeypatch.setenv(ENV_VAR, "  wbk_from_environment_9999\n")
    assert lookup_key("default") == KeyLookup("wbk_from_environment_9999", "env")
    monkeypatch.setenv(ENV_VAR, "   ")  # Empty after stripping counts as unset.
    assert lookup_key("default") == KeyLookup(KEY, "keyring")


def test_env_var_works_without_any_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    # conftest installs the fail backend: the env var alone must be enough (CI, SSH).
    monkeypatch.setenv(ENV_VAR, KEY)
    assert lookup_key("default") == KeyLookup(KEY, "env")


def test_no_backend_is_a_problem_not_an_exception() -> None:
    found = lookup_key("default")
    assert found.key is None and found.source == "none"
    assert found.problem is not None
    assert "LEXI_API_KEY" in found.problem and "keyrings.cryptfile" in found.problem
    assert "SSH" in found.problem and "plain-text" in found.problem


def test_no_backend_raises_guidance_on_store_and_delete() -> None:
    for call in (lambda: store_key("default", KEY), lambda: delete_key("default"), backend_name):
        with pytest.raises(KeyringUnavailable) as caught:
            call()
        assert caught.value.reason == "no_backend"
        assert "LEXI_API_KEY" in str(caught.value) and "keyrings.cryptfile" in str(caught.value)
        assert KEY not in str(caught.value)


def test_null_backend_is_refused_for_writes() -> None:
    keyring.set_keyring(keyring.backends.null.Keyring())
    assert lookup_key("default") == KeyLookup(None, "none")
    with pytest.raises(KeyringUnavailable) as caught:
        store_key("default", KEY)
    assert caught.value.reason == "disabled" and "LEXI_API_KEY" in str(caught.value)


def test_hanging_keyring_times_out_quickly(hanging: HangingKeyring) -> None:
    started = time.monotonic()
    found = lookup_key("default", timeout=0.2)
    assert found.key is None and found.source == "none"
    assert found.problem is not None and "did not answer within 0.2 seconds" in found.problem
    assert "unlock" in found.problem and "LEXI_API_KEY" in found.problem
    for call in (lambda: store_key("default", KEY, timeout=0.2), lambda: delete_key("default", timeout=0.2)):
        with pytest.raises(KeyringUnavailable) as caught:
            call()
        assert caught.value.reason == "timeout"
    assert time.monotonic() - started < 1.5


def test_locked_keyring_says_unlock() -> None:
    keyring.set_keyring(BrokenKeyring(keyring.errors.KeyringLocked("Failed to unlock the collection!")))
    found = lookup_key("default")
    assert found.problem is not None and "locked" in found.problem and "Unlock" in found.problem
    with pytest.raises(KeyringUnavailable) as caught:
        store_key("default", KEY)
    assert caught.value.reason == "locked"


def test_other_keyring_errors_are_reported_with_their_cause() -> None:
    keyring.set_keyring(BrokenKeyring(RuntimeError("D-Bus said no")))
    found = lookup_key("default")
    assert found.problem is not None and "RuntimeError: D-Bus said no" in found.problem
    with pytest.raises(KeyringUnavailable) as caught:
        delete_key("default")
    assert caught.value.reason == "error" and "LEXI_API_KEY" in str(caught.value)


def test_a_backend_echoing_the_key_does_not_leak_it() -> None:
    keyring.set_keyring(BrokenKeyring(keyring.errors.PasswordSetError(f"cannot store {KEY}")))
    with pytest.raises(KeyringUnavailable) as caught:
        store_key("default", KEY)
    assert KEY not in str(caught.value) and MASKED in str(caught.value)
    assert caught.value.__cause__ is None


def test_key_lookup_repr_masks_the_key() -> None:
    found = KeyLookup(KEY, "keyring")
    for text in (repr(found), str(found), f"{found}", repr([found])):
        assert KEY not in text
        assert MASKED in text
    assert repr(KeyLookup(None, "none")) == "KeyLookup(key=None, source='none', problem=None)"


def test_empty_profile_or_key_is_a_programming_error(memory: MemoryKeyring) -> None:
    with pytest.raises(ValueError):
        lookup_key("")
    with pytest.raises(ValueError):
        store_key("default", "  ")
    assert memory.entries == {}


def test_keyring_is_not_imported_by_the_module() -> None:
    assert "keyring" not in vars(keystore)
