// Debian's Chromium through playwright-core, as on a machine without
// internet: every request to anything but 127.0.0.1 is blocked and noted,
// and the console's errors are kept. Used by graphiql.mjs and
// dashboard_page.mjs.
import { chromium } from "playwright-core";

export async function offlineBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    // Without the background-networking flags Chromium keeps trying Google's
    // hosts, which this closed network refuses.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const consoleErrors = [];
  const blocked = [];
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(String(error)));
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === "127.0.0.1" || url.protocol === "data:") return route.continue();
    blocked.push(url.href);
    return route.abort();
  });
  return { browser, page, consoleErrors, blocked };
}
