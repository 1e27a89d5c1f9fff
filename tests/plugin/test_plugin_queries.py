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
    for script in ("sidecar.js", "stash-sense.js"):
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


def test_declared_csp_origins_match_the_script() -> None:
    yml = (PLUGIN_DIR / "stash-sense.yml").read_text(encoding="utf-8")
    block = yml.split("connect-src:", 1)[1]
    declared = re.findall(r"^\s+- (http\S+)$", block.split("\n#", 1)[0], re.MULTILINE)
    script = (PLUGIN_DIR / "sidecar.js").read_text(encoding="utf-8")
    listed = re.search(r"DIRECT_ORIGINS = \[([^\]]*)\]", script)
    assert listed is not None
    assert declared == re.findall(r'"([^"]+)"', listed.group(1))
