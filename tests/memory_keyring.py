"""Keyring backends for tests: an in-memory store, and a few that misbehave on purpose.

Install one with `keyring.set_keyring(...)`; conftest resets the choice after each test.
"""

from __future__ import annotations

import threading

import keyring.errors
from keyring.backend import KeyringBackend


class MemoryKeyring(KeyringBackend):
    """A keyring that keeps entries in a dict, like a desktop keyring that is unlocked."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    @property
    def name(self) -> str:  # type: ignore[override]
        return "Memory Keyring"

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.entries[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("No such password") from None


class HangingKeyring(MemoryKeyring):
    """A locked desktop keyring waiting for an unlock dialog nobody answers.

    Every call blocks until `release()` (called by the fixture at teardown), so the
    abandoned worker threads finish instead of outliving the test.
    """

    priority = -1  # type: ignore[assignment]  # never chosen by keyring's own discovery

    def __init__(self) -> None:
        super().__init__()
        self.released = threading.Event()

    def release(self) -> None:
        self.released.set()

    def get_password(self, service: str, username: str) -> str | None:
        self.released.wait(30)
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self.released.wait(30)
        super().set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        self.released.wait(30)
        super().delete_password(service, username)


class BrokenKeyring(MemoryKeyring):
    """Raises `error` from every call (locked keyrings, D-Bus failures...)."""

    priority = -1  # type: ignore[assignment]  # never chosen by keyring's own discovery

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error

    def delete_password(self, service: str, username: str) -> None:
        raise self.error
