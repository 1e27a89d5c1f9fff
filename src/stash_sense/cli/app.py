"""The `stash-sense` command: one Typer app that gathers each part's commands.

Sub-command modules import their heavy dependencies inside the commands, so that
`stash-sense identify` starts fast.
"""

from __future__ import annotations

import typer

from stash_sense.cli import build, db, db_graph, db_release, identify, models, scan, scene, serve

app = typer.Typer(
    name="stash-sense",
    help="Who is in this scene? Local face recognition for Stash.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_release.register(db.app)
db_graph.register(db.app)
app.add_typer(db.app, name="db", help="Create, inspect and combine face databases.")
app.add_typer(models.app, name="models", help="List and fetch face models.")
app.command("identify")(identify.identify_command)
app.command("build")(build.build_command)
app.command("serve")(serve.serve_command)
app.command("scene")(scene.scene_command)
app.command("scan")(scan.scan_command)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
