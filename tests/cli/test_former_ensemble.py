"""A database made with the former default ensemble (SFace + FaceNet) keeps working after the
default became SFace + dlib: identify, a second enrolment and the sidecar use the embedders the
database was made with (FaceEngine.for_database), so its calibrated tiers still apply."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from clikit import PEOPLE, run_cli

from stash_sense.app.enroll import enroll_folder
from stash_sense.faces import FaceEngine
from stash_sense.faces.engine import DEFAULT_EMBEDDERS


def test_a_database_of_the_former_ensemble_is_matched_with_its_own_embedders(
    tmp_path: Path, lfw: Path
) -> None:
    src = tmp_path / "src"
    for name in PEOPLE[:3]:
        (src / name).mkdir(parents=True)
        shutil.copy(lfw / "lfw-dev" / name / "0.jpg", src / name / "0.jpg")
    db = tmp_path / "db"
    enroll_folder(src, db, engine=FaceEngine.create(embedder_names=("sface", "facenet")))
    manifest = json.loads((db / "current" / "manifest.json").read_text())
    assert set(manifest["models"]) == {"sface", "facenet"} != set(DEFAULT_EMBEDDERS)

    query = lfw / "lfw-dev" / PEOPLE[0] / "1.jpg"
    proc = run_cli("identify", "--db", db, "--json", query)
    assert proc.returncode == 0, proc.stderr
    top = json.loads(proc.stdout)["faces"][0]["matches"][0]
    assert top["name"] == PEOPLE[0]
    assert set(top["decided_by"]) <= {"sface", "facenet"}

    # enrolling more into it keeps its embedders instead of refusing the new default's
    (src / PEOPLE[3]).mkdir()
    shutil.copy(lfw / "lfw-dev" / PEOPLE[3] / "0.jpg", src / PEOPLE[3] / "0.jpg")
    again = run_cli("db", "enroll", "--db", db, src)
    assert again.returncode == 0, again.stderr
    manifest = json.loads((db / "current" / "manifest.json").read_text())
    assert set(manifest["models"]) == {"sface", "facenet"}
    assert manifest["counts"]["performers"] == 4


def test_the_sidecar_matches_it_with_its_own_embedders(tmp_path: Path, lfw: Path) -> None:
    from stash_sense.app.recognizer import RecognizerHolder

    src = tmp_path / "src"
    (src / PEOPLE[0]).mkdir(parents=True)
    shutil.copy(lfw / "lfw-dev" / PEOPLE[0] / "0.jpg", src / PEOPLE[0] / "0.jpg")
    old, new = tmp_path / "old", tmp_path / "new"
    enroll_folder(src, old, engine=FaceEngine.create(embedder_names=("sface", "facenet")))
    enroll_folder(src, new)
    holder = RecognizerHolder(FaceEngine.default(), old)
    holder.load()
    try:
        with holder.use() as rec:
            assert rec.engine.embedder_names == ["sface", "facenet"]
            assert rec.matcher.embedder_names == ["sface", "facenet"]
        holder.reload(new)  # a hot swap to a database of the default ensemble
        with holder.use() as rec:
            assert rec.engine is holder.engine
            assert rec.matcher.embedder_names == list(DEFAULT_EMBEDDERS)
    finally:
        holder.close()


def test_for_database_falls_back_to_the_default_for_unknown_or_no_models() -> None:
    assert FaceEngine.for_database([]).embedder_names == list(DEFAULT_EMBEDDERS)
    assert FaceEngine.for_database(["sface", "nosuch"]).embedder_names == list(DEFAULT_EMBEDDERS)
    assert FaceEngine.for_database(["sface", "facenet"]).embedder_names == ["sface", "facenet"]
    # the default ensemble in another order is still the default (SFace first, for the cascade)
    reordered = list(reversed(DEFAULT_EMBEDDERS))
    assert FaceEngine.for_database(reordered).embedder_names == list(DEFAULT_EMBEDDERS)
