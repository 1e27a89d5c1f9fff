"""`stash-sense serve`: run the sidecar (FastAPI under uvicorn) that the Stash plugin calls."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from stash_sense.cli.db import fail


def _key(value: str | None, file: Path | None, option: str) -> str | None:
    """A key from its file (first line, stripped) or its value; a key file wins."""
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as err:
            fail(f"cannot read {option}-file {file}: {err}", 2)
        if not text:
            fail(f"{option}-file {file} is empty", 2)
        return text.splitlines()[0].strip()
    if value and any(a == option or a.startswith(option + "=") for a in sys.argv):
        typer.echo(
            f"warning: {option} on the command line is visible to every local user (ps); "
            f"use {option}-file or the environment instead",
            err=True,
        )
    return value or None


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
            help="Stash's API key (visible in `ps`: prefer --stash-api-key-file or the env).",
            show_default=False,
        ),
    ] = None,
    stash_api_key_file: Annotated[
        Path | None,
        typer.Option(
            "--stash-api-key-file",
            envvar="STASH_SENSE_STASH_API_KEY_FILE",
            help="A file holding Stash's API key.",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="STASH_SENSE_API_KEY",
            help="Require this X-API-Key header (shows in `ps`: prefer --api-key-file or the env).",
            show_default=False,
        ),
    ] = None,
    api_key_file: Annotated[
        Path | None,
        typer.Option(
            "--api-key-file",
            envvar="STASH_SENSE_API_KEY_FILE",
            help="A file holding the key that X-API-Key must carry.",
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
    feedback_max_mb: Annotated[
        float,
        typer.Option(
            "--feedback-max-mb",
            envvar="STASH_SENSE_FEEDBACK_MAX_MB",
            min=0.01,
            help="Largest size of the feedback file; when full, feedback is answered 507.",
        ),
    ] = 64.0,
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
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--cors-origin", help="Another browser origin allowed (the Stash URL's always is)."
        ),
    ] = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            envvar="STASH_SENSE_ALLOWED_HOSTS",
            help="Another name clients reach the sidecar by (Host header); '*' allows any.",
        ),
    ] = None,
    header_timeout: Annotated[
        float,
        typer.Option(
            "--header-timeout",
            envvar="STASH_SENSE_HEADER_TIMEOUT",
            min=0.1,
            help="Seconds a client has to send its request headers.",
        ),
    ] = 10.0,
    body_timeout: Annotated[
        float,
        typer.Option(
            "--body-timeout",
            envvar="STASH_SENSE_BODY_TIMEOUT",
            min=0.1,
            help="Seconds a client may pause while sending a body (4x for the whole body).",
        ),
    ] = 30.0,
) -> None:
    """Serve the sidecar: identify faces, scenes and performers for the Stash plugin."""
    from stash_sense.sidecar import ConfigError, SidecarConfig, create_app
    from stash_sense.sidecar.server import serve

    try:
        config = SidecarConfig(
            db=db,
            stash_url=stash_url or None,
            stash_api_key=_key(stash_api_key, stash_api_key_file, "--stash-api-key"),
            api_key=_key(api_key, api_key_file, "--api-key"),
            data_dir=data_dir or Path.home() / ".stash-sense",
            feedback_db=feedback_db,
            max_upload_bytes=max_upload_mb * 1024 * 1024,
            feedback_max_bytes=int(feedback_max_mb * 1024 * 1024),
            workers=workers,
            queue=queue,
            cors_origins=list(cors_origin or []),
            bind_host=host,
            allowed_hosts=[h for v in allowed_host or [] for h in v.split(",") if h.strip()],
            header_timeout_s=header_timeout,
            body_timeout_s=body_timeout,
        )
    except ConfigError as err:
        fail(str(err), 2)
    if host not in ("127.0.0.1", "localhost", "::1") and not config.api_key:
        typer.echo(f"warning: listening on {host} without an API key (--api-key)", err=True)
    typer.echo(f"stash-sense sidecar on http://{host}:{port} (database {db})", err=True)
    serve(create_app(config), config, port)
