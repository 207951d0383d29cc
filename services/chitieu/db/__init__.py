"""Database access: connections, the embedded TimescaleDB cluster, migrations."""

from chitieu.db.connect import connect

__all__ = ["connect"]
