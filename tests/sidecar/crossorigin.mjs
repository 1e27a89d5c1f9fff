// A page on another origin tries to make the sidecar work with requests that need no CORS
// preflight (text/plain and multipart POSTs, mode "no-cors"), as any web page the user opens
// could. Usage: node crossorigin.mjs <page url> (the page's script does the requests and sets
// window.done). Drives Debian's chromium with playwright-core from plugin/tests/node_modules.
import { createRequire } from "node:module";

const require = createRequire(new URL("../../plugin/tests/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
});
try {
  const page = await browser.newPage();
  await page.goto(process.argv[2]);
  await page.waitForFunction(() => window.done === true, null, { timeout: 60000 });
  console.log(JSON.stringify(await page.evaluate(() => window.outcomes)));
} finally {
  await browser.close();
}
