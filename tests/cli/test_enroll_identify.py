"""`stash-sense db enroll` and `stash-sense identify` on real LFW photos, in subprocesses."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from clikit import PEOPLE, error_lines, run_cli


def test_enroll_publishes_and_a_rerun_adds_nothing(enrolled: tuple[Path, Path]) -> None:
    db, src = enrolled
    assert os.readlink(db / "current") == "gen-000001"
    manifest = json.loads((db / "current" / "manifest.json").read_text())
    faces, skipped = manifest["counts"]["faces"], manifest["sources"]["enroll"]["skipped"]
    assert manifest["counts"]["performers"] == 8
    assert faces >= 6 and faces + sum(skipped.values()) == 8  # an unusable photo is a recorded skip
    assert set(manifest["models"]) == {"sface", "dlib"}
    again = run_cli("db", "enroll", "--db", db, src, check=True)
    assert "0 faces added" in again.stdout and "8 images already enrolled" in again.stdout
    assert sorted(p.name for p in db.glob("gen-*")) == ["gen-000001"]


def test_identify_json_contract_and_accuracy(enrolled: tuple[Path, Path], lfw: Path) -> None:
    db, _ = enrolled
    queries = [lfw / "lfw-dev" / name / f"{k}.jpg" for name in PEOPLE for k in (1, 2, 3)]
    proc = run_cli("identify", "--db", db, "--json", "--top", "3", *queries)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["image"] for r in records] == [str(q) for q in queries]
    right = 0
    for query, record in zip(queries, records, strict=True):
        faces = record["faces"]
        assert faces, record
        areas = [f["box"][2] * f["box"][3] for f in faces]
        assert areas == sorted(areas, reverse=True)  # largest first
        face = faces[0]
        assert set(face) >= {"box", "score", "quality", "matches"}
        assert len(face["box"]) == 4 and 0 < face["score"] <= 1
        assert 1 <= len(face["matches"]) <= 3
        for m in face["matches"]:
            assert set(m) >= {"performer_id", "name", "distance", "tier", "stash_ids", "aliases"}
            assert m["tier"] in {"high", "likely", "possible", "unlikely"}
        right += face["matches"][0]["name"] == query.parent.name
    assert right >= 14  # of 15


def test_identify_folder_text_output(enrolled: tuple[Path, Path], lfw: Path) -> None:
    db, _ = enrolled
    proc = run_cli("identify", "--db", db, lfw / "lfw-dev" / "Diana_Krall")
    assert proc.returncode == 0, proc.stderr
    assert "Diana_Krall" in proc.stdout and "distance" in proc.stdout


def test_partial_failure_exits_2_and_keeps_going(
    enrolled: tuple[Path, Path], lfw: Path, tmp_path: Path
) -> None:
    db, _ = enrolled
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    good = lfw / "lfw-dev" / "Celine_Dion" / "1.jpg"
    proc = run_cli("identify", "--db", db, "--json", bad, good, tmp_path / "missing.jpg")
    assert proc.returncode == 2
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [("error" in r) for r in records] == [True, False, True]
    assert records[1]["faces"][0]["matches"][0]["name"] == "Celine_Dion"
    assert all(r["error"] and "\n" not in r["error"] for r in (records[0], records[2]))
    assert "Traceback" not in proc.stderr
    assert error_lines(proc.stderr) == ["2 of 3 images could not be read"]


def test_plain_generation_in_a_read_only_folder(
    enrolled: tuple[Path, Path], lfw: Path, tmp_path: Path
) -> None:
    db, _ = enrolled
    dist = tmp_path / "dist"
    shutil.copytree(db / "current", dist)
    for p in [*dist.iterdir(), dist]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        proc = run_cli(
            "identify", "--db", dist, "--json", lfw / "lfw-dev" / "Adam_Sandler" / "2.jpg"
        )
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["faces"][0]["matches"][0]["name"] == "Adam_Sandler"
        assert sorted(p.name for p in dist.iterdir()) == [
            "faces.sqlite",
            "index-dlib.voy",
            "index-sface.voy",
            "manifest.json",
        ]
    finally:
        dist.chmod(0o755)
