"""Identify a scene: a Stash scene (sprite sheet and/or stream) or a local video file."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stash_sense.app.errors import InvalidInput, NotFound, Unusable

if TYPE_CHECKING:
    from stash_sense.faces import FaceEngine
    from stash_sense.matching import Matcher
    from stash_sense.scenes.identify import SceneResult
    from stash_sense.sources.stash import StashClient


@dataclass
class StashSceneResult:
    """Who is in a Stash scene, how long it took in all (frames included), and notes on
    fallbacks (e.g. "no face in the sprite sheet; sampled the video evenly")."""

    scene: SceneResult
    elapsed_s: float
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The "Scene result" of docs/architecture.md, with `already_on_scene` marks."""
        out = self.scene.as_dict()
        out["elapsed_s"] = round(self.elapsed_s, 3)
        out["notes"] = self.notes
        return out


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
) -> StashSceneResult:
    """Sample `frames` frames of the Stash scene (`source`: auto, sprite or video), identify
    every person, and mark the matches already on the scene.

    Raises NotFound (no such scene), InvalidInput (an unknown source), FrameError (the frames
    cannot be read), StashError, SceneCancelled (when `should_stop()` turns true).
    """
    from stash_sense.scenes.identify import identify_scene
    from stash_sense.scenes.stash import SOURCES, mark_on_scene, stash_scene_frames

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
    mark_on_scene(result, scene)
    return StashSceneResult(result, time.perf_counter() - started, notes)


def identify_video(
    video: Path, engine: FaceEngine, matcher: Matcher, *, frames: int, top: int = 5
) -> SceneResult:
    """Identify every person in a local video file from `frames` evenly spaced frames.

    Raises InvalidInput (no such file) and Unusable (the video cannot be decoded).
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
    return identify_scene(sampled, engine, matcher, source="video", top=top)
