"""Screenshot tooling for the README: not part of the installed package."""
