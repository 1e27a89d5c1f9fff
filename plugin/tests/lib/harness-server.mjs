// The harness web server: plays the user's Stash in front of the Stash stand-in.
// It serves the harness page (real React + PluginApi + the plugin's scripts, in the order its yml
// lists them, under a Content-Security-Policy built the way Stash builds it from the plugin's
// ui.csp), the plugin's files, and forwards everything else (/graphql, /scene/..., /performer/...)
// to the stand-in with the Host header kept, so the URLs the stand-in writes point back here, as
// Stash's own do. runPluginOperation for "stash-sense" is run the way Stash runs a raw plugin task:
// the plugin's exec command with Stash's JSON on stdin, its {"output"} returned as the result.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const TESTS_DIR = path.resolve(HERE, "..");
/** The plugin's source folder (the tests install it from its published zip instead; see pluginDir). */
export const PLUGIN_DIR = path.resolve(TESTS_DIR, "..", "stash-sense");
const VENDOR = {
  "/vendor/react.js": path.join(TESTS_DIR, "node_modules/react/umd/react.development.js"),
  "/vendor/react-dom.js": path.join(TESTS_DIR, "node_modules/react-dom/umd/react-dom.development.js"),
};
const TYPES = { ".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".py": "text/plain" };

/** The yml's list under `key:` inside `ui:` (javascript, css) or under csp's `connect-src:`. */
export function ymlList(yml, key) {
  const lines = yml.split("\n");
  const start = lines.findIndex((l) => l.trim() === `${key}:`);
  if (start < 0) return [];
  const indent = lines[start].search(/\S/);
  const out = [];
  for (const line of lines.slice(start + 1)) {
    const m = line.match(/^(\s*)- (.+)$/);
    if (!m || m[1].length < indent) break;
    out.push(m[2].trim());
  }
  return out;
}

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store", ...headers });
  res.end(body);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Runs the plugin's raw task as Stash does; resolves with its `output`. */
function runPluginTask(pluginDir, args, serverConnection) {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", [path.join(pluginDir, "sidecar_proxy.py")], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      try {
        const parsed = JSON.parse(stdout.trim().split("\n").pop());
        if (parsed.error) reject(new Error(parsed.error));
        else resolve(parsed.output);
      } catch (err) {
        reject(new Error(`plugin task exited ${code}: ${stderr || stdout || err.message}`));
      }
    });
    child.stdin.end(JSON.stringify({ server_connection: serverConnection, args: args || {} }));
  });
}

/**
 * Starts the harness on 127.0.0.1 (free port).
 * @param {{stashUrl: string, extraConnectSrc?: string[], pluginDir?: string}} options
 *   pluginDir: the installed plugin folder Stash would load (default: the source folder).
 */
export async function startHarness({ stashUrl, extraConnectSrc = [], pluginDir = PLUGIN_DIR }) {
  const upstream = new URL(stashUrl);
  const yml = await readFile(path.join(pluginDir, "stash-sense.yml"), "utf8");
  const scripts = ymlList(yml, "javascript");
  const styles = ymlList(yml, "css");
  const declared = ymlList(yml, "connect-src");
  const taskCalls = [];
  const refusals = new Map(); // operationName -> message: answered as Stash answers a refused call
  let connectSrc = ["'self'", ...declared, ...extraConnectSrc];

  const page = () => `<!doctype html>
<html lang="en"><head><base href="/"><meta charset="utf-8"><title>Stash (harness)</title>
<link rel="stylesheet" href="/harness/harness.css">
${styles.map((s) => `<link rel="stylesheet" href="/plugin/${s}">`).join("\n")}
</head><body>
<div id="root"></div><div id="toasts"></div>
<script src="/vendor/react.js"></script>
<script src="/vendor/react-dom.js"></script>
<script src="/harness/plugin-api.js"></script>
${scripts.map((s) => `<script src="/plugin/${s}"></script>`).join("\n")}
<script src="/harness/app.js"></script>
</body></html>`;

  async function serveFile(res, file) {
    try {
      const body = await readFile(file);
      send(res, 200, TYPES[path.extname(file)] || "application/octet-stream", body);
    } catch {
      send(res, 404, "text/plain", "not found");
    }
  }

  function forward(req, res, body) {
    const options = {
      hostname: upstream.hostname,
      port: upstream.port,
      path: req.url,
      method: req.method,
      headers: { ...req.headers, "content-length": body.length },
    };
    const out = http.request(options, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    out.on("error", (err) => send(res, 502, "text/plain", `stand-in unreachable: ${err.message}`));
    out.end(body);
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://harness");
    try {
      if (url.pathname === "/favicon.ico") return send(res, 204, "image/x-icon", "");
      // The UI's pages, at the paths Stash uses (/scenes/12, /performers/3).
      if (/^\/((scenes|performers)\/\d+)?$/.test(url.pathname) && req.method === "GET") {
        const csp = [
          "default-src 'self'",
          "script-src 'self'",
          "style-src 'self' 'unsafe-inline'",
          "img-src 'self' data: blob: http: https:",
          `connect-src ${connectSrc.join(" ")}`,
        ].join("; ");
        return send(res, 200, "text/html", page(), { "Content-Security-Policy": csp });
      }
      if (VENDOR[url.pathname]) return serveFile(res, VENDOR[url.pathname]);
      if (url.pathname.startsWith("/harness/") || url.pathname.startsWith("/plugin/")) {
        const base = url.pathname.startsWith("/harness/") ? path.join(TESTS_DIR, "harness") : pluginDir;
        const rel = path.normalize(decodeURIComponent(url.pathname.replace(/^\/(harness|plugin)\//, "")));
        if (rel.startsWith("..") || path.isAbsolute(rel)) return send(res, 400, "text/plain", "bad path");
        return serveFile(res, path.join(base, rel));
      }
      const body = await readBody(req);
      if (url.pathname === "/graphql" && req.method === "POST") {
        let parsed = null;
        try {
          parsed = JSON.parse(body.toString("utf8"));
        } catch {
          parsed = null;
        }
        if (parsed && refusals.has(parsed.operationName)) {
          const errors = [{ message: refusals.get(parsed.operationName) }];
          return send(res, 200, "application/json", JSON.stringify({ data: null, errors }));
        }
        if (parsed && /\brunPluginOperation\b/.test(parsed.query || "")) {
          taskCalls.push(parsed.variables);
          const address = server.address();
          const connection = { Scheme: "http", Host: "127.0.0.1", Port: address.port, Dir: pluginDir };
          try {
            const output = await runPluginTask(pluginDir, (parsed.variables || {}).args, connection);
            return send(res, 200, "application/json", JSON.stringify({ data: { runPluginOperation: output } }));
          } catch (err) {
            const errors = [{ message: err.message, path: ["runPluginOperation"] }];
            return send(res, 200, "application/json", JSON.stringify({ data: null, errors }));
          }
        }
      }
      return forward(req, res, body);
    } catch (err) {
      return send(res, 500, "text/plain", String(err && err.stack ? err.stack : err));
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    taskCalls,
    declared,
    /** Refuse an operation (by name) the way Stash refuses one, until cleared with null. */
    refuse(operationName, message) {
      if (message === null) refusals.delete(operationName);
      else refusals.set(operationName, message);
    },
    setExtraConnectSrc(list) {
      connectSrc = ["'self'", ...declared, ...list];
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
