// Stash Sense plugin: the library review page (/plugin/stash-sense/review, a route registered with
// PluginApi.register.route, opened from a button in Stash's navigation bar): the scan's progress
// with start / pause, the scanned scenes with suggestions (paged from the sidecar), apply / reject /
// undo, bulk apply, filters and keys. Every state lives in the sidecar; the page keeps none.
// Plain ES2020 with PluginApi.React, no build step.
(function () {
  "use strict";
  const api = window.PluginApi;
  const ns = window.StashSense;
  if (!api || !ns || !ns.review || !api.register || typeof api.register.route !== "function") return;
  const React = api.React;
  const h = React.createElement;
  const { useState, useEffect, useCallback, useRef } = React;
  const { ErrorBox, TierLegend } = ns.ui;
  const R = ns.review;
  const PATH = "/plugin/stash-sense/review";
  const LIMIT = 50;
  const TABS = [
    ["scenes", "Scene suggestions"],
    ["link", "Link performers"],
    ["graph", "Complete stash ids"], // the identity graph's kind (library/health_graph.py)
    ["merge", "Duplicates"],
    ["check", "Check scenes"],
  ];
  const KEYS = "j / \u2193 next, k / \u2191 previous, a apply, r not this person, u undo the last action";

  function messageOf(err) {
    if (err instanceof ns.UserError) return err.message;
    return `Unexpected error: ${err && err.message ? err.message : String(err)}`;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "";
    const m = Math.round(seconds / 60);
    return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
  }

  // ---- the scan --------------------------------------------------------------------------------

  function ScanPanel(props) {
    const { settings, onFinished } = props;
    const [scan, setScan] = useState(null);
    const [scope, setScope] = useState("untagged");
    const [error, setError] = useState(null);
    const wasRunning = useRef(false);
    const load = useCallback(async () => {
      try {
        const s = await ns.sidecar(settings, "GET", "/library/scan");
        setScan(s);
        setError(null);
        if (wasRunning.current && !s.running) onFinished();
        wasRunning.current = s.running;
      } catch (err) {
        setError(messageOf(err));
      }
    }, [settings, onFinished]);
    useEffect(() => {
      load();
      const timer = setInterval(() => wasRunning.current && load(), 2000);
      return () => clearInterval(timer);
    }, [load]);
    const post = async (path, body) => {
      try {
        setScan(await ns.sidecar(settings, "POST", path, body));
        wasRunning.current = true;
        setError(null);
      } catch (err) {
        setError(messageOf(err));
      }
    };
    let line = "No scan yet.";
    if (scan && scan.status) {
      const parts = [`Scan ${scan.status}: ${scan.done.toLocaleString()} of ${scan.total.toLocaleString()} scenes`];
      if (scan.failed) parts.push(`${scan.failed} failed`);
      if (scan.rate_per_hour) parts.push(`${Math.round(scan.rate_per_hour).toLocaleString()} scenes an hour`);
      if (scan.running && scan.eta_s !== null) parts.push(`about ${duration(scan.eta_s)} left`);
      line = parts.join(", ") + (scan.reason ? ` (${scan.reason})` : "") + ".";
    }
    const pct = scan && scan.total ? Math.min(100, (100 * scan.done) / scan.total) : 0;
    return h(
      "div",
      { className: "stash-sense-scan" },
      h("div", { className: "stash-sense-scan-line", "data-status": (scan && scan.status) || "none" }, line),
      h("div", { className: "progress stash-sense-progress" }, h("div", { className: "progress-bar", style: { width: `${pct}%` } })),
      h(
        "div",
        { className: "stash-sense-scan-controls" },
        scan && scan.running
          ? h("button", { type: "button", className: "btn btn-sm btn-secondary stash-sense-pause", onClick: () => post("/library/scan/pause") }, "Pause")
          : h(
              React.Fragment,
              null,
              h("select", { className: "form-control form-control-sm stash-sense-scope", value: scope, "aria-label": "Scenes to scan",
                  onChange: (e) => setScope(e.target.value) },
                h("option", { value: "untagged" }, "scenes without performers"),
                h("option", { value: "all" }, "every scene")),
              h("button", { type: "button", className: "btn btn-sm btn-primary stash-sense-start", onClick: () => post("/library/scan", { scope }) },
                scan && scan.status === "paused" ? "Resume scan" : "Start scan")
            ) // prettier-ignore
      ),
      error ? h(ErrorBox, { message: error }) : null
    );
  }

  // ---- filters, rejections -----------------------------------------------------------------------

  function Filters(props) {
    const { filters, setFilters } = props;
    const set = (name) => (e) => {
      const value = e.target.type === "checkbox" ? e.target.checked : e.target.value;
      setFilters((f) => Object.assign({}, f, { [name]: value }));
    };
    const label = (text, input) => h("label", { className: "stash-sense-filter" }, `${text} `, input);
    return h(
      "div",
      { className: "stash-sense-filters" },
      label("Lowest tier", h("select", { className: "form-control form-control-sm", name: "lowest_tier", value: filters.lowest_tier, onChange: set("lowest_tier") },
        ["high", "likely", "possible"].map((t) => h("option", { key: t, value: t }, t)))),
      label("Studio", h("input", { className: "form-control form-control-sm", name: "studio", value: filters.studio, onChange: set("studio") })),
      label("From", h("input", { type: "date", className: "form-control form-control-sm", name: "date_from", value: filters.date_from, onChange: set("date_from") })),
      label("To", h("input", { type: "date", className: "form-control form-control-sm", name: "date_to", value: filters.date_to, onChange: set("date_to") })),
      label("Scenes", h("select", { className: "form-control form-control-sm", name: "has_suggestion", value: filters.has_suggestion, onChange: set("has_suggestion") },
        h("option", { value: "true" }, "with suggestions"), h("option", { value: "false" }, "without suggestions"))),
      label("Pre-selected only", h("input", { type: "checkbox", name: "preselected_only", checked: filters.preselected_only, onChange: set("preselected_only") }))
    ); // prettier-ignore
  }

  function Rejections(props) {
    const { settings, undo, version } = props;
    const [open, setOpen] = useState(false);
    const [list, setList] = useState(null);
    const [error, setError] = useState(null);
    useEffect(() => {
      if (!open) return;
      ns.sidecar(settings, "GET", "/library/rejections").then(
        (r) => setList(r.decisions.slice().reverse()),
        (err) => setError(messageOf(err))
      );
    }, [open, version]);
    return h(
      "details",
      { className: "stash-sense-rejections", onToggle: (e) => setOpen(e.target.open) },
      h("summary", null, "Rejections (undo one here)"),
      error ? h(ErrorBox, { message: error }) : null,
      list && !list.length ? h("div", { className: "stash-sense-nomatch" }, "No rejection in force.") : null,
      (list || []).map((d) =>
        h(
          "div",
          { key: d.id, className: "stash-sense-rejection", "data-id": d.id },
          R.stashLink(`/scenes/${encodeURIComponent(d.scene_id)}`, null, `scene ${d.scene_id}`),
          ` person ${(d.person_id || 0) + 1}: not ${d.name}${d.tier ? ` (${d.tier}, ${Number(d.distance).toFixed(2)})` : ""} `,
          h("button", { type: "button", className: "btn btn-sm btn-link stash-sense-undo-one", onClick: () => undo(d.id) }, "Undo")
        )
      )
    );
  }

  // ---- the page ------------------------------------------------------------------------------------

  const START = { lowest_tier: "possible", studio: "", date_from: "", date_to: "", has_suggestion: "true", preselected_only: false };

  function query(filters, offset) {
    const q = new URLSearchParams({ lowest_tier: filters.lowest_tier, has_suggestion: filters.has_suggestion, offset, limit: LIMIT });
    if (filters.studio.trim()) q.set("studio", filters.studio.trim());
    if (filters.date_from) q.set("date_from", filters.date_from);
    if (filters.date_to) q.set("date_to", filters.date_to);
    if (filters.preselected_only) q.set("preselected_only", "true");
    return `/library/suggestions?${q.toString()}`;
  }

  function useToastSafe() {
    const hook = api.hooks && api.hooks.useToast;
    const toast = hook ? hook() : null;
    return (message) => toast && toast.success && toast.success(message);
  }

  function ReviewList(props) {
    const { settings } = props;
    const toast = useToastSafe();
    const [filters, setFilters] = useState(START);
    const [offset, setOffset] = useState(0);
    const [version, setVersion] = useState(0); // bumped to read the list again
    const [page, setPage] = useState(null);
    const [error, setError] = useState(null);
    const [states, setStates] = useState({});
    const [selected, setSelected] = useState(null);
    const [status, setStatus] = useState("");
    const history = useRef([]); // this page's decisions, newest last: what "u" undoes first
    const reload = useCallback(() => setVersion((v) => v + 1), []);

    useEffect(() => setOffset(0), [filters]);
    useEffect(() => {
      let live = true;
      setError(null);
      const started = performance.now();
      ns.sidecar(settings, "GET", query(filters, offset)).then(
        (p) => {
          if (!live) return;
          setPage(p);
          setStates({});
          ns.lastListMs = performance.now() - started;
        },
        (err) => live && setError(messageOf(err))
      );
      return () => {
        live = false;
      };
    }, [settings, filters, offset, version]);

    const setState = (key, state) => setStates((s) => Object.assign({}, s, { [key]: state }));

    const act = useCallback(
      async (kind, scene, person, match, useLocal) => {
        const key = R.keyOf(scene.scene_id, person.person_id, match.performer_id);
        setState(key, { status: "busy" });
        try {
          if (kind === "reject") {
            const decision = await ns.sidecar(settings, "POST", "/library/decisions", {
              kind: "reject", scene_id: scene.scene_id, person_id: person.person_id, performer_id: match.performer_id,
            }); // prettier-ignore
            history.current.push({ decision });
            // The sidecar leaves this performer out of the whole scene from now on: so does the page.
            setStates((st) => {
              const next = Object.assign({}, st);
              for (const p of scene.persons || []) {
                if ((p.candidates || []).some((m) => m.performer_id === match.performer_id)) {
                  next[R.keyOf(scene.scene_id, p.person_id, match.performer_id)] = { status: "rejected" };
                }
              }
              return next;
            });
            setStatus(`Not ${match.name}: rejected for this face. Press u to undo.`);
            return;
          }
          const done = await R.applySuggestion(settings, scene, person, match, useLocal);
          if (done.status === "confirm") {
            setState(key, { status: "confirm", local: done.local });
            return;
          }
          history.current.push({ decision: done.decision, performer: done.performer });
          setState(key, { status: "applied", performer: done.performer });
          const said = `${done.changed ? "Added" : "Kept"} ${done.performer.name} on "${scene.title || scene.scene_id}"`;
          setStatus(`${said}.`);
          toast(said + (done.stale ? ns.performers.RELOAD : ""));
        } catch (err) {
          setState(key, { status: "error", message: messageOf(err) });
        }
      },
      [settings]
    );

    const applyMany = useCallback(
      async (list) => {
        let applied = 0;
        let asking = 0;
        for (const { scene, person, match } of list) {
          const key = R.keyOf(scene.scene_id, person.person_id, match.performer_id);
          setState(key, { status: "busy" });
          try {
            const done = await R.applySuggestion(settings, scene, person, match);
            if (done.status === "confirm") {
              asking += 1;
              setState(key, { status: "confirm", local: done.local });
              continue;
            }
            history.current.push({ decision: done.decision, performer: done.performer });
            setState(key, { status: "applied", performer: done.performer });
            applied += 1;
          } catch (err) {
            setState(key, { status: "error", message: messageOf(err) });
          }
        }
        const rest = asking ? `; ${asking} need${asking === 1 ? "s" : ""} your choice` : "";
        setStatus(`Applied ${applied} of ${list.length} pre-selected suggestions${rest}.`);
      },
      [settings]
    );

    /** Undoes a decision (by id; else this page's last one, else the sidecar's latest in force). */
    const undo = useCallback(
      async (id) => {
        try {
          const mine = id ? null : history.current.pop();
          const body = id ? { id } : mine ? { id: mine.decision.id } : {};
          const undone = await ns.sidecar(settings, "POST", "/library/decisions/undo", body);
          let note = "";
          if (undone.kind === "apply") {
            // Take the performer off the scene again in Stash (found by stash id after a reload).
            const performer = (mine && mine.performer) || (await ns.performers.findByStashIds({ stash_ids: undone.stash_ids }));
            const removed = performer ? await ns.performers.removeFromScene(undone.scene_id, performer.id) : null;
            note = removed && removed.changed ? ` and took ${performer.name} off the scene in Stash` : "";
          }
          setStatus(`Undid ${undone.kind === "apply" ? "applying" : "rejecting"} ${undone.name}${note}.`);
          reload();
        } catch (err) {
          setStatus(`Undo failed: ${messageOf(err)}`);
        }
      },
      [settings]
    );

    // Keys (Mousetrap, as Stash binds its own; not while typing in a field).
    const live = useRef({});
    live.current = { page, states, selected, act, undo };
    useEffect(() => {
      const move = (step) => (e) => {
        const { page: p, states: st, selected: sel } = live.current;
        const keys = p ? R.visibleKeys(p.scenes, st) : [];
        if (!keys.length) return;
        if (e && e.preventDefault) e.preventDefault();
        const at = keys.indexOf(sel);
        const next = keys[Math.max(0, Math.min(keys.length - 1, at < 0 ? 0 : at + step))];
        setSelected(next);
        const node = document.querySelector(`.stash-sense-review-candidate[data-key="${next}"]`);
        if (node && node.scrollIntoView) node.scrollIntoView({ block: "nearest" });
      };
      const onSelected = (kind) => () => {
        const { page: p, selected: sel, states: st, act: run } = live.current;
        const found = p && sel ? R.findKey(p.scenes, sel) : null;
        if (!found) return;
        if (kind === "reject") {
          const keys = R.visibleKeys(p.scenes, st);
          setSelected(keys[keys.indexOf(sel) + 1] || keys[keys.indexOf(sel) - 1] || null);
        }
        run(kind, found.scene, found.person, found.match);
      };
      const bindings = {
        j: move(1), down: move(1), k: move(-1), up: move(-1),
        a: onSelected("apply"), r: onSelected("reject"), u: () => live.current.undo(),
      }; // prettier-ignore
      const trap = api.libraries && api.libraries.Mousetrap;
      if (trap) {
        Object.entries(bindings).forEach(([k, fn]) => trap.bind(k, fn));
        return () => Object.keys(bindings).forEach((k) => trap.unbind(k));
      }
      const names = { ArrowDown: "down", ArrowUp: "up" };
      const onKey = (e) => {
        if (/^(INPUT|SELECT|TEXTAREA)$/.test(e.target.tagName)) return;
        const fn = bindings[names[e.key] || e.key];
        if (fn) fn(e);
      };
      document.addEventListener("keydown", onKey);
      return () => document.removeEventListener("keydown", onKey);
    }, []);

    const scenes = page ? page.scenes : [];
    const allPre = [].concat(...scenes.map((s) => R.preselectedOf(s, states)));
    const matches = [].concat(...scenes.map((s) => [].concat(...(s.persons || []).map((p) => p.candidates || []))));
    const shared = { settings, states, selected, act, applyMany };
    return h(
      "div",
      { className: "stash-sense-review-body" },
      h(ScanPanel, { settings, onFinished: reload }),
      h(Filters, { filters, setFilters }),
      h("div", { className: "stash-sense-keys" }, `Keys: ${KEYS}.`),
      h("div", { className: "stash-sense-review-status", role: "status", "aria-live": "polite" }, status),
      h(
        "div",
        { className: "stash-sense-review-bar" },
        page ? h("span", { className: "stash-sense-count", "data-total": page.total },
          page.total ? `Scenes ${(page.offset + 1).toLocaleString()}\u2013${(page.offset + scenes.length).toLocaleString()} of ${page.total.toLocaleString()}` : "No scene matches.") : null,
        h("button", { type: "button", className: "btn btn-sm btn-secondary stash-sense-prev", disabled: offset === 0, onClick: () => setOffset(Math.max(0, offset - LIMIT)) }, "Previous"),
        h("button", { type: "button", className: "btn btn-sm btn-secondary stash-sense-next", disabled: !page || offset + LIMIT >= page.total, onClick: () => setOffset(offset + LIMIT) }, "Next"),
        h("button", { type: "button", className: "btn btn-sm btn-primary stash-sense-apply-page", disabled: !allPre.length, onClick: () => applyMany(allPre) },
          `Apply all pre-selected on this page (${allPre.length})`),
        h("button", { type: "button", className: "btn btn-sm btn-outline-secondary stash-sense-undo", onClick: () => undo() }, "Undo last")
      ), // prettier-ignore
      error ? h(ErrorBox, { message: error }) : null,
      h(TierLegend, { matches }),
      page ? null : error ? null : h("div", { className: "stash-sense-loading" }, "Loading the suggestions\u2026"),
      scenes.map((scene) => h(R.ReviewScene, Object.assign({ key: scene.scene_id, scene }, shared))),
      h(Rejections, { settings, undo, version })
    );
  }

  function ReviewPage() {
    const [settings, setSettings] = useState(null);
    const [error, setError] = useState(null);
    useEffect(() => {
      ns.loadSettings().then(setSettings, (err) => setError(messageOf(err)));
    }, []);
    // The sidecar is down or refuses: say so once, clearly, before anything else.
    const [reach, setReach] = useState(null);
    useEffect(() => {
      if (!settings) return;
      ns.sidecar(settings, "GET", "/health").then(
        () => setReach("ok"),
        (err) => setReach(messageOf(err))
      );
    }, [settings]);
    // The tab is kept in the address (?tab=link), so a reload or a shared link opens it again.
    const [tab, setTabState] = useState(() => {
      const t = new URLSearchParams(window.location.search).get("tab");
      return TABS.some(([k]) => k === t) ? t : "scenes";
    });
    const setTab = (t) => {
      const url = new URL(window.location.href);
      if (t === "scenes") url.searchParams.delete("tab");
      else url.searchParams.set("tab", t);
      window.history.replaceState(window.history.state, "", url.href);
      setTabState(t);
    };
    let body;
    if (error) body = h(ErrorBox, { message: error });
    else if (!settings || reach === null) body = h("div", { className: "stash-sense-loading" }, "Connecting to the sidecar\u2026");
    else if (reach !== "ok") body = h(ErrorBox, { message: reach, kind: "sidecar" });
    else if (tab === "scenes" || !ns.health) body = h(ReviewList, { settings });
    else body = h(ns.health.HealthList, { key: tab, settings, kind: tab });
    const tabs = h(
      "ul",
      { className: "nav nav-tabs stash-sense-tabs", role: "tablist" },
      TABS.map(([k, label]) =>
        h("li", { key: k, className: "nav-item" },
          h("button", { type: "button", role: "tab", "aria-selected": tab === k ? "true" : "false", "data-tab": k,
            className: `nav-link btn btn-link${tab === k ? " active" : ""}`, onClick: () => setTab(k) }, label))
      )
    ); // prettier-ignore
    return h(
      "div",
      { className: "stash-sense-review container-fluid" },
      h("h2", null, "Stash Sense: library review"),
      tabs,
      body
    );
  }

  api.register.route(PATH, ReviewPage);

  // A button in Stash's navigation bar (MainNavBar.MenuItems), beside Scenes, Performers, ...
  if (api.patch && api.patch.before) {
    api.patch.before("MainNavBar.MenuItems", function (props) {
      const item = h(
        "div",
        { key: "stash-sense-review", className: "col-4 col-sm-3 col-md-2 col-lg-auto nav-link stash-sense-nav" },
        R.stashLink(PATH, { className: "btn minimal p-4 p-xl-2 stash-sense-nav-link", title: "Stash Sense: review the library scan's suggestions" },
          "Face review")
      ); // prettier-ignore
      return [Object.assign({}, props, { children: h(React.Fragment, null, props.children, item) })];
    });
  }

  ns.components = Object.assign({}, ns.components, { ReviewPage });
})();
