"""Every GraphQL operation the plugin sends to Stash validates against Stash's real schema.

The operations live in plugin/stash-sense/queries.js as template literals; the other scripts
must use them by name and hold no GraphQL text of their own.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import GraphQLSchema, OperationDefinitionNode, parse, validate

from stash_sense_devkit.standins.stash import load_stash_schema

PLUGIN_DIR = Path(__file__).resolve().parents[2] / "plugin" / "stash-sense"
TEMPLATE = re.compile(r"`([^`]*)`")
QUERY_KEY = re.compile(r"^\s{4}(\w+): `", re.MULTILINE)


@pytest.fixture(scope="module")
def stash_schema() -> GraphQLSchema:
    return load_stash_schema()  # the devkit's bundled copy of the real schema


def operations() -> dict[str, str]:
    text = (PLUGIN_DIR / "queries.js").read_text(encoding="utf-8")
    keys = QUERY_KEY.findall(text)
    bodies = TEMPLATE.findall(text)
    assert len(keys) == len(bodies), "every template literal in queries.js is one named entry"
    return dict(zip(keys, bodies, strict=True))


def test_queries_file_holds_the_expected_operations() -> None:
    assert set(operations()) == {
        "configuration",
        "stashBoxes",
        "version",
        "scenePerformers",
        "performerByStashId",
        "performersByName",
        "performerStashIds",
        "performerCreate",
        "performerUpdate",
        "sceneUpdate",
        "runProxy",
    }


@pytest.mark.parametrize("key", sorted(operations()))
def test_operation_validates_against_stash_schema(key: str, stash_schema: GraphQLSchema) -> None:
    document = parse(operations()[key])
    errors = validate(stash_schema, document)
    assert errors == [], [e.message for e in errors]
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert len(ops) == 1 and ops[0].name is not None
    assert ops[0].name.value.startswith("StashSense"), "operation names say who sent them"


def test_other_scripts_use_queries_by_name_only() -> None:
    used: set[str] = set()
    scripts = sorted(p.name for p in PLUGIN_DIR.glob("*.js") if p.name != "queries.js")
    expected = {"stash.js", "sidecar.js", "modal.js", "stash-sense.js", "performers.js"}
    assert expected | {"review_list.js", "health.js", "review.js", "performer_page.js"} <= set(
        scripts
    )
    for script in scripts:
        text = (PLUGIN_DIR / script).read_text(encoding="utf-8")
        for literal in TEMPLATE.findall(text):
            assert not re.match(r"\s*(query|mutation|fragment)\b", literal), (script, literal)
        used |= set(re.findall(r"ns\.queries\.(\w+)", text))
    assert used == set(operations()), "every operation is used, and only those defined"


def test_plugin_id_matches_yml_and_operations() -> None:
    yml = (PLUGIN_DIR / "stash-sense.yml").read_text(encoding="utf-8")
    assert yml.startswith("name: Stash Sense")
    assert 'plugin_id: "stash-sense"' in operations()["runProxy"]
    assert 'include: ["stash-sense"]' in operations()["configuration"]
    for setting in ("sidecarUrl", "apiKey", "minTier", "frames", "connection"):
        assert re.search(rf"^  {setting}:\n", yml, re.MULTILINE), setting


def test_every_script_is_listed_in_the_yml_in_load_order() -> None:
    """Stash concatenates the yml's scripts in order: each file's namespace before its users."""
    yml = (PLUGIN_DIR / "stash-sense.yml").read_text(encoding="utf-8")
    block = yml.split("javascript:", 1)[1].split("css:", 1)[0]
    listed = re.findall(r"^\s+- (\S+\.js)$", block, re.MULTILINE)
    assert listed == [
        "queries.js", "stash.js", "sidecar.js", "modal.js", "performers.js", "stash-sense.js",
        "performer_page.js", "review_list.js", "health.js", "review.js",
    ]  # fmt: skip
    assert set(listed) == {p.name for p in PLUGIN_DIR.glob("*.js")}


def test_declared_csp_origins_are_named_in_the_csp_message() -> None:
    yml = (PLUGIN_DIR / "stash-sense.yml").read_text(encoding="utf-8")
    block = yml.split("connect-src:", 1)[1]
    declared = re.findall(r"^\s+- (http\S+)$", block.split("\n#", 1)[0], re.MULTILINE)
    assert declared == ["http://127.0.0.1:5000", "http://localhost:5000"]
    script = (PLUGIN_DIR / "sidecar.js").read_text(encoding="utf-8")
    assert f"this plugin declares {declared[0]} and {declared[1]}" in script


def test_minimum_stash_version_is_stated() -> None:
    yml = (PLUGIN_DIR / "stash-sense.yml").read_text(encoding="utf-8")
    assert "Needs Stash v0.28.0 or newer" in yml
    assert 'MIN_STASH = "v0.28.0"' in (PLUGIN_DIR / "stash.js").read_text(encoding="utf-8")
