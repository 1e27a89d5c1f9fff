// Browser tests of the Stash Sense plugin: Debian's chromium (playwright-core) on the harness page
// (Stash's UI libraries: React 17, react-bootstrap, Apollo; PluginApi with Stash's patch mechanism;
// Stash's Content-Security-Policy; the plugin installed from its published zip), the Stash stand-in
// behind it and the real sidecar on a database enrolled from LFW. Asserts the exact mutations the
// stand-in received. Run: cd plugin/tests && npm ci && node --test --test-concurrency=1 test/
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { launchBrowser } from "../lib/browser.mjs";
import { startHarness, TESTS_DIR } from "../lib/harness-server.mjs";
import { freePort, installFromSource, makeTestDb, startSidecar, startStandIn, TEST_DATA } from "../lib/services.mjs";
import { standInClient } from "../lib/standin-client.mjs";

const ARTIFACTS = path.join(TESTS_DIR, "artifacts");
const API_KEY = "plugin-test-key";
const STASHDB = "https://stashdb.org/graphql";
const FANSDB = "https://fansdb.cc/graphql";
const FRAMES = 12; // the "Frames to sample" setting the tests use
const MONICA_ID = "5b1f0a4e-0000-4000-8000-00000000a001";

let tmp;
let fixture;
let standIn;
let standInUrl;
let sidecar;
let sidecarUrl;
let harness; // Stash with the plugin as published
let declaring; // a second Stash whose copy of the plugin declares the test sidecar's origin in ui.csp
let browser;
const local = {}; // local Stash performer ids by name
const consoleErrors = [];

const { gql: standInGql, mutations, mutationsDuring } = standInClient(() => standInUrl);

async function configure(settings) {
  const base = { sidecarUrl, apiKey: API_KEY, minTier: "possible", frames: FRAMES, connection: "auto" };
  await standInGql(
    `mutation Configure($input: Map!) { configurePlugin(plugin_id: "stash-sense", input: $input) }`,
    { input: { ...base, ...settings } }
  );
}

async function createPerformer(input) {
  const data = await standInGql(
    `mutation Create($input: PerformerCreateInput!) { performerCreate(input: $input) { id } }`,
    { input }
  );
  return data.performerCreate.id;
}

async function updatePerformer(input) {
  await standInGql(`mutation U($input: PerformerUpdateInput!) { performerUpdate(input: $input) { id } }`, { input });
}

async function stashIdsOf(id) {
  const query = `query P($id: ID!) { findPerformer(id: $id) { stash_ids { endpoint stash_id updated_at } } }`;
  return (await standInGql(query, { id })).findPerformer.stash_ids;
}

/** A PMVStash id (suffix: its last 4 hex digits) as Stash stores it, with its time. */
function pmvStashId(suffix) {
  return {
    endpoint: "https://pmvstash.org/graphql",
    stash_id: `0f0f0f0f-0000-4000-8000-00000000${suffix}`,
    updated_at: "2024-02-03T04:05:06Z",
  };
}

async function setScenePerformers(ids) {
  await standInGql(`mutation S($input: SceneUpdateInput!) { sceneUpdate(input: $input) { id } }`, {
    input: { id: "1", performer_ids: ids },
  });
}

/**
 * Opens a page of a harness at Stash's path for it ("scenes/1", "performers/3"); page.requests
 * lists every URL the page asked for.
 */
async function openPage(where, { on = harness, origin = null, using = browser } = {}) {
  const page = await using.newPage({ viewport: { width: 1280, height: 900 } });
  page.requests = [];
  page.on("request", (r) => page.requests.push(r.url()));
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(msg.text());
  });
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  await page.goto(`${origin || on.url}/${where}`);
  return page;
}

/** Every request the page made went to Stash (the harness origin) or was a data: URL. */
function onlyStash(page, origin = harness.url) {
  const elsewhere = page.requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith("data:"));
  assert.deepEqual(elsewhere, [], "the page fetched nothing from anywhere but Stash");
}

async function identify(page) {
  const button = page.locator(".stash-sense-identify");
  await button.click();
  const modal = page.locator(".stash-sense-modal");
  await modal.waitFor({ timeout: 90000 });
  return modal;
}

/** The candidate named `name` in the first row where it is the best candidate. */
function top(modal, name) {
  return modal.locator(`.stash-sense-candidate:first-child[data-performer="${name}"]`).first();
}

/**
 * Add to Scene on a candidate Stash has by name only: the question asked, whether "Create a new
 * performer" is offered (not when Stash would refuse the same name and disambiguation), then "Use <label>".
 */
async function addAndUse(candidate, question, useLabel, { canCreate }) {
  await candidate.locator(".stash-sense-add").click();
  const text = candidate.locator(".stash-sense-confirm-text");
  await text.waitFor();
  assert.equal(await text.textContent(), question);
  const create = candidate.locator(".stash-sense-confirm button", { hasText: "Create a new performer" });
  const note = candidate.locator(".stash-sense-confirm-note");
  assert.deepEqual([await create.count(), await note.count()], canCreate ? [1, 0] : [0, 1]);
  if (!canCreate) assert.match(await note.textContent(), /^To create a new performer instead, first give #\d+ a disambiguation/);
  await candidate.locator(".stash-sense-confirm button", { hasText: useLabel }).click();
  await candidate.locator(".stash-sense-added").waitFor();
}

function imageDataUrl(file) {
  return readFile(file).then((b) => `data:image/jpeg;base64,${b.toString("base64")}`);
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "stash-sense-plugin-"));
  await mkdir(ARTIFACTS, { recursive: true });
  // Scenes: eval scene-1 (three people, sprite + VTT) and scene-9, a video with nobody in it.
  const scenes = path.join(tmp, "scenes");
  await mkdir(path.join(scenes, "scene-9"), { recursive: true });
  await symlink(path.join(TEST_DATA, "scenes", "scene-1"), path.join(scenes, "scene-1"));
  await promisify(execFile)("ffmpeg", [
    "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=5:duration=4",
    "-pix_fmt", "yuv420p", path.join(scenes, "scene-9", "scene.mp4"),
  ]); // prettier-ignore
  await promisify(execFile)("ffmpeg", [
    "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1",
    path.join(tmp, "no-face.jpg"),
  ]); // prettier-ignore
  const [standInPort, sidecarPort] = [await freePort(), await freePort()];
  standInUrl = `http://127.0.0.1:${standInPort}`;
  sidecarUrl = `http://127.0.0.1:${sidecarPort}`;
  const [db] = await Promise.all([makeTestDb(tmp), (async () => (standIn = await startStandIn(standInPort, scenes)))()]);
  fixture = db;
  // Stash loads the plugin as installed from the published source: the zip build_index.py makes.
  // Its yml declares only http://127.0.0.1:5000 and http://localhost:5000, so on `harness` the
  // page may not call the test's sidecar directly: everything goes through Stash, as for a user
  // whose sidecar is anywhere but those two addresses.
  const plugin = await installFromSource(tmp);
  assert.match(await readFile(plugin.index, "utf8"), /^- id: "stash-sense"\n/);
  harness = await startHarness({ stashUrl: standInUrl, pluginDir: plugin.installed });
  // A user who added the sidecar's origin to ui.csp.connect-src of their copy of the plugin.
  const edited = path.join(tmp, "declaring", "stash-sense");
  await cp(plugin.installed, edited, { recursive: true });
  const ymlPath = path.join(edited, "stash-sense.yml");
  const yml = await readFile(ymlPath, "utf8");
  await writeFile(ymlPath, yml.replace("      - http://localhost:5000\n", `      - http://localhost:5000\n      - ${sidecarUrl}\n`));
  declaring = await startHarness({ stashUrl: standInUrl, pluginDir: edited });
  assert.ok(declaring.declared.includes(sidecarUrl));
  sidecar = await startSidecar({
    db: fixture.db, port: sidecarPort, stashUrl: harness.url, apiKey: API_KEY, dataDir: tmp,
    extraArgs: ["--cors-origin", declaring.url],
  }); // prettier-ignore
  browser = await launchBrowser();

  // The user's Stash: one performer already on scene 1, Monica Seles linked to StashDB,
  // Tommy Thompson present by name only, Ali Naimi absent.
  local.existing = await createPerformer({ name: "Existing Person" });
  local.monica = await createPerformer({
    name: "Monica Seles",
    stash_ids: [{ endpoint: STASHDB, stash_id: MONICA_ID }],
  });
  local.tommy = await createPerformer({ name: "Tommy Thompson" });
  await setScenePerformers([local.existing]);
  await configure({});
});

after(async () => {
  if (browser) await browser.close();
  if (harness) await harness.close();
  if (declaring) await declaring.close();
  if (sidecar) await sidecar.stop();
  if (standIn) await standIn.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Which tab of the scene page is active (its react-bootstrap Nav.Link). */
function activeTab(page) {
  return page.locator(".scene-tabs .nav-tabs .nav-link.active").textContent();
}

/** Mutations of one kind the stand-in received while fn ran. */
async function sceneUpdatesDuring(fn) {
  return (await mutationsDuring(fn)).filter((m) => m.mutation === "sceneUpdate");
}

describe("scene page", () => {
  test("Identify shows everyone, Add to Scene links, creates and confirms; the page and its edit form keep up", async () => {
    await configure({});
    const tasksBefore = harness.taskCalls.length;
    const page = await openPage("scenes/1");
    const button = page.locator(".stash-sense-identify");
    await button.waitFor();
    assert.equal(await button.textContent(), "Identify Performers");
    // One line in Stash's 450 px scene column, beside its six tabs.
    const box = await button.boundingBox();
    assert.ok(box.height < 40, `the button does not wrap: ${JSON.stringify(box)}`);
    assert.equal(await activeTab(page), "Details");
    await page.screenshot({ path: path.join(ARTIFACTS, "scene-page.png") });
    const clicked = button.click();
    await page.locator('.stash-sense-identify[aria-busy="true"]').waitFor({ timeout: 5000 });
    assert.match(await button.textContent(), /Identifying/);
    await clicked;
    const modal = page.locator(".stash-sense-modal");
    await modal.waitFor({ timeout: 90000 });
    // Through Stash: the published yml does not declare the test sidecar's origin.
    assert.ok(harness.taskCalls.length > tasksBefore, "calls went through the plugin task");
    assert.deepEqual(harness.taskCalls[tasksBefore].args, {
      mode: "proxy", method: "POST", path: "/identify/scene",
      body: JSON.stringify({ scene_id: "1", frames: FRAMES, min_tier: "possible" }),
    }); // prettier-ignore

    // One row per person, each with its face crop; the three people of scene-1 among the candidates.
    const persons = modal.locator(".stash-sense-person");
    assert.ok((await persons.count()) >= 3, await modal.innerText());
    assert.ok(await persons.first().locator(".stash-sense-face img").getAttribute("src").then((s) => s.startsWith("data:image/jpeg;base64,")));
    const tops = await persons.evaluateAll((rows) =>
      rows.map((r) => r.querySelector(".stash-sense-candidate")?.getAttribute("data-performer"))
    );
    for (const name of ["Monica Seles", "Ali Naimi", "Tommy Thompson"]) {
      assert.ok(tops.includes(name), `${name} is a person's best candidate: ${JSON.stringify(tops)}`);
    }
    const monica = top(modal, "Monica Seles");
    const ali = top(modal, "Ali Naimi");
    const tommy = top(modal, "Tommy Thompson");
    // Tier as word and colour (explained in its tooltip and the legend), distance, stash-box links.
    const tier = await monica.locator(".stash-sense-tier").textContent();
    assert.match(tier, /^(high|likely|possible)$/);
    assert.match(await monica.locator(".stash-sense-tier").getAttribute("title"), new RegExp(`^${tier}: .{20,}`));
    const legend = modal.locator(".stash-sense-legend");
    await legend.locator("summary").click();
    assert.ok((await legend.locator("li").allTextContents()).some((t) => t.startsWith(tier)), await legend.innerText());
    assert.match(await monica.locator(".stash-sense-distance").textContent(), /^distance \d\.\d\d$/);
    assert.equal(
      await monica.locator(".stash-sense-links a").getAttribute("href"),
      `https://stashdb.org/performers/${MONICA_ID}`
    );
    assert.deepEqual(await ali.locator(".stash-sense-links a").allTextContents(), ["stashdb.org", "fansdb.cc"]);
    assert.equal(await ali.locator(".stash-sense-disambiguation").textContent(), " (LFW)");
    // The candidate's picture came through the sidecar (GET /images/<id>), not from its URL.
    const img = ali.locator("img.stash-sense-candidate-img");
    await img.waitFor();
    assert.equal(await img.getAttribute("src"), fixture.performers["Ali Naimi"].image);
    assert.ok(harness.taskCalls.some((c) => /^\/images\/\d+$/.test(c.args.path)), "image fetched by the sidecar");
    await page.screenshot({ path: path.join(ARTIFACTS, "scene-modal.png") });

    // Monica is on the user's Stash by her StashDB id: only sceneUpdate, keeping Existing Person.
    let got = await mutationsDuring(async () => {
      await monica.locator(".stash-sense-add").click();
      await monica.locator(".stash-sense-added").waitFor();
    });
    assert.deepEqual(got, [
      { mutation: "sceneUpdate", args: { input: { id: "1", performer_ids: [local.existing, local.monica] } } },
    ]);
    // "Added" links to the performer in Stash.
    assert.equal(await monica.locator("a.stash-sense-added").getAttribute("href"), `${harness.url}/performers/${local.monica}`);
    // The page behind the modal shows her at once (Stash's Apollo cache was refreshed), no reload.
    await page.locator(".scene-performers .performer-tag", { hasText: "Monica Seles" }).waitFor({ timeout: 10000 });

    // Ali Naimi is new: performerCreate with every stash id the database knows, then sceneUpdate.
    got = await mutationsDuring(async () => {
      await ali.locator(".stash-sense-add").click();
      await ali.locator(".stash-sense-added").waitFor();
    });
    assert.equal(got.length, 2, JSON.stringify(got));
    assert.deepEqual(got[0], {
      mutation: "performerCreate",
      args: {
        input: {
          name: "Ali Naimi",
          disambiguation: "LFW",
          image: fixture.performers["Ali Naimi"].image,
          stash_ids: [
            { endpoint: STASHDB, stash_id: "5b1f0a4e-0000-4000-8000-00000000a002" },
            { endpoint: FANSDB, stash_id: "7c2e1b5f-0000-4000-8000-00000000b002" },
          ],
        },
      },
    });
    const aliId = (await standInGql(
      `query F($e: String!, $s: String!) { findPerformers(performer_filter: {stash_id_endpoint: {endpoint: $e, stash_id: $s, modifier: EQUALS}}) { performers { id } } }`,
      { e: FANSDB, s: "7c2e1b5f-0000-4000-8000-00000000b002" }
    )).findPerformers.performers[0].id;
    assert.deepEqual(got[1], {
      mutation: "sceneUpdate",
      args: { input: { id: "1", performer_ids: [local.existing, local.monica, aliId] } },
    });
    assert.match(await ali.locator(".stash-sense-added").textContent(), /^Created and added Ali Naimi/);
    // Rows where Ali Naimi is a lesser candidate now say so instead of offering Add again.
    const aliRows = modal.locator('.stash-sense-candidate[data-performer="Ali Naimi"]');
    for (const row of await aliRows.all()) {
      assert.equal(await row.locator(".stash-sense-add").count(), 0, await row.innerText());
    }

    // Tommy Thompson exists locally by name only: offered, used on confirmation, nothing created.
    got = await mutationsDuring(() =>
      addAndUse(tommy, 'Your Stash has a performer named "Tommy Thompson". Use it?', `Use Tommy Thompson (#${local.tommy})`, {
        canCreate: false,
      })
    );
    const everyone = [local.existing, local.monica, aliId, local.tommy];
    assert.deepEqual(got, [{ mutation: "sceneUpdate", args: { input: { id: "1", performer_ids: everyone } } }]);
    assert.ok(await page.locator(".toast-success").count() >= 3, "a toast per add");
    for (const name of ["Existing Person", "Monica Seles", "Ali Naimi", "Tommy Thompson"]) {
      await page.locator(".scene-performers .performer-tag", { hasText: name }).waitFor({ timeout: 10000 });
    }
    // The whole modal over the page (docs/plugin-modal.png is a copy).
    await page.setViewportSize({ width: 1280, height: 1500 });
    await page.evaluate(() => document.querySelector(".stash-sense-backdrop").scrollTo(0, 0));
    await page.screenshot({ path: path.join(ARTIFACTS, "scene-modal-added.png") });
    await page.setViewportSize({ width: 1280, height: 900 });
    onlyStash(page);

    // Close, and edit the scene in Stash's own form without a reload: Save keeps everyone.
    await page.keyboard.press("Escape");
    await modal.waitFor({ state: "detached" });
    await page.screenshot({ path: path.join(ARTIFACTS, "scene-page-after-add.png") });
    await page.locator(".scene-tabs .nav-link", { hasText: "Edit" }).click();
    const saved = await sceneUpdatesDuring(async () => {
      await page.locator(".edit-save").click();
      await page.locator(".toast-success", { hasText: "Updated scene" }).waitFor();
    });
    assert.deepEqual(saved.map((m) => m.args.input.performer_ids), [everyone]);
    await page.close();
  });

  test("a second look: on-scene markers, Not this person as feedback, a refused sceneUpdate shown and retried", async () => {
    await configure({});
    await setScenePerformers([local.existing, local.monica]);
    const page = await openPage("scenes/1");
    const modal = await identify(page);
    const monica = modal.locator('.stash-sense-candidate[data-performer="Monica Seles"]').first();
    await monica.locator(".stash-sense-added").waitFor();
    assert.match(await monica.locator(".stash-sense-added").textContent(), /^On this scene: Monica Seles/);
    assert.equal(await monica.locator(".stash-sense-add").count(), 0);
    // Reject Ali Naimi's candidate (not on the scene): pinned by person and name, as the row
    // changes once rejected.
    const person = await modal
      .locator('.stash-sense-person:has(.stash-sense-candidate[data-performer="Ali Naimi"] .stash-sense-reject)')
      .first()
      .getAttribute("data-person");
    const ali = modal.locator(
      `.stash-sense-person[data-person="${person}"] .stash-sense-candidate[data-performer="Ali Naimi"]`
    );
    const got = await mutationsDuring(async () => {
      await ali.locator(".stash-sense-reject").click();
      await ali.locator(".stash-sense-rejected").waitFor();
    });
    assert.deepEqual(got, [], "feedback goes to the sidecar, not Stash");
    assert.equal(await ali.locator(".stash-sense-add").count(), 0);
    const response = await fetch(`${sidecarUrl}/feedback`, { headers: { "X-API-Key": API_KEY } });
    assert.equal(response.status, 200);
    const rows = (await response.json()).feedback;
    const latest = rows.reduce((a, b) => (a.id > b.id ? a : b));
    assert.deepEqual(
      { ...latest, id: undefined, at: undefined, performer_id: undefined },
      {
        id: undefined,
        at: undefined,
        performer_id: undefined,
        verdict: "rejected",
        scene_id: "1",
        person_id: Number(person),
        endpoint: STASHDB,
        stash_id: "5b1f0a4e-0000-4000-8000-00000000a002",
      }
    );
    assert.ok(Number.isInteger(latest.performer_id), JSON.stringify(latest));
    // The adds of the first test were recorded as accepted.
    const accepted = rows.filter((r) => r.verdict === "accepted").map((r) => r.stash_id);
    assert.ok(accepted.includes(MONICA_ID), JSON.stringify(rows));
    assert.ok(accepted.includes("5b1f0a4e-0000-4000-8000-00000000a002"), JSON.stringify(rows));
    await page.screenshot({ path: path.join(ARTIFACTS, "scene-modal-second-look.png") });

    // Stash refuses the sceneUpdate (a read-only user): the row says so, nothing changed, and Add
    // works once Stash accepts it again.
    const tommy = top(modal, "Tommy Thompson");
    const confirmAndUse = async () => {
      await tommy.locator(".stash-sense-add").click();
      await tommy.locator(".stash-sense-confirm button", { hasText: `Use Tommy Thompson (#${local.tommy})` }).click();
    };
    harness.refuse("StashSenseSceneUpdate", "operation not permitted: read-only user");
    try {
      const refused = await mutationsDuring(async () => {
        await confirmAndUse();
        await tommy.locator(".stash-sense-error").waitFor();
      });
      assert.equal(
        await tommy.locator(".stash-sense-error").textContent(),
        "Stash refused StashSenseSceneUpdate: operation not permitted: read-only user"
      );
      assert.deepEqual(refused, [], "the refused mutation changed nothing");
    } finally {
      harness.refuse("StashSenseSceneUpdate", null);
    }
    const retried = await mutationsDuring(async () => {
      await confirmAndUse();
      await tommy.locator(".stash-sense-added").waitFor();
    });
    assert.deepEqual(retried, [
      {
        mutation: "sceneUpdate",
        args: { input: { id: "1", performer_ids: [local.existing, local.monica, local.tommy] } },
      },
    ]);
    assert.equal(await tommy.locator(".stash-sense-error").count(), 0);
    await page.close();
  });

  test("a local performer with the match's name as an alias is offered and used on confirmation", async () => {
    await configure({});
    await updatePerformer({ id: local.tommy, name: "Tom Thompson", alias_list: ["Tommy Thompson"] });
    await setScenePerformers([local.existing]);
    try {
      const page = await openPage("scenes/1");
      const modal = await identify(page);
      const tommy = top(modal, "Tommy Thompson");
      const question = 'Your Stash has "Tom Thompson", also known as "Tommy Thompson". Use it?';
      const got = await mutationsDuring(() => addAndUse(tommy, question, `Use Tom Thompson (#${local.tommy})`, { canCreate: true }));
      assert.deepEqual(got, [
        { mutation: "sceneUpdate", args: { input: { id: "1", performer_ids: [local.existing, local.tommy] } } },
      ]);
      await page.close();
    } finally {
      await updatePerformer({ id: local.tommy, name: "Tommy Thompson", alias_list: [] });
    }
  });

  test("Use it links the candidate's stash-box ids to the local performer, so the next Identify finds it", async () => {
    await configure({});
    // Monica Seles is linked to another stash-box only: Add finds her by name, not by her StashDB id.
    const other = pmvStashId("c004");
    await updatePerformer({ id: local.monica, stash_ids: [other] });
    await setScenePerformers([local.existing]);
    try {
      const page = await openPage("scenes/1");
      let modal = await identify(page);
      const monica = top(modal, "Monica Seles");
      const question =
        'Your Stash has a performer named "Monica Seles". It is not linked to this stash-box entry; using it links it. Use it?';
      const got = await mutationsDuring(() => addAndUse(monica, question, `Use Monica Seles (#${local.monica})`, { canCreate: false }));
      // PerformerUpdateInput.stash_ids replaces the list: the old id goes back with its updated_at.
      assert.deepEqual(got, [
        {
          mutation: "performerUpdate",
          args: { input: { id: local.monica, stash_ids: [other, { endpoint: STASHDB, stash_id: MONICA_ID }] } },
        },
        { mutation: "sceneUpdate", args: { input: { id: "1", performer_ids: [local.existing, local.monica] } } },
      ]);
      assert.match(await monica.locator(".stash-sense-added").textContent(), /^Linked and added Monica Seles/);
      const stored = await stashIdsOf(local.monica);
      assert.deepEqual(stored[0], other, "the id she had is kept, with its time");
      assert.deepEqual([stored.length, stored[1].endpoint, stored[1].stash_id], [2, STASHDB, MONICA_ID]);
      assert.ok(Date.now() - Date.parse(stored[1].updated_at) < 600000, "the new id is stamped now, by Stash");

      // Identify again: her row says she is on the scene (the sidecar matched her by the linked id).
      await page.keyboard.press("Escape");
      await modal.waitFor({ state: "detached" });
      modal = await identify(page);
      const again = top(modal, "Monica Seles");
      await again.locator(".stash-sense-added").waitFor();
      assert.match(await again.locator(".stash-sense-added").textContent(), /^On this scene: Monica Seles/);
      assert.equal(await again.locator(".stash-sense-add").count(), 0, await again.innerText());
      await page.close();
    } finally {
      await updatePerformer({ id: local.monica, stash_ids: [{ endpoint: STASHDB, stash_id: MONICA_ID }] });
    }
  });

  test("keyboard: arrows and Stash's shortcuts stay in the modal, Tab is trapped, Escape closes", async () => {
    await configure({});
    const page = await openPage("scenes/1");
    const modal = await identify(page);
    await modal.locator(".stash-sense-add").first().focus();
    for (const key of ["ArrowRight", "ArrowLeft", "ArrowDown", "e", "i"]) {
      await page.keyboard.press(key);
      assert.equal(await activeTab(page), "Details", `${key} inside the modal left the scene tabs alone`);
    }
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press(i % 7 === 6 ? "Shift+Tab" : "Tab");
      const inside = await page.evaluate(() => !!document.activeElement.closest(".stash-sense-modal"));
      assert.ok(inside, `focus stays in the modal (press ${i})`);
    }
    await page.keyboard.press("Escape");
    await modal.waitFor({ state: "detached" });
    assert.equal(await page.evaluate(() => document.activeElement.className), "btn btn-secondary btn-sm stash-sense-identify");
    // The page's own keys work again once it is closed: Stash's "e" opens the Edit tab.
    await page.keyboard.press("e");
    assert.equal(await activeTab(page), "Edit");
    await page.close();
  });

  test("face times are listed once each and seek the scene's player", async () => {
    await configure({});
    const page = await openPage("scenes/1");
    const modal = await identify(page);
    const row = modal.locator(".stash-sense-person").first();
    const times = await row.locator(".stash-sense-time").evaluateAll((b) => b.map((e) => Number(e.dataset.time)));
    assert.ok(times.length >= 1);
    assert.deepEqual(times, [...new Set(times)].sort((a, b) => a - b), "each second once, in order");
    const last = times.at(-1);
    await row.locator(`.stash-sense-time[data-time="${last}"]`).click();
    await modal.waitFor({ state: "detached" });
    assert.equal(await page.locator(".harness-player").getAttribute("data-time"), String(last));
    // The results stay one click away.
    await page.locator(".stash-sense-reopen").click();
    await modal.waitFor();
    await page.close();
  });

  test("a scene with nobody in it says no face was found", async () => {
    await configure({});
    const page = await openPage("scenes/9");
    const modal = await identify(page);
    assert.match(await modal.locator(".stash-sense-error").textContent(), /^No face found in this scene \(\d+ frames sampled/);
    await page.close();
  });

  test("a Stash older than v0.28.0 gets the button in a corner, saying why", async () => {
    await configure({});
    harness.setStashVersion("v0.27.2");
    try {
      const page = await openPage("scenes/1");
      const button = page.locator(".stash-sense-fallback .stash-sense-identify");
      await button.waitFor({ timeout: 10000 });
      assert.equal(await page.locator(".scene-tabs .stash-sense-identify").count(), 0);
      const modal = await identify(page);
      assert.match(
        await modal.locator(".stash-sense-fallback-note").textContent(),
        /^This Stash \(v0\.27\.2\) is older than v0\.28\.0/
      );
      assert.ok((await modal.locator(".stash-sense-person").count()) >= 3);
      await page.screenshot({ path: path.join(ARTIFACTS, "old-stash-fallback.png") });
      await page.close();
    } finally {
      harness.setStashVersion("v0.28.1");
    }
  });
});

describe("connection", () => {
  test("directly from the page when the plugin declares the sidecar's origin", async () => {
    await configure({});
    const before = declaring.taskCalls.length;
    const page = await openPage("scenes/1", { on: declaring });
    const modal = await identify(page);
    assert.ok((await modal.locator(".stash-sense-person").count()) >= 3);
    assert.equal(declaring.taskCalls.length, before, "no call went through Stash");
    assert.equal(await page.evaluate(() => window.StashSense.lastRoute), "direct");
    assert.ok(page.requests.some((u) => u.startsWith(`${sidecarUrl}/identify/scene`)));
    await page.close();
  });

  /** The error the modal shows for these settings, on this harness (and origin). */
  async function failure(settings, options = {}) {
    await configure(settings);
    const page = await openPage("scenes/1", options);
    const modal = await identify(page);
    const error = modal.locator(".stash-sense-error");
    const found = { kind: await error.getAttribute("data-kind"), text: await error.textContent(), page };
    return found;
  }

  test("Stash's Content-Security-Policy blocks an undeclared sidecar in direct mode", async () => {
    const { kind, text, page } = await failure({ connection: "direct" });
    assert.equal(kind, "csp", text);
    assert.match(text, /^Stash's Content-Security-Policy does not let this page call http:\/\/127\.0\.0\.1:\d+/);
    assert.match(text, /Set Connection to "auto" or "stash" in Settings > Plugins > Stash Sense/);
    assert.match(text, /ui\.csp\.connect-src/);
    await page.screenshot({ path: path.join(ARTIFACTS, "csp-blocked.png") });
    await page.close();
  });

  test("the sidecar refuses the page's origin (CORS) in direct mode; auto goes through Stash", async () => {
    // The same Stash opened as http://localhost:<port>: an origin the sidecar does not allow.
    const origin = declaring.url.replace("127.0.0.1", "localhost");
    const { kind, text, page } = await failure({ connection: "direct" }, { on: declaring, origin });
    assert.equal(kind, "cors", text);
    assert.match(text, new RegExp(`refused this page's origin ${origin} \\(CORS\\)`));
    assert.match(text, new RegExp(`STASH_SENSE_STASH_URL=${origin}`));
    assert.match(text, /set Connection to "auto" or "stash"/);
    await page.close();
    await configure({ connection: "auto" });
    const before = declaring.taskCalls.length;
    const again = await openPage("scenes/1", { on: declaring, origin });
    const modal = await identify(again);
    assert.ok((await modal.locator(".stash-sense-person").count()) >= 3, await modal.innerText());
    assert.ok(declaring.taskCalls.length > before, "fell back to the plugin task");
    await again.close();
  });

  test("a browser that may not call the sidecar's loopback address, though Stash's server can", async () => {
    // Chromium's Private/Local Network Access: a page served from a public address may not call
    // loopback. The harness is declared public for this browser.
    const { port } = new URL(declaring.url);
    const strict = await launchBrowser([`--ip-address-space-overrides=127.0.0.1:${port}=public`]);
    try {
      const { kind, text, page } = await failure({ connection: "direct" }, { on: declaring, using: strict });
      assert.equal(kind, "private-network", text);
      assert.match(text, /^This browser may not call the sidecar at http:\/\/127\.0\.0\.1:\d+, though the Stash server reaches it/);
      assert.match(text, /Set Connection to "auto" or "stash"/);
      await page.close();
    } finally {
      await strict.close();
    }
  });

  test("sidecar down: the message says where from it was tried", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const { kind, text, page } = await failure({ sidecarUrl: dead });
    assert.equal(kind, "down", text);
    assert.match(text, new RegExp(`^The Stash server cannot reach the Stash Sense sidecar at ${dead} `));
    assert.match(text, /"Sidecar URL" in Settings > Plugins > Stash Sense/);
    await page.screenshot({ path: path.join(ARTIFACTS, "sidecar-down.png") });
    await page.close();
  });

  test("wrong API key, through Stash and directly", async () => {
    for (const on of [harness, declaring]) {
      const { kind, text, page } = await failure({ apiKey: "not-the-key" }, { on });
      assert.equal(kind, "auth", text);
      assert.match(text, /refused the API key \(HTTP 401\)\. Set "Sidecar API key" in Settings > Plugins > Stash Sense/);
      await page.close();
    }
  });

  test("the sidecar cannot read from Stash", async () => {
    // A second sidecar whose STASH_SENSE_STASH_URL points nowhere.
    const port = await freePort();
    const other = await startSidecar({
      db: fixture.db,
      port,
      stashUrl: `http://127.0.0.1:${await freePort()}`,
      apiKey: API_KEY,
      dataDir: path.join(tmp, "second"),
    });
    try {
      const { kind, text, page } = await failure({ sidecarUrl: `http://127.0.0.1:${port}` });
      assert.equal(kind, "sidecar-stash", text);
      assert.match(text, /^The sidecar could not read from Stash \(HTTP 502\): .+ Check the sidecar's STASH_SENSE_STASH_URL/, text);
      await page.close();
    } finally {
      await other.stop();
    }
  });

  test("Check sidecar (a Stash task) uses the configured URL and key", async () => {
    await configure({});
    const calls = harness.graphqlCalls.length;
    let done = await harness.runTask("Check sidecar");
    assert.equal(done.error, undefined);
    assert.equal(done.output.url, sidecarUrl);
    assert.equal(done.output.key, "accepted");
    assert.equal(done.output.health.status, 200);
    assert.match(done.log, new RegExp(`stash-sense: the sidecar at ${sidecarUrl} answers`));
    // It read the settings from Stash with the session cookie Stash gives its plugins.
    const read = harness.graphqlCalls.slice(calls).find((c) => c.operationName === "StashSenseTaskSettings");
    assert.equal(read.cookie, "session=harness-plugin-session");
    await configure({ apiKey: "not-the-key" });
    done = await harness.runTask("Check sidecar");
    assert.equal(done.output.key, "refused");
    assert.match(done.log, /refused the API key \(HTTP 401\)/);
    assert.doesNotMatch(done.log, /not-the-key/, "the key is never logged");
    const dead = `http://127.0.0.1:${await freePort()}`;
    await configure({ sidecarUrl: dead });
    done = await harness.runTask("Check sidecar");
    assert.equal(done.output.url, dead);
    assert.match(done.output.health.unreachable, /refused/i);
  });
});

describe("performer page", () => {
  test("Find on stash-box shows the performer beside candidates; Link keeps existing ids with their times", async () => {
    await configure({});
    const other = pmvStashId("c003");
    const photo = path.join(TEST_DATA, "faces", "lfw-dev", "Monica_Seles", "4.jpg");
    const id = await createPerformer({ name: "Unlinked M.", image: await imageDataUrl(photo), stash_ids: [other] });
    const stored = (await stashIdsOf(id))[0].updated_at;
    const page = await openPage(`performers/${id}`);
    await page.locator(".performer-stash-ids[data-count='1']").waitFor();
    await page.locator(".stash-sense-find").click();
    const modal = page.locator(".stash-sense-modal");
    await modal.waitFor({ timeout: 60000 });
    // The performer's own picture (Stash's image_path) beside the candidates.
    assert.match(await modal.locator("img.stash-sense-own-img").getAttribute("src"), new RegExp(`/performer/${id}/image`));
    const monica = modal.locator('.stash-sense-candidate[data-performer="Monica Seles"]').first();
    await monica.waitFor();
    // Candidates the database knows no stash-box id for say so instead of offering Link.
    for (const row of await modal.locator(".stash-sense-candidate").all()) {
      const ids = await row.locator(".stash-sense-links a").count();
      assert.equal(await row.locator(".stash-sense-link").count(), ids ? 1 : 0, await row.innerText());
      assert.equal(await row.locator(".stash-sense-nolink").count(), ids ? 0 : 1, await row.innerText());
    }
    await page.screenshot({ path: path.join(ARTIFACTS, "performer-modal.png") });
    const got = await mutationsDuring(async () => {
      await monica.locator(".stash-sense-link").click();
      await monica.locator(".stash-sense-added").waitFor();
    });
    assert.deepEqual(got, [
      {
        mutation: "performerUpdate",
        args: {
          input: {
            id,
            stash_ids: [{ ...other, updated_at: stored }, { endpoint: STASHDB, stash_id: MONICA_ID }],
          },
        },
      },
    ]);
    // The performer page behind shows the new stash id at once (Apollo cache), no reload.
    await page.locator(".performer-stash-ids[data-count='2']").waitFor({ timeout: 10000 });
    onlyStash(page);
    await page.close();
  });

  test("an image without a face says so", async () => {
    await configure({});
    const id = await createPerformer({ name: "Faceless", image: await imageDataUrl(path.join(tmp, "no-face.jpg")) });
    const page = await openPage(`performers/${id}`);
    await page.locator(".stash-sense-find").click();
    const modal = page.locator(".stash-sense-modal");
    await modal.waitFor({ timeout: 60000 });
    assert.equal(await modal.locator(".stash-sense-error").textContent(), "No face found in this performer's image.");
    await page.close();
  });
});

describe("settings", () => {
  test("lowest tier to show: only high candidates, or a line saying there is none", async () => {
    await configure({ minTier: "high" });
    const page = await openPage("scenes/1");
    const modal = await identify(page);
    const tiers = await modal.locator(".stash-sense-candidate .stash-sense-tier").allTextContents();
    assert.ok(tiers.every((t) => t === "high"), JSON.stringify(tiers));
    const rows = await modal.locator(".stash-sense-person").count();
    const empty = await modal.locator(".stash-sense-nomatch").allTextContents();
    assert.ok(rows >= 3);
    assert.ok(empty.every((t) => t === 'No candidate at tier "high" or better.'), JSON.stringify(empty));
    assert.equal(
      await modal.locator(".stash-sense-person:has(.stash-sense-candidate)").count() + empty.length,
      rows
    );
    await page.close();
  });
});

test("no errors in the browser console", () => {
  // Chromium logs a blocked or refused fetch itself ("Failed to load resource", CORS, private
  // network); those are the failures the connection tests cause on purpose.
  const expected = /Failed to load resource|Access-Control-Allow-Origin|CORS policy|private network|local network|loopback|ERR_/i;
  assert.deepEqual(consoleErrors.filter((e) => !expected.test(e)), []);
});
