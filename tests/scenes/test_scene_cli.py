"""`stash-sense scene` end to end on composed videos, with a database enrolled by the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from stash_sense_devkit.synth import compose_video


def run_scene(*args: str | Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "stash_sense.cli.app", "scene", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False)


def test_json_has_one_entry_per_person(test_db: dict[str, Any], two_people_video: Path) -> None:
    done = run_scene("--db", test_db["db"], "--frames", "8", "--json", two_people_video)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["frames_sampled"] == 8 and result["source"] == "video"
    persons = result["persons"]
    best: dict[str, dict[str, Any]] = {}
    for p in persons:  # most frames first; a background face may also look most like someone
        if p["matches"]:
            best.setdefault(p["matches"][0]["name"], p)
    assert {"Monica Seles", "Tommy Thompson"} <= set(best)
    monica, tommy = best["Monica Seles"], best["Tommy Thompson"]
    # Monica shows in shots 1 and 4 (0-2 s, 6-8 s), Tommy in shots 3 and 4 (4-8 s)
    assert monica["times"] == [0.5, 1.5, 6.5, 7.5] and monica["frames"] == 4
    assert tommy["times"] == [4.5, 5.5, 6.5, 7.5]
    for p in (monica, tommy):
        assert p["matches"][0]["tier"] != "unlikely"
        assert p["faces"] == 4 and p["face_jpeg"]
    others = [p for p in persons if p is not monica and p is not tommy]
    assert all(m["tier"] != "high" for p in others for m in p["matches"][:1])


def test_table_output(test_db: dict[str, Any], two_people_video: Path) -> None:
    done = run_scene("--db", test_db["db"], "--frames", "4", two_people_video)
    assert done.returncode == 0, done.stderr
    assert "Monica Seles" in done.stdout and "people in 4 frames" in done.stdout


def test_video_with_nobody(test_db: dict[str, Any], tmp_path: Path) -> None:
    empty = compose_video([[], []], tmp_path / "empty.mp4", size=(320, 180))
    done = run_scene("--db", test_db["db"], "--frames", "3", "--json", empty)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["persons"] == [] and result["faces_detected"] == 0


def test_bad_inputs_give_one_line(test_db: dict[str, Any], tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    for args, message in [
        ((tmp_path / "missing.mp4",), "error: no such video file"),
        ((junk,), "error: cannot read video"),
    ]:
        done = run_scene("--db", test_db["db"], *args)
        assert done.returncode == 1
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith(message), done.stderr
    no_db = run_scene("--db", tmp_path / "nodb", junk)
    assert no_db.returncode == 1 and no_db.stderr.startswith("error:")
    assert "Traceback" not in no_db.stderr
