"""Where a scene's time goes, stage by stage, in each mode (issue 24): wall and CPU seconds.

Runs the sidecar's own use case (`app.scene.identify_stash_scene`) in this process against the
Stash stand-in serving bench_scene's scenes and database, with each stage's function wrapped by
a timer (the real functions run; the wrapper only reads the clocks). A stage's CPU is the whole
process's (every thread) plus its finished children's (ffmpeg, ffprobe); stages run one after
the other in the calling thread, so their figures do not overlap, except where one is named
inside another ("detect_scene_faces > embed_aligned": the SFace pass inside detection).

    python -m bench.scene_stages               # sprite, auto, video on the short scenes; long
    python -m bench.scene_stages --modes long --repeat 3

Writes bench/results/scene-stages.json: per mode the first scene (models and indices loading,
first inference) apart from the steady median of the others.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench.sidecar_world import API_KEY, ROOT, enrolled_db, pin_cores, scenes_dir, stand_in

RESULTS = ROOT / "bench" / "results" / "scene-stages.json"
FRAMES = 40
#: stage name -> (module, attribute path) of the function whose calls are that stage
STAGES = {
    "stash: find_scene": ("stash_sense.sources.stash", "StashClient.find_scene"),
    "sprite: fetch VTT + sheet, decode": ("stash_sense.scenes.stash", "sprite_from_stash"),
    "sprite: presence pass": ("stash_sense.scenes.stash", "face_times"),
    "video: probe": ("stash_sense.scenes.video", "probe"),
    "video: frames (probe + decode)": ("stash_sense.scenes.stash", "frames_at"),
    "detect_scene_faces": ("stash_sense.scenes.identify", "detect_scene_faces"),
    "embed_aligned": ("stash_sense.faces.engine", "FaceEngine.embed_aligned"),
    "cluster": ("stash_sense.scenes.identify", "cluster"),
    "prepare_for_matching": ("stash_sense.scenes.identify", "prepare_for_matching"),
    "match_faces": ("stash_sense.matching.matcher", "Matcher.match_faces"),
    "scene frames, all": ("stash_sense.scenes.stash", "stash_scene_frames"),
    "identify_scene, all": ("stash_sense.scenes.identify", "identify_scene"),
}
_local = threading.local()


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Clock:
    """Wall and CPU seconds per stage path ("a > b": b called while a ran)."""

    def __init__(self) -> None:
        self.totals: dict[str, list[float]] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        stack: list[str] = getattr(_local, "stack", [])
        _local.stack = stack
        if threading.current_thread() is not threading.main_thread():
            yield  # worker threads' calls are inside a main-thread stage already
            return
        stack.append(name)
        wall0, cpu0 = time.perf_counter(), _cpu()
        try:
            yield
        finally:
            key = " > ".join(stack)
            stack.pop()
            row = self.totals.setdefault(key, [0.0, 0.0, 0])
            row[0] += time.perf_counter() - wall0
            row[1] += _cpu() - cpu0
            row[2] += 1

    def take(self) -> dict[str, dict[str, float]]:
        out = {k: {"wall_s": round(w, 3), "cpu_s": round(c, 3), "calls": int(n)}
               for k, (w, c, n) in sorted(self.totals.items())}  # fmt: skip
        self.totals = {}
        return out


def instrument(clock: Clock) -> None:
    """Wrap each STAGES function (in the module that calls it) with the clock."""
    import importlib

    for name, (module, path) in STAGES.items():
        owner: Any = importlib.import_module(module)
        parts = path.split(".")
        for part in parts[:-1]:
            owner = getattr(owner, part)
        func: Callable[..., Any] = getattr(owner, parts[-1])

        def timed(*a: Any, _f: Callable[..., Any] = func, _n: str = name, **k: Any) -> Any:
            with clock.stage(_n):
                return _f(*a, **k)

        setattr(owner, parts[-1], functools.wraps(func)(timed))


def summary(rows: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """The median of each stage over the scenes (0 where a scene did not run it)."""
    keys = sorted({k for r in rows for k in r})
    return {
        k: {
            m: round(statistics.median(r.get(k, {}).get(m, 0.0) for r in rows), 3)
            for m in ("wall_s", "cpu_s")
        }
        for k in keys
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=["sprite", "auto", "video", "long"])
    parser.add_argument("--repeat", type=int, default=1, help="runs of the long video")
    args = parser.parse_args(argv)
    pin_cores(2)
    from stash_sense.app.recognizer import engine_for, load_engine, open_recognizer
    from stash_sense.app.scene import identify_stash_scene
    from stash_sense.sources.stash import StashClient

    clock = Clock()
    instrument(clock)
    db = enrolled_db(False)
    folder, _truth = scenes_dir(False, 20.0)
    scenes = sorted(s for s in _truth if s != "scene-100")
    load = [round(x, 2) for x in os.getloadavg()]
    out: dict[str, Any] = {"load_average_start": load, "modes": {}}
    with stand_in(folder) as url:
        started = time.perf_counter()
        engine = load_engine(engine_for(db))
        rec = open_recognizer(db, engine)
        out["start_s"] = round(time.perf_counter() - started, 3)
        stash = StashClient(url, API_KEY)
        for mode in args.modes:
            todo = ["scene-100"] * args.repeat if mode == "long" else scenes
            source = "video" if mode == "long" else mode
            rows, walls, cpus = [], [], []
            for scene in todo:
                wall0, cpu0 = time.perf_counter(), _cpu()
                scene_id = scene.split("-")[1]
                identify_stash_scene(
                    stash, engine, rec.matcher, scene_id, frames=FRAMES, source=source
                )
                walls.append(round(time.perf_counter() - wall0, 3))
                cpus.append(round(_cpu() - cpu0, 3))
                rows.append(clock.take())
            steady = rows[1:] or rows
            out["modes"][mode] = {
                "scenes": len(rows),
                "first_scene": {"wall_s": walls[0], "cpu_s": cpus[0], "stages": rows[0]},
                "steady_median": {
                    "wall_s": statistics.median(walls[1:] or walls),
                    "cpu_s": statistics.median(cpus[1:] or cpus),
                    "stages": summary(steady),
                },
            }
            print(mode, json.dumps(out["modes"][mode]["steady_median"], indent=1))
        rec.close()
    out["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
