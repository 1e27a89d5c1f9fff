// Stash Sense plugin: the performer page's identity panel. Asks the sidecar's identity graph
// (POST /identity) who this performer is across stash-boxes, shows which of the stash-box
// endpoints configured in Stash have them and which Stash has not linked yet, and adds the
// missing stash ids in one click (performerUpdate through Stash's Apollo client, the ids the
// performer has sent back as read, updated_at included). Plain ES2020, no build step.
(function () {
  "use strict";
  const api = window.PluginApi;
  const ns = window.StashSense;
  if (!api || !ns || !ns.queries || !ns.ui || !ns.performers) {
    console.error("Stash Sense: PluginApi or the plugin's own scripts are missing; performer panel not loaded.");
    return;
  }
  const React = api.React;
  const h = React.createElement;
  const { useState, useEffect } = React;
  const { stashBoxLink } = ns.ui;

  /** An endpoint URL as compared (the sidecar compares them the same way). */
  const endpointKey = (e) => String(e || "").trim().replace(/\/+$/, "").toLowerCase();

  function messageOf(err) {
    return err instanceof ns.UserError ? err.message : `Unexpected error: ${(err && err.message) || String(err)}`;
  }

  /** The panel's errors, in its own box: the page's other Stash Sense tools keep theirs. */
  function PanelError(props) {
    return h("div", { className: "stash-sense-identity-error alert alert-warning", role: "alert" }, props.message);
  }

  // What the sidecar accepts (app/identity.py): a performer's other stash ids are not asked about.
  const ASKABLE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
  const askable = (s) => /^https?:\/\/[^/\s]+/i.test(String(s.endpoint)) && ASKABLE_ID.test(String(s.stash_id));

  /**
   * One row per stash-box configured in Stash: "linked" (Stash has this performer's id there),
   * "missing" (the graph has them there, Stash has no id), "absent" (neither); and the identity's
   * endpoints Stash has no stash-box for.
   */
  function plan(boxes, stashIds, identity) {
    const have = new Map(stashIds.map((s) => [endpointKey(s.endpoint), s]));
    const graph = new Map();
    for (const s of identity.sources) if (!graph.has(endpointKey(s.endpoint))) graph.set(endpointKey(s.endpoint), s);
    const rows = boxes.map((box) => {
      const key = endpointKey(box.endpoint);
      const linked = have.get(key);
      const source = graph.get(key);
      let state = linked ? "linked" : source ? "missing" : "absent";
      if (linked && source && linked.stash_id !== source.stash_id) state = "other"; // Stash's differs: left alone
      return { box, linked, source, state };
    });
    const configured = new Set(boxes.map((b) => endpointKey(b.endpoint)));
    const elsewhere = identity.sources.filter((s) => !configured.has(endpointKey(s.endpoint)));
    return { rows, elsewhere };
  }

  function SourcePicture(props) {
    const { settings, source } = props;
    const [src, setSrc] = useState(null);
    useEffect(() => {
      let live = true;
      if (source.image) {
        ns.sidecar(settings, "GET", source.image).then(
          (r) => live && r && typeof r.data_url === "string" && r.data_url.startsWith("data:image/") && setSrc(r.data_url),
          () => undefined // no picture is no error: the name and id say who it is
        );
      }
      return () => {
        live = false;
      };
    }, [source.image]);
    if (!src) return h("div", { className: "stash-sense-identity-img stash-sense-noimg" }, "?");
    return h("img", { className: "stash-sense-identity-img", src, alt: source.name });
  }

  function SourceCell(props) {
    const { source, settings } = props;
    const link = stashBoxLink(source);
    const urls = (source.urls || []).filter((u) => /^https?:\/\//i.test(u)).slice(0, 6);
    return h(
      "div",
      { className: "stash-sense-identity-source" },
      h(SourcePicture, { source, settings }),
      h(
        "div",
        null,
        h("strong", null, source.name),
        " ",
        link
          ? h("a", { href: link.href, target: "_blank", rel: "noopener noreferrer", className: "stash-sense-identity-id" }, source.stash_id)
          : h("code", null, source.stash_id),
        urls.length
          ? h(
              "div",
              { className: "stash-sense-identity-urls" },
              urls.map((u) => h("a", { key: u, href: u, target: "_blank", rel: "noopener noreferrer" }, u.replace(/^https?:\/\/(www\.)?/i, "")))
            )
          : null
      )
    );
  }

  const STATE_WORDS = {
    linked: "Linked in Stash",
    missing: "Not linked in Stash yet",
    absent: "Not in the identity graph",
    other: "Linked in Stash to another id than the graph's",
  };

  function IdentityTable(props) {
    const { rows, settings } = props;
    return h(
      "table",
      { className: "table table-sm stash-sense-identity-table" },
      h("tbody", null, rows.map((r) =>
        h(
          "tr",
          { key: r.box.endpoint, "data-endpoint": r.box.endpoint, "data-state": r.state },
          h("td", null, r.box.name || r.box.endpoint),
          h("td", null, h("span", { className: `badge stash-sense-identity-${r.state}` }, STATE_WORDS[r.state])),
          h("td", null, r.source ? h(SourceCell, { source: r.source, settings }) : r.linked ? h("code", null, r.linked.stash_id) : null)
        )
      ))
    );
  }

  /** The panel: loads Stash's stash-boxes and the graph's identity, then shows the plan. */
  function IdentityPanel(props) {
    const { performer } = props;
    const stashIds = performer.stash_ids || [];
    const idsKey = stashIds.map((s) => `${s.endpoint} ${s.stash_id}`).join("|");
    const [state, setState] = useState({ status: "loading" });
    const [adding, setAdding] = useState({ status: "idle" });

    useEffect(() => {
      let live = true;
      (async () => {
        if (!stashIds.length) return { status: "no-ids" };
        const settings = await ns.loadSettings();
        const config = await ns.gql(ns.queries.stashBoxes);
        const boxes = ((config.configuration || {}).general || {}).stashBoxes || [];
        const asked = stashIds.filter(askable).slice(0, 50).map((s) => ({ endpoint: s.endpoint, stash_id: s.stash_id }));
        if (!asked.length) return { status: "unknown" };
        try {
          const identity = await ns.sidecar(settings, "POST", "/identity", { stash_ids: asked });
          return { status: "done", settings, boxes, identity };
        } catch (err) {
          if (err.status === 404) return { status: "unknown" };
          if (err.status === 422) return { status: "no-graph", message: err.message }; // none built yet
          throw err;
        }
      })().then(
        (next) => live && setState((s) => (s.status === "done" && next.status === "done" ? Object.assign({}, s, { identity: next.identity, boxes: next.boxes }) : next)),
        (err) => live && setState({ status: "error", message: messageOf(err) })
      );
      return () => {
        live = false;
      };
    }, [performer.id, idsKey]);

    let body;
    if (state.status === "loading") body = h("div", { className: "stash-sense-identity-note" }, "Asking the identity graph\u2026");
    else if (state.status === "error" || state.status === "no-graph") body = h(PanelError, { message: state.message });
    else if (state.status === "no-ids")
      body = h("div", { className: "stash-sense-identity-note" },
        "This performer has no stash-box id yet, so the identity graph cannot say who they are: " +
          "Find on stash-box links one.");
    else if (state.status === "unknown")
      body = h("div", { className: "stash-sense-identity-note" },
        "The face database's identity graph does not know this performer's stash ids.");
    else {
      const { rows, elsewhere } = plan(state.boxes, stashIds, state.identity);
      const missing = rows.filter((r) => r.state === "missing").map((r) => r.source);
      const onAdd = async () => {
        setAdding({ status: "busy" });
        try {
          const { added, stale } = await ns.performers.linkStashIds(String(performer.id), { stash_ids: missing });
          setAdding({ status: "done", added, stale });
        } catch (err) {
          setAdding({ status: "error", message: messageOf(err) });
        }
      };
      const n = missing.length;
      body = h(
        React.Fragment,
        null,
        state.boxes.length
          ? h(IdentityTable, { rows, settings: state.settings })
          : h("div", { className: "stash-sense-identity-note" }, "Stash has no stash-box endpoint configured (Settings > Metadata Providers)."),
        elsewhere.length
          ? h("div", { className: "stash-sense-identity-elsewhere" },
              `Also known on endpoints not configured in Stash: ${elsewhere.map((s) => `${s.endpoint} (${s.stash_id})`).join(", ")}.`)
          : null,
        state.identity.elsewhere.length
          ? h("div", { className: "stash-sense-identity-note alert alert-warning" },
              `Some of this performer's stash ids belong to another identity in the graph: ${state.identity.elsewhere.map((s) => `${s.endpoint} (${s.stash_id})`).join(", ")}. Check them on the stash-boxes.`)
          : null,
        n
          ? h("button", { type: "button", className: "btn btn-primary btn-sm stash-sense-identity-add", disabled: adding.status === "busy", onClick: onAdd },
              adding.status === "busy" ? "Adding\u2026" : `Add ${n} missing stash id${n === 1 ? "" : "s"}`)
          : h("div", { className: "stash-sense-identity-note stash-sense-identity-complete" }, "Every configured stash-box that has this performer is linked."),
        adding.status === "done"
          ? h("div", { className: "stash-sense-identity-note stash-sense-identity-done" },
              `Added ${adding.added} stash id${adding.added === 1 ? "" : "s"}.${adding.stale ? ns.performers.RELOAD : ""}`)
          : null,
        adding.status === "error" ? h(PanelError, { message: adding.message }) : null
      );
    }
    return h(
      "div",
      { className: "stash-sense-identity", "data-state": state.status },
      h("h6", { className: "stash-sense-identity-title" }, "Stash Sense: this performer on stash-boxes"),
      body
    );
  }

  const patch = (api.patch && api.patch.after) || (() => undefined);
  patch("PerformerDetailsPanel", function (...args) {
    const props = args[0];
    const result = args[args.length - 1];
    if (!props || !props.performer) return result;
    return h(React.Fragment, null, result, h(IdentityPanel, { key: "stash-sense-identity", performer: props.performer }));
  });

  ns.components = Object.assign({}, ns.components, { IdentityPanel });
})();
