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
    stash_box: list[str] = typer.Option(
        [],
        "--stash-box",
        help="a configured stash-box, NAME=ENDPOINT (repeatable): configuration.general.stashBoxes",
    ),
) -> None:
    """Serve a Stash stand-in: GraphQL on /graphql, scene files, GET /__mutations."""
    import uvicorn

    from stash_sense_devkit.standins.stash import stash_app

    if not scenes.is_dir():
        typer.echo(f"error: scenes folder not found: {scenes}", err=True)
        raise typer.Exit(2)
    try:
        boxes = [_stash_box(given) for given in stash_box]
        app = stash_app(scenes, schema_dir=schema, api_key=api_key, stash_boxes=boxes)
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"Stash stand-in on http://{host}:{port}/graphql", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _stash_box(given: str) -> dict[str, object]:
    """`NAME=ENDPOINT` as Stash's StashBox (its api_key empty: the stand-in calls no stash-box)."""
    name, _, endpoint = given.partition("=")
    if not name.strip() or not endpoint.startswith(("http://", "https://")):
        raise ValueError(f"--stash-box {given!r}: give NAME=ENDPOINT, the endpoint an http(s) URL")
    return {
        "name": name.strip(),
        "endpoint": endpoint,
        "api_key": "",
        "max_requests_per_minute": 240,
    }
