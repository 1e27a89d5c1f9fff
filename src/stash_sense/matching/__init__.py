"""Matching faces against a face database: per-embedder top-k, fusion, per-performer ranking, tiers.

`Matcher` ranks performers for one face or several faces of one person; `calibrate` chooses the
tier thresholds from a labelled development set.
"""

from stash_sense.database.manifest import Tiers
from stash_sense.matching.calibrate import calibrate, tier_report
from stash_sense.matching.match import Match
from stash_sense.matching.matcher import Matcher

__all__ = ["Match", "Matcher", "Tiers", "calibrate", "tier_report"]
