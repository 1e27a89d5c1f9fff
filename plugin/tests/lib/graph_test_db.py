"""Gives the browser tests' face database a second source for Monica Seles, then builds its
identity graph with the real command.

    python graph_test_db.py DB

Monica Seles's StashDB row (make_test_db.py) gets a profile URL and a birthdate; a FansDB row
lists her again, without a face, under its own id with the same URL (written in another form) and
birthdate, as a second stash-box would. `stash-sense db graph build` then links the two rows into
one identity (URL and name evidence). Ali Naimi's row already holds a StashDB and a FansDB id.
Prints one JSON object: Monica's FansDB id.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from make_test_db import _embedder_infos

from stash_sense.database import DatabaseWriter, PerformerRecord

STASHDB = "https://stashdb.org/graphql"
FANSDB = "https://fansdb.cc/graphql"
MONICA_SD = "5b1f0a4e-0000-4000-8000-00000000a001"
MONICA_FD = "7c2e1b5f-0000-4000-8000-00000000b001"
BIRTHDATE = "1973-12-02"


def main(db: Path) -> int:
    with DatabaseWriter.open(db, _embedder_infos(db)) as writer:
        pid = writer.find_performer(
            PerformerRecord(name="Monica Seles", stash_ids=[(STASHDB, MONICA_SD)])
        )
        if pid is None:
            print(
                "error: no Monica Seles in the database: run make_test_db.py first", file=sys.stderr
            )
            return 1
        stashdb = PerformerRecord(
            name="Monica Seles",
            birthdate=BIRTHDATE,
            stash_ids=[(STASHDB, MONICA_SD)],
            urls=[("https://twitter.com/MonicaSeles", "twitter")],
            primary_source=STASHDB,
        )
        writer.upsert_performer(stashdb, STASHDB, into=pid)
        fansdb = PerformerRecord(
            name="Monica Seles",
            birthdate=BIRTHDATE,
            stash_ids=[(FANSDB, MONICA_FD)],
            urls=[("https://x.com/monicaseles/", "twitter")],
            primary_source=FANSDB,
        )
        writer.upsert_performer(fansdb, FANSDB)
        writer.publish()
    cli = Path(sys.executable).with_name("stash-sense")
    done = subprocess.run(
        [str(cli), "db", "graph", "build", "--db", str(db), "--json"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(f"error: stash-sense db graph build failed: {done.stderr.strip()}", file=sys.stderr)
        return 1
    print(json.dumps({"monica_fansdb": {"endpoint": FANSDB, "stash_id": MONICA_FD}}))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
