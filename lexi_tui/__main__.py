"""`python -m lexi_tui`: the same as the `lexi-tui` console script."""

from lexi_tui.cli.main import entry

entry()
