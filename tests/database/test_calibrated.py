"""The tiers and fusion weights a new database starts with are the ones measured on the dev set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from dbsynth import EMBEDDERS, make_face

from stash_sense.database import (
    DatabaseWriter,
    EmbedderInfo,
    FaceDatabase,
    PerformerRecord,
    calibrated,
)
from stash_sense.database.manifest import UNCALIBRATED_TIERS
from stash_sense.faces import FaceEngine

ACCURACY = Path(__file__).resolve().parents[2] / "bench" / "results" / "accuracy.json"


def _default_infos() -> list[EmbedderInfo]:
    return [EmbedderInfo.from_embedder(e) for e in FaceEngine.create().embedders]


def test_the_default_engine_is_the_calibrated_ensemble() -> None:
    infos = _default_infos()
    assert calibrated.is_calibrated(infos)
    assert calibrated.initial_fusion(infos) == calibrated.measured()["fusion"]
    tiers = calibrated.initial_tiers(infos)
    assert tiers["calibration"]["performers"] >= 3000
    assert tiers["fused"]["coef"][0] < 0


def test_defaults_are_the_benchmarks_figures() -> None:
    """The data file is what bench/bench_accuracy.py measured and wrote, figure for figure."""
    measured = json.loads(ACCURACY.read_text())
    shipped = calibrated.measured()["tiers"]["calibration"]
    assert shipped["performers"] == measured["setup"]["performers"]
    for tier in ("high", "likely", "possible", "unlikely"):
        assert shipped[tier]["precision"] == measured["held_out"]["all"][tier]["precision"]
        assert shipped["plain"][tier]["share"] == measured["held_out"]["plain"][tier]["share"]


def test_a_new_database_of_the_default_ensemble_starts_calibrated(tmp_path: Path) -> None:
    infos = _default_infos()
    rng = np.random.default_rng(1)
    with DatabaseWriter.open(tmp_path / "db", infos) as writer:
        pid = writer.upsert_performer(PerformerRecord(name="A"), "test")
        writer.add_face(
            pid, "test", "a.jpg", make_face({i.name: rng.normal(size=i.dim) for i in infos})
        )
        writer.publish()
    with FaceDatabase.open(tmp_path / "db", infos) as fdb:
        assert fdb.manifest.tiers == calibrated.measured()["tiers"]
        assert fdb.manifest.fusion == calibrated.measured()["fusion"]


def test_another_ensemble_starts_uncalibrated(tmp_path: Path) -> None:
    assert not calibrated.is_calibrated(EMBEDDERS)
    with DatabaseWriter.open(tmp_path / "db", EMBEDDERS) as writer:
        writer.publish()
    with FaceDatabase.open(tmp_path / "db") as fdb:
        assert fdb.manifest.tiers == UNCALIBRATED_TIERS
        assert fdb.manifest.fusion == {"alpha": 0.5, "beta": 0.5}
