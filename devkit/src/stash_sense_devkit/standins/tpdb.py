"""A local ThePornDB stand-in: its REST performer endpoints (Bearer token) over a folder of faces.

Shaped after ThePornDB's published API documentation (https://api.theporndb.net/docs):
`GET /performers?page=&per_page=` answers `{"data": [...], "links": {...}, "meta": {"current_page",
"from", "last_page", "per_page", "to", "total"}}`, `GET /performers/{id}` answers `{"data": {...}}`.
Each performer links to the stash-box stand-in's performer page for the same name (as
`https://stashdb.org/performers/<uuid>`), so builds can link the two sources by explicit ids.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from stash_sense_devkit.standins.catalog import Catalog, CatalogPerformer, iso, stable_id
from stash_sense_devkit.standins.faults import Counters, FaultOptions, fault_middleware

MAX_PER_PAGE = 100


@dataclass
class TpdbOptions:
    faces_dir: Path | None = None
    replicate_to: int | None = None
    images_per_performer: int | None = None


def tpdb_performer_json(p: CatalogPerformer, index: int, base: str) -> dict[str, Any]:
    slug = p.name.lower().replace(" ", "-")
    posters = [
        {"id": index * 1000 + k, "url": base + img.route, "size": 250, "order": k}
        for k, img in enumerate(p.images)
    ]
    return {
        "id": stable_id("tpdb-performer", p.name),
        "_id": index + 1,
        "slug": slug,
        "name": p.name,
        "disambiguation": p.disambiguation,
        "bio": None,
        "aliases": list(p.aliases),
        "extras": {"gender": p.gender, "birthday": p.birth_date, "nationality": p.country},
        "image": posters[0]["url"] if posters else None,
        "thumbnail": posters[0]["url"] if posters else None,
        "face": None,
        "posters": posters,
        "links": {"StashDB": f"https://stashdb.org/performers/{p.id}"},
        "created_at": iso(p.created),
        "updated_at": iso(p.updated),
    }


def tpdb_app(options: TpdbOptions | None = None, faults: FaultOptions | None = None) -> Starlette:
    options = options or TpdbOptions()
    faults = faults or FaultOptions()
    catalog = Catalog.from_faces_dir(
        options.faces_dir,
        replicate_to=options.replicate_to,
        images_per_performer=options.images_per_performer,
    )
    counters = Counters()
    index_of = {p.id: i for i, p in enumerate(catalog.performers)}

    async def performers(request: Request) -> Response:
        try:
            page = max(1, int(request.query_params.get("page", 1)))
            per_page = min(MAX_PER_PAGE, max(1, int(request.query_params.get("per_page", 25))))
        except ValueError:
            return JSONResponse({"message": "page and per_page must be integers"}, 422)
        order = request.query_params.get("order_by", "created_at")
        key = {"updated_at": "updated", "name": "name"}.get(order, "created")
        live = catalog.live()
        live.sort(key=lambda p: (getattr(p, key), p.id))
        if request.query_params.get("direction", "asc").lower() == "desc":
            live.reverse()
        base = str(request.base_url).rstrip("/")
        chunk = live[(page - 1) * per_page : page * per_page]
        total = len(live)
        return JSONResponse(
            {
                "data": [tpdb_performer_json(p, index_of[p.id], base) for p in chunk],
                "links": {},
                "meta": {
                    "current_page": page,
                    "from": (page - 1) * per_page + 1 if chunk else None,
                    "last_page": max(1, math.ceil(total / per_page)),
                    "per_page": per_page,
                    "to": (page - 1) * per_page + len(chunk) if chunk else None,
                    "total": total,
                },
            }
        )

    async def performer(request: Request) -> Response:
        wanted = request.path_params["performer_id"]
        base = str(request.base_url).rstrip("/")
        for p in catalog.performers:
            if stable_id("tpdb-performer", p.name) == wanted:
                return JSONResponse({"data": tpdb_performer_json(p, index_of[p.id], base)})
        return JSONResponse({"message": "Not found"}, status_code=404)

    async def image(request: Request) -> Response:
        img = catalog.images.get(request.path_params["image_id"])
        if img is None or img.path is None:
            return PlainTextResponse("not found", status_code=404)
        return FileResponse(img.path, media_type="image/jpeg")

    async def dev_config(request: Request) -> Response:
        faults.update(await request.json())
        return JSONResponse({"ok": True})

    async def dev_stats(request: Request) -> Response:
        return JSONResponse({**counters.snapshot(), "performers": len(catalog.live())})

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "performers": len(catalog.live())})

    app = Starlette(
        routes=[
            Route("/performers", performers),
            Route("/performers/{performer_id}", performer),
            Route("/images/{image_id}", image),
            Route("/_dev/config", dev_config, methods=["POST"]),
            Route("/_dev/stats", dev_stats),
            Route("/_dev/health", health),
        ]
    )
    app.add_middleware(
        BaseHTTPMiddleware, dispatch=fault_middleware(faults, counters, ("/performers",))
    )
    return app
