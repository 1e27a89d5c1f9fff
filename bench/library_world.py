"""The 20,000-scene library that bench_library scans: clips, scenes, local performers, truth.

Made once from ../shared/eval faces into bench/work/library/ (seeded, so a re-run makes the same
world) and reused:
- identities: the cast (lfw-dev and lfw-dev-extra people with 3+ photos), split by identity into
  a tuning half "A" and a held-out half "B"; strangers (lfw-dev-extra people never enrolled);
  distractors (one photo each, enrolled, never on screen);
- the face database: 0.jpg of every cast identity and every distractor, built with `stash-sense
  build` through the devkit stash-box stand-in (so its faces carry stash ids);
- clips: short H.264 videos (synth.compose_video) with a Stash sprite sheet and VTT, made of cast
  photos other than 0.jpg (held out by photo), each clip of one half only, some with a stranger,
  a few with nobody; many scenes share a clip;
- scenes: each points at one clip, with a distinct Stash `updated_at` in random order (so the
  scan, oldest edit first, takes a random sample of the library first); 60% without performers,
  the rest tagged with the local performers of the clip's cast (a duplicated identity by
  either of its two, half the time each), some wrongly;
- local performers (Stash's): one per cast identity, some with a stash id, some without (to
  link), and a few duplicated under another name (to merge), each with a photo as its image.

`world.json` holds all of it; the devkit stand-in (standins/library_world.py) serves it.
"""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.evaldata import FACES, enrolment_folder
from bench.sidecar_world import WORK
from stash_sense_devkit.standins.catalog import stable_id
from stash_sense_devkit.synth import compose_video, make_sprite

LIBRARY = WORK / "library"
ENDPOINT = "https://stashdb.org/graphql"
SEED = 21
SHOT_S = 3.0
#: 2: a duplicated identity's scenes are tagged with either of its local performers (1: only
#: the first, so merging by tagged scenes' faces could not be measured)
WORLD_VERSION = 2


@dataclass(frozen=True)
class WorldSize:
    scenes: int = 20_000
    clips: int = 165
    cast_per_half: int = 120
    strangers: int = 60
    distractors: int = 800
    untagged_share: float = 0.6
    wrong_tag_share: float = 0.15  # of the tagged scenes
    stash_id_share: float = 0.6  # local performers that have a stash id already
    duplicate_share: float = 0.05  # cast identities with a second local performer


def _people(folder: Path, min_photos: int) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.is_dir() and len(list(p.glob("*.jpg"))) >= min_photos
    )


def _name(folder: Path) -> str:
    return folder.name.replace("_", " ")


def _photos(folder: Path) -> list[Path]:
    """The photos of an identity other than 0.jpg (the enrolled one)."""
    return sorted(p for p in folder.glob("*.jpg") if p.name != "0.jpg")


def choose_identities(size: WorldSize, rng: random.Random) -> dict[str, list[Path]]:
    """Cast halves A and B, strangers, distractors: disjoint sets of identity folders."""
    cast_pool = _people(FACES / "lfw-dev", 3) + _people(FACES / "lfw-dev-extra", 3)
    rng.shuffle(cast_pool)
    n = size.cast_per_half
    half_a, half_b = cast_pool[:n], cast_pool[n : 2 * n]
    taken = {p.name for p in cast_pool[: 2 * n]}
    stranger_pool = [p for p in _people(FACES / "lfw-dev-extra", 2) if p.name not in taken]
    rng.shuffle(stranger_pool)
    distractors = sorted((FACES / "lfw-dev-distractors").iterdir())
    extra = sorted((FACES / "lfw-dev-extra-distractors").iterdir())
    rng.shuffle(extra)
    distractors += extra[: max(0, size.distractors - len(distractors))]
    return {"A": half_a, "B": half_b, "strangers": stranger_pool[: size.strangers],
            "distractors": distractors[: size.distractors]}  # fmt: skip


def plan_clip(index: int, groups: dict[str, list[Path]], rng: random.Random) -> dict[str, Any]:
    """Who is in one clip, shot by shot: (identity folder, photo) per face, of one half only."""
    half = "A" if index % 2 == 0 else "B"
    roll = rng.random()
    n_cast = 0 if roll < 0.08 else rng.choice([1, 1, 2, 2, 3])
    cast = rng.sample(groups[half], n_cast)
    strangers = rng.sample(groups["strangers"], 1) if (rng.random() < 0.25 or roll < 0.04) else []
    people = cast + strangers
    n_shots = rng.randint(4, 7)
    shots: list[list[tuple[Path, Path]]] = [[] for _ in range(n_shots)]
    for person in people:
        # some appear in one shot only (a cameo): what the pre-selection's min_frames is for
        for s in rng.sample(range(n_shots), rng.randint(1, n_shots - 1)):
            if len(shots[s]) < 3:
                shots[s].append((person, rng.choice(_photos(person))))
    seen = {str(p) for shot in shots for p, _ in shot}
    return {
        "name": f"clip-{index:04d}",
        "half": half,
        "cast": [_name(p) for p in cast if str(p) in seen],
        "strangers": [_name(p) for p in strangers if str(p) in seen],
        "face_height": rng.randint(110, 300),
        "shots": [[str(photo) for _, photo in shot] for shot in shots],
    }


def make_clip(plan: dict[str, Any], folder: Path) -> None:
    """The clip's video, sprite sheet and VTT (skipped when already made)."""
    video = folder / "scene.mp4"
    if not (folder / "scene_thumbs.vtt").exists():
        shots = [[Path(p) for p in shot] for shot in plan["shots"]]
        compose_video(shots, video, shot_s=SHOT_S, face_height=plan["face_height"])
        make_sprite(video, SHOT_S * len(shots), folder)


def _local_performers(
    size: WorldSize, groups: dict[str, list[Path]], rng: random.Random
) -> list[dict[str, Any]]:
    """Stash's own performers: every cast identity once, some twice (a duplicate to merge)."""
    out: list[dict[str, Any]] = []
    for folder in groups["A"] + groups["B"]:
        name = _name(folder)
        has_id = rng.random() < size.stash_id_share
        sid = stable_id("performer", name)  # the id the stash-box stand-in serves it under
        out.append({"id": str(len(out) + 1), "name": name, "identity": name,
                    "stash_ids": [{"endpoint": ENDPOINT, "stash_id": sid}] if has_id else [],
                    "image": str(rng.choice(_photos(folder)))})  # fmt: skip
        if rng.random() < size.duplicate_share:
            first, *rest = name.split(" ")
            out.append({"id": str(len(out) + 1), "name": " ".join([first[0] + ".", *rest]),
                        "identity": name, "stash_ids": [],
                        "image": str(rng.choice(_photos(folder)))})  # fmt: skip
    return out


def _scenes(
    size: WorldSize, clips: list[dict[str, Any]], locals_: list[dict[str, Any]], rng: random.Random
) -> list[dict[str, Any]]:
    """The scenes; an identity with two local performers is tagged by either, half the time
    each (drawn from a generator of its own, so every other draw is that of world version 1)."""
    by_identity: dict[str, list[str]] = {}
    for p in locals_:
        by_identity.setdefault(p["identity"], []).append(p["id"])
    which = random.Random(SEED + 1)
    all_ids = [p["id"] for p in locals_]
    stamps = rng.sample(range(1_735_689_600, 1_735_689_600 + size.scenes * 60), size.scenes)
    scenes = []
    for i in range(size.scenes):
        clip = rng.randrange(len(clips))
        tagged: list[str] = []
        wrong = False
        if rng.random() >= size.untagged_share:
            tagged = [_one_of(by_identity[n], which) for n in clips[clip]["cast"]]
            if rng.random() < size.wrong_tag_share or not tagged:
                wrong = True
                if tagged and rng.random() < 0.5:
                    tagged.pop(rng.randrange(len(tagged)))  # someone seen is not tagged
                tagged.append(rng.choice([x for x in all_ids if x not in tagged]))
        scenes.append({"id": str(i + 1), "clip": clip, "updated": stamps[i],
                       "performers": tagged, "wrong_tags": wrong})  # fmt: skip
    return scenes


def _one_of(ids: list[str], rng: random.Random) -> str:
    return ids[0] if len(ids) == 1 else rng.choice(ids)


def world_file(size: WorldSize) -> Path:
    """Where the world of this size is kept (version 2: duplicates tagged on scenes too)."""
    return LIBRARY / f"world-{size.scenes}-{size.clips}-v{WORLD_VERSION}.json"


def build_world(size: WorldSize, log: Any = print) -> dict[str, Any]:
    """world.json (made once per size; the clips are cached one by one)."""
    path = world_file(size)
    if path.is_file():
        world: dict[str, Any] = json.loads(path.read_text())
        return world
    rng = random.Random(SEED)
    groups = choose_identities(size, rng)
    clips = [plan_clip(i, groups, rng) for i in range(size.clips)]
    locals_ = _local_performers(size, groups, rng)
    world = {
        "size": size.__dict__,
        "endpoint": ENDPOINT,
        "halves": {h: [_name(p) for p in groups[h]] for h in ("A", "B")},
        "strangers": [_name(p) for p in groups["strangers"]],
        "distractors": [str(p) for p in groups["distractors"]],
        "cast_folders": [str(p) for p in groups["A"] + groups["B"]],
        "clips": clips,
        "performers": locals_,
        "scenes": _scenes(size, clips, locals_, rng),
    }
    for n, plan in enumerate(clips):
        make_clip(plan, LIBRARY / "clips" / plan["name"])
        if n % 25 == 24:
            log(f"  clips made: {n + 1}/{len(clips)}")
    LIBRARY.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(world))
    return world


def built_library_db(world: dict[str, Any]) -> Path:
    """The same 1,040 performers (0.jpg of every cast identity and distractor) built with
    `stash-sense build` through the devkit stash-box stand-in, so every face carries the stash id
    the stand-in serves (the one the world's local performers hold) under `ENDPOINT`."""
    from bench.bench_build import build_cmd, write_config
    from stash_sense_devkit.standins.launch import serve_in_subprocess

    folders = [Path(p) for p in world["cast_folders"] + world["distractors"]]
    db = LIBRARY / f"built-{len(folders)}"
    if (db / "current" / "manifest.json").is_file():
        return db
    src = LIBRARY / f"db-{len(folders)}-src"
    if not src.is_dir():
        enrolment_folder(src, folders)
    log = LIBRARY / "stashbox.log"
    with serve_in_subprocess("stashbox", ["--faces", str(src)], log_file=log) as base:
        config = write_config(LIBRARY / "endpoints.toml", f"{base}/graphql", rate_limit=1000,
                              concurrency=4, stash_endpoint=ENDPOINT)  # fmt: skip
        proc = subprocess.run(build_cmd(db, config), capture_output=True, text=True, timeout=7200)
    if proc.returncode != 0:
        raise SystemExit(f"stash-sense build failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return db


def clip_folder(world: dict[str, Any], clip: int) -> Path:
    return LIBRARY / "clips" / world["clips"][clip]["name"]
