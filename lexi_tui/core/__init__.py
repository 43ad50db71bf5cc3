"""Policy and local state shared by the app and the commands: no Textual, no argparse.

Outcomes of an action (`outcomes`), sending one (`actions`), the audit line (`audit`), bulk runs
(`bulk`), rules and the rules loop (`rules`, `rule_runner`), the refresh budget, the undo journal, the history,
the watch list, the config, the key store, crash reports and the webhook receiver.
"""
