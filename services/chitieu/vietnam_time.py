"""Vietnam's civil time, defined once: deadlines, report dates and dashboards are read in it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

# Vietnam has kept UTC+7 without daylight saving since 1975; the IANA name is still used (not a fixed
# offset) so PostgreSQL, Grafana and Airflow, which each take a zone name, agree with Python.
TZ_NAME = "Asia/Ho_Chi_Minh"
TZ = ZoneInfo(TZ_NAME)
