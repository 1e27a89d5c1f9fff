"""Identify a scene: a Stash scene (sprite sheet and/or stream) or a local video file."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from stash_sense.app.errors import InvalidInput, NotFound, Unusable
from stash_sense.app.match_identity import scene_with_identities
from stash_sense.app.results import (
    SceneResult,
    StashSceneResult,
    scene_result,
    stash_scene_result,
)

if TYPE_CHECKING:
    from stash_sense.faces import FaceEngine
    from stash_sense.matching import Matcher
    from stash_sense.matching.tiers import Tier
    from stash_sense.sources.stash import StashClient


def identify_stash_scene(
    stash: StashClient,
    engine: FaceEngine,
    matcher: Matcher,
    scene_id: str,
    *,
    frames: int,
    source: str = "auto",
    top: int = 5,
    should_stop: Callable[[], bool] | None = None,
    min_tier: Tier = "unlikely",
) -> StashSceneResult:
    """Sample `frames` frames of the Stash scene (`source`: auto, sprite or video), identify
    every person, and mark the matches already on the scene; matches below `min_tier` are left
    out.

    Raises NotFound (no such scene), InvalidInput (an unknown source), FrameError (the frames
    cannot be read), StashError, SceneCancelled (when `should_stop()` turns true).
    """
    from stash_sense.scenes.identify import identify_scene
    from stash_sense.scenes.stash import SOURCES, performers_on_scene, stash_scene_frames

    if source not in SOURCES:
        raise InvalidInput(f"source must be one of {', '.join(SOURCES)}")
    started = time.perf_counter()
    scene = stash.find_scene(scene_id)
    if scene is None:
        raise NotFound(f"Stash has no scene {scene_id}")
    picked, used, notes = stash_scene_frames(
        stash, scene, frames, source=source, should_stop=should_stop, engine=engine
    )
    result = identify_scene(
        picked, engine, matcher, source=used, scene_id=scene.id, top=top, should_stop=should_stop
    )
    owners = performers_on_scene(result, scene)
    elapsed = time.perf_counter() - started
    found = stash_scene_result(result, owners, elapsed, notes, min_tier)
    return scene_with_identities(found, matcher.db.path)


def identify_video(
    video: Path,
    engine: FaceEngine,
    matcher: Matcher,
    *,
    frames: int,
    top: int = 5,
    min_tier: Tier = "unlikely",
) -> SceneResult:
    """Identify every person in a local video file from `frames` evenly spaced frames (matches
    below `min_tier` left out).

    Each match carries its identity when the database has an identity graph. Raises
    InvalidInput (no such file) and Unusable (the video cannot be decoded).
    """
    from stash_sense.scenes.frames import FrameError
    from stash_sense.scenes.identify import identify_scene
    from stash_sense.scenes.video import video_frames

    if not video.is_file():
        raise InvalidInput(f"no such video file: {video}")
    try:
        sampled = video_frames(str(video.resolve()), frames)
    except FrameError as err:
        raise Unusable(str(err)) from err
    found = identify_scene(sampled, engine, matcher, source="video", top=top)
    return scene_with_identities(scene_result(found, min_tier), matcher.db.path)
