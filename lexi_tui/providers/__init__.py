"""Providers: one interface over each approval system the app can triage.

The screens ask a provider what it can do (`Capabilities`) instead of checking its name or
probing for methods, so a second system (Chamelio) is a second implementation, not a branch
in every screen. Every provider is also a `lexi_tui.core.actions.ActionTarget`: bulk runs, the
rule runner and a single key press send through it the same way.
What differs before a provider exists (the login screen's title, the key's environment
variable, how a key is checked) is in `PROVIDERS`, looked up by the profile's `provider`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lexi_tui.providers.capabilities import CHAMELIO_CAPABILITIES, LEXI_CAPABILITIES, Capabilities

if TYPE_CHECKING:
    from lexi_tui.providers.base import Provider, WatchingProvider
    from lexi_tui.providers.lexi import LexiProvider

__all__ = ["Capabilities", "Provider", "WatchingProvider", "LexiProvider", "ProviderInfo", "PROVIDERS",
           "create_provider", "info"]

KeyCheck = Callable[..., Awaitable[None]]
"""`check(key, base_url, ca_bundle=..., transport=...)`: returns when the key is accepted,
raises LexiError."""


@dataclass(frozen=True)
class ProviderInfo:
    """What the login screen and key lookup need to know about a provider, before connecting."""

    title: str
    env_var: str
    key_hint: str
    default_base_url: str
    check_key: KeyCheck
    capabilities: Capabilities
    """What it can do (views, reasons, words), known before a client exists."""


async def _check_lexi(key: str, base_url: str, *, ca_bundle: str | None = None, transport: object = None) -> None:
    from lexi_tui.providers.lexi import check_key

    await check_key(key, base_url, ca_bundle=ca_bundle, transport=transport)


async def _check_chamelio(key: str, base_url: str, *, ca_bundle: str | None = None,
                          transport: object = None) -> None:
    from lexi_tui.providers.chamelio import check_key

    await check_key(key, base_url, ca_bundle=ca_bundle, transport=transport)


PROVIDERS: dict[str, ProviderInfo] = {
    "lexi": ProviderInfo("Lexi", "LEXI_API_KEY", "wbk_…", "https://data.leadlex.com/functions/v1/api-gateway",
                         _check_lexi, LEXI_CAPABILITIES),
    "chamelio": ProviderInfo("Chamelio", "CHAMELIO_API_KEY", "ca_…", "https://platform.chamelio.ai",
                             _check_chamelio, CHAMELIO_CAPABILITIES),
}


def __getattr__(name: str) -> Any:
    """`LexiProvider`, `Provider` and `WatchingProvider` on first use: importing the package (as
    the first frame does, before Textual) must not load httpx or the rate-limit parser."""
    if name == "LexiProvider":
        from lexi_tui.providers.lexi import LexiProvider

        return LexiProvider
    if name in ("Provider", "WatchingProvider"):
        from lexi_tui.providers import base

        return getattr(base, name)
    raise AttributeError(f"module 'lexi_tui.providers' has no attribute {name!r}")


def info(kind: str) -> ProviderInfo:
    """The `ProviderInfo` of a profile's provider; ValueError for an unknown one."""
    try:
        return PROVIDERS[kind]
    except KeyError:
        raise ValueError(f"Unknown provider {kind!r}: use 'lexi' or 'chamelio'") from None


def create_provider(kind: str, api_key: str, base_url: str, *, profile: str = "default",
                    **options: object) -> Provider:
    """The provider a profile names (`provider = "lexi"` or `"chamelio"` in the config).

    `profile` names the Chamelio watch list; Lexi lists by status and does not need it.
    """
    if kind == "lexi":
        from lexi_tui.providers.lexi import LexiProvider

        return LexiProvider(api_key, base_url, **options)
    if kind == "chamelio":
        from lexi_tui.providers.chamelio import ChamelioProvider

        return ChamelioProvider(api_key, base_url, profile=profile, **options)
    raise ValueError(f"Unknown provider {kind!r}: use 'lexi' or 'chamelio'")
