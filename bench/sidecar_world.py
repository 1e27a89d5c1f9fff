"""What bench_scene and bench_sidecar run against, cached in bench/work.

An enrolled LFW database, scenes (eval, composed from lfw-dev, a long 1080p video), the Stash
stand-in and the sidecar, each a real subprocess.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.evaldata import FACES, SCENES, enrolment_folder
from stash_sense_devkit.standins.launch import free_port, serve_in_subprocess
from stash_sense_devkit.synth import compose_video, make_sprite

ROOT = Path(__file__).resolve().parents[1]
EVAL_SCENES = SCENES
WORK = ROOT / "bench" / "work"
API_KEY = "bench-key"


def pin_cores(n: int = 2) -> list[int]:
    """This process and its children run on at most `n` cores (figures are for 2 cores)."""
    cpus = sorted(os.sched_getaffinity(0))[:n]
    os.sched_setaffinity(0, cpus)
    return cpus


def enrolled_db(quick: bool) -> Path:
    """0.jpg of every lfw-dev identity plus the distractors (quick: scene people + 20), enrolled."""
    name = "db-quick" if quick else "db"
    db = WORK / name
    if (db / "current" / "manifest.json").is_file():
        if _usable(db):
            return db
        shutil.rmtree(db)  # made with other model versions: enrol again
    src = WORK / f"{name}-src"
    wanted = scene_people()
    people = sorted(p for p in (FACES / "lfw-dev").iterdir() if p.is_dir())
    if quick:
        people = [p for p in people if p.name in wanted]
    distractors = sorted((FACES / "lfw-dev-distractors").iterdir())[: 20 if quick else None]
    enrolment_folder(src, people + distractors)
    cmd = [sys.executable, "-m", "stash_sense.cli.app", "db", "enroll", str(src), "--db", str(db)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=3600)
    return db


def _usable(db: Path) -> bool:
    """Whether the cached database was made with this engine's models."""
    from stash_sense.database import DatabaseError, EmbedderInfo, FaceDatabase
    from stash_sense.faces import FaceEngine

    infos = [EmbedderInfo.from_embedder(e) for e in FaceEngine.default().embedders]
    try:
        FaceDatabase.open(db, infos).close()
    except DatabaseError:
        return False
    return True


def scene_people() -> set[str]:
    names: set[str] = set()
    for truth in EVAL_SCENES.glob("scene-*/truth.json"):
        names.update(json.loads(truth.read_text())["people"])
    return names | set(SYNTHETIC_PEOPLE)


#: Synthetic scenes from lfw-dev pictures other than 0.jpg: shots of (identity, picture number).
SYNTHETIC = {
    "scene-11": [[("Serena_Williams", 1)], [], [("Harrison_Ford", 2), ("Serena_Williams", 3)]],
    "scene-12": [[("Andre_Agassi", 1), ("Celine_Dion", 2)], [("Celine_Dion", 1)], []],
    "scene-13": [[("Hugo_Chavez", 2)], [("Hugo_Chavez", 1)], [("Harrison_Ford", 1)]],
}
SYNTHETIC_PEOPLE = sorted({n for shots in SYNTHETIC.values() for s in shots for n, _ in s})


def _picture(name: str, k: int) -> Path:
    folder = FACES / "lfw-dev" / name
    found = folder / f"{k}.jpg"
    return found if found.exists() else sorted(folder.glob("*.jpg"))[-1]


def scenes_dir(quick: bool, long_minutes: float) -> tuple[Path, dict[str, list[str]]]:
    """The scenes folder the stand-in serves, and the people truly in each scene."""
    base = WORK / ("scenes-quick" if quick else "scenes")
    base.mkdir(parents=True, exist_ok=True)
    truth: dict[str, list[str]] = {}
    for folder in sorted(EVAL_SCENES.glob("scene-*")):
        link = base / folder.name
        if not link.exists():
            link.symlink_to(folder)
        truth[folder.name] = json.loads((folder / "truth.json").read_text())["people"]
    for name, shots in SYNTHETIC.items():
        folder = base / name
        video = folder / "scene.mp4"
        if not video.exists():
            pictures = [[_picture(n, k) for n, k in shot] for shot in shots]
            compose_video(pictures, video, shot_s=3.0)
            make_sprite(video, 3.0 * len(shots), folder)
        truth[name] = sorted({n for shot in shots for n, _ in shot})
    long_dir = base / "scene-100"
    video = long_dir / "scene.mp4"
    people = ["Serena_Williams", "Harrison_Ford", "Andre_Agassi"]
    if not video.exists():
        # who is on screen changes irregularly, so that evenly spaced frames cannot alias
        rng = random.Random(7)
        shots_n = int(long_minutes * 60 / 4.0)
        long_shots: list[list[Path]] = []
        for _ in range(shots_n):
            who = rng.choice([*people, None])
            long_shots.append([] if who is None else [_picture(who, rng.randint(1, 3))])
        compose_video(long_shots, video, size=(1920, 1080), shot_s=4.0, fps=5, gop_s=4.0)
    truth["scene-100"] = sorted(people)
    return base, truth


def stand_in(scenes: Path) -> contextlib.AbstractContextManager[str]:
    """The Stash stand-in serving `scenes`, as a child process; yields its base URL."""
    return serve_in_subprocess("stash", ["--scenes", str(scenes)])


@contextlib.contextmanager
def sidecar(
    db: Path, stash_url: str, *extra: str, data: Path | None = None
) -> Iterator[tuple[str, int]]:
    """`stash-sense serve` as a subprocess (data folder: `data`, else bench/work/sidecar-data);
    yields its URL and process id."""
    port = free_port()
    data = data or WORK / "sidecar-data"
    data.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, STASH_SENSE_STASH_URL=stash_url, STASH_SENSE_API_KEY=API_KEY,
               STASH_SENSE_DATA_DIR=str(data))  # fmt: skip
    cmd = [sys.executable, "-m", "stash_sense.cli.app", "serve", "--db", str(db), "--port"]
    log = (data / "sidecar.log").open("wb")
    proc = subprocess.Popen([*cmd, str(port), *extra], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sidecar did not start; see {data / 'sidecar.log'}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
