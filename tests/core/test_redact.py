"""One masking rule for every key shape the app knows, and for the key in use whatever its shape."""

from __future__ import annotations

from lexi_tui.api.text import redact, register_secret


def test_every_key_shape_is_masked() -> None:
    text = "lexi wbk_live_0123456789abcdef, chamelio ca_9f8e7d6c5b4a3210, Bearer tok.en-12345678"
    shown = redact(text)
    assert "0123456789abcdef" not in shown and "9f8e7d6c5b4a3210" not in shown and "tok.en-12345678" not in shown
    assert "wbk_…cdef" in shown and "ca_…3210" in shown


def test_a_configured_key_of_any_shape_is_masked() -> None:
    register_secret("corporate-proxy-token-77889900")
    assert "77889900" not in redact("the proxy said: corporate-proxy-token-77889900 is wrong")
    assert "9900" in redact("corporate-proxy-token-77889900")  # The last four, as everywhere.


def test_prose_is_left_alone() -> None:
    assert redact("the ca_fr and wbk_ prefixes") == "the ca_fr and wbk_ prefixes"
