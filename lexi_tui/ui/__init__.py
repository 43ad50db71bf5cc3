"""The Textual app: `app.py`, the triage screen (`main/`), widgets, dialogs and other screens."""
