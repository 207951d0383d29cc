from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from fastapi.responses import JSONResponse

from chitieu.api.deps import SessionDep, SettingsDep
from chitieu.pipeline import uploads

router = APIRouter(tags=["uploads"])

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


@router.post("/uploads", status_code=202)
def upload(
    conn: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="xlsx, xls, ods or csv")],
    indicator: Annotated[str | None, Form()] = None,
) -> Any:
    """Archive the spreadsheet by sha256, put it in the inbox (the inbox DAG loads it) and return a
    dry-run preview. A file that cannot be read at all is archived but not queued: 422 with why."""
    content = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:
        raise HTTPException(
            status_code=413,
            detail={"vi": "Tệp quá lớn (tối đa 50 MB)", "en": "file too large (50 MB at most)"},
        )
    if not content:
        raise HTTPException(status_code=422, detail={"vi": "Tệp rỗng", "en": "empty file"})
    result = uploads.accept(
        conn, settings.data_dir, name=file.filename or "upload", content=content, indicator=indicator
    )
    if not result["queued"]:
        return JSONResponse(status_code=422, content=result)
    return result
