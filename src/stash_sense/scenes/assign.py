"""One performer is one person: the best overall assignment of performers to a scene's persons.

Each person of a scene comes with a ranked list of candidate performers. Taken one by one, two
persons may both name the same performer; shown that way, the user could add one performer for
two different people. Here every person gets at most one performer and every performer at most
one person, chosen so that the sum of the assigned distances is smallest (an unassigned person
costs `UNASSIGNED`, so a person goes without only when the performer is better used elsewhere).
Exact search over the persons' candidates; a scene rarely has more than a few persons, and past
`EXACT_UP_TO` of them a greedy pass (closest pair first) takes over.

The tiers are not touched: a match keeps the tier its own evidence earned (matching/tiers.py), so
a word means the same on a scene as on one image. A person's list then shows its assigned
performer first, followed by the candidates no other person is closer to.
"""

from __future__ import annotations

from collections.abc import Sequence

from stash_sense.matching import Match

#: the cost of leaving a person without a performer (a fused distance; above any match shown)
UNASSIGNED = 1.0
EXACT_UP_TO = 8
CANDIDATES = 5


def best_assignment(rankings: Sequence[Sequence[Match]]) -> list[int | None]:
    """For each person, the performer id assigned to it (or None)."""
    options = [[(m.performer_id, m.distance) for m in ranking[:CANDIDATES]] for ranking in rankings]
    if len(options) > EXACT_UP_TO:
        return _greedy(options)
    best_cost = float("inf")
    best: list[int | None] = [None] * len(options)
    chosen: list[int | None] = []

    def search(i: int, used: frozenset[int], cost: float) -> None:
        nonlocal best_cost, best
        if cost >= best_cost:
            return
        if i == len(options):
            best_cost, best = cost, list(chosen)
            return
        for pid, distance in options[i]:
            if pid not in used:
                chosen.append(pid)
                search(i + 1, used | {pid}, cost + min(distance, UNASSIGNED))
                chosen.pop()
        chosen.append(None)
        search(i + 1, used, cost + UNASSIGNED)
        chosen.pop()

    search(0, frozenset(), 0.0)
    return best


def _greedy(options: list[list[tuple[int, float]]]) -> list[int | None]:
    pairs = sorted((d, i, pid) for i, opts in enumerate(options) for pid, d in opts)
    out: list[int | None] = [None] * len(options)
    used: set[int] = set()
    for _, i, pid in pairs:
        if out[i] is None and pid not in used:
            out[i] = pid
            used.add(pid)
    return out


def exclusive(rankings: Sequence[Sequence[Match]], top: int) -> list[list[Match]]:
    """Each person's list with every performer shown for one person only (see the docstring)."""
    assigned = best_assignment(rankings)
    owner: dict[int, tuple[float, int]] = {}
    for i, pid in enumerate(assigned):
        if pid is not None:
            owner[pid] = (-1.0, i)  # an assigned performer belongs to its person
    for i, ranking in enumerate(rankings):
        for m in ranking:
            if m.performer_id not in owner or m.distance < owner[m.performer_id][0]:
                owner[m.performer_id] = (m.distance, i)
    out: list[list[Match]] = []
    for i, ranking in enumerate(rankings):
        first = [m for m in ranking if m.performer_id == assigned[i]]
        rest = [
            m for m in ranking if m.performer_id != assigned[i] and owner[m.performer_id][1] == i
        ]
        out.append((first + rest)[:top])
    return out
