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
ENSEMBLE: dict[str, str] = {}
#: fused distance = sum of weight x cosine distance (docs/matching.md)
FUSION: dict[str, float] = {}
#: what the calibration measured (held out: thresholds from half the identities, measured on the
#: other half, both ways)
CALIBRATION: dict[str, Any] = {}
TIERS = Tiers(calibration=CALIBRATION)


def is_calibrated(embedders: Sequence[EmbedderInfo]) -> bool:
    """Whether these embedders are exactly the ensemble the defaults were measured with."""
    return bool(ENSEMBLE) and {e.name: e.version for e in embedders} == ENSEMBLE


def initial_fusion(embedders: Sequence[EmbedderInfo]) -> dict[str, float]:
    """The measured weights for the default ensemble, equal weights for any other."""
    return dict(FUSION) if is_calibrated(embedders) else default_fusion(embedders)


def initial_tiers(embedders: Sequence[EmbedderInfo]) -> Tiers:
    """The measured tiers for the default ensemble, uncalibrated defaults for any other."""
    return TIERS if is_calibrated(embedders) else Tiers()
