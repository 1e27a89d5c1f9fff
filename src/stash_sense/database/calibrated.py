"""Fusion weights and tiers measured for the default ensemble: what a new database starts with.

Measured with `python -m bench.bench_accuracy` on ../shared/eval/faces (LFW protocol, plain and
hard queries; bench/results/accuracy.json, docs/matching.md). They apply only to databases made
with exactly these embedder versions; any other ensemble gets equal weights and the uncalibrated
`Tiers()` until `stash-sense db calibrate` measures its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stash_sense.database.manifest import Tiers, default_fusion
from stash_sense.database.records import EmbedderInfo

#: the embedders (name -> version) the figures below were measured with
ENSEMBLE: dict[str, str] = {"sface": "2021dec-int8bq", "facenet": "20180408-102900+fixedstd-z0.9"}
#: fused distance = sum of weight x cosine distance (docs/matching.md)
FUSION: dict[str, float] = {"sface": 0.6, "facenet": 0.4}
#: what the calibration measured (held out: thresholds from half the identities, measured on the
#: other half, both ways)
CALIBRATION: dict[str, Any] = {
    "high": {
        "target_precision": 0.995,
        "precision": 0.9957,
        "accepted": 1168,
        "share_of_queries": 0.9404,
        "recall_of_correct": 0.9716,
    },
    "likely": {
        "target_precision": 0.95,
        "precision": 0.9638,
        "accepted": 1242,
        "share_of_queries": 1.0,
        "recall_of_correct": 1.0,
    },
    "possible": {
        "target_precision": 0.8,
        "precision": 0.9638,
        "accepted": 1242,
        "share_of_queries": 1.0,
        "recall_of_correct": 1.0,
    },
    "n_correct_top1": 1197,
    "n_wrong_top1": 45,
    "method": "largest threshold whose cumulative top-1 precision meets the target",
    "held_out_2fold": {
        "plain": {
            "high": {"queries": 609, "share": 0.9791, "precision": 1.0},
            "likely": {"queries": 13, "share": 0.0209, "precision": 0.3846},
            "possible": {"queries": 0, "share": 0.0, "precision": None},
            "unlikely": {"queries": 0, "share": 0.0, "precision": None},
        },
        "hard": {
            "high": {"queries": 555, "share": 0.8952, "precision": 0.9928},
            "likely": {"queries": 64, "share": 0.1032, "precision": 0.5},
            "possible": {"queries": 0, "share": 0.0, "precision": None},
            "unlikely": {"queries": 1, "share": 0.0016, "precision": 0.0},
        },
        "all": {
            "high": {"queries": 1164, "share": 0.9372, "precision": 0.9966},
            "likely": {"queries": 77, "share": 0.062, "precision": 0.4805},
            "possible": {"queries": 0, "share": 0.0, "precision": None},
            "unlikely": {"queries": 1, "share": 0.0008, "precision": 0.0},
        },
    },
    "measured_by": "python -m bench.bench_accuracy (../shared/eval/faces, lfw-dev plain + "
    "hard queries)",
}
TIERS = Tiers(
    high=0.5945917367935181,
    likely=0.7670575380325317,
    possible=0.7670575380325317,
    calibration=CALIBRATION,
)


def is_calibrated(embedders: Sequence[EmbedderInfo]) -> bool:
    """Whether these embedders are exactly the ensemble the defaults were measured with."""
    return bool(ENSEMBLE) and {e.name: e.version for e in embedders} == ENSEMBLE


def initial_fusion(embedders: Sequence[EmbedderInfo]) -> dict[str, float]:
    """The measured weights for the default ensemble, equal weights for any other."""
    return dict(FUSION) if is_calibrated(embedders) else default_fusion(embedders)


def initial_tiers(embedders: Sequence[EmbedderInfo]) -> Tiers:
    """The measured tiers for the default ensemble, uncalibrated defaults for any other."""
    return TIERS if is_calibrated(embedders) else Tiers()
