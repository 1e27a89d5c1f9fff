// Browser tests of the Stash Sense plugin: Debian's chromium (playwright-core) on the harness page
// (real React, PluginApi with Stash's patch mechanism, the plugin's own files), the Stash stand-in
// behind it and the real sidecar on a database enrolled from LFW. Asserts the exact mutations the
// stand-in received. Run: cd plugin/tests && npm ci && node --test --test-concurrency=1 test/
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { chromium } from "playwright-core";
import { startHarness, TESTS_DIR } from "../lib/harness-server.mjs";
import { freePort, installFromSource, makeTestDb, startSidecar, startStandIn, TEST_DATA } from "../lib/services.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
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
let harness;
let browser;
const local = {}; // local Stash performer ids by name
const consoleErrors = [];

async function standInGql(query, variables = {}) {
  const response = await fetch(`${standInUrl}/graphql`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const payload = await response.json();
  assert.equal(payload.errors, undefined, JSON.stringify(payload.errors));
  return payload.data;
}

async function mutations() {
  const response = await fetch(`${standInUrl}/__mutations`);
  return (await response.json()).map((m) => ({ mutation: m.mutation, args: m.args }));
}

/** The mutations received while fn ran. */
async function mutationsDuring(fn) {
  const mark = (await mutations()).length;
  await fn();
  return (await mutations()).slice(mark);
}

async function configure(settings) {
  const base = { sidecarUrl, apiKey: API_KEY, minTier: "possible", frames: FRAMES, connection: "direct" };
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

async function setScenePerformers(ids) {
  await standInGql(`mutation S($input: SceneUpdateInput!) { sceneUpdate(input: $input) { id } }`, {
    input: { id: "1", performer_ids: ids },
  });
}

/** Opens a page of the harness at Stash's path for it ("scenes/1", "performers/3"). */
async function openPage(where) {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(msg.text());
  });
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  await page.goto(`${harness.url}/${where}`);
  return page;
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
  // The page may call the test's sidecar directly, as if the user had allowed its origin.
  // Stash loads the plugin as installed from the published source: the zip build_index.py makes.
  const plugin = await installFromSource(tmp);
  assert.match(await readFile(plugin.index, "utf8"), /^- id: "stash-sense"\n/);
  harness = await startHarness({ stashUrl: standInUrl, extraConnectSrc: [sidecarUrl], pluginDir: plugin.installed });
  sidecar = await startSidecar({ db: fixture.db, port: sidecarPort, stashUrl: harness.url, apiKey: API_KEY, dataDir: tmp });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run",
    ],
  }); // prettier-ignore

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
  if (sidecar) await sidecar.stop();
  if (standIn) await standIn.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("scene page", () => {
  test("Identify shows everyone, Add to Scene links, creates and confirms, keeping existing performers", async () => {
    await configure({});
    const page = await openPage("scenes/1");
    const button = page.locator(".stash-sense-identify");
    await button.waitFor();
    assert.equal(await button.textContent(), "Identify Performers");
    await page.screenshot({ path: path.join(ARTIFACTS, "scene-page.png") });
    const clicked = button.click();
    await page.locator('.stash-sense-identify[aria-busy="true"]').waitFor({ timeout: 5000 });
    assert.match(await button.textContent(), /Identifying/);
    await clicked;
    const modal = page.locator(".stash-sense-modal");
    await modal.waitFor({ timeout: 90000 });

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
    // Tier as word and colour, distance, stash-box links per endpoint, disambiguation, image.
    assert.match(await monica.locator(".stash-sense-tier").textContent(), /^(high|likely|possible)$/);
    assert.match(await monica.locator(".stash-sense-distance").textContent(), /^distance \d\.\d\d$/);
    assert.equal(
      await monica.locator(".stash-sense-links a").getAttribute("href"),
      `https://stashdb.org/performers/${MONICA_ID}`
    );
    assert.deepEqual(await ali.locator(".stash-sense-links a").allTextContents(), ["stashdb.org", "fansdb.cc"]);
    assert.equal(await ali.locator(".stash-sense-disambiguation").textContent(), " (LFW)");
    assert.equal(await ali.locator("img.stash-sense-candidate-img").getAttribute("src"), fixture.performers["Ali Naimi"].image);
    await page.screenshot({ path: path.join(ARTIFACTS, "scene-modal.png") });

    // Monica is on the user's Stash by her StashDB id: only sceneUpdate, keeping Existing Person.
    let got = await mutationsDuring(async () => {
      await monica.locator(".stash-sense-add").click();
      await monica.locator(".stash-sense-added").waitFor();
    });
    assert.deepEqual(got, [
      { mutation: "sceneUpdate", args: { input: { id: "1", performer_ids: [local.existing, local.monica] } } },
    ]);

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
    assert.match(await ali.locator(".stash-sense-added").textContent(), /Created and added/);
    // Rows where Ali Naimi is a lesser candidate now say so instead of offering Add again.
    const aliRows = modal.locator('.stash-sense-candidate[data-performer="Ali Naimi"]');
    for (const row of await aliRows.all()) {
      assert.equal(await row.locator(".stash-sense-add").count(), 0, await row.innerText());
    }

    // Tommy Thompson exists locally by name only: offered, used on confirmation, nothing created.
    got = await mutationsDuring(async () => {
      await tommy.locator(".stash-sense-add").click();
      const use = tommy.locator(".stash-sense-confirm button", { hasText: `Use Tommy Thompson (#${local.tommy})` });
      await use.waitFor();
      assert.equal(
        await tommy.locator(".stash-sense-confirm-text").textContent(),
        'Your Stash has a performer named "Tommy Thompson". Use it?'
      );
      await use.click();
      await tommy.locator(".stash-sense-added").waitFor();
    });
    assert.deepEqual(got, [
      {
        mutation: "sceneUpdate",
        args: { input: { id: "1", performer_ids: [local.existing, local.monica, aliId, local.tommy] } },
      },
    ]);
    assert.ok(await page.locator(".toast-success").count() >= 3, "a toast per add");
    await page.screenshot({ path: path.join(ARTIFACTS, "scene-modal-added.png") });
    await page.close();
  });

  test("a second look: on-scene markers, Not this person as feedback, a refused sceneUpdate shown and retried", async () => {
    await configure({});
    await setScenePerformers([local.existing, local.monica]);
    const page = await openPage("scenes/1");
    const modal = await identify(page);
    const monica = modal.locator('.stash-sense-candidate[data-performer="Monica Seles"]').first();
    await monica.locator(".stash-sense-on-scene").waitFor();
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
      await page.screenshot({ path: path.join(ARTIFACTS, "stash-refused.png") });
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
    await standInGql(`mutation U($input: PerformerUpdateInput!) { performerUpdate(input: $input) { id } }`, {
      input: { id: local.tommy, name: "Tom Thompson", alias_list: ["Tommy Thompson"] },
    });
    await setScenePerformers([local.existing]);
    try {
      const page = await openPage("scenes/1");
      const modal = await identify(page);
      const tommy = top(modal, "Tommy Thompson");
      const got = await mutationsDuring(async () => {
        await tommy.locator(".stash-sense-add").click();
        const text = tommy.locator(".stash-sense-confirm-text");
        await text.waitFor();
        assert.equal(await text.textContent(), 'Your Stash has "Tom Thompson", also known as "Tommy Thompson". Use it?');
        await tommy.locator(".stash-sense-confirm button", { hasText: `Use Tom Thompson (#${local.tommy})` }).click();
        await tommy.locator(".stash-sense-added").waitFor();
      });
      assert.deepEqual(got, [
        { mutation: "sceneUpdate", args: { input: { id: "1", performer_ids: [local.existing, local.tommy] } } },
      ]);
      await page.close();
    } finally {
      await standInGql(`mutation U($input: PerformerUpdateInput!) { performerUpdate(input: $input) { id } }`, {
        input: { id: local.tommy, name: "Tommy Thompson", alias_list: [] },
      });
    }
  });

  test("through Stash: calls routed by the plugin task (runPluginOperation) reach the sidecar", async () => {
    await configure({ connection: "stash" });
    const before = harness.taskCalls.length;
    const page = await openPage("scenes/1");
    const modal = await identify(page);
    assert.ok((await modal.locator(".stash-sense-person").count()) >= 3, await modal.innerText());
    assert.equal(harness.taskCalls.length, before + 1);
    assert.deepEqual(
      { ...harness.taskCalls.at(-1).args, body: JSON.parse(harness.taskCalls.at(-1).args.body) },
      { mode: "proxy", url: sidecarUrl, api_key: API_KEY, method: "POST", path: "/identify/scene", body: { scene_id: "1", frames: FRAMES } }
    );
    await page.close();
  });

  test("a scene with nobody in it says no face was found", async () => {
    await configure({});
    const page = await openPage("scenes/9");
    const modal = await identify(page);
    assert.match(await modal.locator(".stash-sense-error").textContent(), /^No face found in this scene \(\d+ frames sampled/);
    await page.close();
  });
});

describe("errors are shown in the modal", () => {
  test("sidecar down, directly and through Stash", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    for (const connection of ["direct", "stash"]) {
      await configure({ sidecarUrl: dead, connection });
      harness.setExtraConnectSrc([sidecarUrl, dead]);
      const page = await openPage("scenes/1");
      const modal = await identify(page);
      const text = await modal.locator(".stash-sense-error").textContent();
      assert.match(text, new RegExp(`^Cannot reach the Stash Sense sidecar at ${dead} `), text);
      if (connection === "direct") await page.screenshot({ path: path.join(ARTIFACTS, "sidecar-down.png") });
      await page.close();
    }
    harness.setExtraConnectSrc([sidecarUrl]);
  });

  test("an undeclared sidecar URL goes through Stash by default", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    await configure({ sidecarUrl: dead, connection: "auto" });
    const before = harness.taskCalls.length;
    const page = await openPage("scenes/1");
    const modal = await identify(page);
    assert.match(await modal.locator(".stash-sense-error").textContent(), /^Cannot reach the Stash Sense sidecar/);
    assert.equal(harness.taskCalls.length, before + 1);
    await page.close();
  });

  test("the sidecar cannot read from Stash", async () => {
    // A second sidecar whose STASH_SENSE_STASH_URL points nowhere; it still allows the page's origin.
    const port = await freePort();
    const other = await startSidecar({
      db: fixture.db,
      port,
      stashUrl: `http://127.0.0.1:${await freePort()}`,
      apiKey: API_KEY,
      dataDir: path.join(tmp, "second"),
      extraArgs: ["--cors-origin", harness.url],
    });
    try {
      await configure({ sidecarUrl: `http://127.0.0.1:${port}` });
      harness.setExtraConnectSrc([sidecarUrl, `http://127.0.0.1:${port}`]);
      const page = await openPage("scenes/1");
      const modal = await identify(page);
      const text = await modal.locator(".stash-sense-error").textContent();
      assert.match(text, /^The sidecar could not read from Stash \(HTTP 502\): .+ Check the sidecar's STASH_SENSE_STASH_URL/, text);
      await page.close();
    } finally {
      harness.setExtraConnectSrc([sidecarUrl]);
      await other.stop();
    }
  });

  test("wrong API key", async () => {
    await configure({ apiKey: "not-the-key" });
    const page = await openPage("scenes/1");
    const modal = await identify(page);
    assert.match(await modal.locator(".stash-sense-error").textContent(), /refused the API key \(HTTP 401\)/);
    await page.close();
  });
});

describe("performer page", () => {
  test("Find on stash-box shows candidates; Link adds the stash id, keeping existing ones", async () => {
    await configure({});
    const other = { endpoint: "https://pmvstash.org/graphql", stash_id: "0f0f0f0f-0000-4000-8000-00000000c003" };
    const photo = path.join(TEST_DATA, "faces", "lfw-dev", "Monica_Seles", "4.jpg");
    const id = await createPerformer({ name: "Unlinked M.", image: await imageDataUrl(photo), stash_ids: [other] });
    const page = await openPage(`performers/${id}`);
    await page.locator(".stash-sense-find").click();
    const modal = page.locator(".stash-sense-modal");
    await modal.waitFor({ timeout: 60000 });
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
        args: { input: { id, stash_ids: [other, { endpoint: STASHDB, stash_id: MONICA_ID }] } },
      },
    ]);
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
  assert.deepEqual(consoleErrors.filter((e) => !/Failed to load resource/.test(e)), []);
});
