"""`make screenshots` (python -m tools.screenshots.screenshots OUTDIR) writes every README picture."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from tools.screenshots import screenshots

EXPECTED_WORDS: dict[str, tuple[str, ...]] = {
    "main-wide.svg": ("Pending 6", "prospect_search", "Details", "default @ data.leadlex.com", "online"),
    "main-80x24.svg": ("Pending 6", "Details", "20 minutes ago"),
    "detail.svg": ("contact_update", '"owner"', "Dana Ortiz"),
    "dismiss.svg": ("Dismiss task", "not_relevant", "Cancel"),
    "chat.svg": ("Chat with Lexi", "Needs approval", "Pending 7"),
    "help.svg": ("Keys", "task.approve"),
    "light.svg": ("Pending 6", "Details"),
    "login.svg": ("Sign in to Lexi", "https://data.leadlex.com/functions/v1/api-gateway"),
    "chamelio-detail.svg": ("Pending 4", "In Progress", "Step Legal approval", "Files NDA Adventure Works", "d Reject"),
    "chamelio-approve.svg": ("Approve task", "Term (months)", "one of: Mutual, One-way, Custom", "Files:"),
    "bulk.svg": ("◆ 3 marked", "Approve 3 marked tasks?", "2 prospect_search, 1 campaign_start",
                 "real people will be"),
    "history.svg": ("History: every action sent", "2026-11-23 12:00:03  dismiss", "bulk", "reason: manual_execution",
                    "request req_000000000000000000000004"),
}
KEY_TEXT = re.compile(r"\b(?:wbk|ca)_[A-Za-z0-9_]{4,}")
"""An API key (the login placeholder "wbk_…" and masked keys are not keys)."""


def screen_text(svg: str) -> str:
    """The characters on screen, as one string (Rich writes spaces as no-break spaces)."""
    root = ElementTree.fromstring(svg)
    cells = root.iter("{http://www.w3.org/2000/svg}text")
    return "".join("".join(cell.itertext()) for cell in cells).replace("\xa0", " ")


@pytest.mark.slow
def test_screenshots_are_written_and_show_the_screens(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outdir = tmp_path / "shots"  # Created by the script.
    assert screenshots.main([str(outdir)]) == 0
    written = sorted(p.name for p in outdir.iterdir())
    assert written == sorted(EXPECTED_WORDS)
    assert capsys.readouterr().out.split() == [str(outdir / s.name) for s in screenshots.SHOTS]
    texts: dict[str, str] = {}
    for name, words in EXPECTED_WORDS.items():
        svg = (outdir / name).read_text(encoding="utf-8")
        assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>"), name
        text = screen_text(svg)  # Also proves the file is well-formed XML.
        texts[name] = text
        for word in words:
            assert word in text, f"{name} does not show {word!r}"
        assert screenshots.SCREENSHOT_KEY not in svg and screenshots.chamelio_shots.KEY not in svg
        assert not KEY_TEXT.search(text), f"{name} shows key text: {KEY_TEXT.search(text).group()!r}"
    # The light theme is a different picture of the same screen.
    assert texts["light.svg"] == texts["main-wide.svg"]
    assert (outdir / "light.svg").read_text() != (outdir / "main-wide.svg").read_text()


def test_usage_without_an_output_directory(capsys: pytest.CaptureFixture[str]) -> None:
    assert screenshots.main([]) == 2
    assert "usage" in capsys.readouterr().err
