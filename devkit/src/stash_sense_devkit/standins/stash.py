"""A local stand-in for the user's Stash server, for tests and browser tests of the plugin.

It executes the real Stash GraphQL schema (the bundled copy in `schemas/stash/`, or a folder
given) with graphql-core and serves scenes from a folder: every subfolder whose name ends in digits
is one scene with that id (`scene-3/` is scene "3"), holding a video (`*.mp4`), and optionally a
sprite sheet (`*_sprite.jpg`) with its VTT (`*.vtt`) and `frames/*.jpg` (the first is the
screenshot). Files are served under /scene/{id}/... like Stash serves them. With an API key set, it
behaves as Stash does (stashapp/stash internal/api/authentication.go, pkg/session/session.go): the
key is read from the `ApiKey` header or the `apikey` query parameter; without it /graphql and paths
with an extension answer 401 with an empty body and other paths redirect (302) to
/login?returnURL=...; and `paths.stream` carries the key as `?apikey=`
(internal/api/urlbuilders/scene.go, GetStreamURL). Performers live in memory: created with
performerCreate, changed with performerUpdate (one per name and disambiguation, stash ids kept
as Stash keeps them: see `_check_name`, `_stash_ids`), put on scenes with sceneUpdate. `findScenes`
pages the scenes as Stash does (pkg/sqlite/scene_filter.go, pkg/sqlite/sql.go): `performer_count`
and `updated_at` (RFC 3339, pkg/utils/date.go ParseDateStringAsTime) criteria, sort by
`updated_at` or `id`, 1-based LIMIT/OFFSET pages, `per_page` -1 for all (id breaks ties here; the
library scan does not rely on any order within one second). A scene's `updated_at` is its
folder's modification time (whole seconds, as Stash stores it) until sceneUpdate sets it to now,
as Stash's scene update does. Every mutation received is recorded and listed at GET /__mutations
so tests can assert what a client sent.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
    graphql_sync,
)

DEFAULT_SCHEMA_DIR = Path(__file__).resolve().parent / "schemas" / "stash"
STAND_IN_VERSION = "v0.28.1-stand-in"
_SCENE_DIR_RE = re.compile(r"(\d+)$")


def load_stash_schema(schema_dir: Path | None = None) -> GraphQLSchema:
    """Build the Stash schema from its folder: schema.graphql first, then every other .graphql."""
    folder = Path(schema_dir or DEFAULT_SCHEMA_DIR).resolve()
    main = folder / "schema.graphql"
    if not main.is_file():
        raise FileNotFoundError(f"no Stash schema at {folder} (expected schema.graphql)")
    others = sorted(
        p
        for p in folder.rglob("*.graphql")
        if p != main and "stash-box-queries" not in p.relative_to(folder).parts
    )
    sdl = "\n".join(p.read_text(encoding="utf-8") for p in [main, *others])
    return build_schema(sdl)


def _zero(type_: Any) -> Any:
    """A harmless value for a non-null field the stand-in does not track."""
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(inner, GraphQLList):
        return []
    if isinstance(inner, GraphQLScalarType):
        return {
            "Boolean": False,
            "Int": 0,
            "Int64": 0,
            "Float": 0.0,
            "Map": {},
            "Time": "1970-01-01T00:00:00Z",
        }.get(inner.name, "")
    return None


def _field_resolver(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """Dict-backed resolver: callables are called, missing non-null fields get a zero value."""
    if isinstance(source, dict):
        value = source.get(info.field_name)
    else:
        value = getattr(source, info.field_name, None)
    if callable(value):
        return value(info, **args)
    if value is None and isinstance(info.return_type, GraphQLNonNull):
        return _zero(info.return_type)
    return value


@cache
def _probe(video: str) -> tuple[float, int, int]:
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return 0.0, 0, 0
    out = subprocess.run(
        [ffprobe, "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=width,height:format=duration", "-of", "json", video],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    try:
        info = json.loads(out.stdout)
        stream = info["streams"][0]
        return float(info["format"]["duration"]), int(stream["width"]), int(stream["height"])
    except (KeyError, IndexError, ValueError):
        return 0.0, 0, 0


@dataclass
class SceneFiles:
    folder: Path
    video: Path | None
    sprite: Path | None
    vtt: Path | None
    screenshot: Path | None


@dataclass
class StashState:
    """Everything the stand-in remembers: performers, scene performer lists, plugin settings."""

    scenes_dir: Path
    stash_boxes: list[dict[str, Any]]
    api_key: str | None = None
    performers: dict[str, dict[str, Any]] = field(default_factory=dict)
    images: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    scene_performers: dict[str, list[str]] = field(default_factory=dict)
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)
    scene_updated: dict[str, str] = field(default_factory=dict)
    mutations: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)

    def scene_files(self, scene_id: str) -> SceneFiles | None:
        if not self.scenes_dir.is_dir():
            return None
        for folder in sorted(self.scenes_dir.iterdir()):
            m = _SCENE_DIR_RE.search(folder.name)
            if not folder.is_dir() or not m or str(int(m.group(1))) != str(scene_id):
                continue
            videos = sorted(folder.glob("*.mp4"))
            sprites = sorted(folder.glob("*_sprite.jpg"))
            vtts = sorted(folder.glob("*.vtt"))
            shots = sorted((folder / "frames").glob("*.jpg"))
            return SceneFiles(
                folder,
                videos[0] if videos else None,
                sprites[0] if sprites else None,
                vtts[0] if vtts else None,
                shots[0] if shots else None,
            )
        return None

    def scene_ids(self) -> list[str]:
        if not self.scenes_dir.is_dir():
            return []
        found = []
        for folder in self.scenes_dir.iterdir():
            m = _SCENE_DIR_RE.search(folder.name)
            if folder.is_dir() and m:
                found.append(str(int(m.group(1))))
        return sorted(found, key=int)

    def updated_at(self, scene_id: str) -> str:
        if scene_id in self.scene_updated:
            return self.scene_updated[scene_id]
        files = self.scene_files(scene_id)
        mtime = files.folder.stat().st_mtime if files is not None else 0.0
        return _rfc3339(datetime.fromtimestamp(int(mtime), UTC))


def _rfc3339(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse_time(value: str) -> datetime:
    """pkg/utils/date.go ParseDateStringAsTime: RFC 3339, then YYYY-MM-DD, then 'YYYY-MM-DD
    HH:MM:SS' (an error otherwise, which Stash reports as a GraphQL error)."""
    for parse in (
        lambda v: datetime.fromisoformat(v.replace("Z", "+00:00")) if "T" in v else None,
        lambda v: datetime.strptime(v, "%Y-%m-%d"),
        lambda v: datetime.strptime(v, "%Y-%m-%d %H:%M:%S"),
    ):
        try:
            moment = parse(value)
        except ValueError:
            continue
        if moment is not None:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise ValueError(f"ParseDateStringAsTime failed: dateString <{value}>")


def _compare(value: Any, crit: dict[str, Any], parse: Any = None) -> bool:
    modifier = crit.get("modifier", "EQUALS")
    want = parse(crit["value"]) if parse else crit["value"]
    checks = {
        "EQUALS": lambda: value == want, "NOT_EQUALS": lambda: value != want,
        "GREATER_THAN": lambda: value > want, "LESS_THAN": lambda: value < want,
    }  # fmt: skip
    if modifier not in checks:
        raise ValueError(f"the stand-in does not implement modifier {modifier}")
    return bool(checks[modifier]())


def _parse_data_url(image: str) -> tuple[bytes, str] | None:
    m = re.match(r"data:([\w/+.-]+);base64,(.*)$", image, re.S)
    if not m:
        return None
    try:
        return base64.b64decode(m.group(2), validate=True), m.group(1)
    except (binascii.Error, ValueError):
        return None


def _stash_ids(given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stash ids as Stash keeps them: one sent without `updated_at` is stamped with the time now,
    and a repeated endpoint + stash_id is kept once, the first (stashapp/stash
    pkg/models/stash_ids.go, StashIDInput.ToStashID and StashIDInputs.ToStashIDs)."""
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    kept: dict[tuple[str, str], dict[str, Any]] = {}
    for sid in given:
        key = (sid["endpoint"], sid["stash_id"])
        if key not in kept:
            kept[key] = {**sid, "updated_at": sid.get("updated_at") or now}
    return list(kept.values())


class StashRoot:
    """Root resolvers for the Query and Mutation fields the stand-in implements."""

    def __init__(self, state: StashState, base_url: str) -> None:
        self.s = state
        self.base = base_url.rstrip("/")

    # helpers -------------------------------------------------------------
    def _performer(self, pid: str) -> dict[str, Any] | None:
        raw = self.s.performers.get(str(pid))
        if raw is None:
            return None
        out = dict(raw)
        out["image_path"] = f"{self.base}/performer/{pid}/image" if pid in self.s.images else None
        out["scene_count"] = sum(pid in ids for ids in self.s.scene_performers.values())
        return out

    def _scene(self, scene_id: str) -> dict[str, Any] | None:
        files = self.s.scene_files(scene_id)
        if files is None:
            return None
        base = f"{self.base}/scene/{scene_id}"
        video_files = []
        if files.video is not None:
            duration, width, height = _probe(str(files.video))
            video_files.append(
                {"id": scene_id, "path": str(files.video), "basename": files.video.name,
                 "duration": duration, "width": width, "height": height, "format": "mp4"}
            )  # fmt: skip
        performers = [self._performer(p) for p in self.s.scene_performers.get(scene_id, [])]
        return {
            "id": scene_id,
            "title": files.folder.name,
            "urls": [],
            "files": video_files,
            "paths": {
                "stream": self._stream_url(base) if files.video else None,
                "sprite": f"{base}/vtt/sprite" if files.sprite and files.vtt else None,
                "vtt": f"{base}/vtt/thumbs" if files.sprite and files.vtt else None,
                "screenshot": f"{base}/screenshot" if files.screenshot else None,
            },
            "performers": [p for p in performers if p is not None],
            "stash_ids": [],
            "updated_at": self.s.updated_at(scene_id),
            "created_at": self.s.updated_at(scene_id),
        }

    def _stream_url(self, base: str) -> str:
        """Stash's GetStreamURL: the key, when one is set, rides in the query."""
        key = self.s.api_key
        return f"{base}/stream?{urlencode({'apikey': key})}" if key else f"{base}/stream"

    def _record(self, name: str, args: dict[str, Any]) -> None:
        self.s.mutations.append(
            {"mutation": name, "args": args, "at": datetime.now(UTC).isoformat()}
        )

    # queries -------------------------------------------------------------
    def findScene(self, info: GraphQLResolveInfo, id: str | None = None, **_: Any) -> Any:
        return self._scene(str(id)) if id is not None else None

    def findScenes(
        self,
        info: GraphQLResolveInfo,
        scene_filter: dict[str, Any] | None = None,
        filter: dict[str, Any] | None = None,
        ids: list[str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        crit = scene_filter or {}
        chosen = [i for i in self.s.scene_ids() if not ids or i in {str(x) for x in ids}]
        if crit.get("performer_count"):
            c = crit["performer_count"]
            chosen = [i for i in chosen if _compare(len(self.s.scene_performers.get(i, [])), c)]
        if crit.get("updated_at"):
            c = crit["updated_at"]
            chosen = [i for i in chosen if _compare(_parse_time(self.s.updated_at(i)), c,
                                                    _parse_time)]  # fmt: skip
        paging = filter or {}
        sort = paging.get("sort") or "id"
        if sort == "updated_at":
            chosen.sort(key=lambda i: (_parse_time(self.s.updated_at(i)), int(i)))
        elif sort != "id":
            raise ValueError(f"the stand-in sorts by id or updated_at, not {sort}")
        if paging.get("direction") == "DESC":
            chosen.reverse()
        per_page = int(paging.get("per_page") or 25)
        page = max(1, int(paging.get("page") or 1))
        window = chosen if per_page < 0 else chosen[(page - 1) * per_page : page * per_page]
        return {"count": len(chosen), "scenes": [self._scene(i) for i in window]}

    def findPerformer(self, info: GraphQLResolveInfo, id: str) -> Any:
        return self._performer(str(id))

    def findPerformers(
        self,
        info: GraphQLResolveInfo,
        performer_filter: dict[str, Any] | None = None,
        filter: dict[str, Any] | None = None,
        ids: list[str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        found = [p for p in (self._performer(pid) for pid in self.s.performers) if p]
        if ids:
            found = [p for p in found if p["id"] in {str(i) for i in ids}]
        crit = (performer_filter or {}).get("stash_id_endpoint")
        if crit:

            def has(p: dict[str, Any]) -> bool:
                return any(
                    (crit.get("endpoint") in (None, s["endpoint"]))
                    and (crit.get("stash_id") in (None, s["stash_id"]))
                    for s in p.get("stash_ids", [])
                )

            modifier = crit.get("modifier", "EQUALS")
            found = [p for p in found if has(p) == (modifier != "NOT_EQUALS")]
        q = ((filter or {}).get("q") or "").lower()
        if q:  # Stash's q searches names and aliases

            def named(p: dict[str, Any]) -> bool:
                return any(q in n.lower() for n in [p["name"], *(p.get("alias_list") or [])])

            found = [p for p in found if named(p)]
        per_page = int((filter or {}).get("per_page") or 25)
        page = max(1, int((filter or {}).get("page") or 1))
        window = found if per_page < 0 else found[(page - 1) * per_page : page * per_page]
        return {"count": len(found), "performers": window}

    def configuration(self, info: GraphQLResolveInfo) -> dict[str, Any]:
        def plugins(_info: GraphQLResolveInfo, include: list[str] | None = None) -> Any:
            return {k: v for k, v in self.s.plugins.items() if not include or k in include}

        return {"general": {"stashBoxes": self.s.stash_boxes}, "plugins": plugins}

    def version(self, info: GraphQLResolveInfo) -> dict[str, Any]:
        return {"version": STAND_IN_VERSION, "hash": "stand-in", "build_time": ""}

    # mutations -----------------------------------------------------------
    def _apply(self, pid: str, values: dict[str, Any]) -> None:
        image = values.pop("image", None)
        if isinstance(image, str):
            decoded = _parse_data_url(image)
            if decoded is None:
                raise ValueError("image must be a base64 data URL in the stand-in")
            self.s.images[pid] = decoded
        if values.get("stash_ids") is not None:
            values["stash_ids"] = _stash_ids(values["stash_ids"])
        self.s.performers[pid].update(values)

    def _check_name(self, name: str, disambiguation: str | None, pid: str | None) -> None:
        """Stash keeps one performer per name and disambiguation (stashapp/stash
        pkg/performer/validate.go, validateName, and its message), compared with SQLite's LIKE,
        without case (pkg/sqlite/criterion_handlers.go, EQUALS)."""
        taken = any(
            other != pid
            and p["name"].casefold() == name.casefold()
            and (p.get("disambiguation") or "").casefold() == (disambiguation or "").casefold()
            for other, p in self.s.performers.items()
        )
        if taken and disambiguation:
            raise ValueError(
                f"performer with name '{name}' and disambiguation '{disambiguation}' already exists"
            )
        if taken:
            raise ValueError(f"performer with name '{name}' already exists")

    def performerCreate(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> Any:
        with self.s.lock:
            self._record("performerCreate", {"input": input})
            self._check_name(input["name"], input.get("disambiguation"), None)
            pid = str(self.s.next_id)
            self.s.next_id += 1
            now = datetime.now(UTC).isoformat()
            self.s.performers[pid] = {"id": pid, "created_at": now, "updated_at": now}
            self._apply(pid, dict(input))
        return self._performer(pid)

    def performerUpdate(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> Any:
        with self.s.lock:
            self._record("performerUpdate", {"input": input})
            pid = str(input["id"])
            if pid not in self.s.performers:
                raise ValueError(f"performer {pid} not found")
            values = {k: v for k, v in input.items() if k != "id"}
            if values.get("name") or "disambiguation" in values:
                current = self.s.performers[pid]
                name = values.get("name") or current["name"]
                disambiguation = values.get("disambiguation", current.get("disambiguation"))
                self._check_name(name, disambiguation, pid)
            self._apply(pid, values)
            # Stash stamps every update (whole seconds, as it keeps them)
            self.s.performers[pid]["updated_at"] = _rfc3339(datetime.now(UTC))
        return self._performer(pid)

    def sceneUpdate(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> Any:
        with self.s.lock:
            self._record("sceneUpdate", {"input": input})
            sid = str(input["id"])
            if self.s.scene_files(sid) is None:
                raise ValueError(f"scene {sid} not found")
            if input.get("performer_ids") is not None:
                unknown = [p for p in input["performer_ids"] if str(p) not in self.s.performers]
                if unknown:
                    raise ValueError(f"performers not found: {unknown}")
                self.s.scene_performers[sid] = [str(p) for p in input["performer_ids"]]
            self.s.scene_updated[sid] = _rfc3339(datetime.now(UTC))
        return self._scene(sid)

    def configurePlugin(
        self, info: GraphQLResolveInfo, plugin_id: str, input: dict[str, Any]
    ) -> Any:
        with self.s.lock:
            self._record("configurePlugin", {"plugin_id": plugin_id, "input": input})
            self.s.plugins[plugin_id] = dict(input)
        return self.s.plugins[plugin_id]


def stash_app(
    scenes_dir: Path,
    *,
    schema_dir: Path | None = None,
    api_key: str | None = None,
    stash_boxes: list[dict[str, Any]] | None = None,
    world: StashState | None = None,
) -> FastAPI:
    """The stand-in as an ASGI app; run it with uvicorn (see `stash-sense-dev stash`).

    `world`, when given, replaces the folder-backed state: a generated world (a subclass that
    answers `scene_ids`, `scene_files` and `updated_at` itself, standins/library_world.py)."""
    schema = load_stash_schema(schema_dir)
    state = world or StashState(Path(scenes_dir).resolve(), list(stash_boxes or []), api_key)
    app = FastAPI(title="Stash stand-in", docs_url=None, redoc_url=None)
    app.add_middleware(
        CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"]
    )
    app.state.stash = state

    @app.middleware("http")
    async def check_key(request: Request, call_next: Any) -> Response:
        if (
            api_key
            and not request.url.path.startswith(("/__", "/_dev/"))
            and request.method != "OPTIONS"
        ):
            given = request.headers.get("ApiKey") or request.query_params.get("apikey")
            if given != api_key:
                path = request.url.path
                if path == "/graphql" or Path(path).suffix not in ("", ".html"):
                    return Response(status_code=401, headers={"WWW-Authenticate": "FormBased"})
                back = path + (f"?{request.url.query}" if request.url.query else "")
                login = "/login?" + urlencode({"returnURL": back})
                return Response(status_code=302, headers={"Location": login})
        response: Response = await call_next(request)
        return response

    @app.post("/graphql")
    async def graphql_endpoint(request: Request) -> JSONResponse:
        try:
            body = await request.json()
            document = body["query"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"errors": [{"message": "body must be JSON with a query"}]}, 400)
        root = StashRoot(state, str(request.base_url))
        result = graphql_sync(
            schema,
            document,
            root_value=root,
            variable_values=body.get("variables") or {},
            operation_name=body.get("operationName"),
            field_resolver=_field_resolver,
        )
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        return JSONResponse(payload)

    def scene_file(scene_id: str, attr: str, media_type: str) -> Response:
        files = state.scene_files(scene_id)
        path = getattr(files, attr) if files is not None else None
        if path is None:  # Go's http.NotFound, as Stash answers a missing file
            return Response("404 page not found\n", 404, media_type="text/plain; charset=utf-8")
        return FileResponse(path, media_type=media_type)

    @app.get("/scene/{scene_id}/stream")
    def stream(scene_id: str) -> Response:
        return scene_file(scene_id, "video", "video/mp4")

    @app.get("/scene/{scene_id}/vtt/thumbs")
    def vtt(scene_id: str) -> Response:
        return scene_file(scene_id, "vtt", "text/vtt")

    @app.get("/scene/{scene_id}/vtt/sprite")
    def sprite(scene_id: str) -> Response:
        return scene_file(scene_id, "sprite", "image/jpeg")

    @app.get("/scene/{scene_id}/screenshot")
    def screenshot(scene_id: str) -> Response:
        return scene_file(scene_id, "screenshot", "image/jpeg")

    @app.get("/performer/{performer_id}/image")
    def performer_image(performer_id: str) -> Response:
        found = state.images.get(performer_id)
        if found is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return Response(found[0], media_type=found[1])

    @app.get("/_dev/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/__mutations")
    def mutations() -> list[dict[str, Any]]:
        return list(state.mutations)

    return app
