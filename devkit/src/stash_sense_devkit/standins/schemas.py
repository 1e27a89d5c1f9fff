"""Load a bundled GraphQL schema (the folders under `standins/schemas/`) with graphql-core.

A folder's `.graphql` files are concatenated, `schema.graphql` first. stash-box writes two Boolean
defaults as `False`, which its Go server accepts and graphql-core rejects; they are read as `false`.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from graphql import GraphQLSchema, build_schema

SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"


def schema_sdl(folder: Path) -> str:
    """The SDL of a schema folder, ready for graphql-core."""
    files = sorted(folder.rglob("*.graphql"), key=lambda p: (p.name != "schema.graphql", str(p)))
    if not files:
        raise FileNotFoundError(f"no .graphql files under {folder}")
    text = "\n".join(p.read_text(encoding="utf-8") for p in files)
    return re.sub(r"=\s*False\b", "= false", text)


@cache
def load_schema(name: str = "stash-box") -> GraphQLSchema:
    """A bundled schema by folder name (e.g. "stash-box"), built once per process."""
    return build_schema(schema_sdl(SCHEMAS_DIR / name))


def load_schema_dir(folder: Path) -> GraphQLSchema:
    """A schema from any folder laid out the same way (e.g. ../shared/schemas/stash-box)."""
    return build_schema(schema_sdl(folder))
