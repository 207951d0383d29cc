"""Grafana dashboards, alert rules and provisioning as code; see docs/grafana.md."""
