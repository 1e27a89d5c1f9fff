"""The Stash stand-in serving a generated library (bench_library's 20,000 scenes) over HTTP.

The same stand-in as standins/stash.py (the real Stash schema, its paging, its files, its API
key), with its scenes and performers taken from a world file instead of a folder per scene:
`world.json` lists `clips` (each a folder name under the clips folder holding `scene.mp4`,
`scene_sprite.jpg`, `scene_thumbs.vtt`), `scenes` (`id`, `clip` index, `updated` Unix seconds,
`performers` local performer ids) and `performers` (`id`, `name`, `stash_ids`, `image` path).
Many scenes may share one clip. Every request is counted (`GET /__requests`: its time, kind and
scene) so a benchmark can check the pace a client keeps and which scene was read how often.

    python -m stash_sense_devkit.standins.library_world --world W.json --clips DIR --port P

Stash's API key, when wanted, comes from the environment (`STAND_IN_STASH_API_KEY`), never from
the command line.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response

from stash_sense_devkit.standins.stash import SceneFiles, StashState, _rfc3339, stash_app

_SCENE_PATH = re.compile(r"^/scene/(\d+)/(stream|vtt/sprite|vtt/thumbs|screenshot)$")
_KINDS = {"stream": "stream", "vtt/sprite": "sprite", "vtt/thumbs": "vtt", "screenshot": "shot"}


class WorldState(StashState):
    """StashState whose scenes come from a world file: thousands of scenes without a folder each."""

    def __init__(self, world: dict[str, Any], clips_dir: Path, api_key: str | None) -> None:
        super().__init__(clips_dir, [], api_key)
        self.clip_files = [self._clip(clips_dir / c["name"]) for c in world["clips"]]
        self.scene_clip = {str(s["id"]): int(s["clip"]) for s in world["scenes"]}
        self.scene_stamp = {
            str(s["id"]): _rfc3339(datetime.fromtimestamp(int(s["updated"]), UTC))
            for s in world["scenes"]
        }
        self._ids = sorted(self.scene_clip, key=int)
        for s in world["scenes"]:
            if s.get("performers"):
                self.scene_performers[str(s["id"])] = [str(p) for p in s["performers"]]
        now = _rfc3339(datetime.now(UTC))
        for p in world.get("performers", []):
            pid = str(p["id"])
            self.performers[pid] = {
                "id": pid,
                "name": p["name"],
                "stash_ids": p.get("stash_ids", []),
                "created_at": now,
                "updated_at": now,
            }
            image = Path(p["image"]) if p.get("image") else None
            if image is not None and image.is_file():
                kind = mimetypes.guess_type(image.name)[0] or "image/jpeg"
                self.images[pid] = (image.read_bytes(), kind)
        self.next_id = max((int(p) for p in self.performers), default=0) + 1
        self.requests: list[tuple[float, str, str | None]] = []
        self.requests_lock = threading.Lock()

    @staticmethod
    def _clip(folder: Path) -> SceneFiles:
        def first(pattern: str) -> Path | None:
            found = sorted(folder.glob(pattern))
            return found[0] if found else None

        return SceneFiles(folder, first("*.mp4"), first("*_sprite.jpg"), first("*.vtt"), None)

    def scene_files(self, scene_id: str) -> SceneFiles | None:
        clip = self.scene_clip.get(str(scene_id))
        return None if clip is None else self.clip_files[clip]

    def scene_ids(self) -> list[str]:
        return list(self._ids)

    def updated_at(self, scene_id: str) -> str:
        return self.scene_updated.get(scene_id) or self.scene_stamp.get(scene_id, "")

    def count(self, path: str) -> None:
        m = _SCENE_PATH.match(path)
        kind, scene = (_KINDS[m.group(2)], m.group(1)) if m else (path.strip("/") or "/", None)
        with self.requests_lock:
            self.requests.append((time.time(), kind, scene))


def world_app(world_file: Path, clips_dir: Path, api_key: str | None = None) -> FastAPI:
    """The stand-in app over the world in `world_file`, counting every request."""
    world = json.loads(world_file.read_text(encoding="utf-8"))
    state = WorldState(world, clips_dir.resolve(), api_key)
    app = stash_app(clips_dir, api_key=api_key, world=state)

    @app.middleware("http")
    async def count(request: Request, call_next: Any) -> Response:
        if not request.url.path.startswith(("/__", "/_dev/")):
            state.count(request.url.path)
        response: Response = await call_next(request)
        return response

    @app.get("/__requests")
    def requests() -> list[tuple[float, str, str | None]]:
        with state.requests_lock:
            return list(state.requests)

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--clips", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    key = os.environ.get("STAND_IN_STASH_API_KEY") or None
    app = world_app(args.world, args.clips, key)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
