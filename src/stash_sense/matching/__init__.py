"""Matching faces against a face database: per-embedder top-k, fusion, per-performer ranking, tiers.

`Matcher` ranks performers for one face or several faces of one person; `tiers` decides how sure a
match is; `calibrate` fits that decision on labelled outcomes.
"""

from stash_sense.matching.calibrate import Outcomes, fit_rule, tier_report
from stash_sense.matching.match import Match
from stash_sense.matching.matcher import Matcher
from stash_sense.matching.tiers import Evidence, Tier, Tiers

__all__ = ["Evidence", "Match", "Matcher", "Outcomes", "Tier", "Tiers", "fit_rule", "tier_report"]
