"""`stash-sense serve`: run the sidecar (FastAPI under uvicorn) that the Stash plugin calls."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stash_sense.cli.db import fail


def serve_command(
    db: Annotated[Path, typer.Option("--db", envvar="STASH_SENSE_DB", help="The database folder.")],
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; keep 127.0.0.1 unless behind a proxy.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 5000,
    stash_url: Annotated[
        str | None,
        typer.Option(
            "--stash-url",
            envvar="STASH_SENSE_STASH_URL",
            help="Your Stash, e.g. http://localhost:9999",
        ),
    ] = None,
    stash_api_key: Annotated[
        str | None,
        typer.Option(
            "--stash-api-key",
            envvar="STASH_SENSE_STASH_API_KEY",
            help="Stash's API key.",
            show_default=False,
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="STASH_SENSE_API_KEY",
            help="Require this X-API-Key header.",
            show_default=False,
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", envvar="STASH_SENSE_DATA_DIR", help="Where the sidecar keeps its files."
        ),
    ] = None,
    feedback_db: Annotated[
        Path | None,
        typer.Option(
            "--feedback-db", envvar="STASH_SENSE_FEEDBACK_DB", help="SQLite file for feedback."
        ),
    ] = None,
    max_upload_mb: Annotated[
        int, typer.Option("--max-upload-mb", envvar="STASH_SENSE_MAX_UPLOAD_MB", min=1)
    ] = 32,
    workers: Annotated[
        int, typer.Option("--workers", envvar="STASH_SENSE_WORKERS", min=1, help="Jobs at once.")
    ] = 1,
    queue: Annotated[
        int,
        typer.Option("--queue", envvar="STASH_SENSE_QUEUE", min=0, help="Jobs waiting, then 503."),
    ] = 8,
    release_index: Annotated[
        str | None,
        typer.Option(
            "--release-index",
            envvar="STASH_SENSE_RELEASE_INDEX",
            help="Release index URL for POST /database/update and /health's update check.",
        ),
    ] = None,
    release_keys: Annotated[
        Path | None,
        typer.Option(
            "--release-keys",
            envvar="STASH_SENSE_RELEASE_KEYS",
            help="A keys.json of publisher keys to trust besides the shipped ones.",
        ),
    ] = None,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--cors-origin", help="Another browser origin allowed (the Stash URL's always is)."
        ),
    ] = None,
) -> None:
    """Serve the sidecar: identify faces, scenes and performers for the Stash plugin."""
    import uvicorn

    from stash_sense.sidecar import ConfigError, SidecarConfig, create_app

    try:
        config = SidecarConfig(
            db=db,
            stash_url=stash_url or None,
            stash_api_key=stash_api_key or None,
            api_key=api_key or None,
            data_dir=data_dir or Path.home() / ".stash-sense",
            feedback_db=feedback_db,
            max_upload_bytes=max_upload_mb * 1024 * 1024,
            workers=workers,
            queue=queue,
            cors_origins=list(cors_origin or []),
            release_index=release_index or None,
            release_keys=release_keys,
        )
    except ConfigError as err:
        fail(str(err), 2)
    if host not in ("127.0.0.1", "localhost", "::1") and not config.api_key:
        typer.echo(f"warning: listening on {host} without an API key (--api-key)", err=True)
    typer.echo(f"stash-sense sidecar on http://{host}:{port} (database {db})", err=True)
    uvicorn.run(create_app(config), host=host, port=port, log_level="info", access_log=True)
