"""Alerts with a lifecycle (rules -> findings -> alerts -> outbox -> apprise). See docs/alerts.md."""
