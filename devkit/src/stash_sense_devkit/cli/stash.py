"""`stash-sense-dev stash`: serve the Stash stand-in (real Stash schema) over a folder of scenes."""

from __future__ import annotations

from pathlib import Path

import typer


def stash_command(
    scenes: Path = typer.Option(
        ..., "--scenes", help="folder of scene folders (scene-<id>/ with a video, sprite, VTT)"
    ),
    port: int = typer.Option(9999, "--port"),
    host: str = typer.Option("127.0.0.1", "--host"),
    schema: Path | None = typer.Option(
        None,
        "--schema",
        help="folder of the Stash GraphQL schema (default: the bundled copy)",
    ),
    api_key: str | None = typer.Option(
        None, "--api-key", envvar="STASH_SENSE_DEV_API_KEY", help="require this ApiKey header"
    ),
) -> None:
    """Serve a Stash stand-in: GraphQL on /graphql, scene files, GET /__mutations."""
    import uvicorn

    from stash_sense_devkit.standins.stash import stash_app

    if not scenes.is_dir():
        typer.echo(f"error: scenes folder not found: {scenes}", err=True)
        raise typer.Exit(2)
    try:
        app = stash_app(scenes, schema_dir=schema, api_key=api_key)
    except FileNotFoundError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"Stash stand-in on http://{host}:{port}/graphql", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
