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
        "precision": 1.0,
        "accepted": 1070,
        "share_of_queries": 0.8615,
        "recall_of_correct": 0.8917,
        "stranger_rate_target": 0.005,
        "stranger_rate": 0.0048,
    },
    "likely": {
        "target_precision": 0.95,
        "precision": 0.9982,
        "accepted": 1112,
        "share_of_queries": 0.8953,
        "recall_of_correct": 0.925,
        "stranger_rate_target": 0.05,
        "stranger_rate": 0.0499,
    },
    "possible": {
        "target_precision": 0.8,
        "precision": 0.9966,
        "accepted": 1160,
        "share_of_queries": 0.934,
        "recall_of_correct": 0.9633,
        "stranger_rate_target": 0.2,
        "stranger_rate": 0.1997,
    },
    "n_correct_top1": 1200,
    "n_wrong_top1": 42,
    "method": (
        "largest threshold whose cumulative top-1 precision meets the target, capped so that at "
        "most the target share of strangers is let in"
    ),
    "n_strangers": 1242,
    "held_out_2fold": {
        "plain": {
            "high": {"queries": 584, "share": 0.9389, "precision": 1.0, "stranger_share": 0.0129},
            "likely": {"queries": 11, "share": 0.0177, "precision": 1.0, "stranger_share": 0.0531},
            "possible": {
                "queries": 15,
                "share": 0.0241,
                "precision": 1.0,
                "stranger_share": 0.1495,
            },
            "unlikely": {
                "queries": 12,
                "share": 0.0193,
                "precision": 0.5833,
                "stranger_share": 0.7846,
            },
        },
        "hard": {
            "high": {"queries": 486, "share": 0.7839, "precision": 1.0, "stranger_share": 0.0048},
            "likely": {
                "queries": 32,
                "share": 0.0516,
                "precision": 0.9062,
                "stranger_share": 0.0452,
            },
            "possible": {
                "queries": 33,
                "share": 0.0532,
                "precision": 0.9697,
                "stranger_share": 0.1435,
            },
            "unlikely": {
                "queries": 69,
                "share": 0.1113,
                "precision": 0.5217,
                "stranger_share": 0.8065,
            },
        },
        "all": {
            "high": {"queries": 1070, "share": 0.8615, "precision": 1.0, "stranger_share": 0.0089},
            "likely": {
                "queries": 43,
                "share": 0.0346,
                "precision": 0.9302,
                "stranger_share": 0.0491,
            },
            "possible": {
                "queries": 48,
                "share": 0.0386,
                "precision": 0.9792,
                "stranger_share": 0.1465,
            },
            "unlikely": {
                "queries": 81,
                "share": 0.0652,
                "precision": 0.5309,
                "stranger_share": 0.7955,
            },
        },
    },
    "measured_by": (
        "python -m bench.bench_accuracy (../shared/eval/faces, lfw-dev plain + hard queries)"
    ),
}
TIERS = Tiers(
    high=0.5192691087722777,
    likely=0.5500558614730834,
    possible=0.5869967937469481,
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
