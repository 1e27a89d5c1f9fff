"""What a new database starts with: the fusion weights and tier rule measured for the default
ensemble, read from `calibrated.json`.

`bench/bench_accuracy.py` writes that file (the calibration study of docs/matching.md, on
../shared/eval/faces); nothing here is typed in by hand. The values apply only to databases made
with exactly the embedder versions the file names; any other ensemble gets equal weights and
uncalibrated distance thresholds until `stash-sense db calibrate` measures its own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from stash_sense.database.manifest import UNCALIBRATED_TIERS, default_fusion
from stash_sense.database.records import EmbedderInfo

DATA = Path(__file__).with_name("calibrated.json")


@cache
def measured() -> dict[str, Any]:
    """The calibration file: `ensemble` (name -> version), `fusion`, `tiers`."""
    data: dict[str, Any] = json.loads(DATA.read_text())
    return data


def is_calibrated(embedders: Sequence[EmbedderInfo]) -> bool:
    """Whether these embedders are exactly the ensemble the defaults were measured with."""
    ensemble = measured()["ensemble"]
    return bool(ensemble) and {e.name: e.version for e in embedders} == ensemble


def initial_fusion(embedders: Sequence[EmbedderInfo]) -> dict[str, float]:
    """The measured weights for the default ensemble, equal weights for any other."""
    if is_calibrated(embedders):
        return {k: float(v) for k, v in measured()["fusion"].items()}
    return default_fusion(embedders)


def initial_tiers(embedders: Sequence[EmbedderInfo]) -> dict[str, Any]:
    """The measured tier rule for the default ensemble, uncalibrated thresholds for any other."""
    return dict(measured()["tiers"] if is_calibrated(embedders) else UNCALIBRATED_TIERS)
