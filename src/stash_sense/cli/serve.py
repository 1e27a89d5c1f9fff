"""`stash-sense serve`: run the sidecar (FastAPI under uvicorn) that the Stash plugin calls.

Every option falls back on its STASH_SENSE_* variable (stash_sense.settings), then on the
sidecar's own defaults (stash_sense.sidecar.config).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from stash_sense.cli.db import fail, settings


def serve_command(
    db: Annotated[
        Path | None, typer.Option("--db", help="The database folder (or STASH_SENSE_DB).")
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            help="Address to bind (default: loopback only); keep it unless behind a proxy.",
        ),
    ] = None,
    port: Annotated[int | None, typer.Option("--port", min=1, max=65535)] = None,
    stash_url: Annotated[
        str | None,
        typer.Option(
            "--stash-url",
            help="Your Stash, e.g. http://localhost:9999 (or STASH_SENSE_STASH_URL).",
        ),
    ] = None,
    stash_api_key: Annotated[
        str | None,
        typer.Option(
            "--stash-api-key",
            help="Stash's API key (better: STASH_SENSE_STASH_API_KEY).",
            show_default=False,
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            help="Require this X-API-Key header (better: STASH_SENSE_API_KEY).",
            show_default=False,
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Where the sidecar keeps its files (~/.stash-sense)."),
    ] = None,
    feedback_db: Annotated[
        Path | None,
        typer.Option("--feedback-db", help="SQLite file for feedback (in --data-dir)."),
    ] = None,
    max_upload_mb: Annotated[
        int | None, typer.Option("--max-upload-mb", min=1, help="Largest request body.")
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Jobs at once.")] = None,
    queue: Annotated[
        int | None,
        typer.Option("--queue", min=0, help="Jobs waiting, then 503."),
    ] = None,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--cors-origin", help="Another browser origin allowed (the Stash URL's always is)."
        ),
    ] = None,
) -> None:
    """Serve the sidecar: identify faces, scenes and performers for the Stash plugin.

    An option not given is read from STASH_SENSE_<OPTION> (e.g. STASH_SENSE_WORKERS), else the
    sidecar's default (docs/sidecar.md).
    """
    import uvicorn

    from stash_sense.errors import ConfigError
    from stash_sense.sidecar import SidecarConfig, create_app
    from stash_sense.sidecar.config import DEFAULT_HOST, DEFAULT_PORT

    s = settings(
        db=db,
        host=host,
        port=port,
        stash_url=stash_url,
        stash_api_key=stash_api_key,
        api_key=api_key,
        data_dir=data_dir,
        feedback_db=feedback_db,
        max_upload_mb=max_upload_mb,
        workers=workers,
        queue=queue,
    )
    if s.db is None:
        fail("no database: give --db or set STASH_SENSE_DB", 2)
    given: dict[str, Any] = {
        "data_dir": s.data_dir,
        "feedback_db": s.feedback_db,
        "workers": s.workers,
        "queue": s.queue,
        "max_upload_bytes": s.max_upload_mb * 1024 * 1024 if s.max_upload_mb else None,
    }
    try:
        config = SidecarConfig(
            db=s.db,
            stash_url=s.stash_url or None,
            stash_api_key=s.stash_api_key.get_secret_value() if s.stash_api_key else None,
            api_key=s.api_key.get_secret_value() if s.api_key else None,
            cors_origins=list(cors_origin or []),
            **{k: v for k, v in given.items() if v is not None},
        )
    except ConfigError as err:
        fail(str(err), 2)
    bind, listen = s.host or DEFAULT_HOST, s.port or DEFAULT_PORT
    if bind not in ("127.0.0.1", "localhost", "::1") and not config.api_key:
        typer.echo(f"warning: listening on {bind} without an API key (--api-key)", err=True)
    typer.echo(f"stash-sense sidecar on http://{bind}:{listen} (database {s.db})", err=True)
    uvicorn.run(create_app(config), host=bind, port=listen, log_level="info", access_log=True)
