"""`stash-sense serve`: run the sidecar (FastAPI under uvicorn) that the Stash plugin calls.

Every option falls back on its STASH_SENSE_* variable (stash_sense.settings), then on the
sidecar's own defaults (stash_sense.sidecar.config).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from stash_sense.cli.db import fail, settings


def _key(value: str | None, file: Path | None, option: str) -> str | None:
    """A key from its file (first line, stripped) or its value; a key file wins. A key given on
    the command line is visible to every local user (`ps`), so that gets a warning."""
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
            help="Stash's API key (shows in `ps`; better: --stash-api-key-file or the env).",
            show_default=False,
        ),
    ] = None,
    stash_api_key_file: Annotated[
        Path | None,
        typer.Option("--stash-api-key-file", help="A file holding Stash's API key."),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            help="Require this X-API-Key (shows in `ps`; better: --api-key-file or the env).",
            show_default=False,
        ),
    ] = None,
    api_key_file: Annotated[
        Path | None,
        typer.Option("--api-key-file", help="A file holding the key X-API-Key must carry."),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Where the sidecar keeps its files (~/.stash-sense)."),
    ] = None,
    feedback_db: Annotated[
        Path | None,
        typer.Option("--feedback-db", help="SQLite file for feedback (in --data-dir)."),
    ] = None,
    feedback_max_mb: Annotated[
        float | None,
        typer.Option(
            "--feedback-max-mb", min=0.01, help="Largest feedback file; when full: 507 (64)."
        ),
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
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="Another name clients reach the sidecar by (Host header); '*' allows any.",
        ),
    ] = None,
    header_timeout: Annotated[
        float | None,
        typer.Option("--header-timeout", min=0.1, help="Seconds to send request headers (10)."),
    ] = None,
    body_timeout: Annotated[
        float | None,
        typer.Option(
            "--body-timeout", min=0.1, help="Seconds a body may pause (30; 4x for all of it)."
        ),
    ] = None,
) -> None:
    """Serve the sidecar: identify faces, scenes and performers for the Stash plugin.

    An option not given is read from STASH_SENSE_<OPTION> (e.g. STASH_SENSE_WORKERS), else the
    sidecar's default (docs/sidecar.md).
    """
    from stash_sense.errors import ConfigError
    from stash_sense.sidecar import SidecarConfig, create_app
    from stash_sense.sidecar.config import DEFAULT_HOST, DEFAULT_PORT
    from stash_sense.sidecar.server import serve

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
        api_key_file=api_key_file,
        stash_api_key_file=stash_api_key_file,
        feedback_max_mb=feedback_max_mb,
        allowed_hosts=",".join(allowed_host) if allowed_host else None,
        header_timeout=header_timeout,
        body_timeout=body_timeout,
    )
    if s.db is None:
        fail("no database: give --db or set STASH_SENSE_DB", 2)
    given: dict[str, Any] = {
        "data_dir": s.data_dir,
        "feedback_db": s.feedback_db,
        "workers": s.workers,
        "queue": s.queue,
        "max_upload_bytes": s.max_upload_mb * 1024 * 1024 if s.max_upload_mb else None,
        "feedback_max_bytes": int(s.feedback_max_mb * 1024 * 1024) if s.feedback_max_mb else None,
        "header_timeout_s": s.header_timeout,
        "body_timeout_s": s.body_timeout,
    }
    stash_key = s.stash_api_key.get_secret_value() if s.stash_api_key else None
    sidecar_key = s.api_key.get_secret_value() if s.api_key else None
    bind, listen = s.host or DEFAULT_HOST, s.port or DEFAULT_PORT
    try:
        config = SidecarConfig(
            db=s.db,
            stash_url=s.stash_url or None,
            stash_api_key=_key(stash_key, s.stash_api_key_file, "--stash-api-key"),
            api_key=_key(sidecar_key, s.api_key_file, "--api-key"),
            cors_origins=list(cors_origin or []),
            bind_host=bind,
            allowed_hosts=[h.strip() for h in (s.allowed_hosts or "").split(",") if h.strip()],
            **{k: v for k, v in given.items() if v is not None},
        )
    except ConfigError as err:
        fail(str(err), 2)
    if bind not in ("127.0.0.1", "localhost", "::1") and not config.api_key:
        typer.echo(f"warning: listening on {bind} without an API key (--api-key)", err=True)
    typer.echo(f"stash-sense sidecar on http://{bind}:{listen} (database {s.db})", err=True)
    serve(create_app(config), config, listen)
