"""What every command shares: the profile's provider and key, and errors turned into exit codes.

The key is the profile's own: the provider's variable (`LEXI_API_KEY` for a Lexi profile,
`CHAMELIO_API_KEY` for a Chamelio one, from `providers.PROVIDERS`), then the keyring entry of
the profile. It is never printed: messages name where it came from and show it masked.

A 429 is read by `lexi_tui.cli.quota`: this minute's limit is waited out (at most twice for
one call), a used-up daily quota stops the command with exit 8 and the time it resets.

Imported only when a command runs (it loads the providers, hence httpx).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from lexi_tui.api import errors
from lexi_tui.cli import quota
from lexi_tui.cli.exit_codes import Exit
from lexi_tui.providers import PROVIDERS, Provider, create_provider

T = TypeVar("T")

MAX_MINUTE_WAITS = 2
"""Waits for this minute's limit before one call gives up (another client shares the key)."""


def err(text: str) -> None:
    """A line on stderr (messages, progress, errors)."""
    print(text, file=sys.stderr, flush=True)


class QuotaExhausted(Exception):
    """The daily quota is used up; `reading` says when it resets."""

    def __init__(self, reading: quota.Reading) -> None:
        super().__init__(quota.describe_daily(reading))
        self.reading = reading


class Session:
    """The provider of one profile for one command, and the policy for its errors.

    Use as `async with Session(profile) as session:`. When there is no usable key, `provider`
    stays None, the message is printed and `code` is AUTH; `call` then returns None at once.
    """

    def __init__(self, profile: Any, *, request_log: Any = None, stop: asyncio.Event | None = None) -> None:
        self.profile = profile
        self.info = PROVIDERS[profile.provider]
        self.request_log = request_log
        self.stop = stop
        self.code = Exit.OK
        self.key_source = "none"
        self.provider: Provider | None = None
        self.waited = 0.0

    async def __aenter__(self) -> Session:
        from lexi_tui.core import keystore

        found = await asyncio.to_thread(keystore.lookup_key, self.profile.name, env_var=self.info.env_var)
        self.key_source = found.source
        if found.key is None:
            problem = f"\n{found.problem}" if found.problem else ""
            err(f"lexi-tui: no API key for profile {self.profile.name!r}. {self.login_hint()}{problem}")
            self.code = Exit.AUTH
            return self
        try:
            self.provider = create_provider(self.profile.provider, found.key, self.profile.base_url,
                                            profile=self.profile.name, ca_bundle=self.profile.ca_bundle)
        except ValueError as exc:
            err(f"lexi-tui: {exc} {self.login_hint()}")
            self.code = Exit.AUTH
            return self
        if self.request_log is not None:
            self.provider.add_listener(self.request_log)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.provider is not None:
            await self.provider.aclose()

    @property
    def capabilities(self) -> Any:
        assert self.provider is not None
        return self.provider.capabilities

    # -- calls ------------------------------------------------------------------------------

    async def call(self, make: Callable[[Provider], Awaitable[T]], *, keep_going: bool = False) -> T | None:
        """`await make(provider)`, waiting out this minute's rate limit. On any other error,
        print it, set `code` and return None. With `keep_going` (a long-running watch), only
        errors that will not go away by themselves set `code` (key, quota)."""
        if self.provider is None:
            return None
        provider = self.provider
        try:
            return await self.with_rate_limit(lambda: make(provider))
        except (QuotaExhausted, errors.LexiError) as exc:
            self.report(exc, keep_going=keep_going)
        return None

    def report(self, error: BaseException, *, keep_going: bool = False) -> None:
        """Print `error` for a person and set `code` (with `keep_going`, only for errors that
        will not go away by themselves: a refused key, a used-up quota)."""
        err(f"lexi-tui: {error if isinstance(error, QuotaExhausted) else self.message(error)}")
        code = self.exit_code(error)
        if code in (Exit.AUTH, Exit.QUOTA) or not keep_going:
            self.code = code

    async def with_rate_limit(self, send: Callable[[], Awaitable[T]]) -> T:
        """`await send()`; a 429 of this minute is waited out (at most `MAX_MINUTE_WAITS`
        times), one of a used-up day raises QuotaExhausted. A 429 is refused before the server
        acts on the request, so sending it again cannot apply anything twice."""
        waits = 0
        while True:
            try:
                return await send()
            except errors.RateLimitedError as exc:
                reading = quota.read_429(exc)
                if reading.daily:
                    raise QuotaExhausted(reading) from exc
                if waits >= MAX_MINUTE_WAITS or (self.stop is not None and self.stop.is_set()):
                    raise errors.RateLimitedError(
                        f"{exc.message}: still refused after waiting {self.waited:.0f} s (another client may "
                        "share this key, or the daily quota is used up where the headers do not say so)",
                        retry_after=exc.retry_after, status=exc.status, code=exc.code,
                        request_id=exc.request_id, rate_limit=exc.rate_limit) from exc
                waits += 1
                await self.pause(reading)

    async def pause(self, reading: quota.Reading) -> None:
        """Wait `reading.wait` seconds (less when `stop` is set), saying so on stderr."""
        err(quota.describe_wait(reading))
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await asyncio.wait_for((self.stop or asyncio.Event()).wait(), reading.wait)
        except TimeoutError:
            pass
        self.waited += loop.time() - started

    def before_write(self) -> quota.Reading | None:
        """From the last response's headers: None to go ahead, or a Reading to wait out
        (minute) or to stop on (daily) before sending a request known to be refused."""
        rate = self.provider.rate_limit if self.provider is not None else None
        if rate is None or rate.remaining is None or rate.remaining > 0:
            return None
        seconds = rate.seconds_until_reset()
        if seconds is None:
            return None
        if seconds > quota.LONG:
            return quota.Reading(True, reset_at=rate.reset_at, remaining=rate.remaining, limit=rate.limit)
        return quota.Reading(False, wait=seconds + quota.MARGIN)

    # -- messages and codes -------------------------------------------------------------------

    def login_hint(self) -> str:
        return (f"Run `lexi-tui login --profile {self.profile.name}` to store a working key, "
                f"or set {self.info.env_var}.")

    def key_origin(self) -> str:
        if self.key_source == "env":
            return self.info.env_var
        return f"the keyring entry of profile {self.profile.name!r}"

    def message(self, error: BaseException) -> str:
        """The error for a person: what, and for a refused key where it came from and what next."""
        if isinstance(error, errors.InvalidKeyError):
            return f"the API key from {self.key_origin()} was refused: {error}. {self.login_hint()}"
        if isinstance(error, errors.PermissionDeniedError):
            return (f"the API key from {self.key_origin()} lacks a permission this needs: {error}. "
                    f"{self.login_hint()}")
        return str(error)

    @staticmethod
    def exit_code(error: BaseException) -> Exit:
        """The exit code an error stands for when it ends a command."""
        if isinstance(error, QuotaExhausted):
            return Exit.QUOTA
        if isinstance(error, (errors.InvalidKeyError, errors.PermissionDeniedError)):
            return Exit.AUTH
        if isinstance(error, errors.InsufficientCreditsError):
            return Exit.NO_CREDITS
        if isinstance(error, errors.TransportError):
            return Exit.UNAVAILABLE
        return Exit.FAILED
