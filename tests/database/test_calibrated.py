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
    Tiers,
    calibrated,
)
from stash_sense.faces import FaceEngine

ACCURACY = Path(__file__).resolve().parents[2] / "bench" / "results" / "accuracy.json"


def _default_infos() -> list[EmbedderInfo]:
    return [EmbedderInfo.from_embedder(e) for e in FaceEngine.create().embedders]


def test_the_default_engine_is_the_calibrated_ensemble() -> None:
    infos = _default_infos()
    assert calibrated.is_calibrated(infos)
    assert calibrated.initial_fusion(infos) == calibrated.FUSION
    tiers = calibrated.initial_tiers(infos)
    assert tiers.high <= tiers.likely <= tiers.possible
    assert tiers.calibration["held_out_2fold"]["all"]["high"]["precision"] >= 0.995


def test_defaults_are_the_benchmarks_figures() -> None:
    """The compiled-in values are those bench/bench_accuracy.py measured and committed."""
    measured = json.loads(ACCURACY.read_text())
    weights = {n: w for n, w in measured["chosen"]["weights"].items() if w > 0}
    assert weights == calibrated.FUSION
    assert measured["chosen"]["flip"] == all(
        v.endswith("+flip") for v in calibrated.ENSEMBLE.values()
    )
    thresholds = measured["tiers"]["thresholds"]
    tiers = calibrated.TIERS
    assert (tiers.high, tiers.likely, tiers.possible) == (
        thresholds["high"],
        thresholds["likely"],
        thresholds["possible"],
    )


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
        assert fdb.manifest.tiers == calibrated.TIERS
        assert fdb.manifest.fusion == calibrated.FUSION


def test_another_ensemble_starts_uncalibrated(tmp_path: Path) -> None:
    assert not calibrated.is_calibrated(EMBEDDERS)
    with DatabaseWriter.open(tmp_path / "db", EMBEDDERS) as writer:
        writer.publish()
    with FaceDatabase.open(tmp_path / "db") as fdb:
        assert fdb.manifest.tiers == Tiers() and fdb.manifest.tiers.calibration == {}
        assert fdb.manifest.fusion == {"alpha": 0.5, "beta": 0.5}
