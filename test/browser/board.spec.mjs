// Browser acceptance test of the cmed lamp board, in real headless
// Chromium (Debian's /usr/bin/chromium) driven by playwright-core.
//
// Usage: node board.spec.mjs URL
// Protocol with the Go driver (pkg/web/browser_test.go), one line each on
// stdout:
//   READY            the board is live (EventSource open) and #dn-1001 is idle;
//                    the driver now takes ephone 1 off-hook
//   PASS inuse <ms>  #dn-1001 turned inuse within the bound
// Anything else is diagnostic. Exit status 0 means pass. Screenshots go to
// $CMED_ARTIFACTS (or ./artifacts): board.png (desktop), board-phone.png (375 px).
import { chromium } from "playwright-core";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const url = process.argv[2];
if (!url) {
  console.error("usage: node board.spec.mjs URL");
  process.exit(2);
}
const LAMP_BOUND_MS = 5000;
const artifacts = process.env.CMED_ARTIFACTS || path.join(path.dirname(new URL(import.meta.url).pathname), "artifacts");
mkdirSync(artifacts, { recursive: true });

// A fresh profile each run; the flags keep Chromium off the (closed)
// network and quiet (see .library/env/machines/go.md).
const profile = mkdtempSync(path.join(tmpdir(), "cmed-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1280, height: 900 },
});
let failed = false;
try {
  const page = context.pages()[0] || (await context.newPage());
  const external = [];
  page.on("request", (r) => { if (!r.url().startsWith(url)) external.push(r.url()); });
  page.on("console", (m) => { if (m.type() === "error") console.log("console error:", m.text()); });
  page.on("pageerror", (e) => { console.log("page error:", e.message); failed = true; });

  await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector("#conn[data-conn=live]", { timeout: 10000 });
  await page.waitForSelector("#dn-1001[data-state=idle]", { timeout: 10000 });
  console.log("READY");

  const t0 = Date.now();
  await page.waitForSelector("#dn-1001[data-state=inuse]", { timeout: LAMP_BOUND_MS });
  const ms = Date.now() - t0;
  console.log(`PASS inuse ${ms}`);

  // Let the rest of the driver's scene (1002 ringing) arrive, then shoot.
  await page.waitForSelector("#dn-1002[data-state=ringing]", { timeout: LAMP_BOUND_MS }).catch(() => {});
  await page.screenshot({ path: path.join(artifacts, "board.png"), fullPage: true });
  await page.setViewportSize({ width: 375, height: 812 });
  await page.screenshot({ path: path.join(artifacts, "board-phone.png"), fullPage: true });

  // A 375 px screen must not scroll sideways.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) {
    console.log(`FAIL page is ${overflow}px wider than a 375px screen`);
    failed = true;
  }
  if (external.length) {
    console.log("FAIL external requests:", external.join(" "));
    failed = true;
  }
} catch (e) {
  console.log("FAIL", e.message);
  failed = true;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
