// Stash Sense plugin: the pieces the result modals are made of (the modal itself, candidates, tier
// words, face times). Plain ES2020 with PluginApi.React, no build step. Exposes
// window.StashSense.ui.
(function () {
  "use strict";
  const api = window.PluginApi;
  const ns = window.StashSense;
  if (!api || !ns) return;
  const React = api.React;
  const h = React.createElement;
  const { useState, useEffect, useLayoutEffect, useRef } = React;

  const FOCUSABLE = 'a[href], button:not([disabled]), input, select, textarea, [tabindex]:not([tabindex="-1"])';

  /**
   * A modal dialog in a portal on document.body. While it is open no key reaches the page behind:
   * React bubbles a portal's events to its React parents (here Stash's scene tabs <Nav>, whose
   * arrow-key handler would switch tabs) and Mousetrap listens on document for Stash's single-key
   * shortcuts ("e" opens the Edit tab), so a capturing listener on window handles Escape (close)
   * and Tab (focus stays in the dialog) and stops every keydown, keypress and keyup there; the
   * browser's own default actions (Tab, Enter and Space on a button) still happen. Focus goes to
   * the dialog on open and, on close, to props.returnTo (a ref: the button that opened it, which
   * was disabled while busy and so lost focus) or else back where it was.
   */
  function Modal(props) {
    const box = useRef(null);
    const closing = useRef(props.onClose);
    closing.current = props.onClose;
    const onClose = () => closing.current();
    const returnTo = props.returnTo;
    // A layout effect: focus moves in the same commit that shows or removes the dialog.
    useLayoutEffect(() => {
      const node = box.current;
      const before = document.activeElement;
      const focusables = () => Array.from(node.querySelectorAll(FOCUSABLE)).filter((e) => e.offsetParent !== null);
      const trapTab = (e) => {
        const list = focusables();
        if (!list.length) return;
        const first = list[0];
        const last = list[list.length - 1];
        const at = document.activeElement;
        if (!node.contains(at) || at === node) {
          e.preventDefault();
          (e.shiftKey ? last : first).focus();
        } else if (e.shiftKey && at === first) {
          e.preventDefault();
          last.focus();
        } else if (!e.shiftKey && at === last) {
          e.preventDefault();
          first.focus();
        }
      };
      const onKey = (e) => {
        if (e.type === "keydown" && e.key === "Escape") {
          e.preventDefault();
          closing.current();
        } else if (e.type === "keydown" && e.key === "Tab") {
          trapTab(e);
        }
        e.stopPropagation();
      };
      const onFocusIn = (e) => {
        if (!node.contains(e.target)) node.focus();
      };
      const keys = ["keydown", "keypress", "keyup"];
      keys.forEach((k) => window.addEventListener(k, onKey, true));
      document.addEventListener("focusin", onFocusIn);
      node.focus();
      return () => {
        keys.forEach((k) => window.removeEventListener(k, onKey, true));
        document.removeEventListener("focusin", onFocusIn);
        const back = (returnTo && returnTo.current) || before;
        if (back && typeof back.focus === "function" && document.contains(back)) back.focus();
      };
    }, []);
    const body = h(
      "div",
      { className: "stash-sense-backdrop", onClick: onClose },
      h(
        "div",
        {
          ref: box,
          className: "stash-sense-modal",
          role: "dialog",
          "aria-modal": "true",
          "aria-label": props.title,
          tabIndex: -1,
          onClick: (e) => e.stopPropagation(),
        },
        h(
          "div",
          { className: "stash-sense-modal-header" },
          h("h5", null, props.title),
          h(
            "button",
            { type: "button", className: "close stash-sense-close", "aria-label": "Close", onClick: onClose },
            "\u00d7"
          )
        ),
        h("div", { className: "stash-sense-modal-body" }, props.children)
      )
    );
    return api.ReactDOM.createPortal(body, document.body);
  }

  function ErrorBox(props) {
    return h(
      "div",
      { className: "stash-sense-error alert alert-danger", role: "alert", "data-kind": props.kind || "error" },
      props.message
    );
  }

  // What each tier word means. The words and the thresholds are the sidecar's: it sets each
  // candidate's tier from the thresholds measured for its face database; a word the plugin does
  // not know is shown as is.
  const TIER_MEANING = {
    high: "near-certain: as close as the database's measured \u201chigh\u201d threshold, where wrong matches were very rare",
    likely: "probably this person: compare the faces before adding",
    possible: "a resemblance worth a look; often someone else",
    unlikely: "far: most likely someone else",
  };

  function tierMeaning(tier) {
    return TIER_MEANING[tier] || "a confidence tier set by the sidecar";
  }

  function TierBadge(props) {
    const tier = props.tier || "unlikely";
    return h(
      "span",
      { className: `stash-sense-tier stash-sense-tier-${tier}`, title: `${tier}: ${tierMeaning(tier)}` },
      tier
    );
  }

  /** The tier words in these answers, each explained, and what the distance is. */
  function TierLegend(props) {
    const tiers = [];
    for (const m of props.matches) if (m.tier && !tiers.includes(m.tier)) tiers.push(m.tier);
    if (!tiers.length) return null;
    const known = Object.keys(TIER_MEANING);
    const rank = (t) => (known.includes(t) ? known.indexOf(t) : known.length);
    tiers.sort((a, b) => rank(a) - rank(b));
    return h(
      "details",
      { className: "stash-sense-legend" },
      h("summary", null, "What the tiers mean"),
      h(
        "ul",
        null,
        tiers.map((t) => h("li", { key: t }, h(TierBadge, { tier: t }), ` ${tierMeaning(t)}`))
      ),
      h(
        "p",
        null,
        "Tiers come from the sidecar, from thresholds measured on its face database. The distance is the " +
          "one the tier was decided on (one model's when it alone was decisive, else the models' combined " +
          "distance), so equal distances can get different tiers: go by the tier."
      )
    );
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

  function StashBoxLinks(props) {
    const links = (props.stashIds || []).map(stashBoxLink).filter(Boolean);
    if (!links.length) return null;
    return h(
      "span",
      { className: "stash-sense-links" },
      links.map((l) => h("a", { key: l.href, href: l.href, target: "_blank", rel: "noopener noreferrer" }, l.host))
    );
  }

  // Candidate images come through the sidecar (GET /images/<id>, cached on its disk): the browser
  // never loads a picture from a stash-box host or its CDN. A few at a time, once per performer.
  const images = new Map();
  let running = 0;
  const waiting = [];
  function limited(fn) {
    return new Promise((resolve, reject) => {
      const start = () => {
        running += 1;
        fn()
          .then(resolve, reject)
          .finally(() => {
            running -= 1;
            if (waiting.length) waiting.shift()();
          });
      };
      if (running < 3) start();
      else waiting.push(start);
    });
  }

  function candidateImage(settings, performerId) {
    if (!images.has(performerId)) {
      images.set(
        performerId,
        limited(() => ns.sidecar(settings, "GET", `/images/${performerId}`)).then((r) => {
          const url = r && r.data_url;
          return typeof url === "string" && url.startsWith("data:image/") ? url : null;
        })
      );
    }
    return images.get(performerId);
  }

  /** Calls `onVisible` once when `node` comes near the viewport (at once without
   * IntersectionObserver); a function that stops watching. */
  function whenVisible(node, onVisible) {
    if (!node || typeof IntersectionObserver !== "function") {
      onVisible();
      return () => {};
    }
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          observer.disconnect();
          onVisible();
        }
      },
      { rootMargin: "300px" }
    );
    observer.observe(node);
    return () => observer.disconnect();
  }

  // A candidate's picture is asked for only when its placeholder comes near the viewport, so a
  // page of 50 scenes (hundreds of candidates) does not queue hundreds of requests through the
  // plugin's proxy at once.
  function CandidateImage(props) {
    const { match, settings } = props;
    const [src, setSrc] = useState(null);
    const [failed, setFailed] = useState(null);
    const placeholder = useRef(null);
    useEffect(() => {
      let live = true;
      let stop = () => {};
      if (match.image_url && settings) {
        stop = whenVisible(placeholder.current, () =>
          candidateImage(settings, match.performer_id).then(
            (url) => live && (url ? setSrc(url) : setFailed("no image")),
            (err) => live && setFailed(err.message)
          )
        );
      }
      return () => {
        live = false;
        stop();
      };
    }, [match.performer_id]);
    if (!src) {
      return h(
        "div",
        { ref: placeholder, className: "stash-sense-candidate-img stash-sense-noimg", title: failed || "" },
        "?"
      );
    }
    return h("img", { className: "stash-sense-candidate-img", src, alt: match.name, loading: "lazy" });
  }

  /** One candidate: image, name, disambiguation, tier, distance and stash-box links; then the
   * row's own actions (its children). Shared by the scene modal and the performer page. */
  function CandidateCard(props) {
    const { match, settings, children } = props;
    return h(
      "div",
      { className: `stash-sense-candidate stash-sense-candidate-${match.tier || "unlikely"}`, "data-performer": match.name },
      h(CandidateImage, { match, settings }),
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
          h(
            "span",
            {
              className: "stash-sense-distance",
              title: match.decided_by ? `decided by ${match.decided_by.join(" + ")}` : undefined,
            },
            `distance ${Number(match.distance).toFixed(2)}`
          ),
          h(StashBoxLinks, { stashIds: match.stash_ids })
        ),
        ...[].concat(children)
      )
    );
  }

  function clock(seconds) {
    const s = Math.max(0, Math.round(seconds));
    const two = (n) => String(n).padStart(2, "0");
    const hours = Math.floor(s / 3600);
    const minutes = Math.floor((s % 3600) / 60);
    return hours ? `${hours}:${two(minutes)}:${two(s % 60)}` : `${minutes}:${two(s % 60)}`;
  }

  /** Where a person shows: each second once, as buttons that seek the scene's player. */
  function Times(props) {
    const seen = new Set();
    const times = [];
    for (const t of (props.times || []).slice().sort((a, b) => a - b)) {
      const s = Math.round(t);
      if (!seen.has(s)) {
        seen.add(s);
        times.push(s);
      }
    }
    if (!times.length) return null;
    return h(
      "div",
      { className: "stash-sense-times" },
      times.map((s) =>
        h(
          "button",
          {
            key: s,
            type: "button",
            className: "btn btn-link btn-sm stash-sense-time",
            "data-time": s,
            title: "Play from here",
            onClick: () => props.onSeek(s),
          },
          clock(s)
        )
      )
    );
  }

  ns.ui = { Modal, ErrorBox, TierBadge, TierLegend, CandidateCard, Times, clock, stashBoxLink };
})();
