"""Linking records into identities: each kind of evidence, conflicts, review, decisions, and the
one-record-per-endpoint check of union-find."""

from __future__ import annotations

import numpy as np

from stash_sense.graph import Kind, Rules, SourceRecord, Status, link_records
from stash_sense.graph.model import FANSDB, JAVSTASH, STASHDB, THEPORNDB

FUSION = {"alpha": 1.0}
RNG = np.random.default_rng(7)


def face(seed: int, noise: float = 0.0) -> dict[str, np.ndarray]:
    v = np.random.default_rng(seed).normal(size=64)
    v = v / np.linalg.norm(v) + noise * RNG.normal(size=64) / 8
    return {"alpha": (v / np.linalg.norm(v))[None, :].astype(np.float32)}


def rec(endpoint: str, sid: str, name: str, **kw: object) -> SourceRecord:
    return SourceRecord(endpoint=endpoint, source_id=sid, name=name, **kw)  # type: ignore[arg-type]


def together(records: list[SourceRecord], **kw: object) -> list[set[str]]:
    graph = link_records(records, fusion=FUSION, **kw)  # type: ignore[arg-type]
    return sorted(({r.key for r in i.records} for i in graph.identities), key=len, reverse=True)


def test_an_explicit_id_links_records_whatever_else_differs() -> None:
    s = rec(STASHDB, "a1", "Jane Doe", birthdate="1990-01-02")
    t = rec(THEPORNDB, "t9", "J. Doe", birthdate="1991-05-05", same_as=[(STASHDB, "a1")])
    graph = link_records([s, t], fusion=FUSION)
    assert len(graph.identities) == 1
    (link,) = graph.links
    assert link.status == Status.ACCEPTED and Kind.ID in link.kinds
    assert graph.identities[0].primary is s  # StashDB's metadata shows


def test_a_shared_profile_url_in_any_spelling_links() -> None:
    s = rec(STASHDB, "a1", "Jane Doe", urls=["https://twitter.com/JaneDoeXX"])
    f = rec(FANSDB, "f1", "Janie", urls=["https://mobile.x.com/janedoexx/media?s=1"])
    assert together([s, f]) == [{s.key, f.key}]


def test_name_and_birthdate_link_name_alone_goes_to_review() -> None:
    s = rec(STASHDB, "a1", "Jane Doe", birthdate="1990-01-02")
    f = rec(FANSDB, "f1", "jane doe", birthdate="1990-01-02")
    p = rec(JAVSTASH, "j1", "Jane Doe")
    graph = link_records([s, f, p], fusion=FUSION)
    status = {(lk.a, lk.b): lk.status for lk in graph.links}
    assert status[tuple(sorted((s.key, f.key)))] == Status.ACCEPTED
    assert status[tuple(sorted((s.key, p.key)))] == Status.REVIEW


def test_japanese_scripts_and_a_face_link() -> None:
    j = rec(JAVSTASH, "j1", "波多野結衣", faces=face(1))
    s = rec(STASHDB, "a1", "Yui Hatano", faces=face(1, 0.2))
    assert together([j, s]) == [{j.key, s.key}]


def test_a_face_alone_never_links_and_never_against_conflicting_evidence() -> None:
    s = rec(STASHDB, "a1", "Jane Doe", birthdate="1990-01-02", faces=face(1))
    f = rec(FANSDB, "f1", "Mary Major", faces=face(1, 0.1))
    graph = link_records([s, f], fusion=FUSION)
    assert len(graph.identities) == 2
    assert graph.links[0].status == Status.REVIEW and graph.links[0].reason == "a face alone"
    g = rec(FANSDB, "f2", "Jane Doe", birthdate="1985-03-04", faces=face(1, 0.1))
    graph = link_records([s, g], fusion=FUSION)
    assert len(graph.identities) == 2
    assert "conflicting birthdate" in graph.links[0].reason
    assert graph.links[0].status != Status.ACCEPTED


def test_same_name_different_people_stay_apart() -> None:
    s = rec(STASHDB, "a1", "Lisa", birthdate="1990-01-02", country="US", faces=face(1))
    f = rec(FANSDB, "f1", "Lisa", birthdate="1999-09-09", country="DE", faces=face(2))
    graph = link_records([s, f], fusion=FUSION)
    assert len(graph.identities) == 2
    assert graph.links[0].status == Status.REJECTED


def test_an_identity_holds_one_record_per_endpoint_unless_merged() -> None:
    s = rec(STASHDB, "a1", "Jane Doe", birthdate="1990-01-02")
    s2 = rec(STASHDB, "a2", "Jane Doe", birthdate="1990-01-02")
    f = rec(FANSDB, "f1", "Jane Doe", birthdate="1990-01-02")
    graph = link_records([s, s2, f], fusion=FUSION)
    assert [len(i.records) for i in sorted(graph.identities, key=lambda i: -len(i.records))] == [
        2,
        1,
    ]
    assert any("two records of" in lk.reason for lk in graph.links if lk.status == Status.REVIEW)
    merged = rec(STASHDB, "a1", "Jane Doe", merged_ids=[(STASHDB, "a2")])
    assert together([merged, s2, f]) == [{merged.key, s2.key, f.key}]


def test_a_maintainers_decision_wins_both_ways() -> None:
    s = rec(STASHDB, "a1", "Jane Doe", urls=["https://twitter.com/jd"])
    f = rec(FANSDB, "f1", "Jane Doe", urls=["https://twitter.com/jd"])
    m = rec(THEPORNDB, "t1", "Someone Else")
    pair = tuple(sorted((s.key, f.key)))
    assert len(together([s, f], decisions={pair: False})) == 2
    forced = tuple(sorted((s.key, m.key)))
    assert {s.key, m.key} in together([s, f, m], decisions={pair: False, forced: True})


def test_ablation_limits_the_evidence_used() -> None:
    s = rec(STASHDB, "a1", "Jane Doe", urls=["https://twitter.com/jd"])
    f = rec(FANSDB, "f1", "Other Name", urls=["https://twitter.com/jd"])
    assert len(together([s, f])) == 1
    assert len(together([s, f], kinds={Kind.NAME, Kind.FACE})) == 2


def test_rules_thresholds_are_the_tuned_values() -> None:
    s = rec(STASHDB, "a1", "Jane Doe", birthdate="1990-01-02")
    f = rec(FANSDB, "f1", "Jane Doe", birthdate="1990-01-02")
    assert len(together([s, f], rules=Rules(accept=50.0, review=40.0))) == 2


def test_a_shared_url_against_a_conflicting_birthdate_is_left_for_review() -> None:
    s = rec(STASHDB, "a1", "Jane Doe", birthdate="1990-01-02", urls=["https://twitter.com/jd"])
    f = rec(FANSDB, "f1", "Jane", birthdate="1992-01-02", urls=["https://x.com/JD"])
    graph = link_records([s, f], fusion=FUSION)
    assert len(graph.identities) == 2
    assert graph.links[0].status == Status.REVIEW
    assert graph.links[0].reason == "conflicting birthdate"


def test_a_birth_year_one_apart_on_the_same_day_is_no_conflict() -> None:
    # a source's typo: the same day and month a year apart joins with a name and a face;
    # two years apart, or another day, still conflicts
    near = [
        rec(STASHDB, "a", "Jane Doe", birthdate="1990-05-06", faces=face(1)),
        rec(FANSDB, "b", "Jane Doe", birthdate="1991-05-06", faces=face(1, 0.1)),
    ]
    assert len(together(near)[0]) == 2
    link = link_records(near, fusion=FUSION).links[0]
    assert any("year one apart" in e.detail for e in link.evidence)
    for other in ("1992-05-06", "1991-05-07"):
        far = [near[0], rec(FANSDB, "b", "Jane Doe", birthdate=other, faces=face(1, 0.1))]
        assert len(together(far)[0]) == 1, other
