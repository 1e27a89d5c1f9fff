"""A Stash scene's frames and what Stash already knows about it (its performers' stash ids).

Frames come from the scene's sprite sheet and VTT when Stash has both and they are usable, else
from N evenly spaced ffmpeg frames of its stream. Every file is fetched from the Stash host only.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from stash_sense.scenes.frames import Frame, FrameError, sprite_frames
from stash_sense.scenes.identify import SceneResult
from stash_sense.scenes.video import video_frames
from stash_sense.sources.stash import StashClient, StashError, StashScene

MAX_SPRITE_BYTES = 64 * 1024 * 1024
MAX_VTT_BYTES = 4 * 1024 * 1024


def sprite_frames_from_stash(client: StashClient, scene: StashScene) -> list[Frame]:
    """The sprite thumbnails of a scene; raise FrameError when Stash has no usable sprite."""
    if not scene.sprite or not scene.vtt:
        raise FrameError(f"scene {scene.id} has no sprite sheet")
    try:
        vtt = client.fetch(scene.vtt, max_bytes=MAX_VTT_BYTES).decode("utf-8", errors="replace")
        data = client.fetch(scene.sprite, max_bytes=MAX_SPRITE_BYTES)
    except StashError as exc:
        raise FrameError(f"sprite of scene {scene.id}: {exc}") from exc
    sprite = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if sprite is None:
        raise FrameError(f"the sprite sheet of scene {scene.id} is not an image")
    return sprite_frames(np.ascontiguousarray(sprite, dtype=np.uint8), vtt)


def stream_frames_from_stash(
    client: StashClient,
    scene: StashScene,
    count: int,
    should_stop: Callable[[], bool] | None = None,
) -> list[Frame]:
    """`count` evenly spaced ffmpeg frames of the scene's stream (on the Stash host only)."""
    if not scene.stream:
        raise FrameError(f"scene {scene.id} has neither a sprite sheet nor a stream")
    try:
        url = client.resolve(scene.stream)
    except StashError as exc:
        raise FrameError(f"stream of scene {scene.id}: {exc}") from exc
    duration = scene.files[0].duration if scene.files else None
    return video_frames(
        url, count, headers=client.auth_headers, duration=duration, should_stop=should_stop
    )


def stash_scene_frames(
    client: StashClient,
    scene: StashScene,
    count: int,
    *,
    prefer: str = "sprite",
    should_stop: Callable[[], bool] | None = None,
) -> tuple[list[Frame], str, list[str]]:
    """Frames of the scene, where they came from ("sprite" or "video"), and notes on fallbacks."""
    notes: list[str] = []
    if prefer == "sprite":
        try:
            return sprite_frames_from_stash(client, scene), "sprite", notes
        except FrameError as exc:
            notes.append(f"{exc}; sampled the video instead")
    return stream_frames_from_stash(client, scene, count, should_stop), "video", notes


def mark_on_scene(result: SceneResult, scene: StashScene) -> None:
    """Add `already_on_scene` and `stash_performer_id` to every match (by shared stash ids)."""
    owner = {
        (sid.endpoint, sid.stash_id): performer.id
        for performer in scene.performers
        for sid in performer.stash_ids
    }
    for person in result.persons:
        person.extra = []
        for match in person.matches:
            found = next(
                (
                    owner[key]
                    for s in match.stash_ids
                    if (key := (s["endpoint"], s["stash_id"])) in owner
                ),
                None,
            )
            person.extra.append(
                {"already_on_scene": found is not None, "stash_performer_id": found}
            )
