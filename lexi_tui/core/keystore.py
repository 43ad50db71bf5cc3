"""Where the API key lives: the LEXI_API_KEY environment variable, else the system keyring.

The order copies gh (`GH_TOKEN` first, then the keyring) so that CI jobs and SSH
sessions, which have no keyring, work with an environment variable alone. Unlike gh
there is never a plain-text fallback: when no keyring can be used, the person is told
how to provide one or to use the environment variable instead.

`keyring` is imported only inside the calls, never at module level: importing it costs
~110 ms and choosing a backend ~200 ms more, which must stay off the app's start-up path.
Every keyring call runs in a daemon thread with a time-out, because a locked desktop
keyring can wait for an unlock dialog forever. All functions here block; the UI calls
them from a thread worker.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from lexi_tui.api.text import clean, mask_key

SERVICE = "lexi-tui"
ENV_VAR = "LEXI_API_KEY"

T = TypeVar("T")

_ALTERNATIVES = (
    f"set {ENV_VAR} in the environment (for example from your password manager or a CI "
    "secret), or install and configure a keyring backend such as keyrings.cryptfile "
    "(pip install keyrings.cryptfile, then set "
    "PYTHON_KEYRING_BACKEND=keyrings.cryptfile.cryptfile.CryptFileKeyring)"
)
_NO_PLAINTEXT = "lexi-tui never writes the key to a plain-text file."


class KeyringUnavailable(Exception):
    """The system keyring cannot be used right now; the message says why and what to do.

    `reason` is one of "no_backend" (nothing installed, as on headless machines and over
    SSH), "disabled" (the null backend, which silently stores nothing), "timeout" (no
    answer in time, e.g. a locked keyring waiting for its unlock dialog), "locked" or
    "error" (any other keyring failure). The message is written for a person and is
    safe to show as-is: it never contains the key.
    """

    def __init__(self, message: str, reason: str = "error") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class KeyLookup:
    """The result of looking for a key: the key, where it came from, and any keyring problem.

    `source` is "env", "keyring" or "none". When the keyring could not be asked, `key` is
    None, `source` is "none" and `problem` holds the guidance text to show.
    """

    key: str | None
    source: str  # "env", "keyring" or "none"
    problem: str | None = None

    def __repr__(self) -> str:
        # The key must never reach a log, a traceback or a debug print unmasked.
        shown = None if self.key is None else mask_key(self.key)
        return f"KeyLookup(key={shown!r}, source={self.source!r}, problem={self.problem!r})"

    __str__ = __repr__


def lookup_key(profile: str, timeout: float = 3.0, *, env_var: str = ENV_VAR) -> KeyLookup:
    """Find the key for `profile`: `env_var` first (LEXI_API_KEY, or CHAMELIO_API_KEY for a
    Chamelio profile; stripped, empty means unset), then the keyring entry for the profile.

    Never raises for keyring trouble: a missing, locked or hung keyring comes back as
    `problem` with `key=None`, so the app can show the guidance and ask for a key.
    """
    _check_profile(profile)
    from_env = os.environ.get(env_var, "").strip()
    if from_env:
        return KeyLookup(from_env, "env")
    try:
        key = _call(lambda kr: kr.get_password(SERVICE, profile), timeout, "read the key")
    except KeyringUnavailable as exc:
        return KeyLookup(None, "none", problem=str(exc))
    if isinstance(key, str) and key.strip():
        return KeyLookup(key.strip(), "keyring")
    return KeyLookup(None, "none")


def store_key(profile: str, key: str, timeout: float = 3.0) -> str:
    """Save `key` as the keyring entry for `profile` (replacing any earlier one).

    Returns the backend's human name (e.g. "SecretService Keyring") so the caller can say
    where the key went. Raises KeyringUnavailable when it cannot be stored; nothing is
    written anywhere else. After a time-out the keyring may still complete the write
    later (e.g. once it is unlocked).
    """
    _check_profile(profile)
    if not key or not key.strip():
        raise ValueError("The API key is empty.")

    def store(kr: Any) -> str:
        _refuse_null(kr)
        kr.set_password(SERVICE, profile, key)
        return _backend_name(kr)

    return _call(store, timeout, "store the key", secret=key)


def delete_key(profile: str, timeout: float = 3.0) -> bool:
    """Remove the keyring entry for `profile`.

    Returns True if an entry was deleted, False if there was none. Raises
    KeyringUnavailable when the keyring cannot be asked. LEXI_API_KEY is not touched:
    the caller should warn when it is still set.
    """
    _check_profile(profile)

    def delete(kr: Any) -> bool:
        import keyring.errors

        _refuse_null(kr)
        # Backends signal "no such entry" with PasswordDeleteError, which also means
        # "could not delete": read first so the two cases can be told apart.
        if kr.get_password(SERVICE, profile) is None:
            return False
        try:
            kr.delete_password(SERVICE, profile)
        except keyring.errors.PasswordDeleteError:
            if kr.get_password(SERVICE, profile) is None:
                return False  # Gone in the meantime (another process logged out).
            raise
        return True

    return _call(delete, timeout, "delete the key")


def backend_name(timeout: float = 3.0) -> str:
    """The human name of the keyring that store_key would use.

    Raises KeyringUnavailable when there is none (or only the null backend), so that
    `lexi-tui login` can say so before asking for a key and checking it over the network.
    """

    def probe(kr: Any) -> str:
        import keyring.backends.fail

        if isinstance(kr, keyring.backends.fail.Keyring):
            raise _no_backend()
        _refuse_null(kr)
        return _backend_name(kr)

    return _call(probe, timeout, "find a keyring")


# -- plumbing ---------------------------------------------------------------------


def _check_profile(profile: str) -> None:
    if not isinstance(profile, str) or not profile:
        raise ValueError("A profile name is needed to find its keyring entry.")


def _call(action: Callable[[Any], T], timeout: float, what: str, secret: str | None = None) -> T:
    """Run `action(backend)` in a daemon thread; give up after `timeout` seconds.

    Importing keyring and choosing its backend happen in the thread too, so they are
    covered by the time-out (backend discovery talks to D-Bus and can hang as well).
    A thread that never returns is abandoned; being a daemon it does not block exit.
    """
    outcome: list[T] = []
    failure: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            import keyring

            outcome.append(action(keyring.get_keyring()))
        except BaseException as exc:
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name=f"lexi-keyring ({what})", daemon=True).start()
    if not done.wait(max(0.0, timeout)):
        raise KeyringUnavailable(
            f"The system keyring did not answer within {timeout:g} seconds when asked to {what}. "
            "It may be locked and waiting for its password: look for an unlock prompt on "
            "your desktop, unlock the keyring and try again. Otherwise "
            f"{_ALTERNATIVES}. {_NO_PLAINTEXT}",
            reason="timeout",
        )
    if failure:
        original = failure[0]
        translated = _translate(original, what, secret)
        if translated is original:
            raise original
        # Keep the backend's exception as the cause for debugging, unless it echoes the key.
        leaks = secret is not None and secret in "".join(str(arg) for arg in original.args)
        raise translated from (None if leaks else original)
    return outcome[0]


def _translate(exc: BaseException, what: str, secret: str | None) -> BaseException:
    """Turn whatever the keyring raised into guidance for a person."""
    if isinstance(exc, KeyringUnavailable) or not isinstance(exc, Exception):
        return exc  # Ours already, or KeyboardInterrupt/SystemExit: pass through.
    try:
        import keyring.errors
    except ImportError:  # pragma: no cover - keyring is a hard dependency
        return _no_backend()
    if isinstance(exc, keyring.errors.NoKeyringError):
        return _no_backend()
    detail = clean(str(exc), multiline=False).strip()
    if secret:
        detail = detail.replace(secret, mask_key(secret))  # A backend could echo its input.
    detail = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    detail = detail if len(detail) <= 300 else detail[:297] + "..."
    if isinstance(exc, keyring.errors.KeyringLocked):
        return KeyringUnavailable(
            f"The system keyring is locked, so lexi-tui could not {what} ({detail}). "
            f"Unlock the keyring and try again, or {_ALTERNATIVES}. {_NO_PLAINTEXT}",
            reason="locked",
        )
    return KeyringUnavailable(
        f"The system keyring failed when asked to {what} ({detail}). If it is locked, "
        f"unlock it and try again; otherwise {_ALTERNATIVES}. {_NO_PLAINTEXT}",
        reason="error",
    )


def _no_backend() -> KeyringUnavailable:
    return KeyringUnavailable(
        "No system keyring is available to hold the API key. This is usual on headless "
        "machines and over SSH, where no desktop keyring service is running. To use "
        f"lexi-tui here, {_ALTERNATIVES}. {_NO_PLAINTEXT}",
        reason="no_backend",
    )


def _refuse_null(kr: Any) -> None:
    """The null backend accepts a key and silently forgets it: treat it as no keyring."""
    import keyring.backends.null

    if isinstance(kr, keyring.backends.null.Keyring):
        raise KeyringUnavailable(
            "The keyring is disabled (PYTHON_KEYRING_BACKEND or the keyring config selects "
            f"the null backend, which stores nothing). Choose a real backend, or {_ALTERNATIVES}. "
            f"{_NO_PLAINTEXT}",
            reason="disabled",
        )


def _backend_name(kr: Any) -> str:
    """A backend's display name; for the chainer, the backend that will take the write."""
    chained = getattr(kr, "backends", None)
    if isinstance(chained, (list, tuple)) and chained:
        kr = chained[0]
    return str(getattr(kr, "name", type(kr).__name__))
