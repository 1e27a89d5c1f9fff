// Browser tests of the library review page (/plugin/stash-sense/review): Debian's chromium
// (playwright-core) on the harness page (Stash's UI libraries, PluginApi with register.route and
// the MainNavBar.MenuItems patch point, Stash's Content-Security-Policy; the plugin installed from
// its published zip), the Stash stand-in and two real sidecars: one whose library scan the page
// runs over eval scene-1, one whose state database holds 20,000 scanned scenes as a scan leaves
// them, suggestion summaries computed (made by python -m stash_sense_devkit.library_fill with the
// store's own schema). Every state the tests check after a reload
// comes from the sidecar. Run: cd plugin/tests && node --test --test-concurrency=1 test/
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { launchBrowser } from "../lib/browser.mjs";
import { startHarness, TESTS_DIR } from "../lib/harness-server.mjs";
import { freePort, installFromSource, makeTestDb, PYTHON, REPO, startSidecar, startStandIn, TEST_DATA } from "../lib/services.mjs";
import { standInClient } from "../lib/standin-client.mjs";

const ARTIFACTS = path.join(TESTS_DIR, "artifacts");
const DOCS = path.join(REPO, "docs");
// docs/review-*.png are rewritten only when asked (STASH_SENSE_SCREENSHOTS=1): a test run leaves
// the working tree as it found it; the artifacts folder (git-ignored) gets its copies every run.
const DOC_SCREENSHOTS = process.env.STASH_SENSE_SCREENSHOTS === "1";

async function docScreenshot(page, name) {
  if (DOC_SCREENSHOTS) await page.screenshot({ path: path.join(DOCS, name) });
}
const API_KEY = "review-test-key";
const LIBRARY_SCENES = 20000;
const STASHDB = "https://stashdb.org/graphql";
const FANSDB = "https://fansdb.cc/graphql";
const MONICA_ID = "5b1f0a4e-0000-4000-8000-00000000a001";

let tmp;
let standIn;
let standInUrl;
let scanning; // the sidecar whose scan the page runs
let big; // the sidecar with 20,000 scanned scenes
let harness;
let strict; // the same Stash with a script policy stricter than Stash's own
let browser;
const figures = {};
const violations = [];
const pageErrors = [];

const { gql: standInGql, mutations, mutationsDuring } = standInClient(() => standInUrl);

async function configure(sidecarUrl) {
  await standInGql(`mutation C($input: Map!) { configurePlugin(plugin_id: "stash-sense", input: $input) }`, {
    input: { sidecarUrl, apiKey: API_KEY, minTier: "possible", frames: 12, connection: "auto" },
  });
}

async function createPerformer(input) {
  const data = await standInGql(`mutation P($input: PerformerCreateInput!) { performerCreate(input: $input) { id } }`, { input });
  return data.performerCreate.id;
}

async function faceDataUrl(who, n) {
  const bytes = await readFile(path.join(TEST_DATA, "faces", "lfw-dev", who, `${n}.jpg`));
  return `data:image/jpeg;base64,${bytes.toString("base64")}`;
}

async function scenePerformers(id) {
  const data = await standInGql(`query S($id: ID!) { findScene(id: $id) { performers { id name } } }`, { id });
  return data.findScene.performers.map((p) => p.name).sort();
}

/** A sidecar route, called as the tests themselves (not the page). */
async function sidecarGet(url, route) {
  const response = await fetch(`${url.url}${route}`, { headers: { "X-API-Key": API_KEY } });
  assert.equal(response.status, 200, route);
  return response.json();
}

async function openReview({ on = harness, from = null } = {}) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  page.on("console", (msg) => {
    if (/Content Security Policy|Refused to/.test(msg.text())) violations.push(msg.text());
  });
  await page.goto(`${on.url}/${from || "plugin/stash-sense/review"}`);
  return page;
}

/** The review row of one candidate (by name) of scene `sceneId`. */
function candidate(page, sceneId, name) {
  return page.locator(`.stash-sense-review-scene[data-scene="${sceneId}"] .stash-sense-review-candidate`, {
    has: page.locator(`.stash-sense-candidate[data-performer="${name}"]`),
  });
}

async function namesShown(page, sceneId) {
  return page
    .locator(`.stash-sense-review-scene[data-scene="${sceneId}"] .stash-sense-candidate`)
    .evaluateAll((nodes) => nodes.map((n) => n.getAttribute("data-performer")));
}

/** After a click on Start: the scan shows running, then done; resolves with the sidecar's status. */
async function waitScanDone(page, sidecar) {
  await page.locator('.stash-sense-scan-line[data-status="running"]').waitFor({ timeout: 30000 });
  await page.locator('.stash-sense-scan-line[data-status="done"]').waitFor({ timeout: 300000 });
  return sidecarGet(sidecar, "/library/scan");
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "stash-sense-review-"));
  await mkdir(ARTIFACTS, { recursive: true });
  const scenes = path.join(tmp, "scenes");
  await mkdir(scenes, { recursive: true });
  await symlink(path.join(TEST_DATA, "scenes", "scene-1"), path.join(scenes, "scene-1"));
  const ports = [await freePort(), await freePort(), await freePort()];
  standInUrl = `http://127.0.0.1:${ports[0]}`;
  const [db, , plugin] = await Promise.all([
    makeTestDb(tmp),
    (async () => (standIn = await startStandIn(ports[0], scenes)))(),
    installFromSource(tmp),
    promisify(execFile)(PYTHON, ["-m", "stash_sense_devkit.library_fill", path.join(tmp, "big"), "--scenes", String(LIBRARY_SCENES), "--studios", "4"], { cwd: REPO })
      .then(({ stdout }) => (figures.library_fill_s = JSON.parse(stdout).seconds)),
  ]); // prettier-ignore
  harness = await startHarness({ stashUrl: standInUrl, pluginDir: plugin.installed });
  strict = await startHarness({ stashUrl: standInUrl, pluginDir: plugin.installed, strictScripts: true });
  const common = { db: db.db, stashUrl: harness.url, apiKey: API_KEY };
  [scanning, big] = await Promise.all([
    startSidecar({ ...common, port: ports[1], dataDir: path.join(tmp, "scanning") }),
    startSidecar({ ...common, port: ports[2], dataDir: path.join(tmp, "big") }),
  ]);
  scanning.url = `http://127.0.0.1:${ports[1]}`;
  big.url = `http://127.0.0.1:${ports[2]}`;
  await configure(scanning.url);
  browser = await launchBrowser();
});

after(async () => {
  await writeFile(path.join(ARTIFACTS, "review-figures.json"), JSON.stringify(figures, null, 2));
  if (browser) await browser.close();
  for (const h of [harness, strict]) if (h) await h.close();
  for (const s of [scanning, big, standIn]) if (s) await s.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("library review page", () => {
  test("opens from Stash's navigation bar; a scan started there lists the scene's people", { timeout: 400000 }, async () => {
    const page = await openReview({ from: "scenes/1" });
    const nav = page.locator(".stash-sense-nav-link");
    await nav.waitFor();
    assert.equal(await nav.textContent(), "Face review");
    await nav.click();
    await page.waitForURL(`${harness.url}/plugin/stash-sense/review`);
    await page.locator(".stash-sense-review h2").waitFor();
    await page.locator(".stash-sense-scan-line", { hasText: "No scan yet." }).waitFor();
    assert.match(await page.locator(".stash-sense-keys").textContent(), /j .* a apply, r not this person, u undo/);

    await page.selectOption(".stash-sense-scope", "all");
    await page.locator(".stash-sense-start").click();
    const status = await waitScanDone(page, scanning);
    assert.equal(status.done, 1, JSON.stringify(status));
    assert.match(await page.locator(".stash-sense-scan-line").textContent(), /^Scan done: 1 of 1 scenes/);

    const scene = page.locator('.stash-sense-review-scene[data-scene="1"]');
    await scene.waitFor({ timeout: 30000 });
    assert.equal(await scene.locator(".stash-sense-scene-title").getAttribute("href"), `${harness.url}/scenes/1`);
    assert.ok((await scene.locator(".stash-sense-person").count()) >= 3);
    const shown = await namesShown(page, "1");
    for (const name of ["Monica Seles", "Ali Naimi", "Tommy Thompson"]) assert.ok(shown.includes(name), JSON.stringify(shown));
    const monica = candidate(page, "1", "Monica Seles").first();
    assert.match(await monica.locator(".stash-sense-tier").textContent(), /^(high|likely|possible)$/);
    assert.match(await monica.locator(".stash-sense-distance").textContent(), /^distance \d\.\d\d$/);
    assert.equal(await monica.locator(".stash-sense-links a").first().getAttribute("href"),
      "https://stashdb.org/performers/5b1f0a4e-0000-4000-8000-00000000a001"); // prettier-ignore
    assert.equal(await monica.locator(".stash-sense-in-stash").textContent(), "Not in your Stash yet: Apply creates the performer");
    // A time goes to the scene page at that time, as Stash's own links do (?t=).
    const time = scene.locator(".stash-sense-time").first();
    const seconds = await time.getAttribute("data-time");
    assert.equal(await time.getAttribute("href"), `${harness.url}/scenes/1?t=${seconds}`);
    await docScreenshot(page, "review-page.png");
    await page.screenshot({ path: path.join(ARTIFACTS, "review-page.png"), fullPage: true });
    await time.click();
    await page.waitForURL(`${harness.url}/scenes/1?t=${seconds}`);
    await page.locator(`.harness-player[data-time="${seconds}"]`).waitFor();
    await page.close();
  });

  test("apply adds the performer in Stash (created with its stash ids) and survives a reload", { timeout: 120000 }, async () => {
    const page = await openReview();
    const monica = candidate(page, "1", "Monica Seles").first();
    await monica.waitFor({ timeout: 30000 });
    const got = await mutationsDuring(async () => {
      await monica.locator(".stash-sense-apply").click();
      await monica.locator(".stash-sense-added").waitFor({ timeout: 30000 });
    });
    assert.deepEqual(got.map((m) => m.mutation), ["performerCreate", "sceneUpdate"]);
    assert.deepEqual(got[0].args.input.stash_ids, [{ endpoint: "https://stashdb.org/graphql", stash_id: "5b1f0a4e-0000-4000-8000-00000000a001" }]);
    const id = got[1].args.input.performer_ids[0];
    assert.deepEqual(got[1].args.input, { id: "1", performer_ids: [id] });
    assert.match(await monica.locator(".stash-sense-added").textContent(), /^Applied: Monica Seles \(#\d+\)$/);
    assert.deepEqual(await scenePerformers("1"), ["Monica Seles"]);
    // The decision is the sidecar's: after a reload the suggestion still reads "Applied".
    await page.reload();
    await candidate(page, "1", "Monica Seles").first().locator(".stash-sense-added").waitFor({ timeout: 30000 });
    await page.close();
  });

  test("reject: every suggestion of that performer on the scene disappears, and stays gone after a reload", { timeout: 120000 }, async () => {
    const page = await openReview();
    const tommy = candidate(page, "1", "Tommy Thompson").first();
    await tommy.waitFor({ timeout: 30000 });
    await tommy.locator(".stash-sense-reject").click();
    await page.locator(".stash-sense-review-status", { hasText: "Not Tommy Thompson" }).waitFor();
    assert.ok(!(await namesShown(page, "1")).includes("Tommy Thompson"));
    await page.reload();
    await page.locator('.stash-sense-review-scene[data-scene="1"]').waitFor({ timeout: 30000 });
    const shown = await namesShown(page, "1");
    assert.ok(shown.length > 0 && !shown.includes("Tommy Thompson"), JSON.stringify(shown));
    await page.close();
  });

  test("keys: j / k move, r rejects, u undoes, a applies", { timeout: 120000 }, async () => {
    const page = await openReview();
    await page.locator('.stash-sense-review-scene[data-scene="1"]').waitFor({ timeout: 30000 });
    const selected = () => page.locator(".stash-sense-review-candidate.stash-sense-selected").getAttribute("data-key");
    await page.keyboard.press("j");
    const first = await selected();
    await page.keyboard.press("ArrowDown");
    const second = await selected();
    assert.notEqual(first, second);
    await page.keyboard.press("k");
    assert.equal(await selected(), first);
    // Ali Naimi (Monica is applied, Tommy rejected): r, then u, then a.
    const ali = await candidate(page, "1", "Ali Naimi").first().getAttribute("data-key");
    for (let i = 0; i < 10 && (await selected()) !== ali; i++) await page.keyboard.press("j");
    assert.equal(await selected(), ali);
    await page.keyboard.press("r");
    await page.locator(".stash-sense-review-status", { hasText: "Not Ali Naimi" }).waitFor({ timeout: 30000 });
    assert.equal(await page.locator(`[data-key="${ali}"]`).count(), 0);
    await page.keyboard.press("u");
    await page.locator(".stash-sense-review-status", { hasText: "Undid rejecting Ali Naimi" }).waitFor({ timeout: 30000 });
    await page.locator(`[data-key="${ali}"]`).waitFor({ timeout: 30000 });
    for (let i = 0; i < 10 && (await selected()) !== ali; i++) await page.keyboard.press("j");
    const got = await mutationsDuring(async () => {
      await page.keyboard.press("a");
      await page.locator(`[data-key="${ali}"] .stash-sense-added`).waitFor({ timeout: 30000 });
    });
    assert.deepEqual(got.map((m) => m.mutation), ["performerCreate", "sceneUpdate"]);
    assert.deepEqual(await scenePerformers("1"), ["Ali Naimi", "Monica Seles"]);
    // A key typed into a filter is text, not a command.
    const studio = page.locator('input[name="studio"]');
    await studio.press("u");
    assert.equal(await studio.inputValue(), "u");
    assert.deepEqual(await scenePerformers("1"), ["Ali Naimi", "Monica Seles"]);
    await page.close();
  });

  test("undo from the rejections list, and u after a reload (the sidecar's latest decision)", { timeout: 120000 }, async () => {
    // Monica and Ali applied, Tommy rejected: scene 1 has no suggestion left and is not listed.
    const page = await openReview();
    await page.locator(".stash-sense-count", { hasText: "No scene matches." }).waitFor({ timeout: 30000 });
    await page.locator(".stash-sense-rejections summary").click();
    const row = page.locator(".stash-sense-rejection", { hasText: "not Tommy Thompson" });
    await row.waitFor({ timeout: 30000 });
    await row.locator(".stash-sense-undo-one").click();
    await page.locator(".stash-sense-review-status", { hasText: "Undid rejecting Tommy Thompson" }).waitFor({ timeout: 30000 });
    await candidate(page, "1", "Tommy Thompson").first().waitFor({ timeout: 30000 });
    await page.locator(".stash-sense-rejection", { hasText: "not Tommy Thompson" }).waitFor({ state: "detached", timeout: 30000 });
    // The page keeps no history across a reload: u undoes the sidecar's latest decision in force
    // (Ali Naimi's apply) and takes him off the scene in Stash, found by his stash id.
    await page.reload();
    await page.locator('.stash-sense-review-scene[data-scene="1"]').waitFor({ timeout: 30000 });
    await page.keyboard.press("u");
    await page.locator(".stash-sense-review-status", { hasText: "Undid applying Ali Naimi and took Ali Naimi off the scene" }).waitFor({ timeout: 30000 });
    assert.deepEqual(await scenePerformers("1"), ["Monica Seles"]);
    await candidate(page, "1", "Ali Naimi").first().locator(".stash-sense-apply").waitFor({ timeout: 30000 });
    await page.close();
  });

  test("a rejection stays after a rescan of the scene (sidecar state)", { timeout: 400000 }, async () => {
    const page = await openReview();
    const tommy = candidate(page, "1", "Tommy Thompson").first();
    await tommy.waitFor({ timeout: 30000 });
    await tommy.locator(".stash-sense-reject").click();
    await page.locator(".stash-sense-review-status", { hasText: "Not Tommy Thompson" }).waitFor();
    // The applies changed the scene in Stash (a new updated_at), so a scan of every scene reads it again.
    await page.selectOption(".stash-sense-scope", "all");
    await page.locator(".stash-sense-start").click();
    const status = await waitScanDone(page, scanning);
    assert.equal(status.scanned_this_run, 1, JSON.stringify(status));
    await page.reload();
    await page.locator('.stash-sense-review-scene[data-scene="1"]').waitFor({ timeout: 30000 });
    const shown = await namesShown(page, "1");
    assert.deepEqual(shown, ["Ali Naimi"], "Monica is on the scene now, Tommy rejected");
    await page.close();
  });

  test("apply all pre-selected: every pre-selected suggestion of the page; an applied scene leaves the list", { timeout: 120000 }, async () => {
    const page = await openReview();
    await page.locator('.stash-sense-review-scene[data-scene="1"]').waitFor({ timeout: 30000 });
    const pre = await page.locator('[data-scene="1"] .stash-sense-preselected').count();
    figures.preselected_on_scene_1 = pre;
    const button = page.locator(".stash-sense-apply-page");
    assert.equal(await button.textContent(), `Apply all pre-selected on this page (${pre})`);
    assert.ok(pre > 0, "Ali Naimi is pre-selected (a high first candidate seen in 3+ frames)");
    const got = await mutationsDuring(async () => {
      await button.click();
      await page.locator(".stash-sense-review-status", { hasText: `Applied ${pre} of ${pre} pre-selected` }).waitFor({ timeout: 60000 });
    });
    assert.equal(got.filter((m) => m.mutation === "sceneUpdate").length, pre);
    assert.deepEqual(await scenePerformers("1"), ["Ali Naimi", "Monica Seles"]);
    await page.reload();
    await page.locator(".stash-sense-count", { hasText: "No scene matches." }).waitFor({ timeout: 30000 });
    assert.equal(await page.locator(".stash-sense-apply-page").textContent(), "Apply all pre-selected on this page (0)");
    await page.close();
  });

  test("health tabs: link a local performer to its stash-box entry; dismiss a duplicate, undo; check scenes", { timeout: 400000 }, async () => {
    // A local performer with Monica Seles's face and no stash id, and nobody in Stash holding her
    // StashDB id (the sidecar proposes a link only then: else it is a duplicate); a second performer
    // with the FansDB id of Ali Naimi (created with it by the keys test).
    const held = (await standInGql(`query { findPerformers(filter: { q: "Monica Seles" }) { performers { id } } }`)).findPerformers.performers;
    for (const p of held) await standInGql(`mutation U($input: PerformerUpdateInput!) { performerUpdate(input: $input) { id } }`, { input: { id: p.id, stash_ids: [] } });
    const monicaS = await createPerformer({ name: "Monica S", image: await faceDataUrl("Monica_Seles", 2) });
    const ali2 = await createPerformer({ name: "Ali N (2)", stash_ids: [{ endpoint: FANSDB, stash_id: "7c2e1b5f-0000-4000-8000-00000000b002" }] });
    const page = await openReview();
    await page.locator('[data-tab="link"]').click();
    await page.waitForURL(`${harness.url}/plugin/stash-sense/review?tab=link`);
    await page.locator(".stash-sense-health-refresh").click();
    await page.locator(".stash-sense-health-line", { hasText: /^Checked \d+ of \d+ performers/ }).waitFor({ timeout: 300000 });
    const item = page.locator(".stash-sense-health-item", { has: page.locator(`.stash-sense-health-performer[data-id="${monicaS}"]`) });
    await item.waitFor({ timeout: 30000 });
    assert.equal(await item.locator(".stash-sense-health-match").getAttribute("data-performer"), "Monica Seles");
    assert.ok((await item.locator(".stash-sense-evidence li").count()) > 0);
    await docScreenshot(page, "review-health.png");
    await page.screenshot({ path: path.join(ARTIFACTS, "review-health.png"), fullPage: true });
    // Link: the modal's performerUpdate (ids it has, as read, plus the match's), then the decision.
    const got = await mutationsDuring(async () => {
      await item.locator(".stash-sense-health-link").click();
      await page.locator(".stash-sense-review-status", { hasText: "Linked Monica S to Monica Seles" }).waitFor({ timeout: 30000 });
    });
    assert.deepEqual(got, [{ mutation: "performerUpdate", args: { input: { id: monicaS, stash_ids: [{ endpoint: STASHDB, stash_id: MONICA_ID }] } } }]);
    await item.waitFor({ state: "detached", timeout: 30000 });
    await page.reload(); // the tab is in the address; the item stays gone (sidecar state)
    await page.locator('.stash-sense-health[data-kind="link"] .stash-sense-count').waitFor({ timeout: 30000 });
    assert.equal(await item.count(), 0);

    await page.locator('[data-tab="merge"]').click();
    const dup = page.locator(".stash-sense-health-item", { has: page.locator(`.stash-sense-health-performer[data-id="${ali2}"]`) });
    await dup.waitFor({ timeout: 30000 });
    assert.equal(await dup.locator(`.stash-sense-health-performer[data-id="${ali2}"] a`).getAttribute("href"), `${harness.url}/performers/${ali2}`);
    const none = await mutationsDuring(async () => {
      await dup.locator(".stash-sense-health-dismiss").click();
      await dup.waitFor({ state: "detached", timeout: 30000 });
    });
    assert.deepEqual(none, [], "a duplicate is never merged by the page");
    await page.locator(".stash-sense-health-undo").click();
    await page.locator(".stash-sense-review-status", { hasText: "Undid dismissing merge:" }).waitFor({ timeout: 30000 });
    await dup.waitFor({ timeout: 30000 });

    await page.locator('[data-tab="check"]').click();
    await page.locator('.stash-sense-health[data-kind="check"] .stash-sense-count').waitFor({ timeout: 30000 });
    await page.close();
  });

  test("20,000 scanned scenes: the page paints before the list, lists a page of 50, stays responsive", { timeout: 180000 }, async () => {
    await configure(big.url);
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const pictures = []; // the candidate picture requests (direct to the sidecar, or through Stash)
      page.on("request", (r) => {
        if (r.url().includes("/images/") || (r.postData() || "").includes("/images/")) pictures.push(Date.now());
      });
      const started = Date.now();
      await page.goto(`${harness.url}/plugin/stash-sense/review`);
      await page.locator(".stash-sense-review h2").waitFor();
      figures.shell_paint_ms = Date.now() - started;
      // While the sidecar works on the list, the page answers.
      const ping = Date.now();
      await page.evaluate(() => 1);
      figures.responsive_while_loading_ms = Date.now() - ping;
      await page.locator(".stash-sense-review-scene").first().waitFor({ timeout: 120000 });
      figures.list_paint_ms = Date.now() - started;
      figures.sidecar_list_ms = await page.evaluate(() => Math.round(window.StashSense.lastListMs));
      assert.equal(await page.locator(".stash-sense-review-scene").count(), 50);
      assert.equal(await page.locator(".stash-sense-count").getAttribute("data-total"), String(LIBRARY_SCENES));
      const ping2 = Date.now();
      await page.keyboard.press("j");
      await page.locator(".stash-sense-selected").waitFor();
      figures.key_response_ms = Date.now() - ping2;
      figures.first_contentful_paint_ms = await page.evaluate(() =>
        Math.round((performance.getEntriesByName("first-contentful-paint")[0] || {}).startTime || -1)
      );
      // Candidate pictures are asked for near the screen only: the first screen's few, not the
      // page's hundreds (50 scenes, 3 persons, up to 3 candidates each, each with a picture URL).
      const quiet = async (least) => {
        const until = Date.now() + 60000;
        while (Date.now() < until && (pictures.length < least || Date.now() - (pictures.at(-1) || 0) < 1500)) {
          await page.waitForTimeout(250);
        }
        return pictures.length;
      };
      figures.picture_requests_first_screen = await quiet(1);
      assert.ok(figures.picture_requests_first_screen < 100, JSON.stringify(figures));
      await page.locator(".stash-sense-review-scene").last().scrollIntoViewIfNeeded();
      figures.picture_requests_after_scroll = await quiet(figures.picture_requests_first_screen + 1);
      assert.ok(figures.picture_requests_after_scroll > figures.picture_requests_first_screen, JSON.stringify(figures));
      await page.evaluate(() => window.scrollTo(0, 0));
      // Generous functional bounds (the machine is shared): the figures are the report.
      assert.ok(figures.shell_paint_ms < 10000, JSON.stringify(figures));
      assert.ok(figures.key_response_ms < 5000, JSON.stringify(figures));
      await page.locator(".stash-sense-next").click();
      await page.locator(".stash-sense-count", { hasText: "Scenes 51\u2013100 of 20,000" }).waitFor({ timeout: 120000 });
      figures.next_page_sidecar_ms = await page.evaluate(() => Math.round(window.StashSense.lastListMs));
      await page.screenshot({ path: path.join(ARTIFACTS, "review-20000.png") });
      // Filters go to the sidecar: a quarter of the scenes are Studio 0's (--studios 4).
      await page.locator('input[name="studio"]').fill("Studio 0");
      await page.locator('.stash-sense-count[data-total="5000"]').waitFor({ timeout: 120000 });
      const studios = await page.locator(".stash-sense-scene-meta").allTextContents();
      assert.ok(studios.length === 50 && studios.every((t) => t.startsWith("Studio 0")), JSON.stringify(studios));
      await page.close();
    } finally {
      await configure(scanning.url);
    }
  });

  test("opens from Settings > Tools: one button, in the Scene Tools section", { timeout: 60000 }, async () => {
    const page = await openReview({ from: "settings?tab=tools" });
    const link = page.locator(".stash-sense-settings-link");
    await link.waitFor({ timeout: 30000 });
    assert.equal(await link.count(), 1); // two SettingsToolsSection patch points, one button
    const section = page.locator('.setting-section[data-heading="Scene Tools"]');
    assert.equal(await section.locator(".stash-sense-settings-link").count(), 1);
    assert.equal(await link.textContent(), "Stash Sense: library review");
    await link.click();
    await page.waitForURL(`${harness.url}/plugin/stash-sense/review`);
    await page.locator(".stash-sense-review h2").waitFor();
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  test("the page needs no inline script and no eval (a stricter policy than Stash's)", { timeout: 60000 }, async () => {
    violations.length = 0;
    const page = await openReview({ on: strict });
    await page.locator(".stash-sense-nav-link").waitFor();
    // Scene 1 has no suggestion left: the "without suggestions" filter shows it.
    await page.locator(".stash-sense-count").waitFor({ timeout: 30000 });
    await page.selectOption('select[name="has_suggestion"]', "false");
    await page.locator('.stash-sense-review-scene[data-scene="1"]').waitFor({ timeout: 30000 });
    assert.deepEqual(violations, []);
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  test("the sidecar down: the page says so, in one sentence", { timeout: 60000 }, async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    await configure(nobody);
    try {
      const page = await openReview();
      const error = page.locator(".stash-sense-review .stash-sense-error");
      await error.waitFor({ timeout: 30000 });
      assert.match(await error.textContent(), new RegExp(`^The Stash server cannot reach the Stash Sense sidecar at ${nobody} `));
      assert.equal(await page.locator(".stash-sense-review-scene").count(), 0);
      await page.close();
    } finally {
      await configure(scanning.url);
    }
  });
});
