// Stash Sense plugin: talking to Stash (GraphQL) and keeping the pages' Apollo cache in step.
// Plain ES2020, no build step. Exposes window.StashSense.{UserError, gql, write, stashVersion,
// versionBelow, MIN_STASH}.
//
// Stash's pages read through Apollo's cache (stashapp/stash ui/v2.5/src/core/StashService.ts,
// getClient()); its scene edit form is filled from that cache and Save sends the whole performer
// list (ui/v2.5/src/components/Scenes/SceneDetails/SceneEditPanel.tsx). So every write goes
// through that same client and then drops what it changed from the cache: the page re-reads the
// scene at once, and a later edit + Save keeps what the plugin added.
(function () {
  "use strict";
  const ns = (window.StashSense = window.StashSense || {});
  // ScenePage.Tabs, where the Identify button goes, is patchable since Stash v0.28.0.
  const MIN_STASH = "v0.28.0";

  /** An error whose message is meant for the user, as is. */
  class UserError extends Error {
    constructor(message, kind) {
      super(message);
      this.name = "UserError";
      this.kind = kind || "error";
    }
  }

  function operationName(query) {
    return (query.match(/^(?:query|mutation)\s+(\w+)/) || [])[1] || "operation";
  }

  /**
   * Stash's GraphQL endpoint, served with its UI: "graphql" under the page's <base href> (Stash
   * writes its base path there, "/" unless Stash runs under a path prefix).
   */
  function graphqlUrl() {
    return new URL("graphql", document.baseURI).href;
  }

  /** POST one operation to Stash with fetch (reads: always fresh); data or a UserError. */
  async function gql(query, variables) {
    const name = operationName(query);
    let response;
    try {
      response = await fetch(graphqlUrl(), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ operationName: name, query, variables: variables || {} }),
      });
    } catch (err) {
      throw new UserError(`Could not reach Stash (${name}): ${err.message}`, "stash");
    }
    let payload = null;
    try {
      payload = await response.json();
    } catch (_err) {
      payload = null;
    }
    if (payload && Array.isArray(payload.errors) && payload.errors.length) {
      const message = payload.errors.map((e) => e.message).join("; ");
      throw new UserError(`Stash refused ${name}: ${message}`, "stash");
    }
    if (!response.ok || !payload || !payload.data) {
      throw new UserError(`Stash refused ${name}: HTTP ${response.status}`, "stash");
    }
    return payload.data;
  }

  /** Stash's own Apollo client (PluginApi.utils.StashService.getClient), when this Stash has one. */
  function apollo() {
    const api = window.PluginApi || {};
    const service = api.utils && api.utils.StashService;
    const lib = api.libraries && api.libraries.Apollo;
    if (!service || typeof service.getClient !== "function" || !lib || typeof lib.gql !== "function") return null;
    try {
      const client = service.getClient();
      return client && typeof client.mutate === "function" ? { client, parse: lib.gql } : null;
    } catch (_err) {
      return null;
    }
  }

  /** Drops root query fields (findScenes, findPerformers, ...) the way StashService.evictQueries does. */
  function evictRootFields(cache, names) {
    const fields = {};
    for (const name of names) fields[name] = (_value, details) => details.DELETE;
    cache.modify({ id: "ROOT_QUERY", fields });
  }

  /**
   * What a write changed, dropped from Apollo's cache so every page showing it re-reads it:
   * scenes: scene ids whose performers changed; performers: performer ids whose stash ids or scene
   * counts changed; lists: the root lists that may now filter differently.
   */
  function evict(cache, touched) {
    for (const id of touched.scenes || []) {
      cache.evict({ id: cache.identify({ __typename: "Scene", id: String(id) }), fieldName: "performers" });
    }
    for (const id of touched.performers || []) {
      const ref = cache.identify({ __typename: "Performer", id: String(id) });
      cache.evict({ id: ref, fieldName: "scene_count" });
      cache.evict({ id: ref, fieldName: "scenes" });
    }
    // As Stash's own scene and performer mutations do (sceneMutationImpactedQueries).
    evictRootFields(cache, ["findScenes", "findPerformers", "findStudios", "findTags", "findGroups", "findGalleries"]);
    cache.gc();
  }

  /**
   * Sends a mutation through Stash's Apollo client (its answer lands in the cache), then evicts
   * what it touched. Without that client (an older or changed Stash) it falls back to fetch and
   * says in `stale` that the page needs a reload to show the change.
   */
  async function write(query, variables, touched) {
    const found = apollo();
    if (!found) {
      const data = await gql(query, variables);
      return { data, stale: true };
    }
    const name = operationName(query);
    let result;
    try {
      result = await found.client.mutate({
        mutation: found.parse(query),
        variables,
        update: (cache) => evict(cache, touched || {}),
      });
    } catch (err) {
      const errors = (err && err.graphQLErrors) || [];
      const message = errors.length ? errors.map((e) => e.message).join("; ") : err && err.message;
      throw new UserError(`Stash refused ${name}: ${message || "no detail"}`, "stash");
    }
    if (result.errors && result.errors.length) {
      throw new UserError(`Stash refused ${name}: ${result.errors.map((e) => e.message).join("; ")}`, "stash");
    }
    return { data: result.data, stale: false };
  }

  /** "v0.27.2" < "v0.28.0"? Development builds ("v0.28.1-12-gabc") compare by their release part. */
  function versionBelow(version, min) {
    const parse = (v) =>
      String(v || "")
        .replace(/^v/, "")
        .split(/[.-]/)
        .slice(0, 3)
        .map((n) => parseInt(n, 10) || 0);
    const [a, b] = [parse(version), parse(min)];
    for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i];
    return false;
  }

  let version = null;
  /** Stash's version string (cached for the page's life); "" when Stash does not say. */
  function stashVersion() {
    version =
      version ||
      gql(ns.queries.version).then(
        (d) => String((d.version && d.version.version) || ""),
        () => ""
      );
    return version;
  }

  ns.UserError = UserError;
  ns.MIN_STASH = MIN_STASH;
  ns.gql = gql;
  ns.write = write;
  ns.stashVersion = stashVersion;
  ns.versionBelow = versionBelow;
})();
