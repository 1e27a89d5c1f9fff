"""`stash-sense db graph build | review | explain`: the identity graph (docs/identity-graph.md).

Each command calls one use case of `stash_sense.app.graph` and prints its result, or with
`--json` its JSON object."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from stash_sense.cli.common import DbOption, database, fail

app = typer.Typer(no_args_is_help=True, help="Link performers across sources into identities.")
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _printable(text: str) -> str:
    """Text from a source with its control characters escaped, so none reaches the terminal."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _emit(result: Any, as_json: bool, text: str) -> None:
    if as_json:
        print(json.dumps(result.as_json(), ensure_ascii=False))
    else:
        print("\n".join(_printable(line) for line in text.split("\n")))


def _link_line(link: Any) -> str:
    kinds = ", ".join(f"{e.kind} {e.weight:+g} ({e.detail})" for e in link.evidence)
    head = f"{link.a}  <->  {link.b}"
    return f"{head}\n    score {link.score:g}, {link.status}: {link.reason}\n    {kinds}"


def graph_summary(result: Any) -> str:
    """One paragraph of a graph build: how it linked, what it found, what changed."""
    links = ", ".join(f"{n} {s}" for s, n in result.links.items())
    relinked = result.relinked
    how = (
        f"{result.mode} link: {relinked.get('changed', 0)} records new or changed, "
        f"{relinked.get('removed', 0)} removed, {relinked.get('touched', 0)} weighed "
        f"in {result.link_seconds:.1f}s; "
    )
    return (
        how + f"{result.records} records -> {result.identities} identities "
        f"({result.multi_source} from several sources); links: {links}; "
        f"{result.records_with_skipped_data} records with data skipped; "
        f"{result.decisions} maintainer decisions applied; since the last build: "
        + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in result.changes.items())
        + f"; wrote {result.graph}"
    )


FullOption = Annotated[
    bool, typer.Option("--full", help="Link every record again, not only what changed.")
]


@app.command("build")
def build_command(
    db: DbOption = None, full: FullOption = False, as_json: JsonOption = False
) -> None:
    """Link the database's performers into identities; writes graph.sqlite in the DB folder
    (after the first build, only new and changed records are weighed again)."""
    from stash_sense.app.errors import AppError
    from stash_sense.app.graph import build_identity_graph

    try:
        result = build_identity_graph(database(db), full=full)
    except AppError as err:
        fail(str(err))
    _emit(result, as_json, graph_summary(result))


@app.command("review")
def review_command(
    db: DbOption = None,
    accept: Annotated[
        tuple[str, str] | None,
        typer.Option("--accept", help="Join two records: their keys A B.", show_default=False),
    ] = None,
    reject: Annotated[
        tuple[str, str] | None,
        typer.Option(
            "--reject", help="Keep two records apart: their keys A B.", show_default=False
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the links left for review, or accept / reject one (applies from the next build)."""
    from stash_sense.app.errors import AppError
    from stash_sense.app.graph import decide_link, list_review

    if accept and reject:
        fail("give --accept or --reject, not both", 2)
    folder = database(db)
    try:
        if accept or reject:
            a, b = accept or reject  # type: ignore[misc]
            link = decide_link(folder, a, b, accept=bool(accept))
            verb = "accepted" if accept else "rejected"
            _emit(link, as_json, f"{verb}: {link.a} <-> {link.b}; run `db graph build` to apply")
            return
        result = list_review(folder)
    except AppError as err:
        fail(str(err))
    text = "\n".join(_link_line(lk) for lk in result.links) or "nothing to review"
    _emit(result, as_json, text)


@app.command("explain")
def explain_command(
    ident: Annotated[
        str,
        typer.Argument(help="An identity id, a record key, a stash id, a performer id or a name."),
    ],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Why records are one identity: each record, each link, its evidence and score."""
    from stash_sense.app.errors import AppError
    from stash_sense.app.graph import explain_identity

    try:
        result = explain_identity(database(db), ident)
    except AppError as err:
        fail(str(err))
    lines = [f"identity {result.id}: {result.name} (primary {result.primary})"]
    for rec in result.records:
        extra = f"; skipped: {'; '.join(rec.skipped)}" if rec.skipped else ""
        counts = f"{rec.image_count} images, {rec.faces} faces"
        lines.append(f"  record {rec.key}: {rec.name}, {counts}{extra}")
    lines += [_link_line(lk) for lk in result.links] or ["  no links (a single record)"]
    _emit(result, as_json, "\n".join(lines))


def register(db_app: typer.Typer) -> None:
    """Add `graph` to the `db` command group."""
    db_app.add_typer(app, name="graph")
