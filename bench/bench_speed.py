"""Speed on 2 cores: per-face detection and embedding; identify throughput vs face_recognition.

Both pipelines run on the same images in the same process, one image at a time, as the
`identify` command does: ours is load_image + the identify cascade (YuNet, quality, SFace;
FaceNet and the fused ranking only for the faces SFace alone does not decide; matching/cascade.py)
on a SQLite + Voyager database of the LFW gallery, also timed without the cascade (every face
fused); the peer is face_recognition 1.3 (dlib HOG detector upsampled once + 128-d encoding +
face_distance against the same gallery).
Images: lfw-dev photos (250x250) and lfw-dev-hard-queries frames (640x360), half each. Also
timed: ours with OpenCV on one thread, ours with SFace alone (the fastest configuration), and
ours identifying two images at once (`ours_2_at_once`: two threads over the images, results in
order), the way a caller with many images can use both cores. dlib's ResNet runs in OpenCV (the
graph converted from dlib's file, faces/embedders/dlib_cache.py); the same run also times it run
by dlib itself, as before the conversion (`dlib_in_dlib`: per face, one image at a time, and two
at once on both cores: this process and one worker process, faces/lanes.py). Each contender's
CPU seconds per image are this process's (a lanes worker process's CPU is not counted: its
wall time is).

    python -m bench.bench_speed             # BENCH_QUICK=1: 10 images, small gallery

Writes bench/results/speed.json.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.evaldata import FACES, require_eval
from stash_sense.database import DatabaseWriter, EmbedderInfo, FaceDatabase, PerformerRecord
from stash_sense.faces import FaceEngine, load_image
from stash_sense.faces.embedders import DlibResNetEmbedder, make_embedder
from stash_sense.faces.types import ImageArray
from stash_sense.matching import Matcher
from stash_sense.matching.cascade import DEFAULT_CASCADE, Cascade, CascadeIdentifier

ROOT = Path(__file__).resolve().parents[1]
EVAL = FACES
RESULTS = ROOT / "bench" / "results" / "speed.json"
QUICK = os.environ.get("BENCH_QUICK") == "1"
CORES = 2


def pin_cores(n: int) -> list[int]:
    """Run on at most `n` cores (the figures are for a 2-core machine)."""
    cpus = sorted(os.sched_getaffinity(0))[:n]
    os.sched_setaffinity(0, cpus)
    cv2.setNumThreads(len(cpus))
    return cpus


def sample(n: int) -> list[Path]:
    """`n` query images, half plain LFW photos and half hard 640x360 frames, spread over people."""
    dev, hard = EVAL / "lfw-dev", EVAL / "lfw-dev-hard-queries"
    people = sorted(p.name for p in dev.iterdir() if p.is_dir())
    step = max(1, len(people) // max(1, n // 2))
    chosen = people[::step][: n // 2]
    return [dev / p / "1.jpg" for p in chosen] + [hard / p / "1.jpg" for p in chosen]


def gallery(limit: int | None) -> list[tuple[str, Path]]:
    dev, distractors = EVAL / "lfw-dev", EVAL / "lfw-dev-distractors"
    items = [(p.name, p / "0.jpg") for p in sorted(dev.iterdir()) if p.is_dir()]
    items += [(p.name, p / "0.jpg") for p in sorted(distractors.iterdir()) if p.is_dir()]
    return items[:limit]


def ms(values: Sequence[float]) -> dict[str, float]:
    return {
        "mean_ms": round(1000 * statistics.fmean(values), 2),
        "p50_ms": round(1000 * statistics.median(values), 2),
        "n": len(values),
    }


def stage_times(
    engine: FaceEngine, images: list[ImageArray], native: DlibResNetEmbedder
) -> dict[str, Any]:
    """Per-face detection time and per-face embedding time of each embedder (alignment included),
    and of dlib's ResNet run by dlib (`native`) on the same faces."""
    detect: list[float] = []
    per_embedder: dict[str, list[float]] = {e.name: [] for e in engine.embedders}
    per_embedder["dlib_in_dlib"] = []
    cpu: dict[str, float] = dict.fromkeys(per_embedder, 0.0)
    for image in images:
        started = time.perf_counter()
        faces = engine.detect(image)
        elapsed = time.perf_counter() - started
        if not faces:
            continue
        detect.append(elapsed / len(faces))
        for embedder, name in [*((e, e.name) for e in engine.embedders), (native, "dlib_in_dlib")]:
            started, cpu_started = time.perf_counter(), time.process_time()
            embedder.embed([embedder.align(image, f.landmarks, f.box) for f in faces])
            per_embedder[name].append((time.perf_counter() - started) / len(faces))
            cpu[name] += time.process_time() - cpu_started
    faces_seen = max(1, sum(len(engine.detect(i)) for i in images))
    return {
        "detection": ms(detect),
        **{
            f"embed_{n}": {**ms(v), "cpu_ms": round(1000 * cpu[n] / faces_seen, 2)}
            for n, v in per_embedder.items()
        },
    }


def build_db(engine: FaceEngine, people: list[tuple[str, Path]], root: Path) -> None:
    infos = [EmbedderInfo.from_embedder(e) for e in engine.embedders]
    with DatabaseWriter.open(root, infos) as writer:
        with writer.transaction():
            for name, path in people:
                faces = engine.analyze(load_image(path), max_faces=1)
                if faces:
                    pid = writer.upsert_performer(PerformerRecord(name=name), "bench")
                    writer.add_face(pid, "bench", str(path), faces[0])
        writer.publish()


def ours(
    engine: FaceEngine,
    matcher: Matcher,
    paths: list[Path],
    cascade: Cascade | None = DEFAULT_CASCADE,
    decided: list[bool] | None = None,
) -> list[float]:
    """Per-image time of the identify path (app/identify.py; no cascade if `cascade` is None)."""
    times: list[float] = []
    for path in paths:
        started = time.perf_counter()
        out = CascadeIdentifier(engine, matcher, cascade).identify(load_image(path), top=5)
        times.append(time.perf_counter() - started)
        if decided is not None:
            decided += [bool(m) and len(m[0].decided_by) == 1 for _, m in out]
    return times


def ours_at_once(
    engine: FaceEngine, matcher: Matcher, paths: list[Path], at_once: int
) -> list[float]:
    """Per-image share of the wall time of identifying the images `at_once` at a time."""
    identifier = CascadeIdentifier(engine, matcher)
    started = time.perf_counter()
    with ThreadPoolExecutor(at_once) as pool:
        list(pool.map(lambda p: identifier.identify(load_image(p), top=5), paths))
    return [(time.perf_counter() - started) / len(paths)] * len(paths)


def peer_gallery(people: list[tuple[str, Path]]) -> np.ndarray:
    import face_recognition

    known = []
    for _, path in people:
        rgb = face_recognition.load_image_file(str(path))
        encodings = face_recognition.face_encodings(rgb)
        if encodings:
            known.append(encodings[0])
    return np.asarray(known)


def peer(known: np.ndarray, paths: list[Path]) -> list[float]:
    import face_recognition

    times: list[float] = []
    for path in paths:
        started = time.perf_counter()
        rgb = face_recognition.load_image_file(str(path))
        boxes = face_recognition.face_locations(rgb)
        for encoding in face_recognition.face_encodings(rgb, boxes):
            int(np.argmin(face_recognition.face_distance(known, encoding)))
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    require_eval()
    cpus = pin_cores(CORES)
    paths = sample(10 if QUICK else 120)
    people = gallery(40 if QUICK else None)
    engine = FaceEngine.create(workers=len(cpus)).load()
    # as before the conversion: the same ensemble with dlib's ResNet run by dlib
    native_dlib = DlibResNetEmbedder(backend="dlib")
    native = FaceEngine([make_embedder("sface"), native_dlib], workers=len(cpus)).load()
    images = [load_image(p) for p in paths]
    engine.analyze(images[0])  # warm up: networks load on first use
    native.analyze(images[0])
    results: dict[str, Any] = {
        "quick": QUICK,
        "setup": {
            "cores": len(cpus),
            "images": len(paths),
            "gallery": len(people),
            "embedders": engine.embedder_names,
            "python": platform.python_version(),
            "opencv": cv2.__version__,
            "cpu": platform.processor() or platform.machine(),
            "dlib_backend": getattr(engine.embedders[-1], "backend", "?"),
            "load_average_start": os.getloadavg(),
        },
        # one lane: a worker process's CPU would not be counted
        "per_face": stage_times(engine, images, DlibResNetEmbedder(backend="dlib")),
    }
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        root = Path(tmp) / "db"
        build_db(engine, people, root)
        with FaceDatabase.open(root) as fdb:
            matcher = Matcher(fdb)
            ours(engine, matcher, paths[:2])  # warm up the indices
            # the fastest option: SFace alone (same database, its SFace index only)
            sface = FaceEngine.create(("sface",)).load()
            sface_matcher = Matcher(fdb, ["sface"])
            ours(sface, sface_matcher, paths[:2])
            ours(native, matcher, paths[:2])
            native_dlib.lanes.start(timeout=120)  # dlib's worker process, started before timing
            rounds: dict[str, list[float]] = {
                "ours": [],
                "ours_no_cascade": [],
                "ours_1_thread": [],
                "ours_sface_only": [],
                "ours_2_at_once": [],
                "ours_dlib_in_dlib": [],
                "ours_dlib_in_dlib_2_at_once": [],
                "peer": [],
            }
            cpu: dict[str, float] = dict.fromkeys(rounds, 0.0)

            known: np.ndarray | None = None
            try:
                known = peer_gallery(people)
            except ImportError:
                results["face_recognition"] = {"skipped": "not installed (make bench-deps)"}
            # interleave the contenders so that machine noise hits both alike
            decided: list[bool] = []

            def run(name: str, contender: Callable[[], list[float]]) -> None:
                started = time.process_time()
                rounds[name] += contender()
                cpu[name] += time.process_time() - started

            for _ in range(1 if QUICK else 2):
                cv2.setNumThreads(len(cpus))
                run("ours", lambda: ours(engine, matcher, paths, decided=decided))
                run("ours_no_cascade", lambda: ours(engine, matcher, paths, None))
                cv2.setNumThreads(1)
                run("ours_1_thread", lambda: ours(engine, matcher, paths))
                cv2.setNumThreads(len(cpus))
                run("ours_sface_only", lambda: ours(sface, sface_matcher, paths))
                run("ours_2_at_once", lambda: ours_at_once(engine, matcher, paths, len(cpus)))
                run("ours_dlib_in_dlib", lambda: ours(native, matcher, paths))
                run(
                    "ours_dlib_in_dlib_2_at_once",
                    lambda: ours_at_once(native, matcher, paths, len(cpus)),
                )
                if known is not None:
                    run("peer", lambda: peer(known, paths))
    results["cascade"] = {
        "rule": asdict(DEFAULT_CASCADE),
        "faces": len(decided),
        "decided_by_sface_alone": round(sum(decided) / max(1, len(decided)), 4),
    }
    for name, times in rounds.items():
        if times:
            results[name] = {
                "images_per_s": round(len(times) / sum(times), 2),
                "cpu_s_per_image": round(cpu[name] / len(times), 4),
                "per_image": ms(times),
            }
    if rounds["peer"]:
        peer_ips = results["peer"]["images_per_s"]
        results["ratio_ours_over_face_recognition"] = round(
            results["ours"]["images_per_s"] / peer_ips, 2
        )
        for name in [n for n in rounds if n.startswith("ours_")]:
            results[f"ratio_{name}_over_face_recognition"] = round(
                results[name]["images_per_s"] / peer_ips, 2
            )
    engine.close()
    native.close()
    results["setup"]["load_average_end"] = os.getloadavg()
    results["target"] = "identify throughput >= 3x face_recognition on the same images, 2 cores"
    print(json.dumps(results, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    out = RESULTS.with_name("speed-quick.json") if QUICK else RESULTS
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
