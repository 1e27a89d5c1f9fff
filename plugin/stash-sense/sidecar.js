// Stash Sense plugin: reaching the Stash Sense sidecar, and saying why not when it cannot.
// Plain ES2020, no build step. Exposes window.StashSense.{loadSettings, sidecar, cspAllows}.
//
// Two ways to the sidecar:
// - through Stash: runPluginOperation runs the plugin's task (sidecar_proxy.py) on the Stash
//   server, which calls the sidecar with the URL and key from the plugin's settings. This works
//   wherever the Stash server can reach the sidecar (Stash on a NAS, in Docker, the browser on a
//   phone), whatever the browser may reach.
// - directly from the page: faster (no process per call) but only when Stash's Content-Security-
//   Policy lets the page connect there (connect-src = Stash itself + what enabled plugins declare in
//   ui.csp.connect-src; stashapp/stash internal/api/server.go), the sidecar allows the page's
//   origin (CORS) and the browser may call that address (Chromium blocks pages on other hosts from
//   calling loopback and private addresses).
// "auto" (the default) calls directly when the page's policy allows the sidecar's origin, and on a
// network failure goes through Stash for the rest of the page's life.
(function () {
  "use strict";
  const ns = (window.StashSense = window.StashSense || {});
  const PLUGIN_ID = "stash-sense";
  const DEFAULT_SIDECAR = "http://127.0.0.1:5000";
  const SETTINGS = "Settings > Plugins > Stash Sense";
  // As long as the server-side task waits (sidecar_proxy.py TIMEOUT_S).
  const TIMEOUT_MS = 300000;
  const UserError = ns.UserError;

  function asNumber(value, fallback) {
    const n = Number(value);
    return Number.isFinite(n) && n > 0 ? Math.round(n) : fallback;
  }

  /** The plugin's settings from Stash (configuration { plugins }), with defaults filled in. */
  async function loadSettings() {
    const data = await ns.gql(ns.queries.configuration);
    const raw = ((data.configuration || {}).plugins || {})[PLUGIN_ID] || {};
    const url = String(raw.sidecarUrl || DEFAULT_SIDECAR).trim().replace(/\/+$/, "");
    const connection = String(raw.connection || "auto").trim().toLowerCase();
    return {
      sidecarUrl: url,
      connection: ["auto", "direct", "stash"].includes(connection) ? connection : "auto",
      apiKey: raw.apiKey ? String(raw.apiKey) : "",
      // Tier words come from the sidecar, which filters by this one (its min_tier option).
      minTier: String(raw.minTier || "possible").trim().toLowerCase(),
      frames: asNumber(raw.frames, 40),
    };
  }

  function originOf(url) {
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error("not http");
      return parsed.origin;
    } catch (_err) {
      throw new UserError(`The sidecar URL "${url}" in ${SETTINGS} is not an http(s) URL.`, "config");
    }
  }

  // ---- the page's Content-Security-Policy -------------------------------------------------------

  // Origins the page's policy blocked so far (the browser reports each block as an event).
  const blocked = new Set();
  document.addEventListener("securitypolicyviolation", (e) => {
    try {
      if (e.effectiveDirective === "connect-src" || e.violatedDirective.startsWith("connect-src")) {
        blocked.add(new URL(e.blockedURI).origin);
      }
    } catch (_err) {
      // a blocked URI that is not a URL ("inline", "eval") is not ours
    }
  });

  let policy = null;
  /** connect-src of the policy Stash sent with its UI page (null: no policy, anything goes). */
  function connectSources() {
    policy =
      policy ||
      fetch(document.baseURI, { credentials: "same-origin", cache: "no-store" }).then(
        (r) => {
          const header = r.headers.get("Content-Security-Policy");
          if (!header) return null;
          const directives = header.split(";").map((d) => d.trim().split(/\s+/));
          const find = (name) => directives.find((d) => d[0] === name);
          const list = find("connect-src") || find("default-src");
          return list ? list.slice(1) : null;
        },
        () => null
      );
    return policy;
  }

  function sourceMatches(source, target) {
    if (source === "*") return target.protocol === "http:" || target.protocol === "https:";
    if (source === "'self'") return target.origin === window.location.origin;
    if (/^[a-z][a-z0-9+.-]*:$/i.test(source)) return target.protocol === source.toLowerCase();
    const m = source.match(/^(?:([a-z][a-z0-9+.-]*):\/\/)?(\*\.)?([^:/]+)(?::(\d+|\*))?/i);
    if (!m) return false;
    const [, scheme, wildcard, host, port] = m;
    const defaultPort = target.protocol === "https:" ? "443" : "80";
    if (scheme && `${scheme.toLowerCase()}:` !== target.protocol) return false;
    const hostOk = wildcard ? target.hostname.endsWith(`.${host}`) : target.hostname === host.toLowerCase();
    const portOk = port === "*" || (port || (scheme === "https" ? "443" : "80")) === (target.port || defaultPort);
    return hostOk && portOk;
  }

  /** Does the page's policy let it connect to this URL? */
  async function cspAllows(url) {
    const sources = await connectSources();
    if (sources === null) return true;
    const target = new URL(url);
    return sources.some((s) => sourceMatches(s, target));
  }

  // ---- answers ------------------------------------------------------------------------------

  /** Turns a sidecar HTTP answer into data, or a UserError that says what went wrong. */
  function interpret(status, body, settings) {
    if (status >= 200 && status < 300) return body;
    const detail = body && (body.error || body.detail);
    const text = typeof detail === "string" ? detail : detail ? JSON.stringify(detail) : "";
    if (status === 401 || status === 403) {
      throw new UserError(
        `The sidecar at ${settings.sidecarUrl} refused the API key (HTTP ${status}). ` +
          `Set "Sidecar API key" in ${SETTINGS} to the sidecar's STASH_SENSE_API_KEY.`,
        "auth"
      );
    }
    if (status === 502) {
      // The sidecar reads scenes and performers from Stash itself (STASH_SENSE_STASH_URL).
      throw new UserError(
        `The sidecar could not read from Stash (HTTP 502): ${text || "no detail"}. ` +
          "Check the sidecar's STASH_SENSE_STASH_URL (and STASH_SENSE_STASH_API_KEY).",
        "sidecar-stash"
      );
    }
    if (status === 503) {
      // Busy (every worker taken, queue full) or no face database loaded: the detail says which.
      throw new UserError(`The sidecar cannot do this now (HTTP 503): ${text || "try again shortly"}.`, "busy");
    }
    const setting = /min_tier/.test(text) ? ` Check "Lowest tier to show" in ${SETTINGS}.` : "";
    const err = new UserError(`The sidecar answered HTTP ${status}: ${text || "no detail"}.${setting}`, "sidecar");
    err.status = status; // the performer page tells "not in the graph" (404) from a failure
    throw err;
  }

  function noAnswer(settings) {
    return new UserError(`The sidecar at ${settings.sidecarUrl} gave no answer within ${TIMEOUT_MS / 1000} s.`, "timeout");
  }

  /** A network-level failure of a direct call (the browser says nothing more than "failed"). */
  class DirectFailure extends Error {}

  async function direct(settings, method, path, body) {
    const headers = { Accept: "application/json" };
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (settings.apiKey) headers["X-API-Key"] = settings.apiKey;
    let response;
    try {
      response = await fetch(settings.sidecarUrl + path, {
        method,
        headers,
        mode: "cors",
        credentials: "omit",
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: abort.signal,
      });
    } catch (err) {
      clearTimeout(timer);
      if (abort.signal.aborted) throw noAnswer(settings);
      throw new DirectFailure(err.message);
    }
    let payload = null;
    try {
      payload = await response.json();
    } catch (_err) {
      if (abort.signal.aborted) throw noAnswer(settings);
      payload = null;
    } finally {
      clearTimeout(timer);
    }
    return interpret(response.status, payload, settings);
  }

  /** Through Stash: runPluginOperation runs sidecar_proxy.py on the Stash server. */
  async function viaStash(settings, method, path, body) {
    let data;
    try {
      data = await ns.gql(ns.queries.runProxy, {
        args: { mode: "proxy", method, path, body: body === undefined ? "" : JSON.stringify(body) },
      });
    } catch (err) {
      throw new UserError(
        `Stash could not run the plugin's task that calls the sidecar (${err.message}). ` +
          "The Stash server needs python3 (Stash's Docker image has it); or set Connection to " +
          `"direct" in ${SETTINGS} if this browser can reach the sidecar.`,
        "task"
      );
    }
    const out = data.runPluginOperation;
    if (!out || typeof out !== "object") {
      throw new UserError("The plugin's server-side task gave no answer.", "task");
    }
    if (out.unreachable) {
      throw new UserError(
        `The Stash server cannot reach the Stash Sense sidecar at ${out.url || settings.sidecarUrl} ` +
          `(${out.unreachable}). Is "stash-sense serve" running there, and is "Sidecar URL" in ${SETTINGS} ` +
          "the address the Stash server reaches it at (in Docker: the sidecar container's name or the " +
          "host's address, not 127.0.0.1)?",
        "down"
      );
    }
    return interpret(out.status, out.body, settings);
  }

  function isLoopback(hostname) {
    return hostname === "localhost" || hostname.endsWith(".localhost") || /^127\./.test(hostname) || hostname === "[::1]";
  }

  function isPrivate(hostname) {
    return (
      isLoopback(hostname) ||
      /^10\./.test(hostname) ||
      /^192\.168\./.test(hostname) ||
      /^172\.(1[6-9]|2\d|3[01])\./.test(hostname) ||
      /^169\.254\./.test(hostname) ||
      /^\[f[cd]/i.test(hostname) ||
      hostname.endsWith(".local")
    );
  }

  /**
   * Why a direct call failed at the network level: the browser reached the sidecar but was
   * refused by CORS (a no-cors request gets through), or the browser cannot reach it although the
   * Stash server can (loopback / private network), or nobody can (the sidecar is down).
   */
  async function diagnose(settings, failure) {
    const target = new URL(settings.sidecarUrl);
    const page = window.location.origin;
    let browserReaches = false;
    try {
      await fetch(`${settings.sidecarUrl}/health`, { mode: "no-cors", credentials: "omit", cache: "no-store" });
      browserReaches = true;
    } catch (_err) {
      browserReaches = false;
    }
    if (browserReaches) {
      return new UserError(
        `The sidecar at ${settings.sidecarUrl} refused this page's origin ${page} (CORS): it allows only ` +
          `the origin of its STASH_SENSE_STASH_URL. Start the sidecar with STASH_SENSE_STASH_URL=${page} ` +
          `(or add --cors-origin ${page}), or set Connection to "auto" or "stash" in ${SETTINGS}.`,
        "cors"
      );
    }
    let serverReaches = false;
    try {
      await viaStash(settings, "GET", "/health");
      serverReaches = true;
    } catch (err) {
      serverReaches = !(err instanceof UserError && (err.kind === "down" || err.kind === "task"));
    }
    if (serverReaches && isPrivate(target.hostname)) {
      const where = isLoopback(target.hostname)
        ? `${target.hostname} is this browser's own device, not the Stash server, and Chromium blocks pages ` +
          "from other hosts calling loopback addresses"
        : "Chromium blocks pages from public or other hosts calling private network addresses";
      return new UserError(
        `This browser may not call the sidecar at ${settings.sidecarUrl}, though the Stash server reaches it ` +
          `(${where}). Set Connection to "auto" or "stash" in ${SETTINGS} so calls go through Stash.`,
        "private-network"
      );
    }
    if (serverReaches) {
      return new UserError(
        `This browser cannot reach the sidecar at ${settings.sidecarUrl} (${failure.message}), though the Stash ` +
          `server can. Set Connection to "auto" or "stash" in ${SETTINGS} so calls go through Stash.`,
        "browser-unreachable"
      );
    }
    return new UserError(
      `Cannot reach the Stash Sense sidecar at ${settings.sidecarUrl}, neither from this browser nor from the ` +
        `Stash server. Is "stash-sense serve" running, and is "Sidecar URL" in ${SETTINGS} right?`,
      "down"
    );
  }

  function cspBlocked(settings) {
    return new UserError(
      `Stash's Content-Security-Policy does not let this page call ${originOf(settings.sidecarUrl)}: a page may ` +
        "connect only to Stash itself and to the origins plugins declare in ui.csp.connect-src " +
        `(this plugin declares http://127.0.0.1:5000 and http://localhost:5000). Set Connection to "auto" or ` +
        `"stash" in ${SETTINGS}, or add the sidecar's origin to ui.csp.connect-src in stash-sense.yml and reload Stash.`,
      "csp"
    );
  }

  // Sidecar URL -> "stash" once a direct call failed at the network level in "auto".
  const fallenBack = {};

  /**
   * Calls the sidecar; resolves with its JSON answer or throws a UserError saying what to change.
   * ns.lastRoute tells the tests and the console which way the last call went.
   */
  async function sidecar(settings, method, path, body) {
    originOf(settings.sidecarUrl);
    const mode = settings.connection;
    if (mode === "stash" || (mode === "auto" && fallenBack[settings.sidecarUrl])) {
      ns.lastRoute = "stash";
      return viaStash(settings, method, path, body);
    }
    if (!(await cspAllows(settings.sidecarUrl))) {
      if (mode === "direct") throw cspBlocked(settings);
      ns.lastRoute = "stash";
      return viaStash(settings, method, path, body);
    }
    try {
      ns.lastRoute = "direct";
      return await direct(settings, method, path, body);
    } catch (err) {
      if (!(err instanceof DirectFailure)) throw err;
      // The violation event may trail the failed fetch by a moment.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const byPolicy = blocked.has(originOf(settings.sidecarUrl));
      if (mode === "direct") throw byPolicy ? cspBlocked(settings) : await diagnose(settings, err);
      console.info(`Stash Sense: the page cannot call ${settings.sidecarUrl} (${err.message}); going through Stash.`);
      fallenBack[settings.sidecarUrl] = true;
      ns.lastRoute = "stash";
      return viaStash(settings, method, path, body);
    }
  }

  ns.loadSettings = loadSettings;
  ns.sidecar = sidecar;
  ns.cspAllows = cspAllows;
})();
