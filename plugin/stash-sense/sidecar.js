// Stash Sense plugin: talking to Stash (GraphQL) and to the Stash Sense sidecar.
// Plain ES2020, no build step. Exposes window.StashSense.{gql, loadSettings, sidecar, errors}.
(function () {
  "use strict";
  const ns = (window.StashSense = window.StashSense || {});
  const PLUGIN_ID = "stash-sense";
  const DEFAULT_SIDECAR = "http://127.0.0.1:5000";
  // Origins the plugin declares in stash-sense.yml ui.csp.connect-src: the page may call these
  // directly; any other sidecar URL is reached through the plugin's server-side task.
  const DIRECT_ORIGINS = ["http://127.0.0.1:5000", "http://localhost:5000"];
  const TIERS = ["high", "likely", "possible"];
  // As long as the server-side task waits (sidecar_proxy.py TIMEOUT_S).
  const TIMEOUT_MS = 300000;

  /** An error whose message is meant for the user, as is. */
  class UserError extends Error {
    constructor(message, kind) {
      super(message);
      this.name = "UserError";
      this.kind = kind || "error";
    }
  }

  /**
   * Stash's GraphQL endpoint, served with its UI: "graphql" under the page's <base href> (Stash
   * writes its base path there, "/" unless Stash runs under a path prefix).
   */
  function graphqlUrl() {
    return new URL("graphql", document.baseURI).href;
  }

  /** POST one operation to Stash; returns data or throws a UserError naming the operation. */
  async function gql(query, variables) {
    const name = (query.match(/^(?:query|mutation)\s+(\w+)/) || [])[1] || "operation";
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

  function asNumber(value, fallback) {
    const n = Number(value);
    return Number.isFinite(n) && n > 0 ? Math.round(n) : fallback;
  }

  /** The plugin's settings from Stash (configuration { plugins }), with defaults filled in. */
  async function loadSettings() {
    const data = await gql(ns.queries.configuration);
    const raw = ((data.configuration || {}).plugins || {})[PLUGIN_ID] || {};
    const url = String(raw.sidecarUrl || DEFAULT_SIDECAR).trim().replace(/\/+$/, "");
    const tier = String(raw.minTier || "possible").trim().toLowerCase();
    const connection = String(raw.connection || "auto").trim().toLowerCase();
    return {
      sidecarUrl: url,
      connection: ["auto", "direct", "stash"].includes(connection) ? connection : "auto",
      apiKey: raw.apiKey ? String(raw.apiKey) : "",
      minTier: TIERS.includes(tier) ? tier : "possible",
      frames: asNumber(raw.frames, 40),
    };
  }

  function originOf(url) {
    try {
      return new URL(url).origin;
    } catch (_err) {
      throw new UserError(`The sidecar URL "${url}" in the plugin settings is not a URL.`, "config");
    }
  }

  /** Turns a sidecar HTTP answer into data, or a UserError that says what went wrong. */
  function interpret(status, body, settings) {
    if (status >= 200 && status < 300) return body;
    const detail = body && (body.error || body.detail);
    const text = typeof detail === "string" ? detail : detail ? JSON.stringify(detail) : "";
    if (status === 401 || status === 403) {
      throw new UserError(
        `The sidecar at ${settings.sidecarUrl} refused the API key (HTTP ${status}). ` +
          "Set the sidecar's key in Settings > Plugins > Stash Sense.",
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
    throw new UserError(`The sidecar answered HTTP ${status}: ${text || "no detail"}`, "sidecar");
  }

  function unreachable(settings, why) {
    return new UserError(
      `Cannot reach the Stash Sense sidecar at ${settings.sidecarUrl} (${why}). ` +
        'Is "stash-sense serve" running, and is the URL in Settings > Plugins > Stash Sense right?',
      "unreachable"
    );
  }

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
      throw unreachable(settings, err.message);
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

  function noAnswer(settings) {
    return new UserError(
      `The sidecar at ${settings.sidecarUrl} gave no answer within ${TIMEOUT_MS / 1000} s.`,
      "timeout"
    );
  }

  /** Through Stash: runPluginOperation runs sidecar_proxy.py on the Stash server. */
  async function viaStash(settings, method, path, body) {
    const data = await ns.gql(ns.queries.runProxy, {
      args: {
        mode: "proxy",
        url: settings.sidecarUrl,
        api_key: settings.apiKey,
        method,
        path,
        body: body === undefined ? "" : JSON.stringify(body),
      },
    });
    const out = data.runPluginOperation;
    if (!out || typeof out !== "object") {
      throw new UserError("The plugin's server-side task gave no answer.", "sidecar");
    }
    if (out.unreachable) throw unreachable(settings, out.unreachable);
    return interpret(out.status, out.body, settings);
  }

  /** How a call goes: "direct" from the page, or "stash" through the plugin's server-side task. */
  function routeFor(settings) {
    if (settings.connection === "direct" || settings.connection === "stash") {
      return settings.connection;
    }
    return DIRECT_ORIGINS.includes(originOf(settings.sidecarUrl)) ? "direct" : "stash";
  }

  /** Calls the sidecar: directly when its origin is declared in the plugin's CSP, else via Stash. */
  async function sidecar(settings, method, path, body) {
    originOf(settings.sidecarUrl);
    const route = routeFor(settings) === "direct" ? direct : viaStash;
    return route(settings, method, path, body);
  }

  ns.UserError = UserError;
  ns.TIERS = TIERS;
  ns.DIRECT_ORIGINS = DIRECT_ORIGINS;
  ns.gql = gql;
  ns.loadSettings = loadSettings;
  ns.sidecar = sidecar;
  ns.routeFor = routeFor;
})();
