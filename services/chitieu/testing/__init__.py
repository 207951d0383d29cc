"""Test doubles that are real servers: a Grafana that refuses what the real one refuses."""
