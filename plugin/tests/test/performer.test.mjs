// Browser tests of the performer page's identity panel (performer_page.js) and of Add to Scene
// with the identity graph: the harness playing Stash with three stash-boxes configured (StashDB,
// FansDB, PMVStash), the plugin installed from its published zip, the Stash stand-in (the real
// schema: every query the page sends is executed against it) and the real sidecar on the test
// database whose identity graph was built with `stash-sense db graph build` (lib/graph_test_db.py:
// Monica Seles on StashDB and, as a second row, on FansDB; Ali Naimi with both ids on one row).
// STASH_SENSE_SCREENSHOTS=1 also writes docs/performer-panel.png (as review.test.mjs does its pictures).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { startHarness, TESTS_DIR } from "../lib/harness-server.mjs";
import {
  freePort, installFromSource, launchChromium, makeTestDb, PYTHON, REPO, startSidecar, startStandIn, TEST_DATA,
} from "../lib/services.mjs"; // prettier-ignore
import { standInClient } from "../lib/standin-client.mjs";

const ARTIFACTS = path.join(TESTS_DIR, "artifacts");
const API_KEY = "performer-test-key";
const STASHDB = "https://stashdb.org/graphql";
const FANSDB = "https://fansdb.cc/graphql";
const PMVSTASH = "https://pmvstash.org/graphql";
const ALI_SD = "5b1f0a4e-0000-4000-8000-00000000a002";
const ALI_FD = "7c2e1b5f-0000-4000-8000-00000000b002";
const MONICA_SD = "5b1f0a4e-0000-4000-8000-00000000a001";
const STAMP = "2024-01-02T03:04:05Z"; // when "Stash" linked the id it already has

let tmp;
let standIn;
let standInUrl;
let sidecar;
let harness;
let browser;
let graph; // graph_test_db.py's JSON
const pageErrors = [];

const { gql: standInGql, mutationsDuring } = standInClient(() => standInUrl);

async function createPerformer(input) {
  const data = await standInGql(`mutation P($input: PerformerCreateInput!) { performerCreate(input: $input) { id } }`, { input });
  return data.performerCreate.id;
}

async function stashIdsOf(id) {
  const query = `query P($id: ID!) { findPerformer(id: $id) { stash_ids { endpoint stash_id updated_at } } }`;
  return (await standInGql(query, { id })).findPerformer.stash_ids;
}

async function openPage(where) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  await page.goto(`${harness.url}/${where}`);
  return page;
}

/** The panel once it has its answer (data-state: done, unknown, no-ids, no-graph, error). */
async function panel(page) {
  const node = page.locator(".stash-sense-identity:not([data-state='loading'])");
  await node.waitFor({ timeout: 60000 });
  return node;
}

async function rowStates(node) {
  return node.locator("tr[data-endpoint]").evaluateAll((rows) => rows.map((r) => [r.dataset.endpoint, r.dataset.state]));
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "stash-sense-performer-"));
  await mkdir(ARTIFACTS, { recursive: true });
  const scenes = path.join(tmp, "scenes");
  await mkdir(scenes, { recursive: true });
  await symlink(path.join(TEST_DATA, "scenes", "scene-1"), path.join(scenes, "scene-1"));
  const [standInPort, sidecarPort] = [await freePort(), await freePort()];
  standInUrl = `http://127.0.0.1:${standInPort}`;
  const boxes = ["--stash-box", `StashDB=${STASHDB}`, "--stash-box", `FansDB=${FANSDB}`, "--stash-box", `PMVStash=${PMVSTASH}`];
  const [db, , plugin] = await Promise.all([
    makeTestDb(tmp),
    (async () => (standIn = await startStandIn(standInPort, scenes, boxes)))(),
    installFromSource(tmp),
  ]);
  const { stdout } = await promisify(execFile)(PYTHON, [path.join(TESTS_DIR, "lib", "graph_test_db.py"), db.db], {
    cwd: path.join(TESTS_DIR, "lib"),
  });
  graph = JSON.parse(stdout);
  harness = await startHarness({ stashUrl: standInUrl, pluginDir: plugin.installed });
  sidecar = await startSidecar({ db: db.db, port: sidecarPort, stashUrl: harness.url, apiKey: API_KEY, dataDir: tmp });
  await standInGql(`mutation C($input: Map!) { configurePlugin(plugin_id: "stash-sense", input: $input) }`, {
    input: { sidecarUrl: `http://127.0.0.1:${sidecarPort}`, apiKey: API_KEY, minTier: "possible", frames: 12, connection: "auto" },
  });
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (harness) await harness.close();
  if (sidecar) await sidecar.stop();
  if (standIn) await standIn.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

// First: the health item needs ids no other local performer holds yet (else it is a merge).
describe("library health kind graph", () => {
  test("the review page's Complete stash ids tab lists a performer the graph can complete; Link adds the ids", async () => {
    const local = await createPerformer({ name: "Ali (local)", stash_ids: [{ endpoint: STASHDB, stash_id: ALI_SD, updated_at: STAMP }] });
    const page = await openPage("plugin/stash-sense/review?tab=graph");
    await page.locator(".stash-sense-health-refresh").click();
    await page.locator(".stash-sense-health-line", { hasText: /^Checked \d+ of \d+ performers/ }).waitFor({ timeout: 300000 });
    const item = page.locator(`.stash-sense-health-item[data-id^="graph:${local}:"]`);
    await item.waitFor({ timeout: 30000 });
    assert.match(await item.innerText(), /is Ali Naimi in the identity graph/);
    assert.match(await item.innerText(), new RegExp(`adds 1 stash id\\(s\\): ${FANSDB} ${ALI_FD}`));
    const got = await mutationsDuring(async () => {
      await item.locator(".stash-sense-health-link").click();
      await item.waitFor({ state: "detached", timeout: 30000 });
    });
    assert.deepEqual(got, [
      {
        mutation: "performerUpdate",
        args: { input: { id: local, stash_ids: [{ endpoint: STASHDB, stash_id: ALI_SD, updated_at: STAMP }, { endpoint: FANSDB, stash_id: ALI_FD }] } },
      },
    ]);
    await page.close();
  });
});

describe("performer page identity panel", () => {
  test("shows each configured stash-box; one click adds the missing stash id, keeping the one Stash has", async () => {
    const ali = await createPerformer({ name: "Ali Naimi", stash_ids: [{ endpoint: STASHDB, stash_id: ALI_SD, updated_at: STAMP }] });
    const page = await openPage(`performers/${ali}`);
    await page.locator(".performer-stash-ids[data-count='1']").waitFor();
    const node = await panel(page);
    assert.equal(await node.getAttribute("data-state"), "done");
    assert.deepEqual(await rowStates(node), [[STASHDB, "linked"], [FANSDB, "missing"], [PMVSTASH, "absent"]]);
    const fansdb = node.locator(`tr[data-endpoint="${FANSDB}"]`);
    assert.match(await fansdb.innerText(), /FansDB\s+Not linked in Stash yet\s+.*Ali Naimi/s);
    assert.equal(await fansdb.locator(".stash-sense-identity-id").getAttribute("href"), `https://fansdb.cc/performers/${ALI_FD}`);
    // The graph's picture of the person comes through the sidecar as a data URL.
    await fansdb.locator("img.stash-sense-identity-img[src^='data:image/']").waitFor({ timeout: 30000 });
    const add = node.locator(".stash-sense-identity-add");
    assert.equal(await add.textContent(), "Add 1 missing stash id");
    if (process.env.STASH_SENSE_SCREENSHOTS === "1") {
      await node.screenshot({ path: path.join(ARTIFACTS, "performer-panel.png") });
      await copyFile(path.join(ARTIFACTS, "performer-panel.png"), path.join(REPO, "docs", "performer-panel.png"));
    }

    const got = await mutationsDuring(async () => {
      await add.click();
      await node.locator(".stash-sense-identity-done").waitFor();
    });
    assert.deepEqual(got, [
      {
        mutation: "performerUpdate",
        args: {
          input: {
            id: ali,
            stash_ids: [
              { endpoint: STASHDB, stash_id: ALI_SD, updated_at: STAMP },
              { endpoint: FANSDB, stash_id: ALI_FD },
            ],
          },
        },
      },
    ]);
    // Stash's own part of the page shows both at once (Apollo's cache), and so does the panel.
    await page.locator(".performer-stash-ids[data-count='2']").waitFor({ timeout: 10000 });
    await node.locator(".stash-sense-identity-complete").waitFor({ timeout: 30000 });
    assert.deepEqual(await rowStates(node), [[STASHDB, "linked"], [FANSDB, "linked"], [PMVSTASH, "absent"]]);
    const stored = await stashIdsOf(ali);
    assert.deepEqual(stored.map((s) => [s.endpoint, s.stash_id]), [[STASHDB, ALI_SD], [FANSDB, ALI_FD]]);
    assert.equal(stored[0].updated_at, STAMP, "the existing id keeps its time");
    await page.reload();
    assert.deepEqual(await rowStates(await panel(page)), [[STASHDB, "linked"], [FANSDB, "linked"], [PMVSTASH, "absent"]]);
    await page.close();
  });

  test("a performer without stash ids, with ids the graph does not know, or with junk ids gets one sentence", async () => {
    const cases = [
      [{ name: "Nobody Linked" }, "no-ids", /no stash-box id yet/],
      [{ name: "Stranger", stash_ids: [{ endpoint: STASHDB, stash_id: "0000aaaa-0000-4000-8000-000000000000" }] }, "unknown", /does not know/],
      [{ name: "Junk", stash_ids: [{ endpoint: "javascript:alert(1)", stash_id: "<img src=x onerror=alert(1)>" }] }, "unknown", /does not know/],
    ];
    for (const [input, state, words] of cases) {
      const id = await createPerformer(input);
      const page = await openPage(`performers/${id}`);
      const node = await panel(page);
      assert.equal(await node.getAttribute("data-state"), state, input.name);
      assert.match(await node.innerText(), words);
      assert.equal(await node.locator(".stash-sense-identity-add").count(), 0);
      await page.close();
    }
  });
});

describe("Add to Scene with the identity graph", () => {
  test("creates the performer with every stash id of the identity, not only the matched one", async () => {
    const page = await openPage("scenes/1");
    await page.locator(".stash-sense-identify").click();
    const modal = page.locator(".stash-sense-modal");
    await modal.waitFor({ timeout: 120000 });
    const monica = modal.locator('.stash-sense-candidate:first-child[data-performer="Monica Seles"]').first();
    await monica.waitFor();
    const got = await mutationsDuring(async () => {
      await monica.locator(".stash-sense-add").click();
      await monica.locator(".stash-sense-added").waitFor({ timeout: 60000 });
    });
    assert.equal(got[0].mutation, "performerCreate");
    assert.deepEqual(got[0].args.input.stash_ids, [
      { endpoint: STASHDB, stash_id: MONICA_SD },
      { endpoint: graph.monica_fansdb.endpoint, stash_id: graph.monica_fansdb.stash_id },
    ]);
    assert.equal(got[1].mutation, "sceneUpdate");
    await page.close();
  });
});

test("no errors on the pages", () => {
  assert.deepEqual(pageErrors, []);
});
