"""The devkit's bundled GraphQL schemas are the real ones: equal to ../shared/schemas, the copies
of record in the project's workspace, where that folder is beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from stash_sense_devkit.standins.schemas import SCHEMAS_DIR

SHARED_SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "schemas"


def _graphql_files(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*.graphql"))
    }


@pytest.mark.parametrize("name", ["stash-box", "stash"])
def test_bundled_schema_equals_the_workspace_copy(name: str) -> None:
    real = SHARED_SCHEMAS / name
    if not real.is_dir():
        pytest.skip(f"no {real}: nothing beside the repository to compare the bundled copy with")
    bundled = _graphql_files(SCHEMAS_DIR / name)
    assert bundled, f"no bundled schema files under {SCHEMAS_DIR / name}"
    assert bundled == _graphql_files(real)
