"""`stash-sense identify`: who is in these photos? One JSON line or a table per image.

Starts fast: typer is the only import at module level; the engine and database load on use. The
work is stash_sense.app.identify's; this module reads the arguments and prints the results.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stash_sense.app.enroll import IMAGE_SUFFIXES
from stash_sense.cli.common import DbOption, database, fail, recognizer, settings
from stash_sense.cli.render import tier_style

if TYPE_CHECKING:
    from stash_sense.app.recognizer import FaceEngine, Matcher, Recognizer

PARTIAL_FAILURE = 2


def expand(paths: list[Path]) -> Iterator[Path]:
    """Files as given; folders walked (sorted) for images; missing paths passed on to fail."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
        else:
            yield path


def identify_record(
    engine: FaceEngine, matcher: Matcher, image: Path, top: int, max_bytes: int | None
) -> dict[str, Any]:
    """The JSON record of one image: every face with its matches, or the error that stopped it
    (`{"image": ..., "error": ...}`, so one bad file in a folder does not stop the others)."""
    from stash_sense.app.errors import Unusable
    from stash_sense.app.identify import identify_image

    try:
        return identify_image(engine, matcher, image, top=top, max_bytes=max_bytes).as_json()
    except Unusable as err:
        return {"image": str(image), "error": str(err)}


def identify_command(
    paths: Annotated[list[Path], typer.Argument(help="Image files or folders of images.")],
    db: DbOption = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Matches per face.")] = 5,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per image per line.")
    ] = False,
) -> None:
    """Identify the faces in images: the closest performers of the database for each face."""
    from stash_sense.app.failures import DatabaseError

    images = list(expand(paths))
    if not images:
        fail("no images found in " + ", ".join(str(p) for p in paths))
    given = settings(db=db)
    db, max_bytes = database(given.db), given.max_image_bytes
    rec = recognizer(db)
    # Voyager loads without the GIL: read the indices while the first image is analysed
    preload = threading.Thread(target=_preload, args=(rec,), daemon=True)
    preload.start()
    try:
        records = _run(rec.engine, rec.matcher, images, top, as_json, max_bytes)
    except DatabaseError as err:
        fail(str(err))
    finally:
        # a process that exits while Voyager's threads still load aborts (exit 134): every
        # image refused at once ends before the load does
        preload.join()
    failed = sum(1 for r in records if "error" in r)
    if failed:
        print(f"{failed} of {len(records)} images could not be read", file=sys.stderr)
        raise typer.Exit(PARTIAL_FAILURE)


def _preload(rec: Recognizer) -> None:
    with contextlib.suppress(Exception):  # a failure shows again, properly, on first use
        rec.db.load_indices()


def _run(
    engine: FaceEngine,
    matcher: Matcher,
    images: list[Path],
    top: int,
    as_json: bool,
    max_bytes: int | None,
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    if as_json:
        for record in _records(engine, matcher, images, top, max_bytes):
            print(json.dumps(record), flush=True)
            records.append(record)
        return records
    from rich.console import Console

    from stash_sense.cli.common import progress_bar

    console = Console()
    if len(images) == 1:
        records.append(identify_record(engine, matcher, images[0], top, max_bytes))
    else:
        with progress_bar() as bar:
            done = _records(engine, matcher, images, top, max_bytes)
            for record in bar.track(done, total=len(images), description="identifying"):
                records.append(record)
    for record in records:
        _print_record(console, record)
    return records


def _records(
    engine: FaceEngine, matcher: Matcher, images: list[Path], top: int, max_bytes: int | None
) -> Iterator[dict[str, Any]]:
    """Each image's record, in order; `engine.workers` images identified at a time (so every
    core the engine may use is busy), at most twice that many ahead of the one printed."""
    with ThreadPoolExecutor(engine.workers, thread_name_prefix="identify") as pool:
        ahead: deque[Future[dict[str, Any]]] = deque()
        for image in images:
            ahead.append(pool.submit(identify_record, engine, matcher, image, top, max_bytes))
            if len(ahead) >= 2 * engine.workers:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def _print_record(console: Any, record: dict[str, Any]) -> None:
    from rich.table import Table

    if "error" in record:
        error = record["error"].removesuffix(f": {record['image']}")  # named once, in front
        console.print(f"[bold]{record['image']}[/]: [red]{error}[/]")
        return
    if not record["faces"]:
        console.print(f"[bold]{record['image']}[/]: no face found")
        return
    table = Table("face", "box", "quality", "performer", "distance", "tier", "stash ids")
    for i, face in enumerate(record["faces"]):
        quality = "usable" if face["quality"]["usable"] else ", ".join(face["quality"]["reasons"])
        box = "x{:.0f} y{:.0f} {:.0f}x{:.0f}".format(*face["box"])
        if not face["matches"]:
            table.add_row(str(i), box, quality, "-", "", "", "")
        for j, m in enumerate(face["matches"]):
            style = tier_style(m["tier"])
            name = m["name"] + (f" ({m['disambiguation']})" if m["disambiguation"] else "")
            ids = ", ".join(s["stash_id"] for s in m["stash_ids"])
            first = j == 0
            table.add_row(
                str(i) if first else "",
                box if first else "",
                quality if first else "",
                name,
                f"{m['distance']:.3f}",
                f"[{style}]{m['tier']}[/]",
                ids,
            )
    console.print(f"[bold]{record['image']}[/]")
    console.print(table)
