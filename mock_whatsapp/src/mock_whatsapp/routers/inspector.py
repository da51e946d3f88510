"""The web inspector: one page at `/`, with its script and styles, served from the package
(no build step, nothing fetched from elsewhere, so it works offline)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from mock_whatsapp.graph_errors import ControlError

router = APIRouter(tags=["inspector"], include_in_schema=False)

PAGE_DIR = Path(__file__).resolve().parent.parent / "inspector"
ASSETS = {
    "inspector.js": "text/javascript",
    "inspector.css": "text/css",
}


@router.get("/")
async def page() -> FileResponse:
    return FileResponse(PAGE_DIR / "index.html", media_type="text/html", headers=_NO_CACHE)


@router.get("/_mock/inspector/{name}")
async def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise ControlError(404, "not_found", f"no inspector asset {name!r}")
    return FileResponse(PAGE_DIR / name, media_type=ASSETS[name], headers=_NO_CACHE)


# The page changes with the mock's version; a stale cached script would talk to a newer API.
_NO_CACHE = {"Cache-Control": "no-cache"}
