"""`stash-sense db enroll | info | merge | calibrate`: make, inspect and combine face databases.

Each command reads its options, calls one use case of `stash_sense.app` and prints the result;
heavy modules (OpenCV, Voyager, the face engine) are imported inside the commands. The release
commands are in cli/db_release.py, what every command shares in cli/common.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from stash_sense.cli.common import DbOption, database, fail, progress_bar, settings

app = typer.Typer(no_args_is_help=True)


@app.command("enroll")
def enroll_command(
    src: Annotated[Path, typer.Argument(help="One folder per performer (named after them).")],
    db: DbOption = None,
) -> None:
    """Add the performers in SRC (one folder each, holding photos) to the database and publish."""
    from stash_sense.app.enroll import enroll_folder
    from stash_sense.app.errors import AppError
    from stash_sense.app.failures import DatabaseError

    given = settings(db=db)
    db = database(given.db)
    try:
        with progress_bar() as bar:
            task = bar.add_task("enrolling", total=None)
            result = enroll_folder(
                src,
                db,
                on_image=lambda n, total: bar.update(task, completed=n, total=total),
                max_image_bytes=given.max_image_bytes,
            )
    except (AppError, DatabaseError) as err:
        fail(str(err))
    skips = ", ".join(f"{n} {r}" for r, n in sorted(result.skipped.items())) or "none"
    where = f"published {result.published}" if result.published else "nothing new to publish"
    print(
        f"{result.added} faces added from {result.folders} performer folders "
        f"({result.present} images already enrolled; skipped: {skips}); {where}"
    )


@app.command("info")
def info_command(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Counts, models, files, tiers and per-source statistics of a database."""
    from stash_sense.app.info import DatabaseError, read_database_info

    db = database(db)
    try:
        info = read_database_info(db).as_json()
    except DatabaseError as err:
        fail(str(err))
    if as_json:
        print(json.dumps(info, indent=2))
        return
    _print_info(info)


def _print_info(info: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    m = info["manifest"]
    console = Console()
    console.print(f"[bold]{info['path']}[/] {info['generation']} (created {m['created_at']})")
    t = Table("count", "value", title="contents")
    for k, v in m["counts"].items():
        t.add_row(k, str(v))
    console.print(t)
    t = Table("model", "version", "dim", "sha256", "fusion weight", title="models")
    for name, spec in m["models"].items():
        weight = m["fusion"]["embedders"].get(name, "")
        t.add_row(name, spec["version"], str(spec["dim"]), spec["sha256"][:16], str(weight))
    console.print(t)
    _print_tiers(console, m["tiers"])
    t = Table(
        "source",
        "performers",
        "with faces",
        "faces",
        "faces/performer",
        "deleted",
        "merged ids",
        "to retry",
        "skipped",
        title="sources",
    )
    for name, s in m["sources"].items():
        skips = ", ".join(f"{r}: {n}" for r, n in s.get("skipped", {}).items())
        per = s.get("faces_per_performer")
        t.add_row(
            name,
            str(s.get("performers_seen")),
            str(s.get("with_faces")),
            str(s.get("faces")),
            "" if per is None else f"{float(per):.2f}",
            str(s.get("deleted", "")),
            str(s.get("merged", "")),
            str(s.get("pending", "")),
            skips,
        )
    console.print(t)
    t = Table("file", "bytes", title="files")
    for name, size in info["file_sizes"].items():
        t.add_row(name, f"{size:,}")
    console.print(t)


def _print_tiers(console: Any, tiers: dict[str, Any]) -> None:
    from rich.table import Table

    from stash_sense.app.info import tier_limits

    calibration = tiers.get("calibration") or {}
    size = calibration.get("performers")
    where = f", held out at {size:,} performers" if size else ""
    title = f"tiers ({'calibrated' + where if calibration else 'uncalibrated defaults'})"
    t = Table("tier", "max distance", "precision", "queries", "strangers", title=title)
    for row in tier_limits(tiers):
        limit = f"{row.max_distance:.4f}"
        if row.at_margin is not None:
            limit += f" (margin {row.at_margin:g})"
        t.add_row(
            row.tier,
            limit,
            *(
                "-" if value is None else f"{value:.1%}"
                for value in (row.precision, row.share, row.stranger_share)
            ),
        )
    console.print(t)


@app.command("merge")
def merge_command(
    sources: Annotated[list[Path], typer.Argument(help="Databases to combine.")],
    db: DbOption = None,
) -> None:
    """Combine databases built from different sources into --db; performers link by stash id."""
    from stash_sense.app.merge import DatabaseError, MergeStats, merge_databases

    def said(path: Path, stats: MergeStats) -> None:
        print(
            f"{path}: {stats.performers} performers, {stats.faces_added} faces added, "
            f"{stats.faces_present} already present"
        )

    try:
        result = merge_databases(sources, database(db), on_source=said)
    except DatabaseError as err:
        fail(str(err))
    print(f"published {result.published}")


@app.command("calibrate")
def calibrate_command(
    dev: Annotated[
        Path, typer.Option("--dev", help="One folder per identity, images not enrolled.")
    ],
    db: DbOption = None,
    top_k: Annotated[int, typer.Option("--k", min=1, help="Candidates per embedder.")] = 50,
) -> None:
    """Fit the tier rule on a labelled dev set and publish it in a new generation.

    The method of docs/matching.md: every image is matched as itself and as a stranger (its own
    identity left out); the rule is fitted on all of them, and the precision each tier reports is
    measured held out (5 folds by identity).
    """
    from stash_sense.app.calibrate import DatabaseError, calibrate_database
    from stash_sense.app.errors import AppError

    db = database(db)
    try:
        with progress_bar() as bar:
            task = bar.add_task("matching dev images", total=None)
            result = calibrate_database(
                db,
                dev,
                top_k=top_k,
                on_image=lambda n, total: bar.update(task, completed=n, total=total),
            )
    except (AppError, DatabaseError) as err:
        fail(str(err))
    print(f"{result.right} right and {result.wrong} wrong top-1 matches on {dev}, "
          f"{result.performers} performers; held out:")  # fmt: skip
    for tier, c in result.report.items():
        precision = f"{c['precision']:.1%}" if c["precision"] is not None else "-"
        print(f"{tier:>8}: precision {precision} on {c['share']:.1%} of queries, "
              f"{c['stranger_share']:.1%} of strangers")  # fmt: skip
    print(f"published {result.published}")
