"""Modal dialogs: confirm, dismiss/reject, approve with a form, bulk runs, add a task, quit."""
