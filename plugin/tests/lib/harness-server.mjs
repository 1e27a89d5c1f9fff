// The harness web server: plays the user's Stash server in front of the Stash stand-in.
// It serves the UI page (harness/stash-ui.jsx, bundled by esbuild with the libraries Stash uses)
// under the Content-Security-Policy Stash sends (internal/api/server.go setPageSecurityHeaders:
// connect-src is "data: 'self' ws: wss:" plus every enabled plugin's ui.csp.connect-src, nothing
// else), the plugin's scripts concatenated in the yml's order at /plugin/<id>/javascript and its
// CSS at /plugin/<id>/css (internal/api/routes_plugin.go), and forwards everything else (/graphql,
// /scene/..., /performer/...) to the stand-in with the Host header kept, so the URLs the stand-in
// writes point back here, as Stash's own do. runPluginOperation and plugin tasks run the way Stash
// runs a raw plugin (pkg/plugin/raw.go, plugins.go): the yml's exec with {pluginDir} substituted,
// {"server_connection", "args"} on stdin (args = the task's defaultArgs plus the call's), and
// {"output"} or {"error"} read from stdout. It also answers `version` as the Stash it plays.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const TESTS_DIR = path.resolve(HERE, "..");
/** The plugin's source folder (the tests install it from its published zip instead; see pluginDir). */
export const PLUGIN_DIR = path.resolve(TESTS_DIR, "..", "stash-sense");
export const PLUGIN_ID = "stash-sense";
const BOOTSTRAP_CSS = path.join(TESTS_DIR, "node_modules/bootstrap/dist/css/bootstrap.min.css");

let bundled = null;
/** The harness UI, bundled once per process (React in production mode, as Stash ships it). */
function uiBundle() {
  bundled =
    bundled ||
    build({
      entryPoints: [path.join(TESTS_DIR, "harness", "stash-ui.jsx")],
      bundle: true,
      write: false,
      format: "iife",
      jsx: "transform",
      define: { "process.env.NODE_ENV": '"production"', global: "window" },
      logLevel: "error",
    }).then((out) => out.outputFiles[0].contents);
  return bundled;
}

const TYPES = { ".js": "text/javascript", ".css": "text/css", ".html": "text/html" };

/** The yml's list under `key:` (javascript, css, connect-src, exec). */
export function ymlList(yml, key) {
  const lines = yml.split("\n");
  const start = lines.findIndex((l) => l.trim() === `${key}:`);
  if (start < 0) return [];
  const indent = lines[start].search(/\S/);
  const out = [];
  for (const line of lines.slice(start + 1)) {
    const m = line.match(/^(\s*)- (.+)$/);
    if (!m || m[1].length < indent) break;
    out.push(m[2].trim().replace(/^"(.*)"$/, "$1"));
  }
  return out;
}

/** A task's defaultArgs (flat `key: value` lines) from the yml's tasks list, by task name. */
export function taskDefaultArgs(yml, taskName) {
  const lines = yml.split("\n");
  const at = lines.findIndex((l) => l.trim() === `- name: ${taskName}`);
  if (at < 0) throw new Error(`the plugin has no task named ${taskName}`);
  const args = {};
  let inArgs = false;
  for (const line of lines.slice(at + 1)) {
    if (/^\s*- name: /.test(line) || /^\S/.test(line)) break;
    if (line.trim() === "defaultArgs:") inArgs = true;
    else if (inArgs) {
      const m = line.match(/^\s+(\w+): (.+)$/);
      if (m) args[m[1]] = m[2].trim();
    }
  }
  return args;
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

/** Runs the plugin's raw exec as Stash does; resolves with {output, error, log} (log: stderr). */
function runRaw(exec, pluginDir, input) {
  const [command, ...args] = exec.map((part) => part.replaceAll("{pluginDir}", pluginDir));
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      try {
        const parsed = JSON.parse(stdout.trim().split("\n").pop());
        resolve({ output: parsed.output, error: parsed.error, log: stderr });
      } catch (err) {
        reject(new Error(`plugin exited ${code}: ${stderr || stdout || err.message}`));
      }
    });
    child.stdin.end(JSON.stringify(input));
  });
}

/**
 * Stash's page Content-Security-Policy for these declared connect-src origins. strictScripts drops
 * Stash's 'unsafe-inline' and 'unsafe-eval' from script-src: a test's proof that the plugin needs
 * neither (Stash itself allows both).
 */
export function stashCsp(declared, strictScripts = false) {
  const connect = ["data:", "'self'", "ws:", "wss:", ...declared];
  const loose = strictScripts ? [] : ["'unsafe-inline'", "'unsafe-eval'"];
  const script = ["'self'", "http://www.gstatic.com", "https://www.gstatic.com", ...loose];
  return (
    `default-src data: 'self' 'unsafe-inline'; connect-src ${connect.join(" ")}; img-src data: *; ` +
    `script-src ${script.join(" ")}; style-src 'self' 'unsafe-inline'; media-src blob: 'self'; ` +
    "worker-src blob:; child-src 'none'; object-src 'none'; form-action 'self';"
  );
}

/**
 * Starts the harness on 127.0.0.1 (free port).
 * @param {{stashUrl: string, pluginDir?: string, stashVersion?: string, strictScripts?: boolean}} options
 *   pluginDir: the installed plugin folder Stash loads (default: the source folder);
 *   stashVersion: the Stash release the harness plays (default v0.28.1);
 *   strictScripts: a policy stricter than Stash's (see stashCsp).
 */
export async function startHarness({ stashUrl, pluginDir = PLUGIN_DIR, stashVersion = "v0.28.1", strictScripts = false }) {
  const upstream = new URL(stashUrl);
  const ymlPath = path.join(pluginDir, `${PLUGIN_ID}.yml`);
  const yml = await readFile(ymlPath, "utf8");
  const scripts = ymlList(yml, "javascript");
  const styles = ymlList(yml, "css");
  const declared = ymlList(yml, "connect-src");
  const exec = ymlList(yml, "exec");
  const taskCalls = [];
  const graphqlCalls = [];
  const refusals = new Map(); // operationName -> message: answered as Stash answers a refused call
  let version = stashVersion;
  let server;

  const page = () => `<!doctype html>
<html lang="en" data-stash-version="${version}"><head><base href="/"><meta charset="utf-8">
<title>Stash (harness)</title>
<link rel="stylesheet" href="/vendor/bootstrap.css">
<link rel="stylesheet" href="/harness/harness.css">
<link rel="stylesheet" href="/plugin/${PLUGIN_ID}/css">
</head><body>
<div id="root"></div><div id="toasts"></div>
<script src="/harness/stash-ui.js"></script>
</body></html>`;

  /** The files the yml lists, concatenated in its order (routes_plugin.go serveFiles). */
  async function concatenated(files) {
    const parts = await Promise.all(files.map((f) => readFile(path.join(pluginDir, f))));
    return Buffer.concat(parts.flatMap((b) => [b, Buffer.from("\n")]));
  }

  function serverConnection() {
    // pkg/plugin/plugins.go makeServerConnection; the cookie is the session Stash makes for plugins.
    const { port } = server.address();
    return {
      Scheme: "http",
      Host: "127.0.0.1",
      Port: port,
      SessionCookie: { Name: "session", Value: "harness-plugin-session", Path: "/", HttpOnly: true },
      Dir: pluginDir,
      PluginDir: pluginDir,
    };
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

  async function answerGraphql(parsed, res) {
    const json = (payload) => send(res, 200, "application/json", JSON.stringify(payload));
    if (refusals.has(parsed.operationName)) {
      return json({ data: null, errors: [{ message: refusals.get(parsed.operationName) }] });
    }
    const query = parsed.query || "";
    if (/^\s*query\s*\w*\s*(\([^)]*\))?\s*\{\s*version\s*\{[^{}]*\}\s*\}\s*$/.test(query)) {
      return json({ data: { version: { version, hash: "harness", build_time: "" } } });
    }
    if (/\brunPluginOperation\b/.test(query)) {
      const args = (parsed.variables || {}).args || {};
      taskCalls.push({ args });
      try {
        const done = await runRaw(exec, pluginDir, { server_connection: serverConnection(), args });
        if (done.error) throw new Error(done.error);
        return json({ data: { runPluginOperation: done.output } });
      } catch (err) {
        return json({ data: null, errors: [{ message: err.message, path: ["runPluginOperation"] }] });
      }
    }
    return null;
  }

  server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://harness");
    try {
      if (url.pathname === "/favicon.ico") return send(res, 204, "image/x-icon", "");
      // The UI's pages, at the paths Stash uses (/scenes/12, /performers/3, /plugin/<id>/<page>).
      // Plugin pages (register.route) are served the same page: Stash's UI routes them itself.
      const pluginPage = /^\/plugin\/[\w-]+\/(?!javascript$|css$|assets\/)[\w/-]+$/.test(url.pathname);
      if ((pluginPage || /^\/(((scenes|performers)\/\d+)|settings)?$/.test(url.pathname)) && req.method === "GET") {
        return send(res, 200, "text/html", page(), {
          "Content-Security-Policy": stashCsp(declared, strictScripts),
          "Referrer-Policy": "same-origin",
        });
      }
      if (url.pathname === "/harness/stash-ui.js") return send(res, 200, TYPES[".js"], await uiBundle());
      if (url.pathname === "/harness/harness.css") {
        return send(res, 200, TYPES[".css"], await readFile(path.join(TESTS_DIR, "harness", "harness.css")));
      }
      if (url.pathname === "/vendor/bootstrap.css") return send(res, 200, TYPES[".css"], await readFile(BOOTSTRAP_CSS));
      if (url.pathname === `/plugin/${PLUGIN_ID}/javascript`) return send(res, 200, TYPES[".js"], await concatenated(scripts));
      if (url.pathname === `/plugin/${PLUGIN_ID}/css`) return send(res, 200, TYPES[".css"], await concatenated(styles));
      const body = await readBody(req);
      if (url.pathname === "/graphql" && req.method === "POST") {
        let parsed = null;
        try {
          parsed = JSON.parse(body.toString("utf8"));
        } catch {
          parsed = null;
        }
        if (parsed) {
          graphqlCalls.push({ operationName: parsed.operationName, cookie: req.headers.cookie || null });
          const answered = await answerGraphql(parsed, res);
          if (answered !== null) return answered;
        }
      }
      return forward(req, res, body);
    } catch (err) {
      return send(res, 500, "text/plain", String(err && err.stack ? err.stack : err));
    }
  });
  await uiBundle();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    taskCalls,
    graphqlCalls,
    declared,
    /** Refuse an operation (by name) the way Stash refuses one, until cleared with null. */
    refuse(operationName, message) {
      if (message === null) refusals.delete(operationName);
      else refusals.set(operationName, message);
    },
    /** Plays another Stash release from the next page load on. */
    setStashVersion(v) {
      version = v;
    },
    /** Runs a task of the plugin as Stash's Tasks page does: its defaultArgs, Stash's connection. */
    runTask(taskName) {
      const args = taskDefaultArgs(yml, taskName);
      return runRaw(exec, pluginDir, { server_connection: serverConnection(), args });
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
