"""The user-state database: created at its schema version, refused when newer or not a
database, decisions undone in order; and every scene filter the scan sends validates against
the real Stash schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from graphql import OperationDefinitionNode, parse
from graphql.execution.values import get_variable_values

from stash_sense.library import LibraryStore, PerformerRef, ScanOptions, ScanScope, StateError
from stash_sense.library.identity import same_cluster
from stash_sense.library.scan_options import scene_filter
from stash_sense.library.schema import SCHEMA_VERSION
from stash_sense.library.store import PersonVector
from stash_sense.sources.stash import FIND_SCENES_PAGE
from stash_sense_devkit.standins.stash import load_stash_schema

STASHDB = "https://stashdb.org/graphql"


def test_created_at_the_schema_version_and_reopened(tmp_path: Path) -> None:
    with LibraryStore.in_folder(tmp_path) as store:
        assert store.version == SCHEMA_VERSION
        scan = store.new_scan("untagged", None, 12)
    with LibraryStore.in_folder(tmp_path) as again:  # no migration runs twice
        assert again.version == SCHEMA_VERSION
        latest = again.latest_scan()
        assert latest is not None and latest.id == scan.id and latest.total == 12


def test_a_newer_or_broken_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(StateError, match="newer than this program"):
        LibraryStore(path)
    junk = tmp_path / "junk" / "library.sqlite"
    junk.parent.mkdir()
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(StateError, match="not a database"):
        LibraryStore(junk)


def test_decisions_undo_latest_first_and_by_id(tmp_path: Path) -> None:
    monica = PerformerRef(7, "Monica", ((STASHDB, "a1"),))
    vector = PersonVector("sface", np.ones(4, np.float32) / 2)
    with LibraryStore.in_folder(tmp_path) as store:
        first = store.decide("reject", "1", 0, monica, distance=0.41, tier="likely", vector=vector)
        second = store.decide("apply", "2", 1, monica)
        assert [d.id for d in store.decisions(None)] == [first, second]
        latest = store.undo()
        assert latest is not None and latest.id == second
        [left] = store.decisions("reject")
        assert left.performer == monica and left.vector is not None
        assert same_cluster(left.vector, vector.vector)
        assert store.undo(first) is not None and store.undo(first) is None
        assert store.decisions(None) == [] and len(store.decisions(None, active=False)) == 2


def test_a_performer_is_the_same_by_any_shared_stash_id() -> None:
    a = PerformerRef(1, "A", ((STASHDB, "x"), ("https://fansdb.cc/graphql", "y")))
    renumbered = PerformerRef(40, "A (renamed)", (("https://fansdb.cc/graphql", "y"),))
    assert a.same_as(renumbered)  # a database update may renumber and rename
    assert not a.same_as(PerformerRef(1, "A"))  # no stash id: id and name must both match
    assert PerformerRef(3, "B").same_as(PerformerRef(3, "B"))


@pytest.mark.parametrize(
    "options",
    [
        ScanOptions(),
        ScanOptions(scope=ScanScope.ALL),
        ScanOptions(scope=ScanScope.SINCE, since="2026-01-31"),
    ],
)
@pytest.mark.parametrize("watermark", [None, "2026-03-04T05:06:07+02:00"])
def test_every_scene_filter_validates_against_the_stash_schema(
    options: ScanOptions, watermark: str | None
) -> None:
    schema = load_stash_schema()
    op = next(d for d in parse(FIND_SCENES_PAGE).definitions
              if isinstance(d, OperationDefinitionNode))  # fmt: skip
    variables = {"scene_filter": scene_filter(options, watermark), "page": 1, "per_page": 100}
    coerced = get_variable_values(schema, op.variable_definitions or [], variables)
    assert not isinstance(coerced, list), [str(e) for e in coerced]
    if watermark:  # a second before the watermark, so scenes of that second come again
        assert variables["scene_filter"]["updated_at"]["value"] == "2026-03-04T05:06:06+02:00"
