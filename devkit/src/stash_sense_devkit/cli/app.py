"""`stash-sense-dev`: local stand-ins (stash-box, ThePornDB, Stash) for tests and benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from stash_sense_devkit.cli.stash import stash_command

app = typer.Typer(
    name="stash-sense-dev",
    help="Local stand-in servers for Stash Sense's tests and benchmarks (not part of the wheel).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("stash")(stash_command)


@app.command("stashbox")
def stashbox_command(
    faces: Path | None = typer.Option(
        None, "--faces", help="folder of per-performer image folders (<Name>/<k>.jpg)"
    ),
    port: int = typer.Option(9998, "--port"),
    host: str = typer.Option("127.0.0.1", "--host"),
    latency_ms: float = typer.Option(0.0, "--latency-ms", help="added to every request"),
    fail_rate: float = typer.Option(0.0, "--fail-rate", help="fraction answered 500"),
    rate_limit: float | None = typer.Option(
        None, "--rate-limit", help="requests a second before 429 + Retry-After"
    ),
    api_key: str | None = typer.Option(
        None, "--api-key", envvar="STASH_SENSE_DEV_API_KEY", help="require this ApiKey header"
    ),
    max_per_page: int | None = typer.Option(
        None, "--max-per-page", help="cap per_page (the real stash-box has no cap)"
    ),
    equal_created: int = typer.Option(
        1, "--equal-created", help="this many performers in a row share one creation time"
    ),
    performers: int | None = typer.Option(
        None, "--performers", help="serve this many performers, repeating the folders"
    ),
    images_per_performer: int | None = typer.Option(None, "--images-per-performer"),
    bad_input: bool = typer.Option(False, "--bad-input", help="add bad-input performers"),
    hostile_metadata: bool = typer.Option(
        False, "--hostile-metadata", help="add performers with hostile names, aliases, URLs"
    ),
    flavour: str = typer.Option(
        "stashdb",
        "--flavour",
        help="stashdb, fansdb, pmvstash (the same server) or javstash (names in Japanese)",
    ),
) -> None:
    """Serve a stash-box stand-in (the real stash-box schema) over a folder of faces."""
    from stash_sense_devkit.standins.faults import FaultOptions
    from stash_sense_devkit.standins.stashbox import StashBoxOptions, stashbox_app

    if faces is not None and not faces.is_dir():
        typer.echo(f"error: faces folder not found: {faces}", err=True)
        raise typer.Exit(2)
    if flavour not in ("stashdb", "fansdb", "pmvstash", "javstash"):
        typer.echo(f"error: unknown flavour {flavour!r}", err=True)
        raise typer.Exit(2)
    options = StashBoxOptions(
        faces_dir=faces,
        max_per_page=max_per_page,
        replicate_to=performers,
        images_per_performer=images_per_performer,
        bad_input=bad_input,
        equal_created=equal_created,
        hostile_metadata=hostile_metadata,
        flavour=flavour,
    )
    faults = FaultOptions(
        latency_ms=latency_ms, fail_rate=fail_rate, rate_limit=rate_limit, api_key=api_key
    )
    typer.echo(f"stash-box stand-in on http://{host}:{port}/graphql", err=True)
    _serve(stashbox_app(options, faults), host, port)


@app.command("tpdb")
def tpdb_command(
    faces: Path | None = typer.Option(None, "--faces", help="folder of per-performer folders"),
    port: int = typer.Option(9997, "--port"),
    host: str = typer.Option("127.0.0.1", "--host"),
    latency_ms: float = typer.Option(0.0, "--latency-ms"),
    fail_rate: float = typer.Option(0.0, "--fail-rate"),
    rate_limit: float | None = typer.Option(None, "--rate-limit"),
    api_key: str | None = typer.Option(
        None, "--api-key", envvar="STASH_SENSE_DEV_API_KEY", help="require this Bearer token"
    ),
    performers: int | None = typer.Option(None, "--performers"),
    images_per_performer: int | None = typer.Option(None, "--images-per-performer"),
) -> None:
    """Serve a ThePornDB stand-in (REST, Bearer token) over a folder of faces."""
    from stash_sense_devkit.standins.faults import FaultOptions
    from stash_sense_devkit.standins.tpdb import TpdbOptions, tpdb_app

    if faces is not None and not faces.is_dir():
        typer.echo(f"error: faces folder not found: {faces}", err=True)
        raise typer.Exit(2)
    options = TpdbOptions(
        faces_dir=faces, replicate_to=performers, images_per_performer=images_per_performer
    )
    faults = FaultOptions(
        latency_ms=latency_ms, fail_rate=fail_rate, rate_limit=rate_limit, api_key=api_key
    )
    typer.echo(f"ThePornDB stand-in on http://{host}:{port}", err=True)
    _serve(tpdb_app(options, faults), host, port)


def _serve(server: Any, host: str, port: int) -> None:
    """Run a stand-in's ASGI app in the foreground until interrupted."""
    import uvicorn

    uvicorn.run(server, host=host, port=port, log_level="warning", timeout_graceful_shutdown=1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
