"""Identification accuracy on the LFW protocol: SFace, FaceNet, their fusion, and face_recognition.

Protocol (../shared/eval/README.md): enrol `0.jpg` of every lfw-dev identity plus every
distractor; query every other lfw-dev image, plain and hard (a small degraded face in a noisy
640x360 frame). A query is right when its top match is its identity; a query without a detected
face counts as wrong. TAR at FAR 1e-3: the share of genuine (query, own enrolment) pairs below the
distance that lets through 0.1% of impostor pairs.

Every embedder variant (alone, fused with weights 0.1..0.9, with and without flip-averaging) is
scored by brute force; the winner then goes through the real identify path (SQLite + Voyager
database, `Matcher`), whose top-1 distances calibrate the tiers. Precision per tier is reported
in-sample and held out (2-fold by identity: thresholds from one half, measured on the other).
face_recognition 1.3 (dlib HOG detector + 128-d ResNet) runs the same protocol as the peer.

    python -m bench.bench_accuracy          # BENCH_QUICK=1 for a 15-identity smoke run

Writes bench/results/accuracy.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.bench_embedders import Item, Sets, collect, detect_all, distances, embed_items, scores
from bench.evaldata import require_eval
from stash_sense.database import DatabaseWriter, EmbedderInfo, FaceDatabase, PerformerRecord, Tiers
from stash_sense.faces import FaceEngine
from stash_sense.faces.embedders import EMBEDDERS, Embedder
from stash_sense.faces.embedders.base import l2_normalise
from stash_sense.faces.quality import assess
from stash_sense.faces.types import AnalyzedFace
from stash_sense.matching import Matcher, calibrate
from stash_sense.matching.calibrate import tier_report
from stash_sense.matching.cascade import DEFAULT_CASCADE

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "accuracy.json"
WORK = ROOT / "bench" / "work"
QUICK = os.environ.get("BENCH_QUICK") == "1"
NAMES = ("sface", "facenet")
TARGETS = {"rank1_plain": 0.99, "rank1_hard": 0.90, "high_precision": 0.995}


@dataclass
class Variant:
    """One way of scoring: embedder weights and whether vectors are flip-averaged."""

    weights: dict[str, float]
    flip: bool

    @property
    def label(self) -> str:
        used = {n: w for n, w in self.weights.items() if w > 0}
        if len(used) == 1:
            body = next(iter(used))
        else:
            body = "fusion " + " ".join(f"{n}={w:.2f}" for n, w in used.items())
        return body + (" +flip" if self.flip else "")


def variants() -> list[Variant]:
    out: list[Variant] = []
    for flip in (False, True):
        for w in np.round(np.arange(0.0, 1.01, 0.1), 2):
            out.append(Variant({"sface": float(w), "facenet": float(1 - w)}, flip))
    return out


def fused_distances(
    vectors: dict[str, dict[str, np.ndarray]], variant: Variant, part: str
) -> np.ndarray:
    total: np.ndarray | None = None
    for name, w in variant.weights.items():
        if w <= 0:
            continue
        d = w * distances(vectors[name]["gallery"], vectors[name][part])
        total = d if total is None else total + d
    assert total is not None
    return total


def score_variant(sets: Sets, raw: dict[str, Any], variant: Variant) -> dict[str, Any]:
    vectors = {
        name: {part: combine(raw[name][part], variant.flip) for part in raw[name]} for name in raw
    }
    gallery_ids = [i.identity for i in sets.gallery]
    out: dict[str, Any] = {}
    for part in ("plain", "hard"):
        items: list[Item] = getattr(sets, part)
        out[part] = scores(
            fused_distances(vectors, variant, part), gallery_ids, [i.identity for i in items]
        )
    return out


def combine(pair: tuple[np.ndarray, np.ndarray], flip: bool) -> np.ndarray:
    plain, mirrored = pair
    return l2_normalise(plain + mirrored) if flip else plain


# -- the real identify path -------------------------------------------------------------------


def analysed(item: Item, vectors: dict[str, np.ndarray]) -> AnalyzedFace:
    assert item.image is not None and item.face is not None
    return AnalyzedFace(item.face, assess(item.image, item.face), vectors)


def identify_path(
    sets: Sets, raw: dict[str, Any], variant: Variant, embedders: dict[str, Embedder], root: Path
) -> dict[str, list[tuple[str, str | None, float | None]]]:
    """(identity, top-1 name, top-1 distance) per query, through SQLite + Voyager + Matcher."""
    names = [n for n, w in variant.weights.items() if w > 0]
    infos = [
        EmbedderInfo(
            name=n,
            version=embedders[n].version + ("+flip" if variant.flip else ""),
            sha256=embedders[n].sha256,
            dim=embedders[n].dim,
        )
        for n in names
    ]
    vecs = {n: {p: combine(raw[n][p], variant.flip) for p in raw[n]} for n in names}
    with DatabaseWriter.open(root, infos) as writer:
        with writer.transaction():
            for i, item in enumerate(sets.gallery):
                if item.face is None:
                    continue
                pid = writer.upsert_performer(PerformerRecord(name=item.identity), "bench")
                face = analysed(item, {n: vecs[n]["gallery"][i] for n in names})
                writer.add_face(pid, "bench", str(item.path), face)
        writer.publish()
    out: dict[str, list[tuple[str, str | None, float | None]]] = {}
    with FaceDatabase.open(root, infos) as fdb:
        matcher = Matcher(fdb, names, weights={n: variant.weights[n] for n in names})
        first = DEFAULT_CASCADE.first
        first_matcher = Matcher(fdb, [first], weights={first: 1.0}) if first in names else None
        for part in ("plain", "hard"):
            rows: list[tuple[str, str | None, float | None]] = []
            strangers: list[tuple[str, str | None, float | None]] = []
            decided: list[tuple[str, str | None]] = []
            decided_strangers: list[tuple[str, str | None]] = []
            for i, item in enumerate(getattr(sets, part)):
                if item.face is None:
                    rows.append((item.identity, None, None))
                    decided.append((item.identity, None))
                    continue
                face = analysed(item, {n: vecs[n][part][i] for n in names})
                top = matcher.match_face(face, top=3)
                rows.append(
                    (item.identity, top[0].name, top[0].distance)
                    if top
                    else (item.identity, None, None)
                )
                # the same query as a stranger: its own identity left out of the database
                others = [m for m in top if m.name != item.identity]
                if others:
                    strangers.append((item.identity, others[0].name, others[0].distance))
                # the cascade of app/identify.py: the first embedder alone when it is decisive
                alone = (
                    first_matcher.match_face(analysed(item, {first: vecs[first][part][i]}), top=3)
                    if first_matcher is not None and len(names) > 1
                    else []
                )
                decisive = DEFAULT_CASCADE.decisive(alone[:2])
                decided.append((item.identity, alone[0].name if decisive else CASCADE_FUSED))
                alone = [m for m in alone if m.name != item.identity]
                decisive = DEFAULT_CASCADE.decisive(alone[:2])
                decided_strangers.append(
                    (item.identity, alone[0].name if decisive else CASCADE_FUSED)
                )
            out[part] = rows
            out[f"strangers_{part}"] = strangers
            out[f"cascade_{part}"] = [(ident, top1, None) for ident, top1 in decided]
            out[f"cascade_strangers_{part}"] = [(i, top1, None) for i, top1 in decided_strangers]
    return out


def stranger_distances(
    rows: Sequence[tuple[str, str | None, float | None]], keep: set[str] | None = None
) -> list[float]:
    return [d for ident, _, d in rows if d is not None and (keep is None or ident in keep)]


CASCADE_FUSED = "\0fused"  # marks a query the cascade did not decide with the first embedder alone


def cascade_report(
    paths: dict[str, list[tuple[str, str | None, float | None]]], tiers: Tiers
) -> dict[str, Any]:
    """Rank-1 and "high" precision of the identify cascade, against the fused path alone."""
    out: dict[str, Any] = {"rule": asdict(DEFAULT_CASCADE)}
    for part in ("plain", "hard"):
        n = len(paths[part])
        right = decided = decided_right = high = high_right = 0
        for (ident, top1, dist), (_, first, _) in zip(
            paths[part], paths[f"cascade_{part}"], strict=True
        ):
            if first is not None and first != CASCADE_FUSED:
                decided += 1
                decided_right += first == ident
                right += first == ident
                high += 1
                high_right += first == ident
            else:
                right += top1 == ident
                if dist is not None and tiers.tier_for(dist) == "high":
                    high += 1
                    high_right += top1 == ident
        strangers = paths[f"cascade_strangers_{part}"]
        strangers_decided = sum(1 for _, f, _ in strangers if f not in (None, CASCADE_FUSED))
        out[part] = {
            "rank1": round(right / n, 4) if n else None,
            "strangers_decided_high": strangers_decided,
            "strangers_decided_share": round(strangers_decided / len(strangers), 4)
            if strangers
            else None,
            "decided_by_first": decided,
            "decided_share": round(decided / n, 4) if n else None,
            "decided_precision": round(decided_right / decided, 4) if decided else None,
            "high": {"queries": high, "precision": round(high_right / high, 4) if high else None},
        }
    return out


def split_outcomes(
    rows: Sequence[tuple[str, str | None, float | None]], keep: set[str] | None = None
) -> tuple[list[float], list[float]]:
    genuine: list[float] = []
    impostor: list[float] = []
    for identity, top1, distance in rows:
        if distance is None or (keep is not None and identity not in keep):
            continue
        (genuine if top1 == identity else impostor).append(distance)
    return genuine, impostor


def held_out_tiers(
    paths: dict[str, list[tuple[str, str | None, float | None]]], identities: list[str]
) -> dict[str, Any]:
    """2-fold by identity: thresholds from one half's queries, band counts on the other's."""
    halves = [set(identities[0::2]), set(identities[1::2])]
    totals: dict[str, dict[str, dict[str, int]]] = {}
    pooled = [r for part in ("plain", "hard") for r in paths[part]]
    pooled_strangers = [r for part in ("plain", "hard") for r in paths[f"strangers_{part}"]]
    for k in (0, 1):
        fit, test = halves[k], halves[1 - k]
        tiers = calibrate(
            *split_outcomes(pooled, fit), strangers=stranger_distances(pooled_strangers, fit)
        )
        for part in ("plain", "hard", "all"):
            rows = pooled if part == "all" else paths[part]
            odd = pooled_strangers if part == "all" else paths[f"strangers_{part}"]
            genuine, impostor = split_outcomes(rows, test)
            strangers = stranger_distances(odd, test)
            report = tier_report(genuine, impostor, tiers, strangers)
            for band, r in report.items():
                t = totals.setdefault(part, {}).setdefault(
                    band, {"queries": 0, "right": 0, "strangers": 0, "n_strangers": 0}
                )
                t["queries"] += r["queries"]
                t["right"] += round((r["precision"] or 0.0) * r["queries"])
                t["strangers"] += r.get("strangers", 0)
                t["n_strangers"] += len(strangers)
    out: dict[str, Any] = {}
    for part, bands in totals.items():
        n = sum(b["queries"] for b in bands.values())
        out[part] = {
            band: {
                "queries": b["queries"],
                "share": round(b["queries"] / n, 4) if n else 0.0,
                "precision": round(b["right"] / b["queries"], 4) if b["queries"] else None,
                "stranger_share": round(b["strangers"] / b["n_strangers"], 4)
                if b["n_strangers"]
                else None,
            }
            for band, b in bands.items()
        }
    return out


# -- the peer: face_recognition (dlib) ---------------------------------------------------------


def dlib_vectors(items: Sequence[Item]) -> tuple[np.ndarray, float]:
    """128-d face_recognition encodings of each image's subject face (NaN rows: none found).

    The subject is chosen by the same rule as for our engine (bench_embedders.detect_all).

    Cached under bench/work/ by the list of files (the peer does not change between our runs);
    the time is the time of the run that computed them.
    """
    import face_recognition

    listing = "\n".join(f"{i.path} {'centre' if i.centred else 'largest'}" for i in items)
    key = hashlib.sha256(listing.encode()).hexdigest()[:16]
    cache = WORK / f"face_recognition-{key}.npz"
    if cache.exists():
        saved = np.load(cache)
        return saved["vectors"], float(saved["elapsed"])
    out = np.full((len(items), 128), np.nan, dtype=np.float64)
    started = time.perf_counter()
    for i, item in enumerate(items):
        rgb = face_recognition.load_image_file(str(item.path))
        boxes = face_recognition.face_locations(rgb)  # HOG, upsampled once
        if not boxes:
            continue
        if item.centred:
            cy, cx = rgb.shape[0] / 2, rgb.shape[1] / 2
            subject = min(
                boxes, key=lambda b: np.hypot((b[0] + b[2]) / 2 - cy, (b[1] + b[3]) / 2 - cx)
            )
        else:
            subject = max(boxes, key=lambda b: (b[2] - b[0]) * (b[1] - b[3]))
        out[i] = face_recognition.face_encodings(rgb, [subject])[0]
    elapsed = time.perf_counter() - started
    WORK.mkdir(parents=True, exist_ok=True)
    np.savez(cache, vectors=out, elapsed=elapsed)
    return out, elapsed


def euclidean(gallery: np.ndarray, queries: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.maximum(0.0, ((queries[:, None, :] - gallery[None, :, :]) ** 2).sum(-1)))
    return np.where(np.isnan(d), np.inf, d)


def peer(sets: Sets) -> dict[str, Any]:
    try:
        import face_recognition  # noqa: F401
    except ImportError:
        return {"skipped": "face_recognition is not installed (make bench-deps)"}
    gallery, t_gallery = dlib_vectors(sets.gallery)
    out: dict[str, Any] = {"elapsed_s": round(t_gallery, 1)}
    gallery_ids = [i.identity for i in sets.gallery]
    for part in ("plain", "hard"):
        items: list[Item] = getattr(sets, part)
        vecs, t = dlib_vectors(items)
        out["elapsed_s"] += round(t, 1)
        out[part] = scores(euclidean(gallery, vecs), gallery_ids, [i.identity for i in items])
        out[part]["no_face"] = int(np.isnan(vecs[:, 0]).sum())
    out["no_face_gallery"] = int(np.isnan(gallery[:, 0]).sum())
    return out


# -- main --------------------------------------------------------------------------------------


def main() -> int:
    require_eval()
    started = time.perf_counter()
    sets = collect(15 if QUICK else None)
    if QUICK:
        sets.gallery = [i for i in sets.gallery if i.path.name == "0.jpg"][:60]
    engine = FaceEngine.create(("sface",)).load()
    detect_all(engine, sets.all())
    no_face = {
        p: sum(1 for i in getattr(sets, p) if i.face is None) for p in ("gallery", "plain", "hard")
    }
    print(
        f"{len(sets.gallery)} enrolled, {len(sets.plain)} plain + {len(sets.hard)} hard queries; "
        f"no face found: {no_face}",
        flush=True,
    )
    embedders: dict[str, Embedder] = {n: EMBEDDERS[n]() for n in NAMES}
    raw: dict[str, Any] = {}
    for name, embedder in embedders.items():
        raw[name] = {
            p: embed_items(getattr(sets, p), embedder) for p in ("gallery", "plain", "hard")
        }
        print(f"embedded with {name} ({time.perf_counter() - started:.0f} s)", flush=True)

    scored = {v.label: (v, score_variant(sets, raw, v)) for v in variants()}

    def merit(item: tuple[Variant, dict[str, Any]]) -> tuple[float, bool, float]:
        """Rank-1 (plain + hard) first; on a tie, no flip (half the embedding work); then TAR."""
        variant, r = item
        rank1 = round(r["plain"]["rank1"] + r["hard"]["rank1"], 4)
        return (rank1, not variant.flip, r["hard"]["tar_at_far_1e-3"])

    best_variant, best = max(scored.values(), key=merit)
    flip = best_variant.flip
    alone = {n: scored[Variant({m: float(m == n) for m in NAMES}, flip).label][1] for n in NAMES}
    fusions = [(v, r) for v, r in scored.values() if v.flip == flip and min(v.weights.values()) > 0]
    best_fusion_variant, best_fusion = max(fusions, key=merit)

    with tempfile.TemporaryDirectory(prefix="bench-accuracy-") as tmp:
        paths = identify_path(sets, raw, best_variant, embedders, Path(tmp) / "db")
    path_rank1 = {
        part: round(float(np.mean([top == ident for ident, top, _ in paths[part]])), 4)
        for part in ("plain", "hard")
    }
    pooled = paths["plain"] + paths["hard"]
    strangers = stranger_distances(paths["strangers_plain"] + paths["strangers_hard"])
    tiers: Tiers = calibrate(*split_outcomes(pooled), strangers=strangers)
    cascade = cascade_report(paths, tiers)
    identities = sorted({i.identity for i in sets.plain})
    in_sample = {
        part: tier_report(
            *split_outcomes(paths[part]), tiers, stranger_distances(paths[f"strangers_{part}"])
        )
        for part in ("plain", "hard")
    }
    held_out = held_out_tiers(paths, identities)

    peer_result = peer(sets)
    ratios: dict[str, Any] = {}
    if "plain" in peer_result:
        for part in ("plain", "hard"):
            ratios[part] = {
                "rank1_ours": path_rank1[part],
                "rank1_face_recognition": peer_result[part]["rank1"],
                "rank1_ratio_ours_over_peer": round(
                    path_rank1[part] / max(1e-9, peer_result[part]["rank1"]), 3
                ),
                "errors_ours": round(1 - path_rank1[part], 4),
                "errors_face_recognition": round(1 - peer_result[part]["rank1"], 4),
            }

    results: dict[str, Any] = {
        "quick": QUICK,
        "setup": {
            "enrolled": len(sets.gallery),
            "plain_queries": len(sets.plain),
            "hard_queries": len(sets.hard),
            "no_face": no_face,
            "detector": "YuNet 2023mar int8bq, faces/detection.py defaults",
            "subject_face": "LFW photo: the face nearest the centre; hard query: the largest",
            "python": platform.python_version(),
            "opencv": cv2.__version__,
            "cpus": os.cpu_count(),
        },
        "chosen": {
            "variant": best_variant.label,
            "weights": best_variant.weights,
            "flip": flip,
            **best,
        },
        "sface": alone["sface"],
        "facenet": alone["facenet"],
        "fusion": {"variant": best_fusion_variant.label, **best_fusion},
        "identify_path": {"rank1": path_rank1},
        "cascade": cascade,
        "tiers": {
            "thresholds": {"high": tiers.high, "likely": tiers.likely, "possible": tiers.possible},
            "calibration": tiers.calibration,
            "in_sample": in_sample,
            "held_out_2fold": held_out,
        },
        "face_recognition": peer_result,
        "ratios": ratios,
        "variants": {label: r for label, (_, r) in scored.items()},
        "targets": TARGETS,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    report(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    out = RESULTS.with_name("accuracy-quick.json") if QUICK else RESULTS
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


def report(r: dict[str, Any]) -> None:
    print(f"{'variant':40} {'plain r1':>9} {'TAR':>7} {'hard r1':>9} {'TAR':>7}")
    for label, v in r["variants"].items():
        print(
            f"{label:40} {v['plain']['rank1']:9.4f} {v['plain']['tar_at_far_1e-3']:7.4f} "
            f"{v['hard']['rank1']:9.4f} {v['hard']['tar_at_far_1e-3']:7.4f}"
        )
    print(f"chosen: {r['chosen']['variant']}; identify path rank-1 {r['identify_path']['rank1']}")
    print(f"cascade: {r['cascade']}")
    t = r["tiers"]["thresholds"]
    print(
        f"tiers: high <= {t['high']:.4f}, likely <= {t['likely']:.4f}, "
        f"possible <= {t['possible']:.4f}"
    )
    for kind in ("in_sample", "held_out_2fold"):
        for part, bands in r["tiers"][kind].items():
            text = ", ".join(
                f"{b} {v['share']:.1%} @ {v['precision'] if v['precision'] is not None else '-'}"
                f" (strangers {v.get('stranger_share') or 0:.1%})"
                for b, v in bands.items()
            )
            print(f"  {kind:15} {part:6} {text}")
    peer_r = r["face_recognition"]
    if "plain" in peer_r:
        print(
            f"face_recognition: plain r1 {peer_r['plain']['rank1']:.4f}, "
            f"hard r1 {peer_r['hard']['rank1']:.4f}; ratios {r['ratios']}"
        )
    else:
        print(f"face_recognition: {peer_r.get('skipped')}")


if __name__ == "__main__":
    sys.exit(main())
