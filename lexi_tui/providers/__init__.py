"""Providers: one interface over each approval system the app can triage.

The screens ask a provider what it can do (`Capabilities`) instead of checking its name,
so a second system (Chamelio) is a second implementation, not a branch in every screen.
"""

from lexi_tui.providers.base import Capabilities, Provider
from lexi_tui.providers.lexi import LexiProvider

__all__ = ["Capabilities", "Provider", "LexiProvider", "create_provider"]


def create_provider(kind: str, api_key: str, base_url: str, **options: object) -> Provider:
    """The provider a profile names (`provider = "lexi"` or `"chamelio"` in the config)."""
    if kind == "lexi":
        return LexiProvider(api_key, base_url, **options)  # type: ignore[arg-type]
    if kind == "chamelio":
        from lexi_tui.providers.chamelio import ChamelioProvider

        return ChamelioProvider(api_key, base_url, **options)  # type: ignore[arg-type]
    raise ValueError(f"Unknown provider {kind!r}: use 'lexi' or 'chamelio'")
