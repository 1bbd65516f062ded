// A browser through playwright-core, as on a machine without internet:
// every request to anything but 127.0.0.1 is blocked and noted, and the
// console's errors are kept. Used by graphiql.mjs and dashboard_page.mjs.
//
// $BROWSER picks it: "chromium" (the default; Debian's Chromium over the
// DevTools protocol) or "firefox" (Debian's Firefox ESR over WebDriver
// BiDi, Playwright's "moz-firefox" channel, which drives a stock Firefox:
// Playwright's own patched Firefox cannot be downloaded here).
import { chromium, firefox } from "playwright-core";

const browsers = {
  chromium: () => chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    // Without the background-networking flags Chromium keeps trying Google's
    // hosts, which this closed network refuses.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  }),
  firefox: () => firefox.launch({
    channel: "moz-firefox",
    executablePath: process.env.FIREFOX || "/usr/bin/firefox-esr",
    // The same silence for Firefox: no update, telemetry or safe-browsing
    // requests that the closed network would refuse.
    firefoxUserPrefs: {
      "app.update.enabled": false,
      "browser.safebrowsing.malware.enabled": false,
      "browser.safebrowsing.phishing.enabled": false,
      "datareporting.policy.dataSubmissionEnabled": false,
      "network.captive-portal-service.enabled": false,
      "network.connectivity-service.enabled": false,
      "toolkit.telemetry.enabled": false,
    },
  }),
};

export const browserName = process.env.BROWSER || "chromium";

export async function offlineBrowser() {
  const launch = browsers[browserName];
  if (!launch) throw new Error(`BROWSER=${browserName}: use ${Object.keys(browsers).join(" or ")}`);
  const browser = await launch();
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
