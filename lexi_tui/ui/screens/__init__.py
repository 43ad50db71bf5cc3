"""Full screens besides the triage screen: help, history, login, the profile picker."""
