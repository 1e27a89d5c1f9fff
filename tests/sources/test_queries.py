"""Every GraphQL operation the stash-box client sends, with the variables it sends, validates
against the real stash-box schema (the devkit's bundled copy) with graphql-core."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLSchema, OperationDefinitionNode, parse, validate
from graphql.execution.values import get_variable_values

from stash_sense.sources.stashbox import (
    ALL_QUERIES,
    FIND_PERFORMER_QUERY,
    PERFORMER_IDS_QUERY,
    PERFORMER_PAGE_QUERY,
    performer_page_variables,
)
from stash_sense_devkit.standins.schemas import load_schema


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return load_schema("stash-box")  # the devkit's bundled copy of the real schema


def check_variables(schema: GraphQLSchema, query: str, variables: dict[str, Any]) -> None:
    doc = parse(query)
    op = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
    coerced = get_variable_values(schema, op.variable_definitions or [], variables)
    assert not isinstance(coerced, list), [str(e) for e in coerced]


@pytest.mark.parametrize("name", sorted(ALL_QUERIES))
def test_every_query_validates_against_the_stashbox_schema(
    schema: GraphQLSchema, name: str
) -> None:
    errors = validate(schema, parse(ALL_QUERIES[name]))
    assert errors == [], [e.message for e in errors]


@pytest.mark.parametrize("sort", ["CREATED_AT", "UPDATED_AT", "NAME"])
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_performer_page_variables_coerce(schema: GraphQLSchema, sort: str, direction: str) -> None:
    check_variables(schema, PERFORMER_PAGE_QUERY, performer_page_variables(3, 100, sort, direction))


def test_ids_and_find_variables_coerce(schema: GraphQLSchema) -> None:
    check_variables(schema, PERFORMER_IDS_QUERY, performer_page_variables(2, 1000))
    check_variables(schema, FIND_PERFORMER_QUERY, {"id": "8e9f2d1c-0000-4000-8000-000000000000"})


def test_bad_variables_are_caught(schema: GraphQLSchema) -> None:
    doc = parse(PERFORMER_PAGE_QUERY)
    op = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
    bad = {"input": {"page": 1, "per_page": 10, "sort": "NEWEST", "direction": "ASC"}}
    assert isinstance(get_variable_values(schema, op.variable_definitions or [], bad), list)
