"""`stash-sense scene`: who is in this video? N evenly spaced frames, faces clustered by person."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from stash_sense.cli.common import DbOption, database, fail, recognizer, settings
from stash_sense.cli.render import tier_style
from stash_sense.settings import help_text


def scene_command(
    video: Annotated[Path, typer.Argument(help="A video file.")],
    db: DbOption = None,
    frames: Annotated[
        int | None, typer.Option("--frames", help=help_text("frames"), show_default=False)
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Matches per person.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Identify every person in a video: one entry per person with their best matches."""
    from stash_sense.app.errors import AppError
    from stash_sense.app.failures import DatabaseError
    from stash_sense.app.scene import identify_video

    if not video.is_file():
        fail(f"no such video file: {video}")
    given = settings(db=db, frames=frames)
    db = database(given.db)
    with recognizer(db) as rec:
        try:
            result = identify_video(
                video, rec.engine, rec.matcher, frames=given.sidecar.frames, top=top
            )
        except (AppError, DatabaseError) as err:
            fail(str(err))
    out = result.as_json()
    if as_json:
        print(json.dumps(out))
    else:
        _print(out, video)


def _print(out: dict[str, Any], video: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"[bold]{video}[/]: {len(out['persons'])} people in {out['frames_sampled']} frames "
        f"({out['faces_detected']} faces, {out['elapsed_s']:.1f} s)"
    )
    if not out["persons"]:
        return
    table = Table("person", "frames", "seen at (s)", "performer", "distance", "tier")
    for p in out["persons"]:
        seen = ", ".join(f"{t:.0f}" for t in p["times"][:8]) + (
            " ..." if len(p["times"]) > 8 else ""
        )
        if not p["matches"]:
            table.add_row(str(p["person_id"]), str(p["frames"]), seen, "-", "", "")
        for j, m in enumerate(p["matches"][:3]):
            first = j == 0
            name = m["name"] + (f" ({m['disambiguation']})" if m["disambiguation"] else "")
            style = tier_style(m["tier"])
            table.add_row(
                str(p["person_id"]) if first else "",
                str(p["frames"]) if first else "",
                seen if first else "",
                name,
                f"{m['distance']:.3f}",
                f"[{style}]{m['tier']}[/]",
            )
    console.print(table)
