// The tests' own client of the Stash stand-in: GraphQL (errors fail the test) and the record of
// the mutations it received (what the plugin changed in "Stash").
import assert from "node:assert/strict";

/** `urlOf()` gives the stand-in's base URL once it has started. */
export function standInClient(urlOf) {
  async function gql(query, variables = {}) {
    const response = await fetch(`${urlOf()}/graphql`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    const payload = await response.json();
    assert.equal(payload.errors, undefined, JSON.stringify(payload.errors));
    return payload.data;
  }

  async function mutations() {
    const response = await fetch(`${urlOf()}/__mutations`);
    return (await response.json()).map((m) => ({ mutation: m.mutation, args: m.args }));
  }

  /** The mutations received while fn ran. */
  async function mutationsDuring(fn) {
    const mark = (await mutations()).length;
    await fn();
    return (await mutations()).slice(mark);
  }

  return { gql, mutations, mutationsDuring };
}
