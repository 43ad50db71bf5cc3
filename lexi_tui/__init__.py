"""lexi-tui: triage the tasks an AI assistant queues for human approval."""

__version__ = "0.1.0"
