"""Command-line entry point (placeholder until the app lands)."""
