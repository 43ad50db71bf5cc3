"""Widgets of the app: the task list, the detail pane, the status bar, the footer, the chat."""
