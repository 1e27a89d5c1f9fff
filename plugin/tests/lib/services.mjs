// The real services the browser tests run against, each a subprocess over real HTTP:
// the face database (stash-sense db enroll), the Stash stand-in and the sidecar (stash-sense serve).
import { spawn, execFile } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { TESTS_DIR } from "./harness-server.mjs";

export const REPO = path.resolve(TESTS_DIR, "..", "..");
export const TEST_DATA = path.resolve(REPO, "tests", "data"); // LFW photos, one scene (README there)
// The Python environment with stash-sense installed: STASH_SENSE_BIN (tests/plugin/test_plugin_browser.py
// passes the one running pytest, so a git worktree without its own .venv works), else the repository's .venv.
const BIN = process.env.STASH_SENSE_BIN || path.join(REPO, ".venv", "bin");
export const PYTHON = existsSync(path.join(BIN, "python")) ? path.join(BIN, "python") : "python3";
export const CLI = path.join(BIN, "stash-sense");
export const DEV_CLI = path.join(BIN, "stash-sense-dev");

/** A TCP port free right now on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Builds the test face database; resolves with make_test_db.py's JSON. */
export async function makeTestDb(dir) {
  const { stdout } = await promisify(execFile)(PYTHON, [path.join(TESTS_DIR, "lib", "make_test_db.py"), dir], {
    cwd: REPO,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout);
}

/**
 * Publishes the plugin source with plugin/build_index.py into dir/source and installs its zip the
 * way Stash does (extracted into dir/plugins/<id>/); resolves with the installed folder and the index.
 */
export async function installFromSource(dir) {
  const source = path.join(dir, "source");
  const installed = path.join(dir, "plugins", "stash-sense");
  const run = promisify(execFile);
  await run(PYTHON, [path.join(REPO, "plugin", "build_index.py"), "--out", source], { cwd: REPO });
  await run(PYTHON, ["-m", "zipfile", "-e", path.join(source, "stash-sense.zip"), installed]);
  return { installed, index: path.join(source, "index.yml") };
}

/** A started subprocess with its output kept for failure messages. */
export function startProcess(name, command, args, env = {}) {
  const child = spawn(command, args, {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log = [];
  const keep = (d) => {
    log.push(String(d));
    if (log.length > 200) log.shift();
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  return {
    name,
    child,
    log: () => log.join(""),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits until url answers (any HTTP status), or throws with the process's log. */
export async function waitForHttp(proc, url, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) {
      throw new Error(`${proc.name} exited (${proc.child.exitCode}) before serving:\n${proc.log()}`);
    }
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`${proc.name} did not answer ${url} within ${timeoutMs} ms:\n${proc.log()}`);
}

/** The Stash stand-in (stash-sense-dev stash, from devkit/) over a folder of scene folders
 * (extraArgs: more of its options, such as --stash-box NAME=ENDPOINT). */
export async function startStandIn(port, scenes, extraArgs = []) {
  const args = ["stash", "--scenes", scenes, "--port", String(port), ...extraArgs];
  const proc = startProcess("stash stand-in", DEV_CLI, args);
  await waitForHttp(proc, `http://127.0.0.1:${port}/__mutations`);
  return proc;
}

/** The sidecar (stash-sense serve) on the test database, reading Stash at stashUrl. */
export async function startSidecar({ db, port, stashUrl, apiKey, dataDir, extraArgs = [] }) {
  const proc = startProcess(
    "sidecar",
    CLI,
    ["serve", "--db", db, "--host", "127.0.0.1", "--port", String(port), ...extraArgs],
    {
      STASH_SENSE_STASH_URL: stashUrl,
      STASH_SENSE_API_KEY: apiKey,
      STASH_SENSE_FEEDBACK_DB: path.join(dataDir, "feedback.sqlite"),
      STASH_SENSE_DATA_DIR: dataDir,
    }
  );
  await waitForHttp(proc, `http://127.0.0.1:${port}/health`, 120000);
  return proc;
}

/** Debian's chromium (CHROMIUM_PATH), headless, as the browser tests drive it (lib/browser.mjs). */
export { launchBrowser as launchChromium } from "./browser.mjs";
