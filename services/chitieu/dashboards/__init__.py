"""Grafana dashboards, alert rules and provisioning as code (issue 7); see docs/grafana.md."""
