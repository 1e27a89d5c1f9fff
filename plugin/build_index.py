"""Builds the Stash plugin source: index.yml plus one deterministic zip per plugin.

    python plugin/build_index.py [--out plugin/dist]

Stash's Settings > Plugins > Available Plugins reads a source URL serving index.yml, a list
of {id, name, metadata, version, date, path, sha256, requires}, the way the community plugin
repositories publish. Each plugin folder under plugin/ holding <id>.yml becomes <id>.zip with the
folder's files at its root. The zip is byte-for-byte reproducible (sorted entries, fixed timestamps
and permissions), so its sha256 only changes when a file does. The date (Stash offers an update
when it is later than the installed one) is SOURCE_DATE_EPOCH, or the plugin folder's last commit
(git), or, when the folder has uncommitted changes or no commit, its newest file's time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

PLUGIN_ROOT = Path(__file__).resolve().parent
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
SKIP_NAMES = {"__pycache__", ".DS_Store"}
TOP_LEVEL_SCALAR = re.compile(r"^(\w+):\s*(.*?)\s*$")


class IndexError_(Exception):
    """A plugin folder that cannot be packaged; the message says why."""


@dataclass(frozen=True)
class PluginEntry:
    """One plugin of the index."""

    id: str
    name: str
    description: str
    version: str
    date: str
    path: str
    sha256: str
    requires: tuple[str, ...] = ()


def read_manifest(yml: Path) -> dict[str, str]:
    """The top-level scalar keys of a plugin's yml (name, description, version, url)."""
    fields: dict[str, str] = {}
    for line in yml.read_text(encoding="utf-8").splitlines():
        match = TOP_LEVEL_SCALAR.match(line)
        if match and match.group(2):
            value = match.group(2)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            fields[match.group(1)] = value
    for key in ("name", "version"):
        if key not in fields:
            raise IndexError_(f"{yml}: no top-level '{key}:'")
    return fields


def plugin_files(folder: Path) -> list[Path]:
    """Files to ship, sorted, skipping caches and hidden files."""
    files = [
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not any(
            part in SKIP_NAMES or part.startswith(".") for part in p.relative_to(folder).parts
        )
        and p.suffix != ".pyc"
    ]
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def write_zip(folder: Path, target: Path) -> str:
    """Writes a reproducible zip of folder's files (at the zip's root); returns its sha256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for path in plugin_files(folder):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    os.replace(tmp, target)
    return hashlib.sha256(target.read_bytes()).hexdigest()


def _git(folder: Path, *args: str) -> str | None:
    """A git command's output about folder, or None outside a repository (or without git)."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def plugin_date(folder: Path) -> str:
    """When the plugin last changed, as 'YYYY-MM-DD HH:MM:SS' (UTC).

    Stash offers an installed plugin's update when the index's date is later than the installed
    one (stashapp/stash pkg/pkg/pkg.go, PackageVersion.Upgradable), so the date must move with
    every change: SOURCE_DATE_EPOCH, else the folder's last commit, else (no commit, or changes
    not committed yet) the newest file's time.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        committed = _git(folder, "log", "-1", "--format=%ct", "--", ".")
        dirty = _git(folder, "status", "--porcelain", "--", ".")
        newest = int(max(p.stat().st_mtime for p in plugin_files(folder)))
        epoch = committed if committed and dirty == "" else str(max(newest, int(committed or 0)))
    stamp = dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    return stamp.strftime("%Y-%m-%d %H:%M:%S")


def build_entry(folder: Path, out: Path) -> PluginEntry:
    """Packages one plugin folder into out/<id>.zip."""
    plugin_id = folder.name
    yml = folder / f"{plugin_id}.yml"
    if not yml.is_file():
        raise IndexError_(f"{folder}: no {plugin_id}.yml")
    manifest = read_manifest(yml)
    sha = write_zip(folder, out / f"{plugin_id}.zip")
    return PluginEntry(
        id=plugin_id,
        name=manifest["name"],
        description=manifest.get("description", ""),
        version=manifest["version"],
        date=plugin_date(folder),
        path=f"{plugin_id}.zip",
        sha256=sha,
    )


def _q(value: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def render_index(entries: list[PluginEntry]) -> str:
    """index.yml text for the entries, in the community repositories' layout."""
    lines: list[str] = []
    for e in sorted(entries, key=lambda e: e.id):
        lines += [
            f"- id: {_q(e.id)}",
            f"  name: {_q(e.name)}",
            "  metadata:",
            f"    description: {_q(e.description)}",
            f"  version: {_q(e.version)}",
            f"  date: {_q(e.date)}",
            f"  path: {_q(e.path)}",
            f"  sha256: {_q(e.sha256)}",
        ]
        lines.append("  requires: []" if not e.requires else "  requires:")
        lines += [f"    - {_q(r)}" for r in e.requires]
    return "\n".join(lines) + "\n"


def build(root: Path, out: Path) -> list[PluginEntry]:
    """Packages every plugin folder under root into out and writes out/index.yml."""
    folders = sorted(p.parent for p in root.glob("*/*.yml") if p.stem == p.parent.name)
    if not folders:
        raise IndexError_(f"no plugin folder (<id>/<id>.yml) under {root}")
    entries = [build_entry(folder, out) for folder in folders]
    (out / "index.yml").write_text(render_index(entries), encoding="utf-8")
    return entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=PLUGIN_ROOT, help="folder of plugin folders")
    parser.add_argument("--out", type=Path, default=PLUGIN_ROOT / "dist", help="output folder")
    ns = parser.parse_args(argv)
    try:
        entries = build(ns.root, ns.out)
    except (IndexError_, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for e in entries:
        print(f"{e.id} {e.version} {e.path} sha256={e.sha256}")
    print(f"wrote {ns.out / 'index.yml'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
