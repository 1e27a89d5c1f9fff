"""`stash-sense db keygen | package | update | rollback`: database releases (docs/releases.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from stash_sense.cli.common import DbOption, database, fail, settings
from stash_sense.settings import help_text

IndexOption = Annotated[
    str | None,
    typer.Option("--index", "--release-index", help=help_text("release_index"), show_default=False),
]
KeysOption = Annotated[
    Path | None,
    typer.Option("--keys", "--release-keys", help=help_text("release_keys"), show_default=False),
]

_SIZE_RE = re.compile(r"^(\d+)\s*([kmg]i?b?)?$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """`1900M`, `64k`, `2000000`: a size in bytes (K/M/G are powers of 1024)."""
    m = _SIZE_RE.match(text.strip())
    if not m:
        raise typer.BadParameter(f"not a size: {text!r} (e.g. 1900M)")
    unit = (m.group(2) or "")[:1].lower()
    return int(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit]


def keygen_command(
    out: Annotated[Path, typer.Option("--out", help="Where to write the private key (0600).")],
) -> None:
    """Make a release signing key pair; prints the public entry for keys.json."""
    from stash_sense.app.publish import ReleaseError, make_key

    try:
        entry = make_key(out)
    except ReleaseError as err:
        fail(str(err))
    typer.echo(json.dumps(entry, indent=2))
    typer.echo(f"private key written to {out}: keep it secret, never commit it", err=True)


def package_command(
    out: Annotated[Path, typer.Option("--out", help="The release folder (index.json lives here).")],
    key: Annotated[
        list[Path],
        typer.Option("--key", help="A private key from `db keygen`; repeat to sign with several."),
    ],
    version: Annotated[
        str | None, typer.Option("--version", help="Release version (default: today, YYYY.MM.DD).")
    ] = None,
    part_size: Annotated[
        str, typer.Option("--part-size", help="Largest archive part (release hosts cap files).")
    ] = "1900M",
    min_program_version: Annotated[
        str | None,
        typer.Option("--min-program-version", help="Oldest stash-sense that can read it."),
    ] = None,
    delta: Annotated[
        bool, typer.Option("--delta/--no-delta", help="Also make a delta from the last release.")
    ] = True,
    db: DbOption = None,
) -> None:
    """Package a database as a signed release (full, plus a delta from the previous one)."""
    from stash_sense.app.publish import DatabaseError, ReleaseError, package_release

    db = database(db)
    try:
        entry = package_release(
            db, out, key, version=version, part_size=parse_size(part_size),
            min_program_version=min_program_version, delta=delta,
        )  # fmt: skip
    except (ReleaseError, DatabaseError) as err:
        fail(str(err))
    typer.echo(json.dumps(entry, indent=2))


def _index(index: str | None) -> str:
    if not index:
        fail("no release index: pass --index URL or set STASH_SENSE_RELEASE_INDEX", 2)
    return index


def update_command(
    db: DbOption = None,
    release_index: IndexOption = None,
    release_keys: KeysOption = None,
    check: Annotated[
        bool, typer.Option("--check", help="Only say whether a newer database exists.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    pause_before_swap: Annotated[
        float, typer.Option("--pause-before-swap", hidden=True, help="Fault injection (tests).")
    ] = 0.0,
) -> None:
    """Download and install the newest database release this program can read."""
    from stash_sense.app.errors import InvalidInput
    from stash_sense.app.updates import ReleaseError, check_for_update, install_update

    s = settings(db=db, release_index=release_index, release_keys=release_keys)
    db = database(s.db)
    url = _index(s.release.index)
    try:
        if check:
            result = check_for_update(url, db)
        else:
            with ByteProgress() as report:
                result = install_update(
                    url, db, s.release.keys, report, pause_before_swap=pause_before_swap
                )
    except InvalidInput as err:  # a malformed index URL
        fail(str(err), 2)
    except ReleaseError as err:
        fail(str(err))
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    for line in result.get("skipped", []):
        typer.echo(f"skipped release {line}", err=True)
    if result.get("updated"):
        back = (
            f"; `stash-sense db rollback --db {db}` returns to {result['previous']}"
            if result.get("previous")
            else ""
        )
        typer.echo(
            f"installed release {result['installed']} ({result['method']}, "
            f"{result['download_bytes']} bytes) as {result['generation']}{back}"
        )
    elif result.get("available"):
        typer.echo(
            f"release {result['newest']} is available (installed: {result['current'] or 'none'}; "
            f"{result['method']}, {result['download_bytes']} bytes)"
        )
    elif result.get("newest") is None:
        typer.echo("the index lists no release this program can read")
    else:
        typer.echo(f"up to date (release {result['current']})")


class ByteProgress:
    """A rich progress bar of downloaded bytes, then of verified steps, on stderr."""

    def __enter__(self) -> Any:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.start()
        self._tasks: dict[str, Any] = {}

        def report(what: str, done: int, total: int) -> None:
            if what != "download":  # verify steps, notes: a line of text, no byte counts
                self._bar.console.print(f"{what} {done}/{total}" if total else what)
                return
            if what not in self._tasks:
                self._tasks[what] = self._bar.add_task(what, total=total or None)
            self._bar.update(self._tasks[what], completed=done, total=total or None)

        return report

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()


def rollback_command(db: DbOption = None) -> None:
    """Go back to the previous database generation (kept by the last update)."""
    from stash_sense.app.updates import ReleaseError, rollback_database

    try:
        before, after = rollback_database(database(db))
    except ReleaseError as err:
        fail(str(err))
    typer.echo(f"rolled back from {before} to {after}")


def check_command(db: DbOption = None) -> None:
    """Check that the face models and the database are complete; say exactly what is missing.

    Exit 0: all there; 1: the database is missing or damaged (or none is configured); 2: a model
    is. (The container's entrypoint reads 2 as "this image is broken".)
    """
    from stash_sense.app.publish import check_install

    db = database(db, code=1)
    result = check_install(db)
    for line in result.models:
        typer.echo(f"missing model: {line}", err=True)
    for line in result.database:
        typer.echo(f"database: {line}", err=True)
    if result.models:
        raise typer.Exit(2)
    if result.database:
        raise typer.Exit(1)
    typer.echo(f"models and database at {db} are complete")


def register(app: typer.Typer) -> None:
    """Add the release commands to the `db` command group."""
    app.command("keygen")(keygen_command)
    app.command("package")(package_command)
    app.command("update")(update_command)
    app.command("rollback")(rollback_command)
    app.command("check")(check_command)
