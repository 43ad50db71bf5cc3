"""The command line: `lexi-tui` (the app), its subcommands, login/logout, webhook-listen, the demo.

Kept empty so that importing a submodule costs nothing more; the entry point is
`lexi_tui.cli.main:entry`.
"""
