"""`stash-sense scan`: the library scan from the command line, against the same state database
as the sidecar's (in the data folder), with a progress bar; Ctrl-C pauses it cleanly and the
next `stash-sense scan` resumes it."""

from __future__ import annotations

import json
import signal
import time
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from stash_sense.cli.common import DbOption, fail, recognizer, settings
from stash_sense.settings import help_text, option

if TYPE_CHECKING:
    from stash_sense.app.library import ScanRunner
    from stash_sense.app.library_models import ScanStatus


def _opt(name: str) -> typer.models.OptionInfo:
    return typer.Option(option(name), help=help_text(name), show_default=False)


def scan_command(
    db: DbOption = None,
    stash_url: Annotated[str | None, _opt("stash_url")] = None,
    stash_api_key_file: Annotated[Path | None, _opt("stash_api_key_file")] = None,
    data_dir: Annotated[Path | None, _opt("data_dir")] = None,
    scope: Annotated[
        Literal["untagged", "all", "since"],
        typer.Option("--scope", help="untagged: scenes without performers; all; since a date."),
    ] = "untagged",
    since: Annotated[
        str | None, typer.Option("--since", help="With --scope since: YYYY-MM-DD or RFC 3339.")
    ] = None,
    frames: Annotated[int | None, _opt("frames")] = None,
    scan_rate: Annotated[float | None, _opt("scan_rate")] = None,
    scan_memory_mb: Annotated[str | None, _opt("scan_memory_mb")] = None,
    restart: Annotated[
        bool, typer.Option("--restart", help="Begin a new scan instead of resuming the last.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The final status as JSON.")] = False,
    report: Annotated[
        bool,
        typer.Option(
            "--report",
            help="Scan nothing: print where rejections cluster (--json: "
            "the report as JSON, as GET /library/rejections/report answers it).",
        ),
    ] = False,
) -> None:
    """Identify every scene of your Stash in scope and keep what was found for review.

    Scenes already done at their current edit are skipped; Ctrl-C pauses (run it again to
    resume). Stash's API key comes from STASH_SENSE_STASH_API_KEY or --stash-api-key-file.
    """
    from pydantic import ValidationError

    from stash_sense.app.errors import AppError
    from stash_sense.app.library import ScanRunner, open_library
    from stash_sense.app.library_models import ScanRequest
    from stash_sense.errors import ConfigError
    from stash_sense.sidecar.config import SidecarConfig

    given = {k: v for k, v in locals().items()
             if k in ("db", "stash_url", "stash_api_key_file", "data_dir", "frames",
                      "scan_rate", "scan_memory_mb") and v is not None}  # fmt: skip
    if report:  # needs only the data folder
        _report(settings(**given).sidecar.data_dir.expanduser(), as_json=as_json)
        return
    try:
        config = SidecarConfig.of(settings(**given))
        request = ScanRequest(scope=scope, since=since, frames=config.frames, restart=restart)
    except ConfigError as err:
        fail(str(err), 2)
    except ValidationError as err:
        first = err.errors()[0]
        fail(f"--{first['loc'][0]}: {first['msg']}", 2)
    rec = recognizer(config.db)
    try:
        store = open_library(config.data_dir)
        runner = ScanRunner(
            store, config.stash_url, config.stash_api_key_value, lambda: nullcontext(rec),
            requests_per_s=config.scan_rate, memory_ceiling_mb=config.scan_memory_mb,
        )  # fmt: skip
        runner.start(request)
    except AppError as err:
        fail(str(err))
    status = _follow(runner, quiet=as_json)
    store.close()
    rec.close()
    if as_json:
        print(json.dumps(status.as_json()))
    else:
        _summary(status)
    if status.status == "stopped":
        raise typer.Exit(1)


def _report(data_dir: Path, *, as_json: bool) -> None:
    """The rejection report of the state database in `data_dir`."""
    from stash_sense.app.errors import AppError
    from stash_sense.app.library import open_library, rejection_report

    try:
        store = open_library(data_dir)
    except AppError as err:
        fail(str(err))
    with store:
        found = rejection_report(store)
    if as_json:
        print(json.dumps(found.as_json()))
        return
    print(f"{found.rejections} rejections in force")
    for p in found.by_performer[:20]:
        spread = f", distances {min(p.distances):.2f}-{max(p.distances):.2f}" if p.distances else ""
        print(f"  {p.name}: {p.rejections} in {p.scenes} scenes{spread}")
    for name, ranges in {"fused": found.by_distance, **found.by_embedder}.items():
        counts = ", ".join(f"{r.min_distance:.2f}-{r.max_distance:.2f}: {r.rejections}"
                           for r in ranges)  # fmt: skip
        print(f"  by {name} distance: {counts or 'none'}")


def _follow(runner: ScanRunner, *, quiet: bool) -> ScanStatus:
    """Show the progress until the scan ends; the first Ctrl-C pauses it, a second quits."""
    # Ctrl-C is this command's pause button, even where the shell started it with SIGINT ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    console = Console(stderr=True, quiet=quiet)
    bar = Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        "{task.fields[rate]}", TimeRemainingColumn(), console=console, transient=True,
    )  # fmt: skip
    with bar:
        task = bar.add_task("scanning", total=None, rate="")
        while runner.running:
            try:
                status = runner.status()
                rate = f"{status.rate_per_hour:,.0f} scenes/h" if status.rate_per_hour else ""
                scene = f"scene {status.current_scene}" if status.current_scene else "scanning"
                bar.update(task, total=status.total or None, completed=status.done,
                           description=scene, rate=rate)  # fmt: skip
                time.sleep(0.5)
            except KeyboardInterrupt:
                console.print("pausing after this scene (Ctrl-C again to quit now)")
                runner.pause()
                try:
                    runner.wait()
                except KeyboardInterrupt:
                    raise typer.Exit(130) from None
    return runner.status()


def _summary(status: ScanStatus) -> None:
    line = f"{status.status}: {status.done} of {status.total} scenes ({status.failed} failed)"
    if status.rate_per_hour:
        line += f", {status.scanned_this_run} scanned now at {status.rate_per_hour:,.0f}/h"
    print(line)
    if status.status == "paused":
        print(f"  {status.reason}; run `stash-sense scan` again to resume")
    elif status.status == "stopped":
        print(f"  {status.reason}", flush=True)
