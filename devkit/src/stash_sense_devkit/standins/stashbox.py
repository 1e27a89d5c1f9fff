"""A local stash-box: graphql-core executing the real stash-box schema over a folder of faces.

Serves `POST /graphql` (queryPerformers, findPerformer, queryEdits for applied DESTROY/MERGE edits)
and the images themselves (`GET /images/<id>`, no key needed), the way stash-box does (read from
github.com/stashapp/stash-box): `ApplyPagination` is LIMIT/OFFSET with no cap on `per_page`
(`max_per_page` adds one for tests); sorting orders by the one column asked for, with no
tie-breaker, so performers with equal `created` come back in any order (`equal_created` makes
groups of them); deleted and merged-away performers are soft-deleted (images and aliases dropped),
left out of queryPerformers and still found by findPerformer. Faults (latency, outages, 429, 5xx,
GraphQL errors, auth as HTTP 200 + "not authorized", a cross-host redirect) come from `faults.py`;
`/_dev/config`, `/_dev/edit` and `/_dev/stats` steer it from tests and benchmarks.
With `bad_input`, extra performers carry a 404 image, an HTML page, a 500 MB image, a hanging URL,
200 images, a picture without a face and one with two equal faces. With `hostile_metadata`, three
more carry hostile metadata: a 10 MB alias list (100,000 aliases), a `javascript:` URL, and a
name of control characters (each with the first folder's first picture).

The same server stands in for every stash-box instance (StashDB, FansDB, PMVStash, JAVStash run
the one stash-box schema and code); `flavour="javstash"` names each performer as JAVStash
does, in Japanese script (kanji family + given name, with the hiragana reading and the Hepburn
romaji as aliases), picked per performer from graph_world's lists of common names.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import GraphQLError, graphql
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from stash_sense_devkit.graph_world import FAMILY, GIVEN
from stash_sense_devkit.standins.catalog import Catalog, CatalogPerformer, iso, stable_id
from stash_sense_devkit.standins.faults import (
    Counters,
    FaultOptions,
    bad_image_response,
    fault_middleware,
)
from stash_sense_devkit.standins.schemas import load_schema

# one column each, as applyPerformerSort orders them: ties come back in no particular order
SORT_KEYS = {
    "CREATED_AT": lambda p: p.created,
    "UPDATED_AT": lambda p: p.updated,
    "NAME": lambda p: p.name,
}
BAD_KINDS = ("404", "html", "huge", "huge-declared", "hang", "noface", "twofaces")


@dataclass
class StashBoxOptions:
    faces_dir: Path | None = None
    max_per_page: int | None = None  # the real server has no cap
    replicate_to: int | None = None
    images_per_performer: int | None = None
    bad_input: bool = False
    equal_created: int = 1  # performers sharing each creation time
    hostile_metadata: bool = False
    flavour: str = "stashdb"  # stashdb | fansdb | pmvstash | javstash (names in Japanese)


def add_bad_performers(catalog: Catalog) -> None:
    """Performers whose images are each one kind of bad input (see the module docstring)."""
    for kind in BAD_KINDS:
        performer = catalog.add_performer(f"Bad Input {kind}", [])
        image_id = stable_id("image", f"bad/{kind}")
        performer.images.append(catalog.add_image(image_id, None, f"/bad/{kind}"))
    first = next(iter(catalog.folders.values()), [])
    if first:
        many = catalog.add_performer("Bad Input many images", [])
        for i in range(200):
            image_id = stable_id("image", f"bad/many/{i}")
            many.images.append(catalog.add_image(image_id, first[0], f"/images/{image_id}"))


#: stash-box performer id -> URLs it lists beyond its example.org page (hostile metadata)
EXTRA_URLS: dict[str, list[str]] = {}
HOSTILE_ALIASES = 100_000
#: a name of control characters only (escape, bell, backspace, vertical tab, delete)
CONTROL_NAME = "\x1b\x07\x08\x0b\x7f"


def japanese_names(catalog: Catalog) -> None:
    """JAVStash's naming: each performer's name in kanji, its kana and romaji as aliases."""
    for p in catalog.performers:
        n = int(stable_id("jav", p.name).replace("-", ""), 16)
        kanji_f, kana_f, roma_f = FAMILY[n % len(FAMILY)]
        kanji_g, kana_g, roma_g = GIVEN[(n // len(FAMILY)) % len(GIVEN)]
        p.name = kanji_f + kanji_g
        p.aliases = [f"{kana_f} {kana_g}", f"{roma_g} {roma_f}"]


def add_hostile_performers(catalog: Catalog) -> None:
    """Performers whose metadata is hostile (see the module docstring)."""
    first = next(iter(catalog.folders.values()), [])[:1]
    many = catalog.add_performer("Hostile Aliases", first)
    many.aliases = [f"alias {i:06d} {'x' * 90}" for i in range(HOSTILE_ALIASES)]
    script = catalog.add_performer("Hostile Url", first)
    EXTRA_URLS[script.id] = ["javascript:alert(document.cookie)"]
    catalog.add_performer(CONTROL_NAME, first)


def performer_json(p: CatalogPerformer, base: str) -> dict[str, Any]:
    slug = p.name.lower().replace(" ", "-")
    return {
        "__typename": "Performer",
        "id": p.id,
        "name": p.name,
        "disambiguation": p.disambiguation,
        "aliases": list(p.aliases),
        "gender": p.gender,
        "birth_date": p.birth_date,
        "country": p.country,
        "urls": [
            *(
                [
                    {
                        "url": f"https://example.org/{slug}",
                        "type": "HOME",
                        "site": {"id": stable_id("site", "example"), "name": "Example"},
                    }
                ]
                if p.urls is None
                else []
            ),
            *(
                {"url": url, "type": "HOME", "site": {"id": stable_id("site", url), "name": "Home"}}
                for url in [*(p.urls or []), *EXTRA_URLS.get(p.id, [])]
            ),
        ],
        "images": [
            {"id": i.id, "url": base + i.route, "width": i.width, "height": i.height}
            for i in p.images
        ],
        "deleted": p.deleted,
        "merged_ids": list(p.merged_ids),
        "merged_into_id": p.merged_into_id,
        "created": iso(p.created),
        "updated": iso(p.updated),
        "edits": [],
        "scene_count": 0,
        "scenes": [],
        "studios": [],
        "is_favorite": False,
        "tattoos": [],
        "piercings": [],
    }


class Resolvers:
    """Root fields of the stash-box Query type, over a catalog."""

    def __init__(self, catalog: Catalog, options: StashBoxOptions, faults: FaultOptions) -> None:
        self.catalog = catalog
        self.options = options
        self.faults = faults
        self.rng = random.Random(faults.seed)

    def root(self, base: str) -> dict[str, Any]:
        def query_performers(info: Any, input: dict[str, Any]) -> dict[str, Any]:
            page, per_page = int(input.get("page") or 1), int(input.get("per_page") or 25)
            if self.max_per_page:
                per_page = min(per_page, self.max_per_page)
            if page < 1 or per_page < 1:
                raise GraphQLError("page and per_page must be positive")
            with self.catalog.lock:
                live = self.catalog.live()
                self.rng.shuffle(live)  # the database's order among equal sort keys
                live.sort(key=SORT_KEYS[input["sort"]], reverse=input["direction"] == "DESC")
                chunk = live[(page - 1) * per_page : page * per_page]
                return {
                    "count": len(live),
                    "performers": [performer_json(p, base) for p in chunk],
                }

        def find_performer(info: Any, id: str) -> dict[str, Any] | None:
            with self.catalog.lock:
                p = self.catalog.by_id.get(id)
                return None if p is None else performer_json(p, base)

        def query_edits(info: Any, input: dict[str, Any]) -> dict[str, Any]:
            with self.catalog.lock:
                edits = [
                    e
                    for e in self.catalog.edits
                    if input.get("operation") in (None, e.operation)
                    and input.get("target_type") in (None, "PERFORMER")
                    and input.get("applied") in (None, True)
                ]
                edits.sort(key=lambda e: e.closed, reverse=input["direction"] == "DESC")
                page, per_page = int(input["page"]), min(int(input["per_page"]), 100)
                chunk = edits[(page - 1) * per_page : page * per_page]
                out = []
                for e in chunk:
                    target = self.catalog.by_id.get(e.target_id)
                    out.append(
                        {
                            "id": e.id,
                            "operation": e.operation,
                            "applied": True,
                            "status": "ACCEPTED",
                            "target_type": "PERFORMER",
                            "closed": iso(e.closed),
                            "created": iso(e.closed),
                            "updated": iso(e.closed),
                            "target": performer_json(target, base) if target else None,
                            "merge_sources": [
                                performer_json(self.catalog.by_id[s], base)
                                for s in e.merge_source_ids
                            ],
                        }
                    )
                return {"count": len(edits), "edits": out}

        return {
            "queryPerformers": query_performers,
            "findPerformer": find_performer,
            "queryEdits": query_edits,
        }

    @property
    def max_per_page(self) -> int | None:
        return self.options.max_per_page


def stashbox_app(
    options: StashBoxOptions | None = None, faults: FaultOptions | None = None
) -> Starlette:
    """The ASGI app of the stand-in; serve it with uvicorn."""
    options = options or StashBoxOptions()
    faults = faults or FaultOptions()
    catalog = Catalog.from_faces_dir(
        options.faces_dir,
        replicate_to=options.replicate_to,
        images_per_performer=options.images_per_performer,
        equal_created=options.equal_created,
    )
    faults.auth_in_graphql = True
    if options.flavour == "javstash":
        japanese_names(catalog)
    if options.bad_input:
        add_bad_performers(catalog)
    if options.hostile_metadata:
        add_hostile_performers(catalog)
    counters = Counters()
    resolvers = Resolvers(catalog, options, faults)
    schema = load_schema("stash-box")
    face_bytes = [files[0].read_bytes() for files in list(catalog.folders.values())[:2]]

    async def graphql_endpoint(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"errors": [{"message": "body is not JSON"}]}, status_code=400)
        if faults.hang_graphql:
            await asyncio.sleep(3600)
        variables = body.get("variables") or {}
        page = (variables.get("input") or {}).get("page") if isinstance(variables, dict) else None
        if page in faults.malformed_pages:
            return Response(
                '{"data": {"queryPerformers": {"count": 3, "perf', media_type="application/json"
            )
        base = str(request.base_url).rstrip("/")
        result = await graphql(
            schema,
            body.get("query") or "",
            root_value=resolvers.root(base),
            variable_values=variables,
            operation_name=body.get("operationName"),
        )
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        return JSONResponse(payload)

    async def image(request: Request) -> Response:
        img = catalog.images.get(request.path_params["image_id"])
        if img is None or img.path is None:
            return PlainTextResponse("not found", status_code=404)
        return FileResponse(img.path, media_type="image/jpeg")

    async def bad(request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind == "hang":
            await asyncio.sleep(3600)
        return bad_image_response(kind, face_bytes)

    async def dev_config(request: Request) -> Response:
        try:
            faults.update(await request.json())
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True})

    async def dev_edit(request: Request) -> Response:
        body = await request.json()
        try:
            op = body["op"]
            if op == "update":
                p = catalog.update(body["id"], body.get("set") or {})
                return JSONResponse({"id": p.id, "updated": iso(p.updated)})
            if op == "destroy":
                e = catalog.destroy(body["id"])
                return JSONResponse({"edit": e.id})
            if op == "merge":
                e = catalog.merge(list(body["sources"]), body["target"])
                return JSONResponse({"edit": e.id})
            if op == "create":
                p = catalog.create(body["name"], body["folder"])
                return JSONResponse({"id": p.id})
        except (KeyError, ValueError) as exc:
            return JSONResponse({"error": f"bad edit: {exc}"}, status_code=400)
        return JSONResponse({"error": f"unknown op {op!r}"}, status_code=400)

    async def dev_stats(request: Request) -> Response:
        return JSONResponse(
            {
                **counters.snapshot(),
                "performers": len(catalog.live()),
                "ids": [p.id for p in catalog.live()],
            }
        )

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "performers": len(catalog.live())})

    app = Starlette(
        routes=[
            Route("/graphql", graphql_endpoint, methods=["POST"]),
            Route("/images/{image_id}", image),
            Route("/bad/{kind}", bad),
            Route("/_dev/config", dev_config, methods=["POST"]),
            Route("/_dev/edit", dev_edit, methods=["POST"]),
            Route("/_dev/stats", dev_stats),
            Route("/_dev/health", health),
        ]
    )
    app.add_middleware(
        BaseHTTPMiddleware, dispatch=fault_middleware(faults, counters, ("/graphql",))
    )
    return app
