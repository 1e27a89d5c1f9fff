"""The figures bench_library computes from what the scan stored and what the stand-in saw.

Scene recall and false suggestions (from the state database's persons and candidates against the
world's truth), the pre-selection's precision for each min_frames (tuned on half "A" of the
identities, reported on half "B"), the pace of the requests, and the kill -9 check (no scene read
twice but the one under way, none skipped).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

CONFIDENT = ("high", "likely")
TARGET_PRECISION = 0.995


def stored(state_db: Path) -> dict[str, dict[str, Any]]:
    """scene id -> {status, persons: [{frames, candidates: [(rank, name, tier, on_scene)]}]}."""
    con = sqlite3.connect(f"file:{state_db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        scenes = {r["scene_id"]: {"status": r["status"], "persons": {}, "reason": r["reason"],
                                  "scanned_at": r["scanned_at"]}
                  for r in con.execute("SELECT * FROM scenes")}  # fmt: skip
        for r in con.execute("SELECT scene_id, person_id, frames FROM persons"):
            scenes[r["scene_id"]]["persons"][r["person_id"]] = {"frames": r["frames"], "c": []}
        rows = con.execute(
            "SELECT scene_id, person_id, rank, name, tier, already_on_scene FROM candidates "
            "ORDER BY scene_id, person_id, rank"
        )
        for r in rows:
            person = scenes[r["scene_id"]]["persons"][r["person_id"]]
            person["c"].append((r["rank"], r["name"], r["tier"], bool(r["already_on_scene"])))
    finally:
        con.close()
    return scenes


def accuracy(world: dict[str, Any], scenes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Who was found among the candidates, at "high", and who was suggested without being there."""
    clip_of = {s["id"]: world["clips"][s["clip"]] for s in world["scenes"]}
    people = found_any = found_best = found_high = 0
    false_confident = false_high = stranger_scenes = stranger_scenes_false = whole = 0
    done = [sid for sid, s in scenes.items() if s["status"] == "done"]
    for sid in done:
        clip, persons = clip_of[sid], scenes[sid]["persons"].values()
        truth = set(clip["cast"])
        names = {c[1] for p in persons for c in p["c"]}
        best = {p["c"][0][1] for p in persons if p["c"] and p["c"][0][2] != "unlikely"}
        high = {p["c"][0][1] for p in persons if p["c"] and p["c"][0][2] == "high"}
        people += len(truth)
        found_any += len(truth & names)
        found_best += len(truth & best)
        found_high += len(truth & high)
        whole += truth <= best
        wrong = {c[1] for p in persons for c in p["c"] if c[2] in CONFIDENT} - truth
        false_confident += len(wrong)
        false_high += len({c[1] for p in persons for c in p["c"] if c[2] == "high"} - truth)
        if clip["strangers"]:
            stranger_scenes += 1
            stranger_scenes_false += bool(wrong)
    return {
        "scenes_done": len(done),
        "scenes_failed": sum(s["status"] == "failed" for s in scenes.values()),
        "people": people,
        "recall_candidates": _share(found_any, people),
        "recall_best_match": _share(found_best, people),
        "recall_high": _share(found_high, people),
        "scenes_everyone_found": _share(whole, len(done)),
        "absent_suggested_high_or_likely": false_confident,
        "absent_suggested_high": false_high,
        "scenes_with_a_stranger": stranger_scenes,
        "stranger_scenes_with_a_confident_wrong_name": stranger_scenes_false,
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def preselection(world: dict[str, Any], scenes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Precision and coverage of the pre-selection (a person's first candidate, tier high, seen
    in >= min_frames frames, not on the scene already) for min_frames 1..6, per half; the smallest
    min_frames reaching TARGET_PRECISION on half A, and what it gives on half B."""
    clip_of = {s["id"]: world["clips"][s["clip"]] for s in world["scenes"]}
    table: dict[str, dict[int, dict[str, Any]]] = {"A": {}, "B": {}}
    for k in range(1, 7):
        for half in ("A", "B"):
            picked = right = covered = total = 0
            for sid, s in scenes.items():
                clip = clip_of[sid]
                if s["status"] != "done" or clip["half"] != half:
                    continue
                total += 1
                chosen = [p["c"][0][1] for p in s["persons"].values()
                          if p["c"] and p["c"][0][2] == "high" and p["frames"] >= k
                          and not p["c"][0][3]]  # fmt: skip
                picked += len(chosen)
                right += sum(n in clip["cast"] for n in chosen)
                covered += bool(chosen)
            table[half][k] = {"preselections": picked, "precision": _share(right, picked),
                              "wrong": picked - right,
                              "scenes_with_a_preselection": _share(covered, total),
                              "scenes": total}  # fmt: skip
    safe = next((k for k in range(1, 7)
                 if (table["A"][k]["precision"] or 0) >= TARGET_PRECISION), None)  # fmt: skip
    return {
        "target_precision": TARGET_PRECISION,
        "tuned_on": "half A of the identities",
        "chosen_min_frames": safe,
        "held_out_half_B": table["B"][safe] if safe else None,
        "by_min_frames": table,
    }


def pace(requests: list[list[Any]], rate: float, burst: int, since: float) -> dict[str, Any]:
    """Requests a second the stand-in saw during the scan: overall and the busiest 1 s and 10 s
    windows, for the paced requests (GraphQL, sprite, VTT) and with the decoders' stream reads."""
    out: dict[str, Any] = {"configured_rate_per_s": rate, "burst": burst}
    for label, kinds in (("paced", {"graphql", "sprite", "vtt", "shot"}), ("all", None)):
        times = sorted(
            t for t, kind, _ in requests if t >= since and (kinds is None or kind in kinds)
        )
        span = (times[-1] - times[0]) if len(times) > 1 else 0.0
        out[label] = {
            "requests": len(times),
            "mean_per_s": round(len(times) / span, 3) if span else None,
            "max_in_1s": _busiest(times, 1.0),
            "max_in_10s": _busiest(times, 10.0),
        }
    out["bound_1s"] = burst + rate * 1.0
    out["bound_10s"] = burst + rate * 10.0
    out["paced_within_bound"] = (
        out["paced"]["max_in_1s"] <= out["bound_1s"]
        and out["paced"]["max_in_10s"] <= out["bound_10s"]
    )
    out["by_kind"] = dict(Counter(kind for t, kind, _ in requests if t >= since))
    return out


def _busiest(times: list[float], window: float) -> int:
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] < t - window + 1e-9:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def resume_check(
    world: dict[str, Any], scenes: dict[str, dict[str, Any]], requests: list[list[Any]]
) -> dict[str, Any]:
    """After kill -9 and a resume: scenes whose sprite was read more than once (only the scene
    under way at the kill and the next one, fetched ahead by the prefetch, may be: two scenes in
    a row of the scan's order), and scenes in scope older than the last one done that the scan
    never recorded (must be none)."""
    sprite_reads = Counter(scene for _, kind, scene in requests if kind == "sprite")
    read_twice = sorted((s for s, n in sprite_reads.items() if n > 1), key=int)
    order = sorted(world["scenes"], key=lambda s: s["updated"])
    stamp = {s["id"]: s["updated"] for s in world["scenes"]}
    last = max(stamp[sid] for sid in scenes) if scenes else 0
    skipped = [s["id"] for s in order if s["updated"] <= last and s["id"] not in scenes]
    unread_but_recorded = [sid for sid in scenes if sid not in sprite_reads]
    return {
        "scenes_recorded": len(scenes),
        "scenes_read": len(sprite_reads),
        "read_more_than_once": read_twice,
        "skipped_before_watermark": skipped[:20],
        "skipped_count": len(skipped),
        "recorded_without_a_read": unread_but_recorded[:20],
        "ok": _in_a_row(read_twice, [s["id"] for s in order]) and not skipped,
    }


def _in_a_row(ids: list[str], order: list[str], most: int = 2) -> bool:
    """At most `most` scenes, next to each other in the scan's order."""
    at = sorted(order.index(i) for i in ids)
    return len(at) <= most and all(b == a + 1 for a, b in pairwise(at))
