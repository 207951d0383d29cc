"""Upload jobs and the background worker that loads large uploads (helper A fills in)."""

from __future__ import annotations

from typing import Any


class UploadWorker:
    """Loads queued upload jobs in the background; resumes unfinished jobs at start."""

    def __init__(self, app_state: Any) -> None:
        self.state = app_state

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
