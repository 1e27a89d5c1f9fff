// Stash Sense plugin: the library health tabs of the review page (the sidecar's /library/health):
// local performers to link to their stash-box entry, likely duplicates to merge in Stash, scenes
// to check (tagged but not seen, seen but not tagged). Plain ES2020 with PluginApi.React, no build
// step. Exposes window.StashSense.health.
(function () {
  "use strict";
  const api = window.PluginApi;
  const ns = window.StashSense;
  if (!api || !ns || !ns.ui || !ns.review || !ns.performers) return;
  const React = api.React;
  const h = React.createElement;
  const { useState, useEffect, useCallback, useRef } = React;
  const { ErrorBox, TierBadge } = ns.ui;
  const link = ns.review.stashLink;
  const LIMIT = 50;

  const KINDS = {
    link: "Local performers whose picture matches a database performer with stash-box ids they lack. " +
      "Link adds those ids to the performer in Stash (keeping the ones it has).",
    merge: "Local performers that look like one person (a shared stash-box id, or pictures of the same face). " +
      "Nothing is merged here: open them in Stash and use its Merge, then mark the item done.",
    check: "Scenes whose scan disagrees with Stash: performers tagged but not seen, people seen but not tagged.",
    graph: "Local performers whose stash-box ids the identity graph knows on more stash-boxes than Stash has them. " +
      "Link adds the missing ids to the performer in Stash (keeping the ones it has).",
  }; // prettier-ignore

  function messageOf(err) {
    return err instanceof ns.UserError ? err.message : `Unexpected error: ${err && err.message ? err.message : String(err)}`;
  }

  function host(endpoint) {
    try {
      return new URL(endpoint).host;
    } catch (_err) {
      return String(endpoint);
    }
  }

  function Performer(props) {
    const p = props.performer;
    return h(
      "span",
      { className: "stash-sense-health-performer", "data-id": p.id },
      p.image_url ? h("img", { className: "stash-sense-health-img", src: p.image_url, alt: p.name }) : null,
      link(`/performers/${encodeURIComponent(p.id)}`, null, `${p.name} (#${p.id})`),
      typeof p.scene_count === "number" ? h("span", { className: "stash-sense-scene-meta" }, ` ${p.scene_count} scenes`) : null
    );
  }

  function Match(props) {
    const m = props.match;
    return h(
      "span",
      { className: "stash-sense-health-match", "data-performer": m.name },
      h("strong", null, m.name),
      m.disambiguation ? ` (${m.disambiguation})` : "",
      " ",
      h(TierBadge, { tier: m.tier }),
      h("span", { className: "stash-sense-distance" }, ` distance ${Number(m.distance).toFixed(2)} `),
      (m.stash_ids || []).map((s) => h("span", { key: s.stash_id, className: "stash-sense-stash-id" }, `${host(s.endpoint)} `))
    );
  }

  function Body(props) {
    const { item } = props;
    if (item.kind === "graph") {
      return h("div", { className: "stash-sense-health-body" }, h(Performer, { performer: item.performer }), ` is ${item.match.name} in the identity graph`);
    }
    if (item.kind === "link") {
      return h("div", { className: "stash-sense-health-body" }, h(Performer, { performer: item.performer }), " matches ", h(Match, { match: item.match }));
    }
    if (item.kind === "merge") {
      return h("div", { className: "stash-sense-health-body" }, item.performers.map((p) => h(Performer, { key: p.id, performer: p })));
    }
    const names = (list) => list.map((x) => x.name).join(", ");
    return h(
      "div",
      { className: "stash-sense-health-body" },
      link(`/scenes/${encodeURIComponent(item.scene_id)}`, { className: "stash-sense-scene-title" }, item.title || `Scene ${item.scene_id}`),
      (item.missing || []).length ? h("div", null, `Tagged, not seen: ${names(item.missing)}`) : null,
      (item.untagged || []).length ? h("div", null, `Seen, not tagged: ${names((item.untagged || []).map((u) => u.candidate))}`) : null
    );
  }

  function HealthItem(props) {
    const { item, decide } = props;
    const [state, setState] = useState({ status: "idle" });
    const run = (fn) => async () => {
      setState({ status: "busy" });
      try {
        await fn();
      } catch (err) {
        setState({ status: "error", message: messageOf(err) });
      }
    };
    // Link: the scene modal's own Link (performerUpdate with the ids the performer has, as read, plus the match's).
    const onLink = run(async () => {
      await ns.performers.linkStashIds(item.performer.id, item.match);
      await decide(item, "apply", `Linked ${item.performer.name} to ${item.match.name}'s stash-box entry.`);
    });
    const onDone = run(() => decide(item, "apply", `Marked done: ${item.id}.`));
    const onDismiss = run(() => decide(item, "dismiss", `Dismissed: ${item.id}. It will not come back.`));
    const busy = state.status === "busy";
    const button = (cls, label, onClick, primary) =>
      h("button", { type: "button", className: `btn btn-sm ${primary ? "btn-primary" : "btn-outline-secondary"} ${cls}`, disabled: busy, onClick }, label);
    return h(
      "div",
      { className: "stash-sense-health-item", "data-id": item.id },
      h(Body, { item }),
      h("ul", { className: "stash-sense-evidence" }, (item.evidence || []).map((e) => h("li", { key: e }, e))),
      h(
        "div",
        { className: "stash-sense-actions" },
        item.kind === "link" || item.kind === "graph" ? button("stash-sense-health-link", "Link", onLink, true) : button("stash-sense-health-done", "Done in Stash", onDone, true),
        button("stash-sense-health-dismiss", "Dismiss", onDismiss)
      ),
      state.status === "error" ? h(ErrorBox, { message: state.message }) : null
    );
  }

  function RefreshPanel(props) {
    const { settings, onFinished } = props;
    const [status, setStatus] = useState(null);
    const [error, setError] = useState(null);
    const running = useRef(false);
    const load = useCallback(async () => {
      try {
        const s = await ns.sidecar(settings, "GET", "/library/health/status");
        if (running.current && !s.running) onFinished();
        running.current = s.running;
        setStatus(s);
      } catch (err) {
        setError(messageOf(err));
      }
    }, [settings, onFinished]);
    useEffect(() => {
      load();
      // Asked again every 2 s while a check runs only.
      const timer = setInterval(() => running.current && load(), 2000);
      return () => clearInterval(timer);
    }, [load]);
    const start = async () => {
      try {
        const s = await ns.sidecar(settings, "POST", "/library/health/refresh");
        running.current = true;
        setStatus(s);
      } catch (err) {
        setError(messageOf(err));
      }
    };
    let line = "Stash's performers not checked yet.";
    if (status && (status.running || status.finished_at)) {
      line = `${status.running ? "Checking" : "Checked"} ${status.done} of ${status.total} performers of Stash` +
        `${status.unchanged ? ` (${status.unchanged} unchanged since the last check)` : ""}` +
        `${status.failed ? `, ${status.failed} failed` : ""}: ${status.links} to link, ${status.merges} to merge` +
        `${status.reason ? ` (${status.reason})` : ""}.`;
    }
    return h(
      "div",
      { className: "stash-sense-scan" },
      h("div", { className: "stash-sense-health-line", "data-running": status && status.running ? "true" : "false" }, line),
      h("button", { type: "button", className: "btn btn-sm btn-primary stash-sense-health-refresh", disabled: !!(status && status.running), onClick: start },
        "Check Stash's performers again"),
      error ? h(ErrorBox, { message: error }) : null
    ); // prettier-ignore
  }

  /** One health kind: its items, paged from the sidecar, with apply / dismiss / undo. */
  function HealthList(props) {
    const { settings, kind } = props;
    const [offset, setOffset] = useState(0);
    const [version, setVersion] = useState(0);
    const [page, setPage] = useState(null);
    const [error, setError] = useState(null);
    const [status, setStatus] = useState("");
    const reload = useCallback(() => setVersion((v) => v + 1), []);
    useEffect(() => {
      let live = true;
      ns.sidecar(settings, "GET", `/library/health?kind=${kind}&offset=${offset}&limit=${LIMIT}`).then(
        (p) => live && (setPage(p), setError(null)),
        (err) => live && setError(messageOf(err))
      );
      return () => {
        live = false;
      };
    }, [settings, kind, offset, version]);
    const decide = useCallback(
      async (item, decision, said) => {
        await ns.sidecar(settings, "POST", "/library/health/decisions", { item_id: item.id, kind: decision });
        setStatus(said);
        reload();
      },
      [settings]
    );
    const undo = async () => {
      try {
        const undone = await ns.sidecar(settings, "POST", "/library/health/decisions/undo", {});
        const note = undone.kind === "apply" && (kind === "link" || kind === "graph") ? " (the stash-box ids stay on the performer in Stash)" : "";
        setStatus(`Undid ${undone.kind === "apply" ? "applying" : "dismissing"} ${undone.item_id}${note}.`);
        reload();
      } catch (err) {
        setStatus(`Undo failed: ${messageOf(err)}`);
      }
    };
    const items = page ? page.items : [];
    return h(
      "div",
      { className: "stash-sense-health", "data-kind": kind },
      h("p", { className: "stash-sense-keys" }, KINDS[kind]),
      kind === "check" ? null : h(RefreshPanel, { settings, onFinished: reload }),
      h("div", { className: "stash-sense-review-status", role: "status", "aria-live": "polite" }, status),
      h(
        "div",
        { className: "stash-sense-review-bar" },
        page ? h("span", { className: "stash-sense-count", "data-total": page.total },
          page.total ? `Items ${page.offset + 1}\u2013${page.offset + items.length} of ${page.total}` : "Nothing to do here.") : null,
        h("button", { type: "button", className: "btn btn-sm btn-secondary stash-sense-prev", disabled: offset === 0, onClick: () => setOffset(Math.max(0, offset - LIMIT)) }, "Previous"),
        h("button", { type: "button", className: "btn btn-sm btn-secondary stash-sense-next", disabled: !page || offset + LIMIT >= page.total, onClick: () => setOffset(offset + LIMIT) }, "Next"),
        h("button", { type: "button", className: "btn btn-sm btn-outline-secondary stash-sense-health-undo", onClick: undo }, "Undo last")
      ), // prettier-ignore
      error ? h(ErrorBox, { message: error }) : null,
      items.map((item) => h(HealthItem, { key: item.id, item, decide }))
    );
  }

  ns.health = { HealthList, KINDS };
})();
