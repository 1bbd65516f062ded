// The /dashboard page in $BROWSER (offline_browser.mjs), with every
// request to anything but 127.0.0.1 blocked:
// node dashboard_page.mjs <origin> <admin key> <dir>.
// Prints one JSON line per step; at {"step": "restart-now"} it waits for a
// line on stdin saying the server was restarted. Screenshots go to <dir>.
import { createInterface } from "node:readline";
import { offlineBrowser } from "./offline_browser.mjs";

const [origin, adminKey, dir] = process.argv.slice(2);
const report = (step, facts) => console.log(JSON.stringify({ step, ...facts }));
const lines = createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once("line", resolve));

async function api(query, variables = {}) {
  const response = await fetch(origin + "/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer " + adminKey },
    body: JSON.stringify({ query, variables }),
  });
  return response.json();
}

const RECEIVE = `mutation($i: StockChangeInput!) { receiveStock(input: $i) { quantity } }`;
const HOT = { sku: "DROP-SNEAKER-LTD", warehouseCode: "BER1" };

const { browser, page, consoleErrors, blocked } = await offlineBrowser();
try {

  // The public view: the map and the availability per SKU.
  await page.goto(origin + "/dashboard");
  await page.locator("#status.live").waitFor({ timeout: 15000 });
  report("public", {
    markers: await page.locator("#map .warehouse").count(),
    inactive: await page.locator("#map .warehouse.inactive").count(),
    rows: await page.locator("#levels tbody tr").count(),
    status: await page.locator("#status").textContent(),
    userAgent: await page.evaluate(() => navigator.userAgent),
  });

  // An admin key, typed in and kept for the session only.
  await page.fill("#key", adminKey);
  await page.press("#key", "Enter");
  await page.locator("#status.live", { hasText: "admin" }).waitFor({ timeout: 15000 });
  const stored = await page.evaluate(() => ({
    session: Object.values(sessionStorage),
    local: Object.values(localStorage),
  }));
  report("admin", {
    keyInSessionStorage: stored.session.includes(adminKey),
    keyInLocalStorage: stored.local.includes(adminKey),
    consoleErrors: [...consoleErrors],
  });

  // A change made through the API shows in the table and the ledger.
  await page.fill("#filter-sku", HOT.sku);
  const started = Date.now();
  const received = await api(RECEIVE, { i: { ...HOT, quantity: 7, referenceId: "dash-live" } });
  if (!received.data) throw new Error(JSON.stringify(received));
  const quantity = received.data.receiveStock.quantity;
  const row = page.locator(`#levels tr[data-id="${HOT.sku}|${HOT.warehouseCode}"]`);
  await row.locator("td", { hasText: new RegExp(`^${quantity}$`) }).first().waitFor({ timeout: 5000 });
  await page.locator("#ledger td", { hasText: "dash-live" }).waitFor({ timeout: 5000 });
  const millis = Date.now() - started;
  await page.screenshot({ path: `${dir}/dashboard-live.png`, fullPage: true });
  report("live", { millis, quantity, flashed: (await row.getAttribute("class")) === "flash" });

  // The checkout pulse counts holds (one per reservation, whatever its lines).
  const reserved = await api(
    `mutation($i: ReserveOrderInput!) { reserveOrder(input: $i) { __typename } }`,
    { i: { reservationId: crypto.randomUUID(), lines: [{ sku: "TENT-2P-GRN", quantity: 1 }, { sku: "TENT-4P-RED", quantity: 1 }],
      shipTo: { latitude: 52.52, longitude: 13.405 } } },
  );
  if (reserved.data?.reserveOrder?.__typename !== "Reservation") throw new Error(JSON.stringify(reserved));
  const held = page.locator('#pulse-totals [data-type="RESERVE"]');
  await held.filter({ hasText: "held 1/min" }).waitFor({ timeout: 5000 });
  report("pulse", { held: await held.textContent() });

  // The server restarts; changes are made meanwhile elsewhere.
  report("restart-now", {});
  const restarted = JSON.parse(await nextLine());
  await page.locator("#ledger td", { hasText: "dash-missed-2" }).waitFor({ timeout: 20000 });
  await page.locator("#ledger td", { hasText: "dash-missed-1" }).waitFor({ timeout: 5000 });
  await row.locator("td", { hasText: new RegExp(`^${restarted.quantity}$`) }).first().waitFor({ timeout: 5000 });
  const ledgerIds = await page.locator("#ledger tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.id));
  report("resumed", { status: await page.locator("#status").textContent(), ledgerIds });

  // A click on Munich compares the four strategies there.
  await page.fill("#filter-sku", "");
  await page.evaluate(() => document.querySelector("#plans").replaceChildren());
  const munich = await page.evaluate(() => window.stockroute.screenPointOf(48.1351, 11.582));
  await page.mouse.click(munich.x, munich.y);
  await page.locator("#plans .plan").nth(3).waitFor({ timeout: 10000 });
  const plans = await page.locator("#plans .plan").evaluateAll((cards) => cards.map((card) => ({
    strategy: card.dataset.strategy,
    costCents: Number(card.dataset.costCents),
    shipments: Number(card.dataset.shipments),
    routes: document.querySelectorAll(`#map .route[data-strategy="${card.dataset.strategy}"]`).length,
    text: card.textContent,
  })));
  await page.screenshot({ path: `${dir}/dashboard-plans.png` });
  report("plans", {
    latitude: Number(await page.inputValue("#plan-lat")),
    longitude: Number(await page.inputValue("#plan-lon")),
    lines: await page.inputValue("#plan-lines"),
    plans,
  });

  // Keyboard: a warehouse marker takes focus and Enter plans to it.
  await page.evaluate(() => document.querySelector("#plans").replaceChildren());
  await page.locator('#map .warehouse[data-code="PAR1"]').focus();
  await page.keyboard.press("Enter");
  await page.locator("#plans .plan").nth(3).waitFor({ timeout: 10000 });
  report("keyboard", {
    latitude: Number(await page.inputValue("#plan-lat")),
    longitude: Number(await page.inputValue("#plan-lon")),
  });

  // A phone-width screen: nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(200);
  report("phone", {
    scrollWidth: await page.evaluate(() => document.documentElement.scrollWidth),
    mapWidth: await page.locator("#map").evaluate((map) => map.getBoundingClientRect().width),
  });
  report("done", { blocked });
} finally {
  await browser.close();
  lines.close();
}
