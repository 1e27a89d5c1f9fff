"""A Stash scene's frames and what Stash already knows about it (its performers' stash ids).

Sources: "sprite" cuts the sprite sheet along its VTT; "video" samples N evenly spaced ffmpeg frames
of the stream; "auto" (the default) reads the sprite first and, because Stash's 160 px thumbnails
show faces too small to recognise, uses it to find *when* faces are on screen (one detector pass
per enlarged row of thumbnails), then takes full-size video frames: most at those times, the rest
evenly spaced in case the sheet hid a face. Without a usable sprite, "auto" samples evenly.
Every file is fetched from the Stash host only.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from stash_sense.faces import FaceEngine
from stash_sense.faces.imageio import ImageError, load_image
from stash_sense.matching import Match
from stash_sense.scenes.faces import SceneCancelled
from stash_sense.scenes.frames import Frame, FrameError, Image, sprite_frames
from stash_sense.scenes.identify import SceneResult
from stash_sense.scenes.video import frames_at, sample_times
from stash_sense.sources.stash import StashClient, StashError, StashScene

MAX_SPRITE_BYTES = 16 * 1024 * 1024
MAX_VTT_BYTES = 1024 * 1024
#: Stash's sheet is 9 x 9 thumbnails 160 px wide (1440 x 810 for 16:9); five times that area is
#: the most accepted, checked from the header before decoding (the presence pass enlarges it 2.5x).
MAX_SPRITE_PIXELS = 2560 * 2560
#: In "auto", sprite faces narrower than this (thumbnail pixels) are re-read from the video.
MIN_SPRITE_FACE_PX = 48
SOURCES = ("auto", "sprite", "video")
#: The sheet is enlarged this much for the presence pass (Stash's thumbnails are 160 px wide).
SHEET_SCALE = 2.5
#: Share of the video frames taken at times the sprite showed a face.
FOCUS = 0.75


def sprite_from_stash(client: StashClient, scene: StashScene) -> tuple[Image, list[Frame]]:
    """The sprite sheet and its thumbnails; raise FrameError when Stash has no usable sprite."""
    if not scene.sprite or not scene.vtt:
        raise FrameError(f"scene {scene.id} has no sprite sheet")
    try:
        vtt = client.fetch(scene.vtt, max_bytes=MAX_VTT_BYTES).decode("utf-8", errors="replace")
        data = client.fetch(scene.sprite, max_bytes=MAX_SPRITE_BYTES)
    except StashError as exc:
        raise FrameError(f"sprite of scene {scene.id}: {exc}") from exc
    try:
        sheet = load_image(
            data, max_pixels=MAX_SPRITE_PIXELS, max_bytes=MAX_SPRITE_BYTES, reduce=False
        )
    except ImageError as exc:
        raise FrameError(f"the sprite sheet of scene {scene.id}: {exc}") from exc
    return sheet, sprite_frames(sheet, vtt)


def _stream_url(client: StashClient, scene: StashScene) -> str:
    if not scene.stream:
        raise FrameError(f"scene {scene.id} has neither a usable sprite sheet nor a stream")
    try:
        return client.resolve(scene.stream)
    except StashError as exc:
        raise FrameError(f"stream of scene {scene.id}: {exc}") from exc


def _duration(client: StashClient, scene: StashScene, url: str) -> float:
    from stash_sense.scenes.video import probe_duration

    known = scene.files[0].duration if scene.files else 0.0
    return known if known > 0 else probe_duration(url, client.auth_headers)


def face_times(
    sheet: Image,
    frames: list[Frame],
    engine: FaceEngine | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[list[float], float]:
    """Times of the thumbnails that show a face, and the widest face in thumbnail pixels.

    One detector pass per row of thumbnails enlarged SHEET_SCALE times, instead of one per
    thumbnail; each face belongs to the thumbnail holding its centre. Row by row, not the whole
    sheet at once: the detector keeps buffers for the largest input it saw (about 530 MB for a
    whole enlarged 1440 x 810 sheet, about 100 MB for one row of it), and the scan's prefetch
    thread keeps its detector; no face crosses from one thumbnail into another. `should_stop`
    is asked between rows: a pause does not wait for the whole sheet (what was seen so far is
    returned, and the caller stops).
    """
    detector = engine or FaceEngine.default()
    seen: set[int] = set()
    widest = 0.0
    for top, bottom in _rows(frames, sheet.shape[0]):
        if should_stop is not None and should_stop():
            break
        band = cv2.resize(sheet[top:bottom], None, fx=SHEET_SCALE, fy=SHEET_SCALE,
                          interpolation=cv2.INTER_LINEAR)  # fmt: skip
        # "is anyone on screen": the engine's full-size pass (no size cap, no refinement)
        for face in detector.detect(band, refine=False, full_size=True):
            cx = (face.box.x + face.box.w / 2) / SHEET_SCALE
            cy = top + (face.box.y + face.box.h / 2) / SHEET_SCALE
            for frame in frames:
                x, y, w, h = frame.region or (0, 0, 0, 0)
                if x <= cx < x + w and y <= cy < y + h:
                    seen.add(frame.index)
                    widest = max(widest, face.box.w / SHEET_SCALE)
                    break
    return [f.time_s for f in frames if f.index in seen], widest


def _rows(frames: list[Frame], height: int) -> list[tuple[int, int]]:
    """The sheet's rows of thumbnails (top, bottom), overlapping ones merged; the whole sheet
    when no frame says where it lies."""
    spans = sorted({(f.region[1], f.region[1] + f.region[3]) for f in frames if f.region})
    rows: list[tuple[int, int]] = []
    for top, bottom in spans:
        top, bottom = max(0, top), min(height, bottom)
        if rows and top < rows[-1][1]:
            rows[-1] = (rows[-1][0], max(rows[-1][1], bottom))
        elif bottom > top:
            rows.append((top, bottom))
    return rows or [(0, height)]


def pick_times(face_at: list[float], duration: float, count: int) -> list[float]:
    """`count` times: FOCUS of them among the face times, the rest evenly spaced, sorted."""
    focused = spread(face_at, max(1, round(count * FOCUS)))
    picked = {round(t, 3) for t in focused}
    extra = sample_times(duration, max(1, count - len(picked)))
    spare = iter(sample_times(duration, 2 * count + 1))
    for t in extra:
        while t in picked:  # the same time twice would waste a frame
            t = next(spare, -1.0)
        if t >= 0:
            picked.add(t)
    return sorted(picked)


def spread(values: list[float], count: int) -> list[float]:
    """At most `count` of `values`, evenly spread over the list."""
    if len(values) <= count:
        return list(values)
    step = len(values) / count
    return [values[int(i * step + step / 2)] for i in range(count)]


def stash_scene_frames(
    client: StashClient,
    scene: StashScene,
    count: int,
    *,
    source: str = "auto",
    should_stop: Callable[[], bool] | None = None,
    engine: FaceEngine | None = None,
) -> tuple[list[Frame], str, list[str]]:
    """Frames of the scene, where they came from, and notes on fallbacks (see the docstring)."""
    if source not in SOURCES:
        raise FrameError(f"source must be one of {', '.join(SOURCES)}")
    notes: list[str] = []
    sprite: list[Frame] = []
    sheet = np.zeros((0, 0, 3), np.uint8)
    if source in ("auto", "sprite"):
        try:
            sheet, sprite = sprite_from_stash(client, scene)
        except FrameError as exc:
            if source == "sprite":  # asked for the sprite only: say why it cannot be had
                raise
            notes.append(f"{exc}; sampled the video instead")
    if sprite and source == "sprite":
        return sprite, "sprite", notes
    headers = client.auth_headers
    if sprite:
        face_at, widest = face_times(sheet, sprite, engine, should_stop)
        if should_stop is not None and should_stop():
            raise SceneCancelled("stopped while reading the sprite")
        if face_at and widest >= MIN_SPRITE_FACE_PX:
            return sprite, "sprite", notes
        if not scene.stream:
            notes.append("faces in the sprite are small and Stash gives no stream")
            return sprite, "sprite", notes
        url = _stream_url(client, scene)
        times = pick_times(face_at, _duration(client, scene, url), count)
        if not face_at:
            notes.append("no face in the sprite sheet; sampled the video evenly")
        frames = frames_at(url, times, headers=headers, should_stop=should_stop)
        return frames, "sprite+video", notes
    url = _stream_url(client, scene)
    times = sample_times(_duration(client, scene, url), count)
    frames = frames_at(url, times, headers=headers, should_stop=should_stop, keyframes=True)
    return frames, "video", notes


def performers_on_scene(result: SceneResult, scene: StashScene) -> list[list[str | None]]:
    """For each person's each match, the Stash performer of the scene that is that match (by a
    shared stash id), or None when the match is not on the scene."""
    owner = {
        (sid.endpoint, sid.stash_id): performer.id
        for performer in scene.performers
        for sid in performer.stash_ids
    }

    def on_scene(match: Match) -> str | None:
        keys = [(s["endpoint"], s["stash_id"]) for s in match.stash_ids]
        return next((owner[k] for k in keys if k in owner), None)

    return [[on_scene(m) for m in person.matches] for person in result.persons]
