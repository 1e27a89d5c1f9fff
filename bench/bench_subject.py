"""The subject rule (stash_sense.faces.subject) measured on the LFW photos of ../shared/eval/faces.

(a) Wrong subject: every photo of lfw-dev, lfw-dev-distractors, lfw-dev-extra and
lfw-dev-extra-distractors with more than one detected face. Truth: an LFW photo is a 250x250 crop
centred on the named person's face, so the named face is the one whose box centre lies within
TRUTH_RADIUS (10 % of the side, 25 px) of the image centre; a photo with no such face, or two, has
no known truth and is left out (counted). Each rule's pick is right (the centred face), wrong
(another face) or a skip. Rules: the old builder rule (the largest face, 2x the next and centred),
the old `db enroll` rule (the largest enrollable face), the new rule alone (a performer with this
one image: prominence), the new rule over all the identity's photos (agreement with its other
photos first), and agreement on its own (no prominence: how often the performer's other photos
alone pick the right face, a test that does not lean on the centring the truth is read from).

(b) Faces kept on the enrolment photos: 0.jpg of each lfw-dev identity plus every lfw-dev
distractor (the dev protocol's 450 performers, one photo each), and 0.jpg of every identity of the
four sets (3,599): old builder rule vs old `db enroll` rule vs the new rule (which `build` and
`db enroll` now share).

(c) With --end-to-end, the target itself on the dev protocol: `stash-sense build` through the
stash-box stand-in over the 450 enrolment photos vs `stash-sense db enroll` of the same photos,
each then queried with `stash-sense identify --json` (bench_cli_protocol's queries and scoring).

The rule's agreement step compares SFace vectors (the first embedder of the default ensemble), so
(a) and (b) embed with SFace alone; (c) runs the commands with their default engine.

    nice -n 10 python -m bench.bench_subject                  # (a) and (b): 6 minutes, 2 busy cores
    nice -n 10 python -m bench.bench_subject --end-to-end     # and (c): about 11 minutes more
    nice -n 10 python -m bench.bench_subject --end-to-end --before ../main/src   # (c) twice

Writes bench/results/subject.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.bench_build import build_cmd, write_config
from bench.bench_cli_protocol import CLI, dev_protocol_identities, queries, score
from bench.evaldata import FACES, enrolment_folder, require_eval
from stash_sense.faces import FaceEngine, load_image
from stash_sense.faces.subject import (
    Candidates,
    agreement,
    by_agreement,
    choose_subject,
    choose_subjects,
    find_candidates,
)
from stash_sense.faces.types import AnalyzedFace, Box

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "subject.json"
DEVKIT = ROOT / "devkit" / "src"
SETS = ("lfw-dev", "lfw-dev-distractors", "lfw-dev-extra", "lfw-dev-extra-distractors")
TRUTH_RADIUS = 0.1  # of the image side: the named person's face centre lies this near the centre


@dataclass
class Photo:
    identity: str  # set/name
    path: Path
    boxes: list[Box]  # every detected face's box, largest first
    candidates: Candidates
    truth: Box | None  # the centred face's box; None when no single face is centred


def centred_box(boxes: Sequence[Box], width: int, height: int) -> Box | None:
    """The one box whose centre lies within TRUTH_RADIUS of the image centre, else None."""
    radius = TRUTH_RADIUS * min(width, height)
    near = [
        b
        for b in boxes
        if math.hypot(b.x + b.w / 2 - width / 2, b.y + b.h / 2 - height / 2) <= radius
    ]
    return near[0] if len(near) == 1 else None


def analyse(engine: FaceEngine, identity: str, path: Path) -> Photo:
    image = load_image(path)
    height, width = image.shape[:2]
    detected = engine.detect(image)
    candidates = find_candidates(engine, image, detected)
    boxes = [d.box for d in detected]
    return Photo(identity, path, boxes, candidates, centred_box(boxes, width, height))


def old_build_rule(photo: Photo) -> Box | None:
    """The builder's rule before the shared one: the largest detected face when it is twice the
    area of the next and centred (its box centre inside the image less 20 % of each side)."""
    boxes, w, h = photo.boxes, photo.candidates.width, photo.candidates.height
    if len(boxes) <= 1:
        return boxes[0] if boxes else None
    first, second = boxes[0], boxes[1]
    cx, cy = first.x + first.w / 2, first.y + first.h / 2
    centred = 0.2 * w <= cx <= 0.8 * w and 0.2 * h <= cy <= 0.8 * h
    return first if first.area >= 2 * second.area and centred else None


def old_enroll_rule(photo: Photo) -> Box | None:
    """`db enroll`'s rule before the shared one: the largest enrollable face."""
    faces = photo.candidates.faces
    return faces[0].box if faces else None


def new_rule_alone(photo: Photo) -> Box | None:
    """The shared rule for a performer with this one image (no other face to agree with)."""
    face = choose_subject(photo.candidates).face
    return face.box if face else None


def verdict(pick: Box | None, truth: Box | None) -> str:
    return "skipped" if pick is None else ("right" if pick == truth else "wrong")


def tally(verdicts: Sequence[str]) -> dict[str, Any]:
    counts = Counter(verdicts)
    chosen = counts["right"] + counts["wrong"]
    return {
        "photos": len(verdicts),
        "right": counts["right"],
        "wrong": counts["wrong"],
        "skipped": counts["skipped"],
        "undecided": counts["undecided"],
        "wrong_rate": round(counts["wrong"] / chosen, 4) if chosen else None,
    }


def wrong_subject(photos: Sequence[Photo]) -> dict[str, Any]:
    """(a): each rule's verdicts on the multi-face photos with known truth."""
    by_identity: dict[str, list[Photo]] = {}
    for p in photos:
        by_identity.setdefault(p.identity, []).append(p)
    together: dict[Path, Box | None] = {}
    agreed: dict[Path, str] = {}
    sims: list[tuple[float, float]] = []  # (the centred face's agreement, the best companion's)
    for group in by_identity.values():
        for p, choice in zip(group, choose_subjects([p.candidates for p in group]), strict=True):
            together[p.path] = choice.face.box if choice.face else None
        for p in group:
            if len(p.boxes) < 2 or p.truth is None:
                continue
            refs = [
                o.candidates.faces[0] for o in group if o is not p and len(o.candidates.faces) == 1
            ]
            if not refs:
                agreed[p.path] = "no_reference"
                continue
            face = by_agreement(p.candidates.faces, refs)
            agreed[p.path] = "undecided" if face is None else verdict(face.box, p.truth)
            sims += similarity_pair(p, refs)
    multi = [p for p in photos if len(p.boxes) >= 2]
    known = [p for p in multi if p.truth is not None]
    rules: dict[str, Callable[[Photo], Box | None]] = {
        "old_build": old_build_rule,
        "old_enroll": old_enroll_rule,
        "new_alone": new_rule_alone,
        "new_with_other_photos": lambda p: together[p.path],
    }
    out: dict[str, Any] = {
        "photos": len(photos),
        "multi_face": len(multi),
        "multi_candidate": sum(len(p.candidates.faces) >= 2 for p in photos),
        "no_known_truth": len(multi) - len(known),
        "rules": {
            name: tally([verdict(rule(p), p.truth) for p in known]) for name, rule in rules.items()
        },
    }
    judged = [v for v in agreed.values() if v != "no_reference"]
    out["rules"]["agreement_only"] = tally(judged) | {"no_reference": len(agreed) - len(judged)}
    out["agreement_similarity"] = similarity_summary(sims)
    return out


def similarity_pair(photo: Photo, refs: Sequence[AnalyzedFace]) -> list[tuple[float, float]]:
    """(the centred face's agreement, the best other candidate's) when both are candidates."""
    truth = [f for f in photo.candidates.faces if f.box == photo.truth]
    others = [agreement(f, refs) for f in photo.candidates.faces if f.box != photo.truth]
    others_known = [s for s in others if s is not None]
    if not truth or not others_known:
        return []
    own = agreement(truth[0], refs)
    return [] if own is None else [(own, max(others_known))]


def similarity_summary(sims: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """Percentiles of the SFace cosine of the named face and of the best companion to the
    identity's other photos, and of their difference: what agree_floor and agree_margin meet."""
    if not sims:
        return {"pairs": 0}
    arr = np.array(sims, dtype=np.float64)
    qs = (1, 5, 50, 95, 99)

    def pct(values: np.ndarray) -> dict[str, float]:
        return {f"p{q}": round(float(np.percentile(values, q)), 3) for q in qs}

    return {
        "pairs": len(sims),
        "named": pct(arr[:, 0]),
        "best_companion": pct(arr[:, 1]),
        "difference": pct(arr[:, 0] - arr[:, 1]),
    }


def kept_on_enrolment(photos: Sequence[Photo], identities: set[str]) -> dict[str, Any]:
    """(b): faces each rule keeps of the 0.jpg of these identities (one photo a performer)."""
    enrol = [p for p in photos if p.identity in identities and p.path.name == "0.jpg"]
    rules: dict[str, Callable[[Photo], Box | None]] = {
        "old_build": old_build_rule,
        "old_enroll": old_enroll_rule,
        "new": new_rule_alone,
    }
    out: dict[str, Any] = {"performers": len(enrol)}
    for name, rule in rules.items():
        picks = [(p, rule(p)) for p in enrol]
        kept = [(p, b) for p, b in picks if b is not None]
        known = [(p, b) for p, b in kept if p.truth is not None and len(p.boxes) >= 2]
        out[name] = {
            "kept": len(kept),
            "skipped": len(enrol) - len(kept),
            "multi_face_kept": len(known),
            "multi_face_wrong": sum(b != p.truth for p, b in known),
        }
    return out


def end_to_end(tmp: Path, code: Path | None = None) -> dict[str, Any]:
    """(c): build through the stash-box stand-in vs db enroll, then identify with both; the
    commands run this checkout's code, or `code` (another checkout's src folder) when given."""
    from stash_sense_devkit.standins.launch import serve_in_subprocess

    env = None if code is None else {**os.environ, "PYTHONPATH": f"{code}{os.pathsep}{DEVKIT}"}
    src = tmp / "src"
    out: dict[str, Any] = {"performers": enrolment_folder(src, dev_protocol_identities())}
    enrolled, built = tmp / "enrolled", tmp / "built"
    run([*CLI, "db", "enroll", "--db", str(enrolled), str(src)], env)
    with serve_in_subprocess("stashbox", ["--faces", str(src)]) as base:
        config = write_config(tmp / "endpoints.toml", f"{base}/graphql", rate_limit=1000)
        run(build_cmd(built, config), env)
    for name, db in (("enroll", enrolled), ("build", built)):
        manifest = json.loads((db / "current" / "manifest.json").read_text())
        row: dict[str, Any] = {
            "faces": manifest["counts"]["faces"],
            "skipped": next(iter(manifest["sources"].values())).get("skipped", {}),
        }
        for part in ("plain", "hard"):
            images = [str(p) for p in queries(part)]
            proc = run([*CLI, "identify", "--db", str(db), "--json", "--top", "2", *images], env)
            row[part] = score([json.loads(x) for x in proc.stdout.splitlines() if x.strip()])
            log(f"{name} {part}: rank-1 {row[part]['rank1']}")
        out[name] = row
    out["faces_built_over_enrolled"] = round(out["build"]["faces"] / out["enroll"]["faces"], 4)
    return out


def run(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])} ... failed:\n{proc.stderr[-2000:]}")
    return proc


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--end-to-end", action="store_true", help="also run (c)")
    parser.add_argument(
        "--before",
        type=Path,
        help="with --end-to-end, run (c) once more with the commands from this src folder "
        "(a checkout of the code before the change, e.g. ../main/src)",
    )
    args = parser.parse_args(argv)
    require_eval()
    started = time.perf_counter()
    engine = FaceEngine.create(["sface"])
    photos: list[Photo] = []
    for name in SETS:
        for folder in sorted(p for p in (FACES / name).iterdir() if p.is_dir()):
            for path in sorted(folder.glob("*.jpg")):
                photos.append(analyse(engine, f"{name}/{folder.name}", path))
        log(f"{name}: {len(photos)} photos analysed")
    dev = {f"{s}/{p.name}" for s in SETS[:2] for p in (FACES / s).iterdir() if p.is_dir()}
    out: dict[str, Any] = {
        "command": "python -m bench.bench_subject "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "truth": f"the face whose box centre lies within {TRUTH_RADIUS:.0%} of the side of the "
        "image centre (LFW photos are crops centred on the named person)",
        "wrong_subject": wrong_subject(photos),
        "enrolment": {
            "dev_protocol": kept_on_enrolment(photos, dev),
            "every_identity": kept_on_enrolment(photos, {p.identity for p in photos}),
        },
    }
    if args.end_to_end:
        with tempfile.TemporaryDirectory(prefix="bench-subject-") as tmp:
            out["end_to_end"] = end_to_end(Path(tmp) / "now")
            if args.before is not None:
                out["end_to_end_before"] = end_to_end(Path(tmp) / "before", args.before.resolve())
    out["elapsed_s"] = round(time.perf_counter() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
