"""The stand-ins' catalog: stable ids, repeated folders, edits the way stash-box applies them."""

from __future__ import annotations

from pathlib import Path

import pytest

from stash_sense_devkit.standins.catalog import Catalog
from stash_sense_devkit.standins.control import make_faces_dir

NAMES = ["Adam_Sandler", "Celine_Dion", "Yao_Ming"]


@pytest.fixture(scope="module")
def faces(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    lfw = data_dir / "faces" / "lfw-dev"
    return make_faces_dir(lfw, tmp_path_factory.mktemp("catalog"), NAMES, images=2)


def test_ids_are_stable_across_restarts(faces: Path) -> None:
    a, b = Catalog.from_faces_dir(faces), Catalog.from_faces_dir(faces)
    assert [p.id for p in a.performers] == [p.id for p in b.performers]
    assert [p.name for p in a.performers] == ["Adam Sandler", "Celine Dion", "Yao Ming"]
    assert [len(p.images) for p in a.performers] == [2, 2, 2]
    created = [p.created for p in a.performers]
    assert created == sorted(created) and len(set(created)) == 3


def test_replication_makes_new_names_ids_and_image_urls(faces: Path) -> None:
    catalog = Catalog.from_faces_dir(faces, replicate_to=7, images_per_performer=1)
    names = [p.name for p in catalog.performers]
    assert names[3:] == ["Adam Sandler 2", "Celine Dion 2", "Yao Ming 2", "Adam Sandler 3"]
    assert len({p.id for p in catalog.performers}) == 7
    routes = [p.images[0].route for p in catalog.performers]
    assert len(set(routes)) == 7
    assert catalog.performers[0].images[0].path == catalog.performers[3].images[0].path


def test_edits(faces: Path) -> None:
    catalog = Catalog.from_faces_dir(faces)
    adam, celine, yao = catalog.performers
    catalog.update(adam.id, {"name": "Adam S."})
    assert adam.name == "Adam S." and adam.updated > adam.created
    with pytest.raises(ValueError):
        catalog.update(adam.id, {"images": []})
    catalog.destroy(celine.id)
    merge = catalog.merge([yao.id], adam.id)
    assert adam.merged_ids == [yao.id] and yao.merged_into_id == adam.id
    assert [p.id for p in catalog.live()] == [adam.id]
    assert [e.operation for e in catalog.edits] == ["DESTROY", "MERGE"]
    assert merge.closed >= catalog.edits[0].closed
    new = catalog.create("Newcomer", "Yao_Ming")
    assert new.updated > adam.updated  # strictly increasing: UPDATED_AT order is total
    with pytest.raises(ValueError):
        catalog.create("Nobody", "No_Such_Folder")


def test_missing_faces_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Catalog.from_faces_dir(tmp_path / "absent")
