// GraphiQL in Chromium with every request to anything but 127.0.0.1
// blocked: node graphiql.mjs <origin> <screenshot.png>. Loads the page,
// types a query into the editor, runs it, and prints one JSON line:
// {result, consoleErrors, blocked, screenshot}.
import { chromium } from "playwright-core";

const [origin, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
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
  await page.goto(origin + "/", { waitUntil: "load" });
  await page.locator(".graphiql-query-editor .CodeMirror").first().waitFor({ timeout: 20000 });
  const query = '{ product(sku: "TENT-2P-GRN") { sku name availability { available } } }';
  // Replace the default query with ours, as a person would: select all, type.
  await page.locator(".graphiql-query-editor .CodeMirror").first().click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.type(query);
  await page.keyboard.press("Shift+Control+P"); // prettify, for the screenshot
  await page.locator("button.graphiql-execute-button").click();
  const response = page.locator(".graphiql-response .CodeMirror");
  await response.filter({ hasText: "TENT-2P-GRN" }).waitFor({ timeout: 20000 });
  // Close the editor's suggestions, for the screenshot.
  await page.keyboard.press("Escape");
  await page.locator(".graphiql-response").click();
  // A suggestion list opened by the first keystroke can outlive Escape.
  await page.evaluate(() => document.querySelectorAll(".CodeMirror-hints").forEach((e) => e.remove()));
  await page.screenshot({ path: screenshot });
  const result = await response.evaluate((element) => element.CodeMirror.getValue());
  console.log(JSON.stringify({ result, consoleErrors, blocked, screenshot }));
} finally {
  await browser.close();
}
