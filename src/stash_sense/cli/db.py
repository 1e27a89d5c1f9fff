"""`stash-sense db` commands: enroll local photos, show, merge and calibrate face databases.

Heavy modules (OpenCV, Voyager, the face engine) are imported inside the commands.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from rich.progress import Progress

    from stash_sense.app.recognizer import Recognizer
    from stash_sense.database import EmbedderInfo, FaceDatabase
    from stash_sense.faces import FaceEngine
    from stash_sense.settings import Settings

app = typer.Typer(no_args_is_help=True)


DbOption = Annotated[Path, typer.Option("--db", help="The database folder.")]


def fail(message: str, code: int = 1) -> NoReturn:
    """One clear line on stderr and an exit code; never a traceback."""
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def settings(**given: Any) -> Settings:
    """The settings (stash_sense.settings): the options given over STASH_SENSE_* variables;
    a malformed value ends the command with one line and exit status 2."""
    from stash_sense.errors import ConfigError
    from stash_sense.settings import load_settings

    try:
        return load_settings(**given)
    except ConfigError as err:
        fail(str(err), 2)


def engine_and_infos(db: Path | None = None) -> tuple[FaceEngine, list[EmbedderInfo]]:
    """The face engine (for `db`: the one its embedders need, FaceEngine.for_database) and its
    models' descriptions."""
    from stash_sense.app.recognizer import engine_for
    from stash_sense.database import EmbedderInfo

    engine = engine_for(db)
    return engine, [EmbedderInfo.from_embedder(e) for e in engine.embedders]


def open_for_matching(db: Path, infos: list[EmbedderInfo]) -> FaceDatabase:
    from stash_sense.database import DatabaseError, FaceDatabase

    try:
        return FaceDatabase.open(db, infos)
    except DatabaseError as err:
        fail(str(err))


def recognizer(db: Path) -> Recognizer:
    """The database at `db` opened for matching with the engine it needs (app.recognizer); its
    indices load on first use. One line and exit 1 when it cannot be opened."""
    from stash_sense.app.failures import DatabaseError
    from stash_sense.app.recognizer import open_recognizer

    try:
        return open_recognizer(db, load_indices=False)
    except DatabaseError as err:
        fail(str(err))


def progress_bar() -> Progress:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


@app.command("enroll")
def enroll_command(
    src: Annotated[Path, typer.Argument(help="One folder per performer (named after them).")],
    db: DbOption,
) -> None:
    """Add the performers in SRC (one folder each, holding photos) to the database and publish."""
    from stash_sense.app.enroll import enroll_folder
    from stash_sense.app.errors import AppError
    from stash_sense.database import DatabaseError

    max_bytes = settings().max_image_bytes
    try:
        with progress_bar() as bar:
            task = bar.add_task("enrolling", total=None)
            result = enroll_folder(
                src,
                db,
                on_image=lambda n, total: bar.update(task, completed=n, total=total),
                max_image_bytes=max_bytes,
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
    db: DbOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Counts, models, files, tiers and per-source statistics of a database."""
    from stash_sense.app.info import DatabaseError, read_database_info

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

    from stash_sense.matching.tiers import GRADED, Tiers

    rule = Tiers.from_dict(tiers)
    calibration = tiers.get("calibration") or {}
    size = calibration.get("performers")
    where = f", held out at {size:,} performers" if size else ""
    title = f"tiers ({'calibrated' + where if calibration else 'uncalibrated defaults'})"
    t = Table("tier", "max distance", "precision", "queries", "strangers", title=title)
    for tier in GRADED:
        measured = calibration.get(tier, {})
        if rule.fused is not None:
            limit = f"{rule.fused.max_distance(tier, 0.1, int(size or 2)):.4f} (margin 0.1)"
        else:
            limit = f"{float(tiers[tier]):.4f}"
        t.add_row(
            tier,
            limit,
            *(
                f"{measured[k]:.1%}" if measured.get(k) is not None else "-"
                for k in ("precision", "share", "stranger_share")
            ),
        )
    console.print(t)


@app.command("merge")
def merge_command(
    sources: Annotated[list[Path], typer.Argument(help="Databases to combine.")],
    db: Annotated[Path, typer.Option("--db", help="The database folder to merge into.")],
) -> None:
    """Combine databases built from different sources; performers link by stash id only."""
    from stash_sense.database import DatabaseError, DatabaseWriter, FaceDatabase
    from stash_sense.database.merge import merge_database, same_models

    opened: list[FaceDatabase] = []
    try:
        for path in sources:
            opened.append(FaceDatabase.open(path))
        models = same_models(opened)
        source_stats: dict[str, Any] = {}
        with DatabaseWriter.open(db, models) as writer:
            for src in opened:
                stats = merge_database(writer, src)
                for name, s in src.manifest.sources.items():
                    source_stats.setdefault(name, {}).update(
                        {k: v for k, v in s.items() if k == "performers_seen"}
                    )
                print(
                    f"{src.path}: {stats.performers} performers, {stats.faces_added} faces added, "
                    f"{stats.faces_present} already present"
                )
            published = writer.publish(source_stats=source_stats)
    except DatabaseError as err:
        fail(str(err))
    finally:
        for fdb in opened:
            fdb.close()
    print(f"published {published}")


@app.command("calibrate")
def calibrate_command(
    db: DbOption,
    dev: Annotated[
        Path, typer.Option("--dev", help="One folder per identity, images not enrolled.")
    ],
    top_k: Annotated[int, typer.Option("--k", help="Candidates per embedder.")] = 50,
) -> None:
    """Fit the tier rule on a labelled dev set and publish it in a new generation.

    The method of docs/matching.md: every image is matched as itself and as a stranger (its own
    identity left out); the rule is fitted on all of them, and the precision each tier reports is
    measured held out (5 folds by identity).
    """
    from stash_sense.database import DatabaseError, DatabaseWriter
    from stash_sense.faces import load_image
    from stash_sense.matching import Matcher
    from stash_sense.matching.calibrate import (
        Outcomes,
        band_report,
        cross_validate,
        fit_rule,
        measured,
    )
    from stash_sense.matching.devset import evaluate
    from stash_sense.matching.tiers import GRADED, Tiers

    if not dev.is_dir():
        fail(f"{dev} is not a folder")
    engine, infos = engine_and_infos(db)
    fdb = open_for_matching(db, infos)
    try:
        with fdb, progress_bar() as bar:
            matcher = Matcher(fdb, k=top_k)
            task = bar.add_task("matching dev images", total=None)
            outcomes = evaluate(
                matcher,
                lambda p: engine.analyze(load_image(p)),
                dev,
                lambda n, total: bar.update(task, completed=n, total=total),
            )
            models = list(fdb.manifest.models.values())
            performers = matcher.performers
            current = matcher.tiers
        rows = [(o.identity, o.distance, o.margin, o.correct, False) for o in outcomes
                if o.distance is not None] + [
               (o.identity, o.stranger_distance, o.stranger_margin, False, True)
               for o in outcomes if o.stranger_distance is not None]  # fmt: skip
        if not any(r[3] for r in rows):
            fail(f"no image of {dev} matched its own identity: nothing to calibrate on")
        identities = [r[0] for r in rows]
        data = Outcomes.of(
            [r[1] for r in rows],
            [r[2] for r in rows],
            performers,
            [r[3] for r in rows],
            [r[4] for r in rows],
        )
        slopes = {t: c.per_decade for t, c in current.fused.cuts.items()} if current.fused else {}
        try:
            folds = min(5, len(set(identities)))
            report = band_report(cross_validate(data, identities, folds, per_decade=slopes), data)
            rule = fit_rule(data, per_decade=slopes)
        except ValueError as err:
            fail(f"cannot calibrate on {dev}: {err}")
        method = f"stash-sense db calibrate --dev {dev.name} ({folds}-fold by identity)"
        tiers = Tiers(
            fused=rule,
            first=current.first,
            first_embedder=current.first_embedder,
            calibration=measured(report, performers, method),
        )
        with DatabaseWriter.open(db, models) as writer:
            published = writer.publish(tiers=tiers.as_dict())
    except DatabaseError as err:
        fail(str(err))
    right = sum(o.correct for o in outcomes)
    print(f"{right} right and {len(outcomes) - right} wrong top-1 matches on {dev}, "
          f"{performers} performers; held out:")  # fmt: skip
    for tier in GRADED:
        c = report[tier]
        precision = f"{c['precision']:.1%}" if c["precision"] is not None else "-"
        print(f"{tier:>8}: precision {precision} on {c['share']:.1%} of queries, "
              f"{c['stranger_share']:.1%} of strangers")  # fmt: skip
    print(f"published {published}")
