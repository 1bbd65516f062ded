// GraphiQL in $BROWSER (offline_browser.mjs) with every request to anything but 127.0.0.1
// blocked: node graphiql.mjs <origin> <screenshot.png>. Loads the page,
// types a query into the editor, runs it, and prints one JSON line:
// {result, consoleErrors, blocked, screenshot, userAgent}.
import { offlineBrowser } from "./offline_browser.mjs";

const [origin, screenshot] = process.argv.slice(2);
const { browser, page, consoleErrors, blocked } = await offlineBrowser();
try {
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
  const userAgent = await page.evaluate(() => navigator.userAgent);
  console.log(JSON.stringify({ result, consoleErrors, blocked, screenshot, userAgent }));
} finally {
  await browser.close();
}
