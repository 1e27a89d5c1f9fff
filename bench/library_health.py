"""Library health kinds (link, merge, check) measured against the world's truth, through the
sidecar's `/library/health` API (the contract of issue 21's health work).

Truth from the world generator: "link" is every local performer without a stash id whose
identity is in the face database; "merge" is every identity with two local performers; "check"
is every scanned scene whose tags are wrong (a performer tagged who is not there, or someone seen
who is not tagged). Run on the scan's own state database, by `stash-sense serve` on the same data
folder. When the sidecar has no `/library/health` (the health work is not merged), it says so
and measures nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import httpx

from bench.sidecar_world import API_KEY, sidecar

KINDS = ("link", "merge", "check")


def truth(world: dict[str, Any], scanned: set[str]) -> dict[str, set[Any]]:
    """The items each kind should find. A link is owed to a local performer without a stash id
    unless another local performer of its identity holds the id already (then it is a merge)."""
    by_identity: dict[str, list[str]] = {}
    linked = {p["identity"] for p in world["performers"] if p["stash_ids"]}
    for p in world["performers"]:
        by_identity.setdefault(p["identity"], []).append(p["id"])
    return {
        "link": {
            p["id"]
            for p in world["performers"]
            if not p["stash_ids"] and p["identity"] not in linked
        },
        "merge": {frozenset(ids) for ids in by_identity.values() if len(ids) > 1},
        "check": {s["id"] for s in world["scenes"] if s["wrong_tags"] and s["id"] in scanned},
    }


def half_of(kind: str, key: Any, world: dict[str, Any]) -> str | None:
    """The identity half ("A" tuning, "B" held out) an item or truth key belongs to."""
    halves = {name: h for h, names in world["halves"].items() for name in names}
    identity = {p["id"]: p["identity"] for p in world["performers"]}
    if kind == "check":
        return str(world["clips"][world["scenes"][int(key) - 1]["clip"]]["half"])
    ids = key if isinstance(key, frozenset) else [key]
    return halves.get(identity.get(next(iter(ids)), ""))


def judge(kind: str, item: dict[str, Any], world: dict[str, Any]) -> tuple[Any, bool]:
    """(the truth key the item stands for, whether it is right)."""
    identity = {p["id"]: p["identity"] for p in world["performers"]}
    if kind == "link":
        pid = str(item["performer"]["id"])
        return pid, item["match"]["name"] == identity.get(pid)
    if kind == "merge":
        ids = frozenset(str(p["id"]) for p in item["performers"])
        return ids, len({identity.get(i) for i in ids}) == 1
    return str(item["scene_id"]), True  # right when the scene is in the truth set


def score(
    kind: str, items: list[dict[str, Any]], want: set[Any], world: dict[str, Any]
) -> dict[str, Any]:
    """Precision and recall over all items, and per identity half (B: held out); a wrong item
    is listed (up to 10) with what it claimed."""
    judged = [(item, *judge(kind, item, world)) for item in items]
    out = _figures([(k, ok and k in want) for _, k, ok in judged], want)
    for half in ("A", "B"):
        mine = [(k, ok and k in want) for _, k, ok in judged if half_of(kind, k, world) == half]
        out[f"half_{half}"] = _figures(mine, {k for k in want if half_of(kind, k, world) == half})
    out["wrong"] = [item.get("evidence") for item, k, ok in judged if not (ok and k in want)][:10]
    if kind == "merge":
        out["by_tagged_scene_faces"] = scene_face_pairs(items, want, world)
    return out


SCENE_FACES = ": their tagged scenes' faces: "


def scene_face_pairs(
    items: list[dict[str, Any]], want: set[Any], world: dict[str, Any]
) -> dict[str, Any]:
    """The merge evidence from tagged scenes' faces alone (library/health_scenes.py): the pairs
    of local performers it names, right when one identity, overall and per half; recall over
    the world's duplicated identities."""
    by_name = {p["name"]: p["id"] for p in world["performers"]}
    identity = {p["id"]: p["identity"] for p in world["performers"]}
    pairs: set[frozenset[str]] = set()
    for item in items:
        for line in item.get("evidence", []):
            if SCENE_FACES in line:
                a, b = line.split(SCENE_FACES, 1)[0].split(" / ", 1)
                pairs.add(frozenset((by_name[a], by_name[b])))
    judged = [(pair, len({identity[i] for i in pair}) == 1) for pair in sorted(pairs, key=sorted)]
    out = _figures(judged, want)
    for half in ("A", "B"):
        mine = [(k, ok) for k, ok in judged if half_of("merge", k, world) == half]
        owed = {k for k in want if half_of("merge", k, world) == half}
        out[f"half_{half}"] = _figures(mine, owed)
    out["wrong"] = [sorted(k) for k, ok in judged if not ok][:10]
    return out


def _figures(judged: list[tuple[Any, bool]], want: set[Any]) -> dict[str, Any]:
    keys = {k for k, _ in judged}
    right = sum(ok for _, ok in judged)
    return {"items": len(judged), "expected": len(want), "right": right,
            "precision": round(right / len(judged), 4) if judged else None,
            "recall": round(len(keys & want) / len(want), 4) if want else None}  # fmt: skip


def _all_items(client: httpx.Client, kind: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = client.get(
            "/library/health", params={"kind": kind, "offset": len(items), "limit": 50}
        )
        page.raise_for_status()
        body = page.json()
        items += body["items"]
        if not body["items"] or len(items) >= body["total"]:
            return items


def measure_health(
    world: dict[str, Any],
    db: Any,
    stash_url: str,
    data: Any,
    stash_key: str,
    scenes: dict[str, Any],
) -> dict[str, Any]:
    """Each kind's precision and recall, or why they were not measured."""
    os.environ["STASH_SENSE_STASH_API_KEY"] = stash_key  # the sidecar reads it from its environment
    try:
        with sidecar(db, stash_url, "--workers", "1", data=data) as (url, _pid):
            client = httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=120)
            if client.get("/library/health/status").status_code == 404:
                return {"status": "not yet measured: the sidecar has no /library/health"}
            client.post("/library/health/refresh").raise_for_status()
            deadline = time.monotonic() + 1800
            while client.get("/library/health/status").json().get("running"):
                if time.monotonic() > deadline:
                    return {"status": "not measured: the health refresh did not finish in 30 min"}
                time.sleep(2)
            want = truth(world, {sid for sid, s in scenes.items() if s["status"] == "done"})
            out = {k: score(k, _all_items(client, k), want[k], world) for k in KINDS}
            note = (
                "the face database is built with `stash-sense build` through the stash-box "
                "stand-in: its performers carry the stash ids the world's local performers hold; "
                "half B's identities are held out (nothing was tuned on them)"
            )
            return {"status": "measured", "note": note, **out}
    except (httpx.HTTPError, RuntimeError, subprocess.SubprocessError, KeyError) as err:
        print(f"health kinds not measured: {err}", file=sys.stderr)
        return {"status": f"not measured: {type(err).__name__}: {err}"}
