"""A local ThePornDB stand-in: its REST performer endpoints (Bearer token) over a folder of faces.

Shaped after ThePornDB's published API (https://api.theporndb.net/docs) as public clients read it
(the TypeScript types "Based on ThePornDB API v3.24.582"; carrotwaxr/stash-sense's Python client):
`GET /performers?page=&per_page=&order_by=name|rating|created|updated` answers `{"data": [...],
"links": {...}, "meta": {"current_page", "from", "last_page", "per_page", "to", "total"}}`;
`GET /performers/{id}` answers `{"data": {...}}` or 404. A performer has `id`, `_id`, `slug`,
`name`, `full_name`, `disambiguation`, `bio`, `aliases` (a list), `extras` (gender, birthday,
birthplace_code, nationality, ..., and `links: [{url, platform}]`), `image`, `thumbnail`, `face`
and `posters: [{id, url, size, order}]`; no created/updated times. A request without the right
Bearer token gets 401 `{"message": "Unauthenticated."}` (Laravel). Each performer links to the
stash-box stand-in's performer page for the same name (as `https://stashdb.org/performers/<uuid>`),
so builds can link the two sources by explicit ids.
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

from stash_sense_devkit.standins.catalog import Catalog, CatalogPerformer, stable_id
from stash_sense_devkit.standins.faults import Counters, FaultOptions, fault_middleware

MAX_PER_PAGE = 100
# name ascending; created/updated newest first (an assumption: the published docs do not say)
ORDERS: dict[str, Any] = {
    "name": lambda p: p.name,
    "rating": lambda p: p.name,
    "created": lambda p: -p.created.timestamp(),
    "updated": lambda p: -p.updated.timestamp(),
}


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
    # Where each field comes from (see the module docstring): [T] the published TypeScript
    # types of the API ("Based on ThePornDB API v3.24.582"); [C] carrotwaxr/stash-sense's
    # Python client reads it; [?] kept from the earlier stand-in, not checked against a source.
    return {
        "id": stable_id("tpdb-performer", p.name),  # [T] uuid string
        "_id": index + 1,  # [T] numeric database id
        "slug": slug,  # [T]
        "name": p.name,  # [T]
        "full_name": p.name,  # [T]
        "disambiguation": p.disambiguation,  # [T]
        "bio": None,  # [T]
        "rating": 0,  # [?]
        "is_parent": True,  # [?]
        "aliases": list(p.aliases),  # [T] a list of strings
        "extras": {  # [T]
            "gender": p.gender,  # [T]
            "birthday": p.birth_date,  # [T] YYYY-MM-DD
            "birthplace_code": p.country,  # [T] ISO country code
            "nationality": None,  # [T]
            "links": [  # [T] [{url, platform}]; [C] also reads a {platform: url} object
                {"url": f"https://stashdb.org/performers/{p.id}", "platform": "stashdb"},
                {"url": f"https://example.org/{slug}", "platform": "website"},
            ],
        },
        "image": posters[0]["url"] if posters else None,  # [T]
        "thumbnail": posters[0]["url"] if posters else None,  # [T]
        "face": None,  # [T]
        "posters": posters,  # [T] [{id, url, size, order}]
        "site_performers": [],  # [?]
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
        order = request.query_params.get("order_by", "name")
        if order not in ORDERS:
            return JSONResponse({"message": f"order_by must be one of {sorted(ORDERS)}"}, 422)
        live = catalog.live()
        live.sort(key=ORDERS[order])
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
