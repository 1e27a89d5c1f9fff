// The tests' browser: Debian's chromium (or CHROMIUM_PATH) through playwright-core, headless,
// with nothing of its own running in the background. One place for the launch flags of every
// browser test file.
import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const BROWSER_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run",
]; // prettier-ignore

/** A new browser; `extraArgs` are added to the common flags. */
export function launchBrowser(extraArgs = []) {
  return chromium.launch({ executablePath: CHROMIUM, args: [...BROWSER_ARGS, ...extraArgs] });
}
