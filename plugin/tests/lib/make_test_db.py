"""Builds the browser tests' face database: a few LFW identities, with stash-box ids for some.

    python make_test_db.py OUT_DIR

Enrols 0.jpg of the people in eval scene-1 plus a few distractors with `stash-sense db enroll`
(the real command, real models), then gives some of them stash-box ids, a disambiguation and an
image (a data URL, which Stash's performerCreate accepts) through DatabaseWriter, as a database
built from stash-box would have, and publishes. Prints one JSON object describing the performers.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

from stash_sense.database import DatabaseWriter, EmbedderInfo, PerformerRecord

FACES = Path(__file__).resolve().parents[3] / "tests" / "data" / "faces"
STASHDB = "https://stashdb.org/graphql"
FANSDB = "https://fansdb.cc/graphql"

# scene-1 shows Ali Naimi, Monica Seles and Tommy Thompson.
PEOPLE: dict[str, dict[str, object]] = {
    "Monica Seles": {"stash_ids": [(STASHDB, "5b1f0a4e-0000-4000-8000-00000000a001")]},
    "Ali Naimi": {
        "disambiguation": "LFW",
        "stash_ids": [
            (STASHDB, "5b1f0a4e-0000-4000-8000-00000000a002"),
            (FANSDB, "7c2e1b5f-0000-4000-8000-00000000b002"),
        ],
        "image": True,
    },
    "Tommy Thompson": {},
}
DISTRACTORS = 5


def main(out: Path) -> int:
    src = out / "enroll"
    for name in PEOPLE:
        folder = src / name
        folder.mkdir(parents=True, exist_ok=True)
        link = folder / "0.jpg"
        if not link.exists():
            link.symlink_to(FACES / "lfw-dev" / name.replace(" ", "_") / "0.jpg")
    for identity in sorted((FACES / "lfw-dev-distractors").iterdir())[:DISTRACTORS]:
        folder = src / identity.name.replace("_", " ")
        folder.mkdir(parents=True, exist_ok=True)
        link = folder / "0.jpg"
        if not link.exists():
            link.symlink_to(sorted(identity.glob("*.jpg"))[0])
    db = out / "db"
    cli = Path(sys.executable).with_name("stash-sense")
    done = subprocess.run(
        [str(cli), "db", "enroll", str(src), "--db", str(db)], capture_output=True, text=True
    )
    if done.returncode != 0:
        print(f"error: stash-sense db enroll failed: {done.stderr.strip()}", file=sys.stderr)
        return 1
    described: dict[str, object] = {}
    with DatabaseWriter.open(db, _embedder_infos(db)) as writer:
        for name, extra in PEOPLE.items():
            pid = writer.find_performer(PerformerRecord(name=name))
            if pid is None:
                print(f"error: {name} was not enrolled", file=sys.stderr)
                return 1
            image = FACES / "lfw-dev" / name.replace(" ", "_") / "0.jpg"
            data_url = "data:image/jpeg;base64," + base64.b64encode(image.read_bytes()).decode()
            stash_ids = list(extra.get("stash_ids", []))  # type: ignore[call-overload]
            rec = PerformerRecord(
                name=name,
                disambiguation=extra.get("disambiguation"),  # type: ignore[arg-type]
                stash_ids=stash_ids,
                image_urls=[data_url] if extra.get("image") else [],
            )
            writer.upsert_performer(rec, "enroll", into=pid)
            described[name] = {
                "disambiguation": extra.get("disambiguation"),
                "stash_ids": [{"endpoint": e, "stash_id": s} for e, s in stash_ids],
                "image": data_url if extra.get("image") else None,
            }
        writer.publish()
    print(json.dumps({"db": str(db), "performers": described}))
    return 0


def _embedder_infos(db: Path) -> list[EmbedderInfo]:
    manifest = json.loads((db / "current" / "manifest.json").read_text())
    return [EmbedderInfo.from_manifest(n, e) for n, e in manifest["models"].items()]


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
