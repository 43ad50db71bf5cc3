"""Performance harness for lexi-tui: `python -m benchmarks [--quick] [--json PATH]`.

It measures what a person triaging a big queue feels (cold start, refresh cost, key
latency, idle cost, memory, triage throughput) and sets every timing beside the same
operation on a bare Textual app run in the same session, so the ratios stay comparable
across machines even when the absolute figures do not.
"""
