"""The triage screen: the list, the detail pane or chat, and every key that acts on tasks."""
