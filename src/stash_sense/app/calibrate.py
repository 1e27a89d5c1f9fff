"""Calibrate a face database: fit its tier rule on a labelled dev set and publish it.

The method of docs/matching.md: every dev image is matched as itself and as a stranger (its own
identity left out); the rule is fitted on all of them, and the precision each tier reports is
measured held out (5 folds by identity).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stash_sense.app.errors import InvalidInput, Unusable
from stash_sense.database import (
    DatabaseError,
    DatabaseWriter,
    EmbedderInfo,
    FaceDatabase,
    database_models,
)
from stash_sense.faces import FaceEngine, load_image
from stash_sense.matching import Matcher
from stash_sense.matching.calibrate import (
    Outcomes,
    band_report,
    cross_validate,
    fit_rule,
    measured,
)
from stash_sense.matching.devset import DevOutcome, evaluate
from stash_sense.matching.tiers import GRADED, Tiers

__all__ = ["GRADED", "CalibrationResult", "DatabaseError", "calibrate_database"]

FOLDS = 5


@dataclass(frozen=True)
class CalibrationResult:
    """What a calibration measured and where it published the rule."""

    right: int  # dev images whose top-1 match was their identity
    wrong: int
    performers: int  # in the database
    folds: int
    #: tier -> {"precision", "share", "stranger_share"}, measured held out
    report: dict[str, dict[str, Any]]
    published: Path


def calibrate_database(
    db: Path,
    dev: Path,
    *,
    top_k: int = 50,
    on_image: Callable[[int, int], None] | None = None,
) -> CalibrationResult:
    """Match every image of `dev` (one folder per identity, not enrolled) against `db`, fit the
    tier rule and publish it in a new generation. `on_image(done, total)` follows the matching.

    Raises InvalidInput (no such folder), Unusable (nothing to calibrate on) and DatabaseError.
    """
    if not dev.is_dir():
        raise InvalidInput(f"{dev} is not a folder")
    engine = FaceEngine.for_database(database_models(db))
    infos = [EmbedderInfo.from_embedder(e) for e in engine.embedders]
    with FaceDatabase.open(db, infos) as fdb:
        matcher = Matcher(fdb, k=top_k)
        outcomes = evaluate(matcher, lambda p: engine.analyze(load_image(p)), dev, on_image)
        models = list(fdb.manifest.models.values())
        performers = matcher.performers
        current = matcher.tiers
    data, identities = _outcomes(outcomes, performers)
    if not data.correct.any():
        raise Unusable(f"no image of {dev} matched its own identity: nothing to calibrate on")
    slopes = {t: c.per_decade for t, c in current.fused.cuts.items()} if current.fused else {}
    folds = min(FOLDS, len(set(identities)))
    try:
        report = band_report(cross_validate(data, identities, folds, per_decade=slopes), data)
        rule = fit_rule(data, per_decade=slopes)
    except ValueError as err:
        raise Unusable(f"cannot calibrate on {dev}: {err}") from None
    method = f"stash-sense db calibrate --dev {dev.name} ({folds}-fold by identity)"
    tiers = Tiers(
        fused=rule,
        first=current.first,
        first_embedder=current.first_embedder,
        calibration=measured(report, performers, method),
    )
    with DatabaseWriter.open(db, models) as writer:
        published = writer.publish(tiers=tiers.as_dict())
    right = sum(o.correct for o in outcomes)
    return CalibrationResult(
        right, len(outcomes) - right, performers, folds, {t: report[t] for t in GRADED}, published
    )


def _outcomes(outcomes: list[DevOutcome], performers: int) -> tuple[Outcomes, list[str]]:
    """Each dev image as itself and as a stranger: the fitting data, and each row's identity."""
    rows = [(o.identity, o.distance, o.margin, o.correct, False) for o in outcomes
            if o.distance is not None] + [
           (o.identity, o.stranger_distance, o.stranger_margin, False, True)
           for o in outcomes if o.stranger_distance is not None]  # fmt: skip
    data = Outcomes.of(
        [r[1] for r in rows],
        [r[2] for r in rows],
        performers,
        [r[3] for r in rows],
        [r[4] for r in rows],
    )
    return data, [r[0] for r in rows]
