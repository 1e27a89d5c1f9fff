"""The offline demo: enrol bundled LFW faces into a new face database, then identify pictures.

`python -m stash_sense.demo` (or `make demo`) enrols `demo_data/faces/<name>/` into
`demo-output/db` through the application layer (detection, quality, embedding, publish: what
`stash-sense db enroll` does), then identifies the bundled query pictures (`demo_data/queries/`,
people enrolled from other photos) and prints who they are. Needs nothing but the installed
wheel: no network, no development tools, no ../shared.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from stash_sense.cli.render import tier_style

DEMO_DATA = Path(__file__).resolve().parent / "demo_data"


@dataclass
class QueryResult:
    """What the demo found for one query picture."""

    file: str
    expected: str
    faces: int
    top: str | None
    distance: float | None
    tier: str | None
    runner_up: str | None
    runner_up_distance: float | None

    @property
    def right(self) -> bool:
        return self.top == self.expected


def load_queries(data: Path) -> dict[str, str]:
    """Query file name -> the name of the person it shows."""
    raw = json.loads((data / "queries.json").read_text(encoding="utf-8"))
    return {name: entry["expected"] for name, entry in raw.items()}


def run_demo(output: Path, data: Path = DEMO_DATA, console: Console | None = None) -> int:
    """Run the whole demo; return the exit status (0 when every query was recognised)."""
    from stash_sense.app.enroll import enroll_folder
    from stash_sense.database import FaceDatabase
    from stash_sense.faces import FaceEngine, load_image
    from stash_sense.matching import Matcher

    console = console or Console()
    faces_dir, queries_dir = data / "faces", data / "queries"
    people = sorted(p.name for p in faces_dir.iterdir() if p.is_dir())
    console.print(
        f"[bold]Stash Sense demo[/]: {len(people)} people enrolled from two photos each, "
        f"then {len(load_queries(data))} pictures of some of them that were not enrolled."
    )
    db = output / "db"
    if db.exists():
        shutil.rmtree(db)  # a fresh database each run
    output.mkdir(parents=True, exist_ok=True)

    engine = FaceEngine.default().load()
    started = time.monotonic()
    enrolled = enroll_folder(faces_dir, db, engine)
    skips = ", ".join(f"{n} {reason}" for reason, n in sorted(enrolled.skipped.items()))
    console.print(
        f"enrolled {db} in {time.monotonic() - started:.1f}s: {enrolled.folders} performers, "
        f"{enrolled.added} faces" + (f" (photos skipped: {skips})" if skips else "")
    )

    results: list[QueryResult] = []
    with FaceDatabase.open(db) as fdb:
        matcher = Matcher(fdb)
        for file, expected in load_queries(data).items():
            faces = engine.analyze(load_image(queries_dir / file))
            matches = matcher.match_face(faces[0], top=2) if faces else []
            first = matches[0] if matches else None
            second = matches[1] if len(matches) > 1 else None
            results.append(
                QueryResult(
                    file=file,
                    expected=expected,
                    faces=len(faces),
                    top=first.name if first else None,
                    distance=first.distance if first else None,
                    tier=first.tier if first else None,
                    runner_up=second.name if second else None,
                    runner_up_distance=second.distance if second else None,
                )
            )
    console.print(results_table(results))
    right = sum(r.right for r in results)
    console.print(f"{right} of {len(results)} query pictures recognised. Database: {db}")
    return 0 if right == len(results) else 1


def results_table(results: list[QueryResult]) -> Table:
    """The rich table of the identifications."""
    table = Table(title="Who is in these pictures?")
    for header in ("query picture", "shows", "best match"):
        table.add_column(header, no_wrap=True)
    for header in ("distance", "tier", "next"):
        table.add_column(header, no_wrap=True, justify="right" if header != "tier" else "left")
    for r in results:
        style = tier_style(r.tier)
        mark = "[green]✓[/]" if r.right else "[red]✗[/]"
        table.add_row(
            Path(r.file).stem,
            r.expected,
            f"{mark} {r.top}" if r.top else "[red]no face found[/]",
            f"{r.distance:.3f}" if r.distance is not None else "",
            f"[{style}]{r.tier}[/]" if r.tier else "",
            f"{r.runner_up_distance:.3f}" if r.runner_up_distance is not None else "-",
        )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stash_sense.demo", description=__doc__)
    parser.add_argument(
        "--output", type=Path, default=Path("demo-output"), help="where the database goes"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return run_demo(args.output)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
