"""GET /docs: Swagger UI over /openapi.json, its script and style served from the installed
`swagger-ui-bundle` package, so the page loads nothing from a CDN (FastAPI's default does)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from swagger_ui_bundle import swagger_ui_path

from stash_sense import __version__
from stash_sense.sidecar.errors import ApiError

router = APIRouter(include_in_schema=False)

ASSETS = "/docs/assets"
#: the only files served: a fixed list, never a path taken from the request
FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


@router.get("/docs")
def docs_page() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title=f"Stash Sense sidecar {__version__}",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
    )


@router.get(ASSETS + "/{name}")
def docs_asset(name: str) -> FileResponse:
    media_type = FILES.get(name)
    if media_type is None:
        raise ApiError(404, "no such file")
    return FileResponse(Path(str(swagger_ui_path)) / name, media_type=media_type)
