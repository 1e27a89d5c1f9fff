"""What every command shares: the settings, the `--db` option, one-line failures, progress bars."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from stash_sense.settings import help_text

if TYPE_CHECKING:
    from rich.progress import Progress

    from stash_sense.database import EmbedderInfo, FaceDatabase
    from stash_sense.faces import FaceEngine
    from stash_sense.settings import Settings

#: The face database folder; not given: STASH_SENSE_DB (`database()` says when neither is).
DbOption = Annotated[Path | None, typer.Option("--db", help=help_text("db"), show_default=False)]


def fail(message: str, code: int = 1) -> NoReturn:
    """One clear line on stderr and an exit code; never a traceback."""
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def settings(code: int = 2, **given: Any) -> Settings:
    """The settings (stash_sense.settings): the options given over STASH_SENSE_* variables;
    a malformed value ends the command with one line and exit status `code`."""
    from stash_sense.errors import ConfigError
    from stash_sense.settings import load_settings

    try:
        return load_settings(**given)
    except ConfigError as err:
        fail(str(err), code)


def database(db: Path | None, code: int = 2) -> Path:
    """The database folder: `--db`, else STASH_SENSE_DB; neither (or a malformed variable) ends
    the command with exit status `code`."""
    found = settings(code, db=db).db
    if found is None:
        fail("no database folder: give --db or set STASH_SENSE_DB", code)
    return found


def progress_bar() -> Progress:
    """A counting progress bar on stderr (gone when done)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def engine_and_infos(db: Path | None = None) -> tuple[FaceEngine, list[EmbedderInfo]]:
    """The face engine (for `db`: the one its embedders need, FaceEngine.for_database) and its
    models' descriptions."""
    from stash_sense.database import EmbedderInfo, database_models
    from stash_sense.faces import FaceEngine

    engine = FaceEngine.for_database(database_models(db)) if db else FaceEngine.default()
    return engine, [EmbedderInfo.from_embedder(e) for e in engine.embedders]


def open_for_matching(db: Path, infos: list[EmbedderInfo]) -> FaceDatabase:
    from stash_sense.database import DatabaseError, FaceDatabase

    try:
        return FaceDatabase.open(db, infos)
    except DatabaseError as err:
        fail(str(err))
