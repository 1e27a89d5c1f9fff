"""Every GraphQL operation the Stash client sends validates against the real Stash schema."""

from __future__ import annotations

import pytest
from graphql import GraphQLSchema, OperationDefinitionNode, parse, validate
from graphql.execution.values import get_variable_values

from stash_sense.sources.stash import QUERIES
from stash_sense_devkit.standins.stash import load_stash_schema


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return load_stash_schema()  # the devkit's bundled copy of the real schema


VARIABLES = {
    "FindScene": {"id": "12"},
    "FindPerformer": {"id": "3"},
    "FindPerformersByStashId": {"endpoint": "https://stashdb.org/graphql", "stash_id": "abc"},
    "FindScenesPage": {
        "scene_filter": {
            "performer_count": {"value": 0, "modifier": "EQUALS"},
            "updated_at": {"value": "2026-01-02T03:04:05Z", "modifier": "GREATER_THAN"},
        },
        "page": 1,
        "per_page": 100,
    },
    "FindPerformersPage": {"page": 1, "per_page": 100},
    "FindPerformerStamps": {"page": 1, "per_page": 1000},
    "FindPerformersByIds": {"ids": ["1", "7"]},
    "Version": {},
}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_query_and_its_variables_validate(schema: GraphQLSchema, name: str) -> None:
    doc = parse(QUERIES[name])
    assert [str(e) for e in validate(schema, doc)] == []
    op = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
    assert op.name is not None and op.name.value == name
    coerced = get_variable_values(schema, op.variable_definitions or [], VARIABLES[name])
    assert not isinstance(coerced, list), [str(e) for e in coerced]


def test_a_wrong_field_is_caught(schema: GraphQLSchema) -> None:
    errors = validate(schema, parse("query { findScene(id: 1) { sprite_path } }"))
    assert errors and "sprite_path" in str(errors[0])
