"""What every command shares: the settings, the `--db` option, one-line failures, progress bars."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from stash_sense.settings import help_text

if TYPE_CHECKING:
    from rich.progress import Progress

    from stash_sense.app.recognizer import Recognizer
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
    from stash_sense.app.resources import limit_cores, run_networks_on, use_models_folder
    from stash_sense.errors import ConfigError
    from stash_sense.settings import load_settings

    try:
        loaded = load_settings(**given)
    except ConfigError as err:
        fail(str(err), code)
    limit_cores(loaded.cores)
    run_networks_on(loaded.device)
    use_models_folder(loaded.models)
    return loaded


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


def recognizer(db: Path) -> Recognizer:
    """The database at `db` opened for matching with the engine it needs (app.recognizer); its
    indices load on first use. One line and exit 1 when it cannot be opened."""
    from stash_sense.app.failures import DatabaseError
    from stash_sense.app.recognizer import open_recognizer

    try:
        return open_recognizer(db, load_indices=False)
    except DatabaseError as err:
        fail(str(err))
