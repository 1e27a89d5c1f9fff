"""`stash-sense db info`, `db merge` and `db calibrate` on real enrolled databases."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from clikit import PEOPLE, error_lines, run_cli

from stash_sense.database import calibrated
from stash_sense.matching import Tiers


def test_info_json(enrolled: tuple[Path, Path]) -> None:
    db, _ = enrolled
    proc = run_cli("db", "info", "--db", db, "--json", check=True)
    info = json.loads(proc.stdout)
    counts = info["manifest"]["counts"]
    assert counts["performers"] == 8 and counts["faces"] >= 6
    assert info["manifest"]["sources"]["enroll"]["faces"] == counts["faces"]
    assert info["file_sizes"]["faces.sqlite"] > 0 and "index-sface.voy" in info["file_sizes"]
    # a new database of the default models starts with the tiers measured on the dev set
    assert "bench_accuracy" in info["manifest"]["tiers"]["calibration"]["measured_by"]
    text = run_cli("db", "info", "--db", db, check=True).stdout
    shipped = calibrated.measured()["tiers"]["calibration"]
    assert "sface" in text
    assert f"tiers (calibrated, held out at {shipped['performers']:,} performers)" in text
    high = shipped["high"]
    row = next(line for line in text.splitlines() if "│ high" in line)
    assert f"{high['precision']:.1%}" in row and f"{high['share']:.1%}" in row


def test_merge_two_enrolled_databases(
    enrolled: tuple[Path, Path], lfw: Path, tmp_path: Path
) -> None:
    db, _ = enrolled
    src = tmp_path / "more"
    for name in ("Andre_Agassi", "Billy_Crystal"):
        (src / name).mkdir(parents=True)
        shutil.copy(lfw / "lfw-dev" / name / "0.jpg", src / name)
    other = tmp_path / "other"
    run_cli("db", "enroll", "--db", other, src, check=True)
    out = tmp_path / "merged"
    run_cli("db", "merge", "--db", out, db, other, check=True)
    manifest = json.loads((out / "current" / "manifest.json").read_text())
    before = json.loads((db / "current" / "manifest.json").read_text())["counts"]["faces"]
    assert manifest["counts"]["performers"] == 10 and manifest["counts"]["faces"] == before + 2
    proc = run_cli(
        "identify", "--db", out, "--json", lfw / "lfw-dev" / "Billy_Crystal" / "1.jpg", check=True
    )
    assert json.loads(proc.stdout)["faces"][0]["matches"][0]["name"] == "Billy_Crystal"


def test_calibrate_publishes_measured_tiers(
    enrolled: tuple[Path, Path], lfw: Path, tmp_path: Path
) -> None:
    db, _ = enrolled
    faces = json.loads((db / "current" / "manifest.json").read_text())["counts"]["faces"]
    work = tmp_path / "db"
    shutil.copytree(db, work, symlinks=True)
    dev = tmp_path / "dev"
    for name in [*PEOPLE, "Andre_Agassi"]:  # Andre is not enrolled: an impostor for sure
        (dev / name).mkdir(parents=True)
        for k in (4, 5) if name != "Andre_Agassi" else (0, 1):
            image = lfw / "lfw-dev" / name / f"{k}.jpg"
            if image.exists():
                shutil.copy(image, dev / name)
    proc = run_cli("db", "calibrate", "--db", work, "--dev", dev)
    assert proc.returncode == 0, error_lines(proc.stderr)
    assert "published" in proc.stdout
    manifest = json.loads((work / "current" / "manifest.json").read_text())
    tiers = Tiers.from_dict(manifest["tiers"])
    assert tiers.fused is not None and tiers.fused.coef[0] < 0
    cal = manifest["tiers"]["calibration"]
    # measured held out, at this database's size, on every dev image and its stranger twin
    assert cal["performers"] == 8 and "fold" in cal["method"]
    assert cal["n_strangers"] >= cal["n_queries"] - 1 >= 6
    assert all(cal[t]["queries"] is not None for t in ("high", "likely", "possible", "unlikely"))
    assert "of strangers" in proc.stdout and "held out" in proc.stdout
    # the cascade's first-embedder rule is kept
    assert tiers.first is not None
    assert manifest["counts"]["faces"] == faces  # same faces, new tiers
    assert (work / "current").resolve().name == "gen-000002"
