"""docs/configuration.md, generated from the settings model (stash_sense.settings).

    python -m stash_sense_devkit.configdoc > docs/configuration.md

tests/settings checks that the committed file equals what this prints.
"""

from __future__ import annotations

from typing import Any

import typer

from stash_sense.cli.app import app
from stash_sense.settings import default_text, entries, variable

HEAD = """\
# Configuration

<!-- Generated from src/stash_sense/settings.py by `python -m stash_sense_devkit.configdoc >
docs/configuration.md`; a test checks that this file is what it prints. Do not edit by hand. -->

Every setting is one field of `stash_sense.settings.Settings` (pydantic-settings). A command takes
it from its option when given, else from its environment variable, else the default below. An
option and its variable have the same name (`--release-index`, `STASH_SENSE_RELEASE_INDEX`;
`db update` also takes the shorter `--index`, `--keys`); a list takes a comma-separated variable
or a repeated option. `stash-sense <command> --help` shows
the same text. A malformed value ends a command with one line naming the variable (exit 2).

The "options" column lists the commands that take the setting as an option (read from the
command line's own definition); a setting without one is set by its variable only.

"""

TAIL = """
Secrets (`STASH_SENSE_API_KEY`, `STASH_SENSE_STASH_API_KEY`) never show in a log line, an answer or
an error. On the command line they show in `ps`, so `serve` warns: prefer the `..._FILE` variant
or the environment.

Not settings of the model, since their names depend on the configured endpoints: the builder's
per-endpoint variables `STASH_SENSE_<ENDPOINT>_API_KEY`, `..._URL` and the like
([builder.md](builder.md)). The container's entrypoint also reads `STASH_SENSE_AUTO_DOWNLOAD=no`
(skip the first-start download; [releases.md](releases.md#docker)); inside the container
`STASH_SENSE_DB=/data/db`, `STASH_SENSE_DATA_DIR=/data/state`, `STASH_SENSE_HOST=0.0.0.0`.
"""


def options() -> dict[str, list[str]]:
    """setting name -> "`command --flag`" for every command option that sets it (a parameter
    named after the setting)."""
    found: dict[str, list[str]] = {}

    def walk(command: Any, path: str) -> None:  # Typer's (vendored) click Group or Command
        subcommands = getattr(command, "commands", None)
        if subcommands is not None:
            for name, sub in sorted(subcommands.items()):
                walk(sub, f"{path} {name}".strip())
            return
        for param in command.params:
            if param.param_type_name == "option" and param.name:
                flags = "/".join(param.opts)
                found.setdefault(param.name, []).append(f"`{path} {flags}`")

    walk(typer.main.get_command(app), "")
    return found


def render() -> str:
    """The whole of docs/configuration.md."""
    by_option = options()
    sections: dict[str | None, list[str]] = {}
    for name, group, field in entries():
        flags = ", ".join(by_option.get(name, [])) or "-"
        row = f"| `{variable(name)}` | {flags} | `{default_text(field)}` | {field.description} |"
        sections.setdefault(group, []).append(row)
    titles = {None: "Every command", "release": "Releases", "sidecar": "The sidecar (`serve`)"}
    out = [HEAD]
    for group, rows in sections.items():
        out.append(f"## {titles.get(group, group)}\n\n")
        out.append("| variable | options | default | meaning |\n| --- | --- | --- | --- |\n")
        out.append("\n".join(rows) + "\n\n")
    return "".join(out).rstrip("\n") + "\n" + TAIL


if __name__ == "__main__":
    print(render(), end="")
