"""`stash-sense build`: build, resume or update a face database from one endpoint."""

from __future__ import annotations

import logging
from pathlib import Path

import typer


def build_command(
    db: Path = typer.Option(..., "--db", help="database folder (created if missing)"),
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
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Build the face database from a stash-box or ThePornDB; resumes where it stopped, and
    after a finished pass fetches only what changed."""
    from stash_sense.builder import BuildError, BuildOptions, build
    from stash_sense.cli.db import settings
    from stash_sense.database import DatabaseError
    from stash_sense.errors import ConfigError
    from stash_sense.sources.endpoints import get_endpoint

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        given = settings(config=config)
        config_file, must_exist = given.endpoints_file()
        ep = get_endpoint(endpoint, config_file, given.endpoint_environ(), must_exist=must_exist)
        result = build(
            BuildOptions(
                db=db,
                endpoint=ep,
                limit=limit,
                keep_images=keep_images,
                full=full,
                embed_threads=embed_threads,
            )
        )
    except (ConfigError, BuildError, DatabaseError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo(
            "interrupted: progress so far is saved; run the same command to resume", err=True
        )
        raise typer.Exit(130) from None
    s = result.stats
    typer.echo(
        f"{ep.name}: {result.mode} pass, {result.written} performers written this run "
        f"({'complete' if result.complete else 'not complete: run again to go on'}); "
        f"{s['performers_seen']} performers, {s['with_faces']} with faces, {s['faces']} faces, "
        f"skipped {s['skipped']}; {result.requests} requests in {result.elapsed_s:.1f}s"
    )
    typer.echo(f"published {result.generation}")
