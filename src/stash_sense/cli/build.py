"""`stash-sense build`: build, resume or update a face database from one endpoint."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console


def build_command(
    db: Path | None = typer.Option(
        None, "--db", help="database folder, created if missing [env STASH_SENSE_DB]"
    ),
    endpoint: str = typer.Option(
        ..., "--endpoint", help="endpoint name: stashdb, fansdb, pmvstash, javstash, tpdb or yours"
    ),
    config: Path | None = typer.Option(
        None, "--config", help="endpoints TOML (default $STASH_SENSE_CONFIG or ~/.config/...)"
    ),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="build at most the source's first N performers"
    ),
    keep_images: bool = typer.Option(False, "--keep-images", help="keep downloaded images"),
    full: bool = typer.Option(
        False, "--full", help="start a new full pass instead of resuming or updating"
    ),
    embed_threads: int | None = typer.Option(
        None,
        "--embed-threads",
        min=1,
        help="threads detecting and embedding (default: cores, <= 4)",
    ),
    no_graph: bool = typer.Option(
        False, "--no-graph", help="do not relink the identity graph after the build"
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Build the face database from a stash-box or ThePornDB; resumes where it stopped, and
    after a finished pass fetches only what changed. Then relinks the identity graph over what
    it wrote (`db graph build`; only new and changed records after the first time).

    Exit status: 0 done (or stopped at --limit); 2 an error, a missing or wrong API key among
    them; 3 not complete: images or pages failed for now (server errors, timeouts), run again."""
    from stash_sense.app.build import (
        BuildError,
        BuildIncomplete,
        ConfigError,
        DatabaseError,
        build_database,
    )
    from stash_sense.cli.build_progress import CONSOLE, ProgressBars
    from stash_sense.cli.common import database, settings

    _log_to(CONSOLE, logging.DEBUG if verbose else logging.INFO)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        given = settings(config=config)
        db = database(db)
        config_file, must_exist = given.endpoints_file()
        name, result = build_database(
            db,
            endpoint,
            endpoints_file=config_file,
            endpoints_file_must_exist=must_exist,
            environ=given.endpoint_environ(),
            limit=limit,
            keep_images=keep_images,
            full=full,
            embed_threads=embed_threads,
            on_progress=ProgressBars(CONSOLE),
        )
    except BuildIncomplete as exc:
        typer.echo(f"not complete: {exc}", err=True)
        raise typer.Exit(3) from None
    except (ConfigError, BuildError, DatabaseError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo(
            "interrupted: progress so far is saved; run the same command to resume", err=True
        )
        raise typer.Exit(130) from None
    s = result.stats
    if result.complete:
        state = "complete"
    elif result.pending:
        state = f"not complete: {result.pending} images failed for now, run again later"
    else:
        state = "not complete: run again to go on"
    typer.echo(
        f"{name}: {result.mode} pass, {result.written} performers written this run "
        f"({state}); {s['performers_seen']} performers, {s['with_faces']} with faces, "
        f"{s['faces']} faces, {s['deleted']} deleted, {s['merged']} merged ids, "
        f"skipped {s['skipped']}; {result.requests} requests in {result.elapsed_s:.1f}s"
    )
    typer.echo(f"published {result.generation}")
    if result.generation is not None and not no_graph:
        _link_graph(db)
    if result.pending:
        raise typer.Exit(3)


def _link_graph(db: Path) -> None:
    """Relink the identity graph over what the build wrote (only the new and changed records
    after its first build); a failure is reported and leaves the build as it is."""
    from stash_sense.app.errors import AppError
    from stash_sense.app.graph import build_identity_graph
    from stash_sense.cli.db_graph import graph_summary

    try:
        result = build_identity_graph(db)
    except AppError as err:
        typer.echo(f"graph: not updated: {err} (run `stash-sense db graph build`)", err=True)
        return
    typer.echo(f"graph: {graph_summary(result)}")


def _log_to(console: Console, level: int) -> None:
    """Log lines through the console the progress bar draws on (plain lines off a terminal)."""
    from rich.logging import RichHandler

    handler: logging.Handler
    if console.is_terminal:
        handler = RichHandler(console=console, show_path=False, markup=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(console.file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
