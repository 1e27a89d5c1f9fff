// Stash Sense plugin: the scenes of the library review page, each with its people and their
// candidates (the sidecar's GET /library/suggestions), and what applying one does in Stash.
// Plain ES2020 with PluginApi.React, no build step. Exposes window.StashSense.review.
(function () {
  "use strict";
  const api = window.PluginApi;
  const ns = window.StashSense;
  if (!api || !ns || !ns.ui || !ns.performers) return;
  const React = api.React;
  const h = React.createElement;
  const { ErrorBox, CandidateCard, clock } = ns.ui;
  const P = ns.performers;

  /** The key of one suggestion: scene, person, database performer. */
  function keyOf(sceneId, personId, performerId) {
    return `${sceneId}:${personId}:${performerId}`;
  }

  /**
   * A link to a page of Stash's own: through Stash's router (no reload) when the page has it
   * (PluginApi.libraries.ReactRouterDOM), else a plain link under the page's base path.
   */
  function stashLink(to, props, ...children) {
    const router = api.libraries && api.libraries.ReactRouterDOM;
    if (router && router.Link) return h(router.Link, Object.assign({ to }, props), ...children);
    return h("a", Object.assign({ href: new URL(to.replace(/^\//, ""), document.baseURI).href }, props), ...children);
  }

  /**
   * Applies one suggestion in Stash as the scene modal's "Add to Scene" does (by stash id, else a
   * local performer of that name once the user confirms it, else a new performer with every
   * stash-box id), then records the decision with the sidecar. `useLocal`: the local performer
   * the user confirmed (or "create"). Resolves with {status: "applied", performer, decision, stale}
   * or {status: "confirm", local} when a local performer has the name but not the stash id.
   */
  async function applySuggestion(settings, scene, person, match, useLocal) {
    let performer = null;
    let stale = false;
    if (useLocal === "create") performer = await P.createPerformer(match);
    else if (useLocal) {
      const linked = await P.linkStashIds(useLocal.id, match);
      performer = useLocal;
      stale = linked.stale;
    } else {
      performer = await P.findByStashIds(match);
      if (!performer) {
        const local = await P.findByName(match);
        if (local) return { status: "confirm", local };
        performer = await P.createPerformer(match);
      }
    }
    const added = await P.addToScene(scene.scene_id, performer.id);
    let decision;
    try {
      decision = await ns.sidecar(settings, "POST", "/library/decisions", {
        kind: "apply",
        scene_id: scene.scene_id,
        person_id: person.person_id,
        performer_id: match.performer_id,
      });
    } catch (err) {
      throw new ns.UserError(
        `${performer.name} is on the scene in Stash now, but the sidecar did not record it: ${err.message}`,
        err.kind
      );
    }
    return { status: "applied", performer, decision, changed: added.changed, stale: stale || added.stale };
  }

  /** The times a person shows, each second once: links to the scene's page at that time. */
  function TimeLinks(props) {
    const seen = new Set();
    const times = [];
    for (const t of (props.times || []).slice().sort((a, b) => a - b)) {
      const s = Math.round(t);
      if (seen.has(s)) continue;
      seen.add(s);
      times.push(s);
    }
    if (!times.length) return null;
    return h(
      "div",
      { className: "stash-sense-times" },
      times.slice(0, 12).map((s) =>
        stashLink(
          `/scenes/${encodeURIComponent(props.sceneId)}?t=${s}`,
          { key: s, className: "btn btn-link btn-sm stash-sense-time", "data-time": s, title: "Play the scene from here" },
          clock(s)
        )
      ),
      times.length > 12 ? h("span", { className: "stash-sense-more" }, ` +${times.length - 12}`) : null
    );
  }

  /** What Stash already has of this candidate. */
  function InStash(props) {
    const { match } = props;
    if (match.stash_performer_id) {
      return h(
        "div",
        { className: "stash-sense-in-stash" },
        "In your Stash: ",
        stashLink(`/performers/${encodeURIComponent(match.stash_performer_id)}`, null, `#${match.stash_performer_id}`)
      );
    }
    return h("div", { className: "stash-sense-in-stash" }, "Not in your Stash yet: Apply creates the performer");
  }

  function Actions(props) {
    const { state, onApply, onReject, onUseLocal } = props;
    if (state.status === "applied") {
      const p = state.performer;
      return h(
        "div",
        { className: "stash-sense-actions" },
        p
          ? stashLink(`/performers/${encodeURIComponent(p.id)}`, { className: "stash-sense-added badge badge-success" },
              `Applied: ${p.name} (#${p.id})`)
          : h("span", { className: "stash-sense-added badge badge-success" }, "Applied")
      ); // prettier-ignore
    }
    if (state.status === "confirm") {
      const local = state.local;
      const taken = P.sameName(local.name, props.match.name) && P.sameName(local.disambiguation, props.match.disambiguation);
      return h(
        "div",
        { className: "stash-sense-confirm" },
        h("span", { className: "stash-sense-confirm-text" },
          `Your Stash has ${local.name} (#${local.id}) without this stash-box id. Use it?`),
        h("button", { type: "button", className: "btn btn-sm btn-primary", onClick: () => onUseLocal(local) },
          `Use ${local.name} (#${local.id})`),
        taken
          ? null
          : h("button", { type: "button", className: "btn btn-sm btn-secondary", onClick: () => onUseLocal("create") },
              "Create a new performer")
      ); // prettier-ignore
    }
    const busy = state.status === "busy";
    return h(
      "div",
      { className: "stash-sense-actions" },
      h("button", { type: "button", className: "btn btn-sm btn-primary stash-sense-apply", disabled: busy, onClick: onApply },
        busy ? "Working\u2026" : "Apply"),
      h("button", { type: "button", className: "btn btn-sm btn-outline-secondary stash-sense-reject", disabled: busy, onClick: onReject },
        "Not this person")
    ); // prettier-ignore
  }

  function ReviewCandidate(props) {
    const { scene, person, match, settings, states, selected, act } = props;
    const key = keyOf(scene.scene_id, person.person_id, match.performer_id);
    const state = states[key] || (match.applied ? { status: "applied" } : { status: "idle" });
    const pre = person.preselected === match.performer_id && state.status !== "applied";
    return h(
      "div",
      {
        className: `stash-sense-review-candidate${selected === key ? " stash-sense-selected" : ""}`,
        "data-key": key,
        "aria-current": selected === key ? "true" : undefined,
      },
      h(
        CandidateCard,
        { match, settings },
        pre ? h("span", { className: "badge badge-info stash-sense-preselected" }, "pre-selected") : null,
        h(InStash, { match }),
        h(Actions, {
          state,
          match,
          onApply: () => act("apply", scene, person, match),
          onReject: () => act("reject", scene, person, match),
          onUseLocal: (local) => act("apply", scene, person, match, local),
        }),
        state.status === "error" ? h(ErrorBox, { message: state.message }) : null,
        state.note ? h("div", { className: "stash-sense-note" }, state.note) : null
      )
    );
  }

  /** The candidates a person still shows: rejected ones disappear. */
  function shown(scene, person, states) {
    return (person.candidates || []).filter(
      (m) => (states[keyOf(scene.scene_id, person.person_id, m.performer_id)] || {}).status !== "rejected"
    );
  }

  function ReviewPerson(props) {
    const { scene, person, states } = props;
    const candidates = shown(scene, person, states).slice(0, 3);
    return h(
      "div",
      { className: "stash-sense-person", "data-person": person.person_id },
      h(
        "div",
        { className: "stash-sense-face" },
        person.face_jpeg
          ? h("img", { src: `data:image/jpeg;base64,${person.face_jpeg}`, alt: `person ${person.person_id + 1}`, loading: "lazy" })
          : h("div", { className: "stash-sense-noimg" }, "?"),
        h("div", { className: "stash-sense-face-meta" }, `${person.frames} frame${person.frames === 1 ? "" : "s"}`),
        h(TimeLinks, { times: person.times, sceneId: scene.scene_id })
      ),
      h(
        "div",
        { className: "stash-sense-candidates" },
        candidates.length
          ? candidates.map((m) => h(ReviewCandidate, Object.assign({ key: m.performer_id }, props, { match: m })))
          : h("div", { className: "stash-sense-nomatch" }, "No suggestion left for this person.")
      )
    );
  }

  /** The pre-selected suggestions of a scene not applied or rejected yet: [{scene, person, match}]. */
  function preselectedOf(scene, states) {
    const out = [];
    for (const person of scene.persons || []) {
      const match = shown(scene, person, states).find((m) => m.performer_id === person.preselected);
      if (!match) continue;
      const state = states[keyOf(scene.scene_id, person.person_id, match.performer_id)];
      if (!match.applied && !(state && state.status === "applied")) out.push({ scene, person, match });
    }
    return out;
  }

  function ReviewScene(props) {
    const { scene, states, applyMany } = props;
    const pre = preselectedOf(scene, states);
    const meta = [scene.studio, scene.date].filter(Boolean).join(" \u00b7 ");
    return h(
      "section",
      { className: "stash-sense-review-scene", "data-scene": scene.scene_id },
      h(
        "header",
        { className: "stash-sense-review-scene-header" },
        stashLink(`/scenes/${encodeURIComponent(scene.scene_id)}`, { className: "stash-sense-scene-title" },
          scene.title || `Scene ${scene.scene_id}`),
        meta ? h("span", { className: "stash-sense-scene-meta" }, meta) : null,
        pre.length
          ? h("button", { type: "button", className: "btn btn-sm btn-primary stash-sense-apply-scene", onClick: () => applyMany(pre) },
              `Apply pre-selected (${pre.length})`)
          : null
      ), // prettier-ignore
      (scene.persons || []).length
        ? scene.persons.map((p) => h(ReviewPerson, Object.assign({ key: p.person_id }, props, { person: p })))
        : h("div", { className: "stash-sense-nomatch" }, "Nobody found in this scene.")
    );
  }

  /** Every suggestion the page shows, in order: what j / k move through. */
  function visibleKeys(scenes, states) {
    const keys = [];
    for (const scene of scenes) {
      for (const person of scene.persons || []) {
        for (const m of shown(scene, person, states).slice(0, 3)) keys.push(keyOf(scene.scene_id, person.person_id, m.performer_id));
      }
    }
    return keys;
  }

  /** The suggestion behind a key, or null. */
  function findKey(scenes, key) {
    for (const scene of scenes) {
      for (const person of scene.persons || []) {
        for (const match of person.candidates || []) {
          if (keyOf(scene.scene_id, person.person_id, match.performer_id) === key) return { scene, person, match };
        }
      }
    }
    return null;
  }

  ns.review = { keyOf, stashLink, applySuggestion, ReviewScene, preselectedOf, visibleKeys, findKey };
})();
