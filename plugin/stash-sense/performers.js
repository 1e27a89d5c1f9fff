// Stash Sense plugin: finding, creating and linking local performers and adding them to scenes
// in Stash. Shared by the scene modal and the library review page, so both take the same path.
// Plain ES2020, no build step. Exposes window.StashSense.performers.
(function () {
  "use strict";
  const ns = (window.StashSense = window.StashSense || {});

  /** Stash's performer page, under the page's base path. */
  function performerHref(id) {
    return new URL(`performers/${encodeURIComponent(id)}`, document.baseURI).href;
  }

  // ---- Stash operations ----------------------------------------------------------------------

  const stashIdKey = (s) => `${s.endpoint}\n${s.stash_id}`;

  /** The local performer for a match: by any of its stash ids. */
  async function findByStashIds(match) {
    for (const sid of match.stash_ids || []) {
      const data = await ns.gql(ns.queries.performerByStashId, { endpoint: sid.endpoint, stash_id: sid.stash_id });
      const found = data.findPerformers.performers[0];
      if (found) return found;
    }
    return null;
  }

  function sameName(a, b) {
    return String(a || "").trim().toLowerCase() === String(b || "").trim().toLowerCase();
  }

  /** A local performer whose name or alias is the match's name (Stash's q searches both). */
  async function findByName(match) {
    const data = await ns.gql(ns.queries.performersByName, { name: match.name });
    const same = (s) => sameName(s, match.name);
    const found = data.findPerformers.performers;
    return found.find((p) => same(p.name)) || found.find((p) => (p.alias_list || []).some(same)) || null;
  }

  /**
   * Adds the match's stash-box ids to a local performer. PerformerUpdateInput.stash_ids replaces the
   * whole list, so the ids the performer has are sent back as read, updated_at included (without it
   * Stash stamps them with the time now). Resolves with {added, stale}: how many ids were new, and
   * whether the page needs a reload to show them.
   */
  async function linkStashIds(performerId, match) {
    const data = await ns.gql(ns.queries.performerStashIds, { id: performerId });
    if (!data.findPerformer) throw new ns.UserError(`Stash has no performer ${performerId}.`, "stash");
    const existing = data.findPerformer.stash_ids.map((s) => ({
      endpoint: s.endpoint,
      stash_id: s.stash_id,
      updated_at: s.updated_at,
    }));
    const have = new Set(existing.map(stashIdKey));
    const added = (match.stash_ids || []).filter((s) => !have.has(stashIdKey(s)));
    if (!added.length) return { added: 0, stale: false };
    const stashIds = existing.concat(added.map((s) => ({ endpoint: s.endpoint, stash_id: s.stash_id })));
    const input = { id: performerId, stash_ids: stashIds };
    const done = await ns.write(ns.queries.performerUpdate, { input }, { performers: [performerId] });
    return { added: added.length, stale: done.stale };
  }

  /**
   * Every stash id of the match's identity in the sidecar's identity graph (POST /identity with
   * the match's own ids), the match's own first. Only the match's own ids when the graph has no
   * answer (none built, ids it does not know, the sidecar unreachable): creating must not fail for it.
   */
  async function identityStashIds(match) {
    const own = (match.stash_ids || []).map((s) => ({ endpoint: s.endpoint, stash_id: s.stash_id }));
    if (!own.length) return own;
    let found = [];
    try {
      const answer = await ns.sidecar(await ns.loadSettings(), "POST", "/identity", { stash_ids: own });
      found = (answer && answer.stash_ids) || [];
    } catch (_err) {
      return own;
    }
    const seen = new Set(own.map(stashIdKey));
    const more = found.filter((s) => !seen.has(stashIdKey(s)) && seen.add(stashIdKey(s)));
    return own.concat(more.map((s) => ({ endpoint: s.endpoint, stash_id: s.stash_id })));
  }

  /** A new performer with the match's name, disambiguation, image and every stash id of its identity. */
  async function createPerformer(match) {
    const input = { name: match.name };
    if (match.disambiguation) input.disambiguation = match.disambiguation;
    // Stash takes a URL (the Stash server downloads the image) or a base64 data URL.
    if (typeof match.image_url === "string" && /^(https?:\/\/|data:image\/)/.test(match.image_url)) {
      input.image = match.image_url;
    }
    input.stash_ids = await identityStashIds(match);
    const done = await ns.write(ns.queries.performerCreate, { input }, {});
    return done.data.performerCreate;
  }

  /**
   * Adds a performer to a scene, keeping every performer already there (read fresh first); the
   * scene is then dropped from Stash's cache so its page and edit form show the new list.
   * Resolves with {changed, stale}.
   */
  async function addToScene(sceneId, performerId) {
    const data = await ns.gql(ns.queries.scenePerformers, { id: sceneId });
    if (!data.findScene) throw new ns.UserError(`Stash has no scene ${sceneId}.`, "stash");
    const ids = data.findScene.performers.map((p) => String(p.id));
    if (ids.includes(String(performerId))) return { changed: false, stale: false };
    const input = { id: sceneId, performer_ids: ids.concat([String(performerId)]) };
    const done = await ns.write(ns.queries.sceneUpdate, { input }, { scenes: [sceneId], performers: [performerId] });
    return { changed: true, stale: done.stale };
  }

  const RELOAD = " (reload the page to see it: this Stash offers the plugin no way to refresh it)";

  /**
   * Takes a performer off a scene again (the review page's undo of an apply), keeping every
   * other performer (read fresh first). Resolves with {changed, stale}.
   */
  async function removeFromScene(sceneId, performerId) {
    const data = await ns.gql(ns.queries.scenePerformers, { id: sceneId });
    if (!data.findScene) throw new ns.UserError(`Stash has no scene ${sceneId}.`, "stash");
    const ids = data.findScene.performers.map((p) => String(p.id));
    if (!ids.includes(String(performerId))) return { changed: false, stale: false };
    const input = { id: sceneId, performer_ids: ids.filter((id) => id !== String(performerId)) };
    const done = await ns.write(ns.queries.sceneUpdate, { input }, { scenes: [sceneId], performers: [performerId] });
    return { changed: true, stale: done.stale };
  }

  ns.performers = {
    performerHref,
    findByStashIds,
    identityStashIds,
    sameName,
    findByName,
    linkStashIds,
    createPerformer,
    addToScene,
    removeFromScene,
    RELOAD,
  };
})();
