"""/identify decodes an upload in memory, through the same code as `stash-sense identify`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

from stash_sense.app.errors import Unusable
from stash_sense.app.identify import identify_image
from stash_sense.database import EmbedderInfo, FaceDatabase
from stash_sense.faces import FaceEngine
from stash_sense.matching import Matcher


def test_an_upload_is_identified_from_memory_without_a_temporary_file(
    data_dir: Path,
    test_db: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sidecar's /identify hands the uploaded bytes to the same code as the CLI."""

    def no_disk(*args: object, **kwargs: object) -> None:
        raise AssertionError("an uploaded image was written to a temporary file")

    for name in ("mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryDirectory"):
        monkeypatch.setattr(tempfile, name, no_disk)
    data = (data_dir / "faces" / "lfw-dev" / "Monica_Seles" / "4.jpg").read_bytes()
    engine = FaceEngine.create().load()
    infos = [EmbedderInfo.from_embedder(e) for e in engine.embedders]
    with FaceDatabase.open(Path(test_db["db"]), infos) as db:
        record = identify_image(engine, Matcher(db), data, top=3, name="upload.jpg")
        with pytest.raises(Unusable):
            identify_image(engine, Matcher(db), data[:200], top=3, name="cut.jpg")
    assert record.image == "upload.jpg"
    assert record.faces[0].matches[0].name == "Monica Seles"
