// Stash Sense plugin: the scene page's "Identify Performers" button and results modal, and the
// performer page's "Find on stash-box". Written against window.PluginApi (its React, patch, toast);
// plain ES2020 with React.createElement, no build step.
(function () {
  "use strict";
  const api = window.PluginApi;
  const ns = window.StashSense;
  if (!api || !ns || !ns.queries) {
    console.error("Stash Sense: PluginApi or the plugin's own scripts are missing; not loaded.");
    return;
  }
  const React = api.React;
  const h = React.createElement;
  const { useState, useCallback } = React;

  // ---- small helpers -------------------------------------------------------------------------

  function useToastSafe() {
    const hook = api.hooks && api.hooks.useToast;
    const toast = hook ? hook() : null;
    return {
      success(message) {
        if (toast && toast.success) toast.success(message);
      },
      error(message) {
        if (toast && toast.error) toast.error(message);
      },
    };
  }

  function messageOf(err) {
    if (err instanceof ns.UserError) return err.message;
    return `Unexpected error: ${err && err.message ? err.message : String(err)}`;
  }

  /** The stash-box site page of a performer: the endpoint's origin + /performers/<id>. */
  function stashBoxLink(stashId) {
    try {
      const url = new URL(stashId.endpoint);
      return { host: url.host, href: `${url.origin}/performers/${encodeURIComponent(stashId.stash_id)}` };
    } catch (_err) {
      return null;
    }
  }

  function tierRank(tier) {
    const i = ns.TIERS.indexOf(tier);
    return i < 0 ? ns.TIERS.length : i;
  }

  function visibleMatches(matches, minTier) {
    const limit = tierRank(minTier);
    return (matches || []).filter((m) => tierRank(m.tier) <= limit);
  }

  function Modal(props) {
    const body = h(
      "div",
      { className: "stash-sense-backdrop", onClick: props.onClose },
      h(
        "div",
        {
          className: "stash-sense-modal",
          role: "dialog",
          "aria-label": props.title,
          onClick: (e) => e.stopPropagation(),
        },
        h(
          "div",
          { className: "stash-sense-modal-header" },
          h("h5", null, props.title),
          h(
            "button",
            { type: "button", className: "close stash-sense-close", "aria-label": "Close", onClick: props.onClose },
            "\u00d7"
          )
        ),
        h("div", { className: "stash-sense-modal-body" }, props.children)
      )
    );
    const portal = api.ReactDOM && api.ReactDOM.createPortal;
    return portal ? portal(body, document.body) : body;
  }

  function ErrorBox(props) {
    return h("div", { className: "stash-sense-error alert alert-danger", role: "alert" }, props.message);
  }

  function TierBadge(props) {
    const tier = props.tier || "unlikely";
    return h("span", { className: `stash-sense-tier stash-sense-tier-${tier}` }, tier);
  }

  function StashBoxLinks(props) {
    const links = (props.stashIds || []).map(stashBoxLink).filter(Boolean);
    if (!links.length) return null;
    return h(
      "span",
      { className: "stash-sense-links" },
      links.map((l) =>
        h("a", { key: l.href, href: l.href, target: "_blank", rel: "noopener noreferrer" }, l.host)
      )
    );
  }

  function CandidateImage(props) {
    const url = props.url;
    const ok = typeof url === "string" && /^(https?:|data:image\/|\/)/.test(url);
    if (!ok) return h("div", { className: "stash-sense-candidate-img stash-sense-noimg" }, "?");
    return h("img", { className: "stash-sense-candidate-img", src: url, alt: props.name, loading: "lazy" });
  }

  /** One candidate: image, name, disambiguation, tier, distance and stash-box links; then the
   * row's own actions (its children). Shared by the scene modal and the performer page. */
  function CandidateCard(props) {
    const { match, children } = props;
    return h(
      "div",
      { className: `stash-sense-candidate stash-sense-candidate-${match.tier || "unlikely"}`, "data-performer": match.name },
      h(CandidateImage, { url: match.image_url, name: match.name }),
      h(
        "div",
        { className: "stash-sense-candidate-info" },
        h(
          "div",
          { className: "stash-sense-candidate-name" },
          h("strong", null, match.name),
          match.disambiguation ? h("span", { className: "stash-sense-disambiguation" }, ` (${match.disambiguation})`) : null
        ),
        h(
          "div",
          { className: "stash-sense-candidate-meta" },
          h(TierBadge, { tier: match.tier }),
          h("span", { className: "stash-sense-distance" }, `distance ${Number(match.distance).toFixed(2)}`),
          h(StashBoxLinks, { stashIds: match.stash_ids })
        ),
        ...[].concat(children)
      )
    );
  }

  // ---- Stash operations ----------------------------------------------------------------------

  /** The local performer for a match: by any of its stash ids. */
  async function findByStashIds(match) {
    for (const sid of match.stash_ids || []) {
      const data = await ns.gql(ns.queries.performerByStashId, {
        endpoint: sid.endpoint,
        stash_id: sid.stash_id,
      });
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

  async function createPerformer(match) {
    const input = { name: match.name };
    if (match.disambiguation) input.disambiguation = match.disambiguation;
    // Stash takes a URL (it downloads the image) or a base64 data URL.
    if (typeof match.image_url === "string" && /^(https?:\/\/|data:image\/)/.test(match.image_url)) {
      input.image = match.image_url;
    }
    input.stash_ids = (match.stash_ids || []).map((s) => ({ endpoint: s.endpoint, stash_id: s.stash_id }));
    const data = await ns.gql(ns.queries.performerCreate, { input });
    return data.performerCreate;
  }

  /** Adds a performer to a scene, keeping every performer already there (read fresh first). */
  async function addToScene(sceneId, performerId) {
    const data = await ns.gql(ns.queries.scenePerformers, { id: sceneId });
    if (!data.findScene) throw new ns.UserError(`Stash has no scene ${sceneId}.`, "stash");
    const ids = data.findScene.performers.map((p) => String(p.id));
    if (ids.includes(String(performerId))) return false;
    await ns.gql(ns.queries.sceneUpdate, { input: { id: sceneId, performer_ids: ids.concat([String(performerId)]) } });
    return true;
  }

  // ---- scene page ----------------------------------------------------------------------------

  function feedbackBody(sceneId, person, match, verdict) {
    const sid = (match.stash_ids || [])[0] || {};
    return {
      scene_id: String(sceneId),
      person_id: person.person_id,
      performer_id: match.performer_id,
      stash_id: sid.stash_id || null,
      endpoint: sid.endpoint || null,
      verdict,
    };
  }

  function Candidate(props) {
    const { match, person, sceneId, settings, toast, added, onAdded } = props;
    const [state, setState] = useState(match.already_on_scene ? { status: "on-scene" } : { status: "idle" });

    const finish = useCallback(
      async (performer, created) => {
        const changed = await addToScene(sceneId, performer.id);
        setState({ status: "added", performer, created });
        onAdded(match.performer_id, performer);
        toast.success(
          changed ? `Added ${performer.name} to the scene` : `${performer.name} is already on the scene`
        );
        try {
          await ns.sidecar(settings, "POST", "/feedback", feedbackBody(sceneId, person, match, "accepted"));
        } catch (err) {
          setState((s) => Object.assign({}, s, { note: `Feedback not recorded: ${messageOf(err)}` }));
        }
      },
      [sceneId, person, match, settings, toast, onAdded]
    );

    const run = useCallback(
      async (step) => {
        setState({ status: "busy" });
        try {
          await step();
        } catch (err) {
          setState({ status: "error", message: messageOf(err) });
        }
      },
      []
    );

    const onAdd = () =>
      run(async () => {
        const byId = await findByStashIds(match);
        if (byId) return finish(byId, false);
        const byName = await findByName(match);
        if (byName) {
          setState({ status: "confirm", local: byName });
          return undefined;
        }
        return finish(await createPerformer(match), true);
      });
    const onUseLocal = () => run(() => finish(state.local, false));
    const onCreate = () => run(async () => finish(await createPerformer(match), true));
    const onReject = () =>
      run(async () => {
        await ns.sidecar(settings, "POST", "/feedback", feedbackBody(sceneId, person, match, "rejected"));
        setState({ status: "rejected" });
      });

    // The same performer added from another person's row is on the scene now.
    const elsewhere = added[match.performer_id];
    let actions;
    if (state.status === "idle" && elsewhere) {
      actions = h("span", { className: "stash-sense-on-scene badge badge-success" }, `On this scene (#${elsewhere.id})`);
    } else if (state.status === "on-scene") {
      actions = h("span", { className: "stash-sense-on-scene badge badge-success" }, "On this scene");
    } else if (state.status === "added") {
      actions = h(
        "span",
        { className: "stash-sense-added badge badge-success" },
        state.created ? `Created and added (#${state.performer.id})` : `Added (#${state.performer.id})`
      );
    } else if (state.status === "rejected") {
      actions = h("span", { className: "stash-sense-rejected badge badge-secondary" }, "Marked: not this person");
    } else if (state.status === "confirm") {
      const local = state.local;
      const who = `"${local.name}"${local.disambiguation ? ` (${local.disambiguation})` : ""}`;
      const how = sameName(local.name, match.name)
        ? `a performer named ${who}`
        : `${who}, also known as "${match.name}"`;
      const unlinked = (match.stash_ids || []).length ? " It is not linked to this stash-box entry." : "";
      actions = h(
        "div",
        { className: "stash-sense-confirm" },
        h("span", { className: "stash-sense-confirm-text" }, `Your Stash has ${how}.${unlinked} Use it?`),
        h("button", { type: "button", className: "btn btn-sm btn-primary", onClick: onUseLocal }, `Use ${local.name} (#${local.id})`),
        h("button", { type: "button", className: "btn btn-sm btn-secondary", onClick: onCreate }, "Create a new performer")
      );
    } else {
      const busy = state.status === "busy";
      actions = h(
        "div",
        { className: "stash-sense-actions" },
        h(
          "button",
          { type: "button", className: "btn btn-sm btn-primary stash-sense-add", disabled: busy, onClick: onAdd },
          busy ? "Working\u2026" : "Add to Scene"
        ),
        h(
          "button",
          { type: "button", className: "btn btn-sm btn-outline-secondary stash-sense-reject", disabled: busy, onClick: onReject },
          "Not this person"
        )
      );
    }

    return h(
      CandidateCard,
      { match },
      actions,
      state.status === "error" ? h(ErrorBox, { message: state.message }) : null,
      state.note ? h("div", { className: "stash-sense-note" }, state.note) : null
    );
  }

  function PersonRow(props) {
    const { person, settings } = props;
    const matches = visibleMatches(person.matches, settings.minTier).slice(0, 3);
    const times = (person.times || []).map((t) => `${Math.round(t)}s`).join(", ");
    return h(
      "div",
      { className: "stash-sense-person", "data-person": person.person_id },
      h(
        "div",
        { className: "stash-sense-face" },
        person.face_jpeg
          ? h("img", { src: `data:image/jpeg;base64,${person.face_jpeg}`, alt: `person ${person.person_id + 1}` })
          : h("div", { className: "stash-sense-noimg" }, "?"),
        h("div", { className: "stash-sense-face-meta" }, `${person.frames} frame${person.frames === 1 ? "" : "s"}`),
        times ? h("div", { className: "stash-sense-face-meta" }, times) : null
      ),
      h(
        "div",
        { className: "stash-sense-candidates" },
        matches.length
          ? matches.map((m) =>
              h(Candidate, Object.assign({ key: `${m.performer_id}` }, props, { match: m }))
            )
          : h(
              "div",
              { className: "stash-sense-nomatch" },
              `No candidate at tier "${settings.minTier}" or better.`
            )
      )
    );
  }

  function SceneResult(props) {
    const { result } = props;
    const persons = result.persons || [];
    // Database performer id -> the local performer added to the scene, shared by every row.
    const [added, setAdded] = useState({});
    const onAdded = useCallback(
      (performerId, performer) => setAdded((a) => Object.assign({}, a, { [performerId]: performer })),
      []
    );
    if (!persons.length) {
      return h(ErrorBox, {
        message:
          `No face found in this scene (${result.frames_sampled || 0} frames sampled` +
          `${result.source ? ` from the ${result.source}` : ""}).`,
      });
    }
    return h(
      "div",
      null,
      h(
        "div",
        { className: "stash-sense-summary" },
        `${persons.length} ${persons.length === 1 ? "person" : "people"} found in ` +
          `${result.frames_sampled} frames (${result.source}, ${Number(result.elapsed_s || 0).toFixed(1)} s)`
      ),
      persons.map((p) => h(PersonRow, Object.assign({ key: p.person_id }, props, { person: p, added, onAdded })))
    );
  }

  function IdentifyButton(props) {
    const scene = props.scene;
    const toast = useToastSafe();
    const [state, setState] = useState({ status: "idle" });
    const onClick = async () => {
      setState({ status: "busy" });
      try {
        const settings = await ns.loadSettings();
        const result = await ns.sidecar(settings, "POST", "/identify/scene", {
          scene_id: String(scene.id),
          frames: settings.frames,
        });
        setState({ status: "done", settings, result });
      } catch (err) {
        setState({ status: "error", message: messageOf(err) });
      }
    };
    const close = () => setState({ status: "idle" });
    const busy = state.status === "busy";
    let modal = null;
    if (state.status === "done" || state.status === "error") {
      modal = h(
        Modal,
        { title: "Stash Sense: who is in this scene?", onClose: close },
        state.status === "error"
          ? h(ErrorBox, { message: state.message })
          : h(SceneResult, { result: state.result, settings: state.settings, sceneId: String(scene.id), toast })
      );
    }
    return h(
      "div",
      { className: "nav-item stash-sense-scene-tools" },
      h(
        "button",
        {
          type: "button",
          className: "btn btn-secondary stash-sense-identify",
          disabled: busy,
          "aria-busy": busy ? "true" : "false",
          onClick,
        },
        busy ? h("span", { className: "stash-sense-spinner", "aria-hidden": "true" }) : null,
        busy ? "Identifying\u2026" : "Identify Performers"
      ),
      modal
    );
  }

  // ---- performer page ------------------------------------------------------------------------

  function LinkCandidate(props) {
    const { match, performerId, toast } = props;
    const [state, setState] = useState({ status: "idle" });
    const onLink = async () => {
      setState({ status: "busy" });
      try {
        const data = await ns.gql(ns.queries.performerStashIds, { id: performerId });
        if (!data.findPerformer) throw new ns.UserError(`Stash has no performer ${performerId}.`, "stash");
        const existing = data.findPerformer.stash_ids.map((s) => ({ endpoint: s.endpoint, stash_id: s.stash_id }));
        const key = (s) => `${s.endpoint}\n${s.stash_id}`;
        const have = new Set(existing.map(key));
        const added = (match.stash_ids || []).filter((s) => !have.has(key(s)));
        if (added.length) {
          const stashIds = existing.concat(added.map((s) => ({ endpoint: s.endpoint, stash_id: s.stash_id })));
          await ns.gql(ns.queries.performerUpdate, { input: { id: performerId, stash_ids: stashIds } });
        }
        setState({ status: "linked", count: added.length });
        toast.success(added.length ? `Linked ${match.name}'s stash-box entry` : "Already linked");
      } catch (err) {
        setState({ status: "error", message: messageOf(err) });
      }
    };
    return h(
      CandidateCard,
      { match },
      state.status === "linked"
        ? h("span", { className: "stash-sense-added badge badge-success" }, state.count ? "Linked" : "Already linked")
        : !(match.stash_ids || []).length
        ? h("span", { className: "stash-sense-nolink" }, "No stash-box id to link")
        : h(
            "button",
            {
              type: "button",
              className: "btn btn-sm btn-primary stash-sense-link",
              disabled: state.status === "busy",
              onClick: onLink,
            },
            state.status === "busy" ? "Linking\u2026" : "Link"
          ),
      state.status === "error" ? h(ErrorBox, { message: state.message }) : null
    );
  }

  /** The candidates of /identify/performer, whichever shape it answers with (faces or matches). */
  function performerMatches(result) {
    if (Array.isArray(result.matches)) return result.matches;
    const faces = Array.isArray(result.faces) ? result.faces : [];
    return faces.length ? faces[0].matches || [] : [];
  }

  function FindOnStashBox(props) {
    const performer = props.performer;
    const toast = useToastSafe();
    const [state, setState] = useState({ status: "idle" });
    const onClick = async () => {
      setState({ status: "busy" });
      try {
        const settings = await ns.loadSettings();
        const result = await ns.sidecar(settings, "POST", "/identify/performer", {
          performer_id: String(performer.id),
        });
        const faces = Array.isArray(result.faces) ? result.faces.length : null;
        if (faces === 0) throw new ns.UserError("No face found in this performer's image.", "noface");
        setState({ status: "done", matches: visibleMatches(performerMatches(result), settings.minTier) });
      } catch (err) {
        setState({ status: "error", message: messageOf(err) });
      }
    };
    const close = () => setState({ status: "idle" });
    let modal = null;
    if (state.status === "done" || state.status === "error") {
      let content;
      if (state.status === "error") content = h(ErrorBox, { message: state.message });
      else if (!state.matches.length) content = h("div", { className: "stash-sense-nomatch" }, "No candidate found.");
      else
        content = state.matches.map((m) =>
          h(LinkCandidate, { key: m.performer_id, match: m, performerId: String(performer.id), toast })
        );
      modal = h(Modal, { title: `Stash Sense: who is ${performer.name}?`, onClose: close }, content);
    }
    return h(
      "div",
      { className: "stash-sense-performer-tools" },
      h(
        "button",
        {
          type: "button",
          className: "btn btn-secondary stash-sense-find",
          disabled: state.status === "busy",
          onClick,
        },
        state.status === "busy" ? "Searching\u2026" : "Find on stash-box"
      ),
      modal
    );
  }

  // ---- patches -------------------------------------------------------------------------------

  // An after-patch gets the component's call arguments, then its result: React calls function
  // components with (props, secondArg), so the result is the last argument, props the first.
  api.patch.after("ScenePage.Tabs", function (...args) {
    const props = args[0];
    const result = args[args.length - 1];
    if (!props || !props.scene) return result;
    return h(React.Fragment, null, result, h(IdentifyButton, { key: "stash-sense", scene: props.scene }));
  });

  api.patch.after("PerformerDetailsPanel", function (...args) {
    const props = args[0];
    const result = args[args.length - 1];
    if (!props || !props.performer) return result;
    return h(React.Fragment, null, result, h(FindOnStashBox, { key: "stash-sense", performer: props.performer }));
  });

  ns.components = { IdentifyButton, FindOnStashBox };
})();
