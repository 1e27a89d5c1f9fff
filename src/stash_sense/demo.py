"""The offline demo: enrol bundled LFW faces into a new face database, then identify pictures.

`python -m stash_sense.demo` (or `make demo`) enrols `demo_data/faces/<name>/` into
`demo-output/db` through the application layer (detection, quality, embedding, publish: what
`stash-sense db enroll` does), then identifies the bundled query pictures (`demo_data/queries/`,
people enrolled from other photos) and prints who they are; then it does the main job on the
bundled short scene (`demo_data/scene/scene.mp4`, made of other photos of three of them): the
scene pipeline samples its frames, finds the faces, groups them by person and prints who is in
it. Needs nothing but the installed wheel (and ffmpeg): no network, no development tools, no
../shared.
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
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from stash_sense.cli.render import tier_style

if TYPE_CHECKING:
    from stash_sense.faces import FaceEngine
    from stash_sense.matching import Matcher

DEMO_DATA = Path(__file__).resolve().parent / "demo_data"
SCENE_FRAMES = 24  # frames sampled from the bundled 12-second scene


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
        scene_right = run_scene(data / "scene", engine, matcher, console)
    return 0 if right == len(results) and scene_right else 1


def load_scene(folder: Path) -> tuple[Path, list[str]]:
    """The bundled scene's video and the people who are in it."""
    raw = json.loads((folder / "scene.json").read_text(encoding="utf-8"))
    return folder / raw["video"], sorted(raw["expected"])


def run_scene(folder: Path, engine: FaceEngine, matcher: Matcher, console: Console) -> bool:
    """Identify the people of the bundled scene with the scene pipeline; whether every one of
    them was found (as a person's best match, tier possible or better) and nobody else was
    named. A person whose best match is only "unlikely" is shown as unknown: no claim."""
    from stash_sense.app.scene import identify_video

    video, expected = load_scene(folder)
    result = identify_video(video, engine, matcher, frames=SCENE_FRAMES, top=2)
    table = Table(title=f"Who is in this scene? ({video.name}, {SCENE_FRAMES} frames)")
    for header in ("person", "frames", "seen at (s)", "best match", "distance", "tier"):
        table.add_column(header, no_wrap=True)
    named: list[str] = []  # best matches that are a claim (tier possible or better)
    for i, person in enumerate(result.persons, 1):
        best = person.matches[0] if person.matches else None
        claimed = best is not None and best.tier != "unlikely"
        if best is not None and claimed:
            named.append(best.name)
            mark = "[green]✓[/]" if best.name in expected else "[red]✗[/]"
            shown = f"{mark} {best.name}"
        else:
            shown = f"unknown (closest: {best.name})" if best else "unknown"
        table.add_row(
            str(i),
            str(person.frames),
            f"{min(person.times):.1f} to {max(person.times):.1f}" if person.times else "",
            shown,
            f"{best.distance:.3f}" if best else "",
            f"[{tier_style(best.tier)}]{best.tier}[/]" if best else "",
        )
    console.print(table)
    found = sorted({n for n in named if n in expected})
    console.print(
        f"{len(found)} of {len(expected)} people in the scene found "
        f"({result.frames_sampled} frames, {result.faces_detected} faces, "
        f"{result.elapsed_s:.1f} s): {', '.join(found) or 'nobody'}"
    )
    return found == expected and all(n in expected for n in named)


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
