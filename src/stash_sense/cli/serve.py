"""`stash-sense serve`: run the sidecar (FastAPI under uvicorn) that the Stash plugin calls.

Each option is a setting of stash_sense.settings (same name, its STASH_SENSE_* variable, its
default, its help): the options given go over the environment, and the sidecar takes the result.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from stash_sense.cli.common import DbOption, fail, settings
from stash_sense.settings import help_text, option


def _opt(name: str) -> typer.models.OptionInfo:
    """The option of setting `name`, its help (meaning, variable, default) from the model."""
    return typer.Option(option(name), help=help_text(name), show_default=False)


def _on_command_line(name: str) -> bool:
    flag = option(name)
    return any(a == flag or a.startswith(flag + "=") for a in sys.argv)


def serve_command(
    db: DbOption = None,
    host: Annotated[str | None, _opt("host")] = None,
    port: Annotated[int | None, _opt("port")] = None,
    stash_url: Annotated[str | None, _opt("stash_url")] = None,
    stash_api_key: Annotated[str | None, _opt("stash_api_key")] = None,
    stash_api_key_file: Annotated[Path | None, _opt("stash_api_key_file")] = None,
    api_key: Annotated[str | None, _opt("api_key")] = None,
    api_key_file: Annotated[Path | None, _opt("api_key_file")] = None,
    allowed_hosts: Annotated[list[str] | None, _opt("allowed_hosts")] = None,
    cors_origins: Annotated[list[str] | None, _opt("cors_origins")] = None,
    header_timeout: Annotated[float | None, _opt("header_timeout")] = None,
    body_timeout: Annotated[float | None, _opt("body_timeout")] = None,
    max_upload_mb: Annotated[int | None, _opt("max_upload_mb")] = None,
    workers: Annotated[int | None, _opt("workers")] = None,
    queue: Annotated[int | None, _opt("queue")] = None,
    frames: Annotated[int | None, _opt("frames")] = None,
    data_dir: Annotated[Path | None, _opt("data_dir")] = None,
    feedback_db: Annotated[Path | None, _opt("feedback_db")] = None,
    feedback_max_mb: Annotated[float | None, _opt("feedback_max_mb")] = None,
    scan_rate: Annotated[float | None, _opt("scan_rate")] = None,
    scan_memory_mb: Annotated[str | None, _opt("scan_memory_mb")] = None,
    scan_preselect_frames: Annotated[int | None, _opt("scan_preselect_frames")] = None,
    scan_schedule: Annotated[str | None, _opt("scan_schedule")] = None,
    scan_new_scenes: Annotated[
        bool | None,
        typer.Option(
            "--scan-new-scenes/--no-scan-new-scenes",
            help=help_text("scan_new_scenes"),
            show_default=False,
        ),
    ] = None,
    release_index: Annotated[str | None, _opt("release_index")] = None,
    release_keys: Annotated[Path | None, _opt("release_keys")] = None,
) -> None:
    """Serve the sidecar: identify faces, scenes and performers for the Stash plugin.

    An option not given is read from its STASH_SENSE_* variable, else its default
    (docs/configuration.md).
    """
    given = {k: v for k, v in locals().items() if v not in (None, [])}
    for secret in ("api_key", "stash_api_key"):
        if secret in given and _on_command_line(secret):
            typer.echo(
                f"warning: {option(secret)} on the command line is visible to every local user "
                f"(ps); use {option(secret)}-file or the environment instead",
                err=True,
            )
    from stash_sense.errors import ConfigError
    from stash_sense.sidecar import SidecarConfig, create_app
    from stash_sense.sidecar.server import serve

    try:
        config = SidecarConfig.of(settings(**given))
    except ConfigError as err:
        fail(str(err), 2)
    if config.host not in ("127.0.0.1", "localhost", "::1") and not config.api_key:
        typer.echo(f"warning: listening on {config.host} without an API key (--api-key)", err=True)
    typer.echo(
        f"stash-sense sidecar on http://{config.host}:{config.port} (database {config.db})",
        err=True,
    )
    serve(create_app(config), config, config.port)
