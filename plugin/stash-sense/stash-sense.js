// Stash Sense plugin: the scene page's "Identify Performers" button and results modal, and the
// performer page's "Find on stash-box". Written against window.PluginApi (its React, patch, toast);
// plain ES2020 with React.createElement, no build step.
(function () {
  "use strict";
  const api = window.PluginApi;
  const ns = window.StashSense;
  if (!api || !ns || !ns.queries || !ns.ui || !ns.performers) {
    console.error("Stash Sense: PluginApi or the plugin's own scripts are missing; not loaded.");
    return;
  }
  const React = api.React;
  const h = React.createElement;
  const { useState, useCallback, useRef } = React;

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

  const { Modal, ErrorBox, TierLegend, CandidateCard, Times } = ns.ui;

  const { performerHref, findByStashIds, sameName, findByName, linkStashIds, createPerformer, addToScene, RELOAD } =
    ns.performers;

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

  function AddedBadge(props) {
    const { performer, label } = props;
    return h(
      "a",
      { className: "stash-sense-added badge badge-success", href: performerHref(performer.id), title: `Open ${performer.name} in Stash` },
      `${label} ${performer.name} (#${performer.id})`
    );
  }

  function Candidate(props) {
    const { match, person, sceneId, settings, toast, added, onAdded } = props;
    const [state, setState] = useState(match.already_on_scene ? { status: "on-scene" } : { status: "idle" });

    // how: "created" (a new performer), "linked" (a local one given the match's stash-box ids) or "found".
    const finish = useCallback(
      async (performer, how, linkStale) => {
        const { changed, stale } = await addToScene(sceneId, performer.id);
        setState({ status: "added", performer, how });
        onAdded(match.performer_id, performer);
        const said = changed ? `Added ${performer.name} to the scene` : `${performer.name} is already on the scene`;
        const linked = how === "linked" ? `, linked to ${match.name}'s stash-box entry` : "";
        toast.success(said + linked + (stale || linkStale ? RELOAD : ""));
        try {
          await ns.sidecar(settings, "POST", "/feedback", feedbackBody(sceneId, person, match, "accepted"));
        } catch (err) {
          setState((s) => Object.assign({}, s, { note: `Feedback not recorded: ${messageOf(err)}` }));
        }
      },
      [sceneId, person, match, settings, toast, onAdded]
    );

    const run = useCallback(async (step) => {
      setState({ status: "busy" });
      try {
        await step();
      } catch (err) {
        setState({ status: "error", message: messageOf(err) });
      }
    }, []);

    const onAdd = () =>
      run(async () => {
        const byId = await findByStashIds(match);
        if (byId) return finish(byId, "found");
        const byName = await findByName(match);
        if (byName) {
          setState({ status: "confirm", local: byName });
          return undefined;
        }
        return finish(await createPerformer(match), "created");
      });
    // The local performer is this match from now on: it gets the match's stash-box ids first, so
    // the next Identify (and Add) finds it by them.
    const onUseLocal = () =>
      run(async () => {
        const { added, stale } = await linkStashIds(state.local.id, match);
        return finish(state.local, added ? "linked" : "found", stale);
      });
    const onCreate = () => run(async () => finish(await createPerformer(match), "created"));
    const onReject = () =>
      run(async () => {
        await ns.sidecar(settings, "POST", "/feedback", feedbackBody(sceneId, person, match, "rejected"));
        setState({ status: "rejected" });
      });

    // The same performer added from another person's row is on the scene now.
    const elsewhere = added[match.performer_id];
    let actions;
    if (state.status === "idle" && elsewhere) {
      actions = h(AddedBadge, { performer: elsewhere, label: "On this scene:" });
    } else if (state.status === "on-scene") {
      const local = match.stash_performer_id ? { id: match.stash_performer_id, name: match.name } : null;
      actions = local
        ? h(AddedBadge, { performer: local, label: "On this scene:" })
        : h("span", { className: "stash-sense-on-scene badge badge-success" }, "On this scene");
    } else if (state.status === "added") {
      const label = { created: "Created and added", linked: "Linked and added" }[state.how] || "Added";
      actions = h(AddedBadge, { performer: state.performer, label });
    } else if (state.status === "rejected") {
      actions = h("span", { className: "stash-sense-rejected badge badge-secondary" }, "Marked: not this person");
    } else if (state.status === "confirm") {
      const local = state.local;
      const who = `"${local.name}"${local.disambiguation ? ` (${local.disambiguation})` : ""}`;
      const how = sameName(local.name, match.name) ? `a performer named ${who}` : `${who}, also known as "${match.name}"`;
      const unlinked = (match.stash_ids || []).length
        ? " It is not linked to this stash-box entry; using it links it."
        : "";
      // Stash refuses a second performer with the same name and disambiguation (pkg/performer/validate.go).
      const taken = sameName(local.name, match.name) && sameName(local.disambiguation, match.disambiguation);
      actions = h(
        "div",
        { className: "stash-sense-confirm" },
        h("span", { className: "stash-sense-confirm-text" }, `Your Stash has ${how}.${unlinked} Use it?`),
        h("button", { type: "button", className: "btn btn-sm btn-primary", onClick: onUseLocal }, `Use ${local.name} (#${local.id})`),
        taken
          ? h(
              "span",
              { className: "stash-sense-confirm-note" },
              `To create a new performer instead, first give #${local.id} a disambiguation in Stash: ` +
                "Stash keeps one performer per name and disambiguation."
            )
          : h("button", { type: "button", className: "btn btn-sm btn-secondary", onClick: onCreate }, "Create a new performer")
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
      { match, settings },
      actions,
      state.status === "error" ? h(ErrorBox, { message: state.message }) : null,
      state.note ? h("div", { className: "stash-sense-note" }, state.note) : null
    );
  }

  function PersonRow(props) {
    const { person, onSeek } = props;
    const matches = (person.matches || []).slice(0, 3);
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
        h(Times, { times: person.times, onSeek })
      ),
      h(
        "div",
        { className: "stash-sense-candidates" },
        matches.length
          ? matches.map((m) => h(Candidate, Object.assign({ key: `${m.performer_id}` }, props, { match: m })))
          : h("div", { className: "stash-sense-nomatch" }, `No candidate at tier "${props.settings.minTier}" or better.`)
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
    const all = [].concat(...persons.map((p) => (p.matches || []).slice(0, 3)));
    return h(
      "div",
      null,
      h(
        "div",
        { className: "stash-sense-summary" },
        `${persons.length} ${persons.length === 1 ? "person" : "people"} found in ` +
          `${result.frames_sampled} frames (${result.source}, ${Number(result.elapsed_s || 0).toFixed(1)} s). ` +
          "Click a time to play the scene from there."
      ),
      h(TierLegend, { matches: all }),
      persons.map((p) => h(PersonRow, Object.assign({ key: p.person_id }, props, { person: p, added, onAdded })))
    );
  }

  /** Seeks Stash's player: the page's setTimestamp when the patch point passes it, else the video. */
  function seeker(setTimestamp) {
    return (seconds) => {
      if (typeof setTimestamp === "function") return setTimestamp(seconds);
      const video = document.querySelector("video");
      if (video) video.currentTime = seconds;
      return undefined;
    };
  }

  function IdentifyButton(props) {
    const { scene, setTimestamp, note, className } = props;
    const toast = useToastSafe();
    const opener = useRef(null);
    const [state, setState] = useState({ status: "idle" });
    const onClick = async () => {
      setState({ status: "busy" });
      try {
        const settings = await ns.loadSettings();
        const result = await ns.sidecar(settings, "POST", "/identify/scene", {
          scene_id: String(scene.id),
          frames: settings.frames,
          min_tier: settings.minTier,
        });
        setState({ status: "done", open: true, settings, result });
      } catch (err) {
        setState({ status: "error", open: true, message: messageOf(err), kind: err.kind });
      }
    };
    const close = useCallback(() => setState((s) => Object.assign({}, s, { open: false })), []);
    const seek = seeker(setTimestamp);
    const onSeek = (seconds) => {
      seek(seconds);
      close();
    };
    const busy = state.status === "busy";
    let modal = null;
    if (state.open) {
      modal = h(
        Modal,
        { title: "Stash Sense: who is in this scene?", onClose: close, returnTo: opener },
        note ? h("div", { className: "stash-sense-fallback-note alert alert-info" }, note) : null,
        state.status === "error"
          ? h(ErrorBox, { message: state.message, kind: state.kind })
          : h(SceneResult, { result: state.result, settings: state.settings, sceneId: String(scene.id), toast, onSeek })
      );
    }
    const reopen =
      state.status === "done" && !state.open
        ? h(
            "button",
            {
              type: "button",
              className: "btn btn-link stash-sense-reopen",
              onClick: () => setState((s) => Object.assign({}, s, { open: true })),
            },
            "Results"
          )
        : null;
    return h(
      "div",
      { className: `nav-item stash-sense-scene-tools ${className || ""}` },
      h(
        "button",
        {
          ref: opener,
          type: "button",
          className: "btn btn-secondary btn-sm stash-sense-identify",
          disabled: busy,
          "aria-busy": busy ? "true" : "false",
          title: "Stash Sense: find who is in this scene by their faces",
          onClick,
        },
        busy ? h("span", { className: "stash-sense-spinner", "aria-hidden": "true" }) : null,
        busy ? "Identifying\u2026" : "Identify Performers"
      ),
      reopen,
      modal
    );
  }

  // ---- performer page ------------------------------------------------------------------------

  function LinkCandidate(props) {
    const { match, performerId, settings, toast } = props;
    const [state, setState] = useState({ status: "idle" });
    const onLink = async () => {
      setState({ status: "busy" });
      try {
        const { added, stale } = await linkStashIds(performerId, match);
        setState({ status: "linked", count: added });
        toast.success((added ? `Linked ${match.name}'s stash-box entry` : "Already linked") + (stale ? RELOAD : ""));
      } catch (err) {
        setState({ status: "error", message: messageOf(err) });
      }
    };
    let action;
    if (state.status === "linked") {
      action = h("span", { className: "stash-sense-added badge badge-success" }, state.count ? "Linked" : "Already linked");
    } else if (!(match.stash_ids || []).length) {
      action = h("span", { className: "stash-sense-nolink" }, "No stash-box id to link");
    } else {
      action = h(
        "button",
        { type: "button", className: "btn btn-sm btn-primary stash-sense-link", disabled: state.status === "busy", onClick: onLink },
        state.status === "busy" ? "Linking\u2026" : "Link"
      );
    }
    return h(
      CandidateCard,
      { match, settings },
      action,
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
    const opener = useRef(null);
    const [state, setState] = useState({ status: "idle" });
    const onClick = async () => {
      setState({ status: "busy" });
      try {
        const settings = await ns.loadSettings();
        const result = await ns.sidecar(settings, "POST", "/identify/performer", {
          performer_id: String(performer.id),
          min_tier: settings.minTier,
        });
        const faces = Array.isArray(result.faces) ? result.faces.length : null;
        if (faces === 0) throw new ns.UserError("No face found in this performer's image.", "noface");
        setState({ status: "done", settings, matches: performerMatches(result) });
      } catch (err) {
        setState({ status: "error", message: messageOf(err), kind: err.kind });
      }
    };
    const close = useCallback(() => setState({ status: "idle" }), []);
    let modal = null;
    if (state.status === "done" || state.status === "error") {
      let content;
      if (state.status === "error") content = h(ErrorBox, { message: state.message, kind: state.kind });
      else if (!state.matches.length) content = h("div", { className: "stash-sense-nomatch" }, "No candidate found.");
      else
        content = h(
          "div",
          null,
          h(TierLegend, { matches: state.matches }),
          state.matches.map((m) =>
            h(LinkCandidate, { key: m.performer_id, match: m, performerId: String(performer.id), settings: state.settings, toast })
          )
        );
      // The performer's own picture (from Stash, same origin) beside the candidates.
      const own = performer.image_path
        ? h("img", { className: "stash-sense-own-img", src: performer.image_path, alt: performer.name })
        : h("div", { className: "stash-sense-own-img stash-sense-noimg" }, "?");
      modal = h(
        Modal,
        { title: `Stash Sense: who is ${performer.name}?`, onClose: close, returnTo: opener },
        h(
          "div",
          { className: "stash-sense-performer-result" },
          h("div", { className: "stash-sense-own" }, own, h("div", { className: "stash-sense-face-meta" }, performer.name)),
          h("div", { className: "stash-sense-candidates" }, content)
        )
      );
    }
    return h(
      "div",
      { className: "stash-sense-performer-tools" },
      h(
        "button",
        { ref: opener, type: "button", className: "btn btn-secondary stash-sense-find", disabled: state.status === "busy", onClick },
        state.status === "busy" ? "Searching\u2026" : "Find on stash-box"
      ),
      modal
    );
  }

  // ---- patches -------------------------------------------------------------------------------

  // An after-patch gets the component's call arguments, then its result: React calls function
  // components with (props, secondArg), so the result is the last argument, props the first.
  // ScenePage.Tabs gets the scene page's props (stashapp/stash ui/v2.5/src/components/Scenes/
  // SceneDetails/Scene.tsx), setTimestamp among them.
  const patch = (api.patch && api.patch.after) || (() => undefined); // no patching before Stash v0.25
  patch("ScenePage.Tabs", function (...args) {
    const props = args[0];
    const result = args[args.length - 1];
    if (!props || !props.scene) return result;
    return h(
      React.Fragment,
      null,
      result,
      h(IdentifyButton, { key: "stash-sense", scene: props.scene, setTimestamp: props.setTimestamp })
    );
  });

  patch("PerformerDetailsPanel", function (...args) {
    const props = args[0];
    const result = args[args.length - 1];
    if (!props || !props.performer) return result;
    return h(React.Fragment, null, result, h(FindOnStashBox, { key: "stash-sense", performer: props.performer }));
  });

  // ---- where the scene page cannot be patched --------------------------------------------------

  // Stash before v0.28.0 has no ScenePage.Tabs to patch (and a later Stash might rename it): when a
  // scene page shows no Identify button, a floating one appears in the corner instead, saying why.
  const SCENE_PATH = /\/scenes\/(\d+)\/?$/;
  let fallback = null; // {sceneId, node}

  function removeFallback() {
    if (!fallback) return;
    api.ReactDOM.unmountComponentAtNode(fallback.node);
    fallback.node.remove();
    fallback = null;
  }

  async function fallbackNote() {
    const version = await ns.stashVersion();
    if (version && ns.versionBelow(version, ns.MIN_STASH)) {
      return `This Stash (${version}) is older than ${ns.MIN_STASH}, the first release whose scene page the plugin ` +
        "can add its button to, so the button is in the corner instead. Update Stash to have it beside the scene tabs.";
    }
    return "The plugin could not add its button beside the scene tabs on this Stash" +
      `${version ? ` (${version})` : ""}, so it is in the corner instead.`;
  }

  let waitingSince = null;
  async function watchScenePage() {
    const m = window.location.pathname.match(SCENE_PATH);
    const patched = document.querySelector(".stash-sense-scene-tools:not(.stash-sense-fallback)");
    if (!m || patched) {
      waitingSince = null;
      removeFallback();
      return;
    }
    if (fallback && fallback.sceneId === m[1]) return;
    removeFallback();
    waitingSince = waitingSince || Date.now();
    const version = await ns.stashVersion();
    const old = version && ns.versionBelow(version, ns.MIN_STASH);
    // A new enough Stash gets time to render its page before the plugin gives up on the patch.
    if (!old && Date.now() - waitingSince < 4000) return;
    if (!window.location.pathname.match(SCENE_PATH) || fallback) return;
    const note = await fallbackNote();
    const node = document.createElement("div");
    node.className = "stash-sense-fallback-root";
    document.body.appendChild(node);
    fallback = { sceneId: m[1], node };
    api.ReactDOM.render(
      h(IdentifyButton, { scene: { id: m[1] }, note, className: "stash-sense-fallback" }),
      node
    );
  }

  setInterval(() => {
    watchScenePage().catch((err) => console.error("Stash Sense:", err));
  }, 1000);

  ns.components = { IdentifyButton, FindOnStashBox };
})();
