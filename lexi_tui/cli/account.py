"""The shell commands `lexi-tui login` and `lexi-tui logout`.

Login checks a key against the API before storing it, so a mistyped or revoked key is
refused at the prompt rather than discovered later as an empty, erroring app. A key is
only ever stored in the system keyring (see `keystore`); when there is none, login says
how to use LEXI_API_KEY instead and stores nothing. The key is never printed: output
shows it only through `mask_key`.

Exit codes are the table's (`lexi_tui.cli.exit_codes`): 0 ok, 2 usage (no key, or one that
cannot be a key), 3 the key was refused, 4 the key could not be checked (a server error), 8 the
host could not be reached, 11 keyring unavailable, 130 interrupted at the prompt.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
from typing import TextIO
from urllib.parse import urlsplit

from lexi_tui.api.errors import InvalidKeyError, LexiError, PermissionDeniedError, TransportError
from lexi_tui.api.text import mask_key
from lexi_tui.cli.exit_codes import Exit
from lexi_tui.core import keystore
from lexi_tui.core.config import Profile
from lexi_tui.core.keystore import KeyringUnavailable

EXIT_OK = Exit.OK
EXIT_USAGE = Exit.USAGE
EXIT_REFUSED = Exit.AUTH
EXIT_FAILED = Exit.FAILED
EXIT_UNAVAILABLE = Exit.UNAVAILABLE
EXIT_KEYRING = Exit.KEYRING
EXIT_INTERRUPTED = Exit.INTERRUPTED


def login_command(
    profile: Profile,
    *,
    key: str | None = None,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Check a key against the profile's API and store it in the keyring.

    With `key` None the key is read from `stdin`: with a hidden prompt when it is a
    terminal, else as one line (for scripts: `echo "$KEY" | lexi-tui login`). The key is
    stored only after the API accepted it.
    """
    stdin = sys.stdin if stdin is None else stdin
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    host = _host(profile.base_url)

    # Find out first whether the key could be kept at all, before asking for it and
    # spending a network round trip on it (a headless machine has no keyring).
    try:
        keystore.backend_name()
    except KeyringUnavailable as exc:
        print(f"Cannot log in: {exc}", file=err)
        return EXIT_KEYRING

    try:
        if key is None:
            key = _read_key(profile, host, stdin, err)
        key = key.strip()
        if not key:
            print(
                "No API key was given. Paste it at the prompt, or pipe it in: "
                'echo "$KEY" | lexi-tui login',
                file=err,
            )
            return EXIT_USAGE
        from lexi_tui.providers import info

        # Each provider checks a key its own way (Lexi lists tasks; Chamelio reads task 0).
        asyncio.run(info(profile.provider).check_key(key, profile.base_url, ca_bundle=profile.ca_bundle))
    except KeyboardInterrupt:
        print("\nCancelled; nothing was stored.", file=err)
        return EXIT_INTERRUPTED
    except ValueError:
        print(
            "That does not look like an API key: it contains spaces or characters a key "
            "cannot have. Nothing was stored.",
            file=err,
        )
        return EXIT_USAGE
    except InvalidKeyError as exc:
        print(
            f"That key was refused by {host} ({exc.code}). Check that {mask_key(key)} was "
            "copied in full and has not been revoked. Nothing was stored.",
            file=err,
        )
        return EXIT_REFUSED
    except PermissionDeniedError as exc:
        print(
            f"{host} accepted {mask_key(key)} but the key lacks the lexi permission "
            f"({exc.code}). Give it the lexi permission, or create a key that has it. "
            "Nothing was stored.",
            file=err,
        )
        return EXIT_REFUSED
    except TransportError as exc:
        print(f"Could not reach {host} to check the key: {exc}. Nothing was stored.", file=err)
        return EXIT_UNAVAILABLE
    except LexiError as exc:
        print(f"Could not check the key with {host}: {exc}. Nothing was stored.", file=err)
        return EXIT_FAILED

    try:
        backend = keystore.store_key(profile.name, key)
    except KeyringUnavailable as exc:
        print(f"The key works, but it could not be stored: {exc}", file=err)
        return EXIT_KEYRING
    print(
        f"Logged in to {host} (profile {profile.name}) with key {mask_key(key)}; stored in {backend}.",
        file=out,
    )
    env_var = _env_var(profile)
    from_env = os.environ.get(env_var, "").strip()
    if from_env and from_env != key:
        print(
            f"Note: {env_var} is set in this environment ({mask_key(from_env)}) and "
            "takes precedence over the stored key; unset it to use the key just stored.",
            file=err,
        )
    return EXIT_OK


def logout_command(
    profile: Profile,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Delete the profile's key from the keyring and say what happened.

    The profile's saved lists (the last-known queue painted at start, `core.list_cache`) go
    too, whatever the keyring says: logging out leaves no task of the account on disk.
    Warns when the profile's key variable (LEXI_API_KEY, CHAMELIO_API_KEY) is still set,
    since the app would go on using it.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    _forget_lists(profile, out, err)
    try:
        backend = keystore.backend_name()
        deleted = keystore.delete_key(profile.name)
    except KeyringUnavailable as exc:
        print(f"Cannot log out: {exc}", file=err)
        _warn_env_still_set(profile, err)
        return EXIT_KEYRING
    if deleted:
        print(f"Removed the key for profile {profile.name} from {backend}.", file=out)
    else:
        print(f"No key was stored for profile {profile.name} in {backend}.", file=out)
    _warn_env_still_set(profile, err)
    return EXIT_OK


def _forget_lists(profile: Profile, out: TextIO, err: TextIO) -> None:
    from lexi_tui.core import list_cache

    try:
        removed = list_cache.forget_profile(profile.name)
    except (OSError, ValueError) as exc:
        print(f"The saved lists of profile {profile.name} could not be removed: {exc}", file=err)
        return
    if removed:
        print(f"Removed the saved list{'s' if removed > 1 else ''} of profile {profile.name}.", file=out)


def _env_var(profile: Profile) -> str:
    """The key variable of the profile's provider (LEXI_API_KEY, CHAMELIO_API_KEY)."""
    from lexi_tui.providers import PROVIDERS

    found = PROVIDERS.get(profile.provider)
    return found.env_var if found is not None else keystore.ENV_VAR


def _warn_env_still_set(profile: Profile, err: TextIO) -> None:
    env_var = _env_var(profile)
    from_env = os.environ.get(env_var, "").strip()
    if from_env:
        print(
            f"Warning: {env_var} is still set in this environment ({mask_key(from_env)}); "
            "lexi-tui will keep using that key until you unset it.",
            file=err,
        )


def _read_key(profile: Profile, host: str, stdin: TextIO, err: TextIO) -> str:
    """A hidden prompt on a terminal; otherwise one line from stdin (scripts and pipes)."""
    isatty = getattr(stdin, "isatty", None)
    if callable(isatty) and isatty():
        try:
            return getpass.getpass(f"API key for {host} (profile {profile.name}): ", stream=err)
        except EOFError:
            return ""
    return stdin.readline()


def _host(base_url: str) -> str:
    """The host (and port) to name in messages; any user:password@ part is left out."""
    netloc = urlsplit(base_url).netloc.rpartition("@")[2]
    return netloc or base_url
