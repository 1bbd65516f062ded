// The stockroute dashboard: a client of the public GraphQL API only
// (queries over HTTP, subscriptions over graphql-transport-ws), so it is
// also a reference for dashboard builders. No framework, no external URL.
import { LAND } from "/dashboard/land.js";

const ENDPOINT = location.origin + "/graphql";
const SOCKET = ENDPOINT.replace(/^http/, "ws");
const KEY_STORAGE = "stockroute.dashboard.key";
const STRATEGY_COLOURS = { NEAREST: "#0b6bcb", CHEAPEST: "#1a7f37", BALANCED: "#b35c00", SPLIT: "#8e3bbf" };
const PULSE = [
  ["RESERVE", "held", "#0b6bcb"],
  ["ORDER", "confirmed", "#1a7f37"],
  ["RELEASE", "released", "#b35c00"],
  ["EXPIRE", "expired", "#b42318"],
];
const PULSE_MINUTES = 10;
const LEDGER_ROWS = 25;
const SVG = "http://www.w3.org/2000/svg";

const $ = (selector) => document.querySelector(selector);
const key = () => sessionStorage.getItem(KEY_STORAGE) || "";

// ------------------------------------------------------------------ GraphQL

async function graphql(query, variables = {}) {
  const headers = { "content-type": "application/json", accept: "application/graphql-response+json" };
  if (key()) headers.authorization = "Bearer " + key();
  const response = await fetch(ENDPOINT, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  if (body.errors && body.errors.length) {
    const error = body.errors[0];
    throw new Error(`${error.extensions?.code ?? "ERROR"}: ${error.message}`);
  }
  return body.data;
}

/// One graphql-transport-ws connection with one subscription, reconnected
/// after it drops. `variables()` is asked again at every (re)connection.
class Live {
  constructor(query, variables, { onNext, onState }) {
    Object.assign(this, { query, variables, onNext, onState, stopped: false });
    this.connect(false);
  }

  connect(again) {
    const socket = new WebSocket(SOCKET, "graphql-transport-ws");
    this.socket = socket;
    socket.onopen = () => {
      const payload = key() ? { Authorization: "Bearer " + key() } : {};
      socket.send(JSON.stringify({ type: "connection_init", payload }));
    };
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "connection_ack") {
        socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: this.query, variables: this.variables() } }));
        this.onState(again ? "resumed" : "live");
      } else if (data.type === "next") {
        if (data.payload.errors) this.onState("error", data.payload.errors[0]);
        else this.onNext(data.payload.data);
      } else if (data.type === "error") {
        this.onState("error", data.payload[0]);
      } else if (data.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      }
    };
    socket.onclose = (event) => {
      if (this.stopped || socket !== this.socket) return;
      if (event.code === 4403) {
        this.onState("refused", { message: event.reason });
        return;
      }
      this.onState("down");
      setTimeout(() => this.connect(true), 500);
    };
  }

  stop() {
    this.stopped = true;
    this.socket.close(1000);
  }
}

// ------------------------------------------------------------------ state

const state = {
  warehouses: new Map(), // code -> { code, name, city, active, lat, lon }
  levels: new Map(), // "sku|code" -> { sku, code, quantity, reserved, safetyStock, available, version }
  totals: new Map(), // sku -> { sku, onHand, reserved, available } (public view)
  lastMovement: null,
  pulse: new Map(), // minute -> Map(type -> Set(reference))
  live: null,
  admin: false,
};

function setStatus(text, kind) {
  const status = $("#status");
  status.textContent = text;
  status.className = kind || "";
}

// ------------------------------------------------------------------ map

// Equirectangular, with longitudes shrunk by the cosine of the middle
// latitude so that Europe is not stretched.
const projection = { k: 1, unit: 1 };
const toMap = (lat, lon) => [lon * projection.k, -lat];

function drawMap() {
  const svg = $("#map");
  svg.replaceChildren();
  const points = [...state.warehouses.values()];
  const lats = points.map((w) => w.lat);
  const lons = points.map((w) => w.lon);
  const middle = (Math.min(...lats) + Math.max(...lats)) / 2;
  projection.k = Math.cos((middle * Math.PI) / 180);
  const margin = 8;
  const [x0, y0] = toMap(Math.max(...lats) + margin, Math.min(...lons) - margin / projection.k);
  const [x1, y1] = toMap(Math.min(...lats) - margin, Math.max(...lons) + margin / projection.k);
  svg.setAttribute("viewBox", `${x0} ${y0} ${x1 - x0} ${y1 - y0}`);
  // Markers and labels in proportion to the area shown.
  projection.unit = (x1 - x0) / 100;
  svg.style.setProperty("--label", `${1.6 * projection.unit}px`);
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  const land = document.createElementNS(SVG, "path");
  land.setAttribute("d", LAND);
  land.setAttribute("class", "land");
  land.setAttribute("transform", `scale(${projection.k} 1)`);
  svg.append(land);
  const routes = document.createElementNS(SVG, "g");
  routes.id = "routes";
  svg.append(routes);
  const markers = document.createElementNS(SVG, "g");
  markers.id = "markers";
  svg.append(markers);
  for (const warehouse of points) {
    const [x, y] = toMap(warehouse.lat, warehouse.lon);
    const marker = document.createElementNS(SVG, "g");
    marker.setAttribute("class", "warehouse" + (warehouse.active ? "" : " inactive"));
    marker.dataset.code = warehouse.code;
    marker.setAttribute("tabindex", "0");
    marker.setAttribute("role", "button");
    const circle = document.createElementNS(SVG, "circle");
    circle.setAttribute("cx", x);
    circle.setAttribute("cy", y);
    const title = document.createElementNS(SVG, "title");
    marker.append(circle, title);
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", x + 1.2 * projection.unit);
    label.setAttribute("y", y - 1.2 * projection.unit);
    label.textContent = warehouse.code;
    marker.append(label);
    // Enter on a focused warehouse plans a delivery to it.
    marker.addEventListener("keydown", (event) => {
      if (event.key === "Enter") planTo(warehouse.lat, warehouse.lon);
    });
    markers.append(marker);
  }
  sizeMarkers();
}

function availableAt(code) {
  let sum = 0;
  for (const level of state.levels.values()) if (level.code === code) sum += Math.max(0, level.available);
  return sum;
}

function sizeMarkers() {
  const sums = new Map([...state.warehouses.keys()].map((code) => [code, availableAt(code)]));
  const most = Math.max(1, ...sums.values());
  for (const marker of document.querySelectorAll("#map .warehouse")) {
    const code = marker.dataset.code;
    const warehouse = state.warehouses.get(code);
    const available = sums.get(code);
    marker.querySelector("circle").setAttribute("r", projection.unit * (0.35 + 1.15 * Math.sqrt(available / most)));
    marker.dataset.available = available;
    const note = warehouse.active ? "" : " (inactive)";
    marker.querySelector("title").textContent = `${code} ${warehouse.city}: ${available} available${note}`;
    marker.setAttribute("aria-label", marker.querySelector("title").textContent);
  }
}

// ------------------------------------------------------------------ plans

const COMPARE = `query Compare($lines: [OrderLineInput!]!, $shipTo: LocationInput!) {
  compareStrategies(lines: $lines, shipTo: $shipTo) {
    strategy feasible shipmentCount totalCostCents totalDistanceKm explanation
    shipments { warehouse { code location { latitude longitude } } costCents lines { sku quantity } }
  }
}`;

function planTo(lat, lon) {
  $("#plan-lat").value = lat.toFixed(4);
  $("#plan-lon").value = lon.toFixed(4);
  comparePlans();
}

function parseLines(text) {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [sku, quantity] = part.split(":").map((s) => s.trim());
      return { sku, quantity: Number(quantity || 1) };
    });
}

// Only the latest comparison is drawn, however the answers arrive.
let comparison = 0;

async function comparePlans() {
  const mine = ++comparison;
  const lat = Number($("#plan-lat").value);
  const lon = Number($("#plan-lon").value);
  const plans = $("#plans");
  const routes = $("#routes");
  plans.replaceChildren();
  routes.replaceChildren();
  let result;
  try {
    result = await graphql(COMPARE, { lines: parseLines($("#plan-lines").value), shipTo: { latitude: lat, longitude: lon } });
  } catch (error) {
    if (mine === comparison) plans.textContent = error.message;
    return;
  }
  if (mine !== comparison) return;
  plans.replaceChildren();
  routes.replaceChildren();
  const [tx, ty] = toMap(lat, lon);
  result.compareStrategies.forEach((plan, index) => {
    const colour = STRATEGY_COLOURS[plan.strategy] || "#333";
    const card = document.createElement("article");
    card.className = "plan";
    card.dataset.strategy = plan.strategy;
    card.dataset.costCents = plan.totalCostCents;
    card.dataset.shipments = plan.shipmentCount;
    card.style.setProperty("--strategy", colour);
    const euros = (plan.totalCostCents / 100).toFixed(2);
    card.innerHTML = `<h3></h3><div class="cost"></div><div class="count"></div><ul></ul>`;
    card.querySelector("h3").textContent = plan.strategy;
    card.querySelector(".cost").textContent = plan.feasible ? `€${euros}` : "not feasible";
    card.querySelector(".count").textContent =
      `${plan.shipmentCount} shipment${plan.shipmentCount === 1 ? "" : "s"} · ${Math.round(plan.totalDistanceKm)} km: ` +
      plan.shipments.map((s) => s.warehouse.code).join(", ");
    for (const line of plan.explanation) {
      const item = document.createElement("li");
      item.textContent = line;
      card.querySelector("ul").append(item);
    }
    plans.append(card);
    // Each strategy's routes slightly apart, so that shared ones show.
    const offset = (index - 1.5) * 0.25 * projection.unit;
    for (const shipment of plan.shipments) {
      const [x, y] = toMap(shipment.warehouse.location.latitude, shipment.warehouse.location.longitude);
      const route = document.createElementNS(SVG, "line");
      route.setAttribute("class", "route");
      route.dataset.strategy = plan.strategy;
      route.setAttribute("x1", x + offset);
      route.setAttribute("y1", y + offset);
      route.setAttribute("x2", tx + offset);
      route.setAttribute("y2", ty + offset);
      route.setAttribute("stroke", colour);
      routes.append(route);
    }
  });
  const target = document.createElementNS(SVG, "circle");
  target.setAttribute("class", "ship-to");
  target.setAttribute("cx", tx);
  target.setAttribute("cy", ty);
  target.setAttribute("r", 0.8 * projection.unit);
  routes.append(target);
}

// ------------------------------------------------------------------ levels

function visible(sku, code) {
  const skuFilter = $("#filter-sku").value.trim().toUpperCase();
  const warehouseFilter = $("#filter-warehouse").value.trim().toUpperCase();
  return sku.toUpperCase().includes(skuFilter) && (code === undefined || code.toUpperCase().includes(warehouseFilter));
}

function renderLevels(flashed = new Set()) {
  const head = $("#levels thead");
  const body = $("#levels tbody");
  body.replaceChildren();
  if (state.admin) {
    head.innerHTML = `<tr><th>SKU</th><th>warehouse</th><th class="number">on hand</th><th class="number">reserved</th><th class="number" title="safety stock: kept on hand, never offered">safety</th><th class="number">available</th><th class="number">version</th></tr>`;
    const rows = [...state.levels.values()].filter((l) => visible(l.sku, l.code));
    rows.sort((a, b) => a.sku.localeCompare(b.sku) || a.code.localeCompare(b.code));
    for (const level of rows) {
      body.append(row(`${level.sku}|${level.code}`, [level.sku, level.code], [level.quantity, level.reserved, level.safetyStock, level.available, level.version], flashed));
    }
  } else {
    head.innerHTML = `<tr><th>SKU</th><th class="number">on hand</th><th class="number">reserved</th><th class="number">available</th></tr>`;
    const rows = [...state.totals.values()].filter((t) => visible(t.sku));
    rows.sort((a, b) => a.sku.localeCompare(b.sku));
    for (const total of rows) body.append(row(total.sku, [total.sku], [total.onHand, total.reserved, total.available], flashed));
  }
}

function row(id, texts, numbers, flashed) {
  const tr = document.createElement("tr");
  tr.dataset.id = id;
  if (flashed.has(id)) tr.className = "flash";
  for (const text of texts) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  for (const number of numbers) {
    const td = document.createElement("td");
    td.className = "number";
    td.textContent = number;
    tr.append(td);
  }
  return tr;
}

// ------------------------------------------------------------------ ledger and pulse

function ledgerRow(movement) {
  const tr = document.createElement("tr");
  tr.dataset.id = movement.id;
  const cells = [
    movement.id,
    movement.type,
    `${movement.sku} @ ${movement.warehouseCode}`,
    movement.quantityDelta,
    movement.reservedDelta,
    movement.createdBy ?? "",
    movement.referenceId ?? "",
  ];
  for (const cell of cells) {
    const td = document.createElement("td");
    td.textContent = cell;
    tr.append(td);
  }
  return tr;
}

function addToLedger(movement, flash) {
  const body = $("#ledger tbody");
  const tr = ledgerRow(movement);
  if (flash) tr.className = "flash";
  body.prepend(tr);
  while (body.children.length > LEDGER_ROWS) body.lastElementChild.remove();
}

function countPulse(movement) {
  const minute = Math.floor(Date.parse(movement.createdAt) / 60000);
  if (!state.pulse.has(minute)) state.pulse.set(minute, new Map());
  const kinds = state.pulse.get(minute);
  if (!kinds.has(movement.type)) kinds.set(movement.type, new Set());
  // A hold of several lines is several movements with one reference.
  kinds.get(movement.type).add(movement.referenceId ?? movement.id);
}

function drawPulse() {
  const svg = $("#pulse");
  svg.replaceChildren();
  const width = 300;
  const height = 120;
  svg.setAttribute("viewBox", `0 0 ${width} ${height + 16}`);
  const now = Math.floor(Date.now() / 60000);
  const minutes = Array.from({ length: PULSE_MINUTES }, (_, i) => now - PULSE_MINUTES + 1 + i);
  const count = (minute, type) => state.pulse.get(minute)?.get(type)?.size ?? 0;
  const most = Math.max(1, ...minutes.flatMap((m) => PULSE.map(([type]) => count(m, type))));
  const slot = width / PULSE_MINUTES;
  const bar = (slot - 4) / PULSE.length;
  minutes.forEach((minute, i) => {
    PULSE.forEach(([type, , colour], j) => {
      const n = count(minute, type);
      const rect = document.createElementNS(SVG, "rect");
      const h = (n / most) * (height - 4);
      rect.setAttribute("x", i * slot + 2 + j * bar);
      rect.setAttribute("y", height - h);
      rect.setAttribute("width", bar - 1);
      rect.setAttribute("height", h);
      rect.setAttribute("fill", colour);
      rect.dataset.minute = minute;
      rect.dataset.type = type;
      rect.dataset.count = n;
      svg.append(rect);
    });
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", i * slot + 2);
    label.setAttribute("y", height + 12);
    label.textContent = new Date(minute * 60000).toTimeString().slice(0, 5);
    svg.append(label);
  });
  const axis = document.createElementNS(SVG, "line");
  axis.setAttribute("class", "axis");
  axis.setAttribute("x1", 0);
  axis.setAttribute("x2", width);
  axis.setAttribute("y1", height);
  axis.setAttribute("y2", height);
  svg.append(axis);
  const totals = $("#pulse-totals");
  totals.replaceChildren();
  for (const [type, name, colour] of PULSE) {
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = colour;
    const text = document.createElement("span");
    text.dataset.type = type;
    text.textContent = `${name} ${count(now, type)}/min`;
    totals.append(swatch, text);
  }
}

// ------------------------------------------------------------------ start

const START = `{
  warehouses { code name city active location { latitude longitude } }
  products(first: 100) { edges { node { sku availability { onHand reserved available }
    stockLevels { warehouse { code } quantity reserved safetyStock available version } } } }
}`;

const LEDGER = `{ movements(first: ${LEDGER_ROWS}) { edges { node {
  id sku warehouseCode type quantityDelta reservedDelta referenceId createdBy createdAt } } } }`;

const EVENTS = `subscription Events($after: ID) {
  stockLevelChanged(after: $after) {
    movement { id sku warehouseCode type quantityDelta reservedDelta referenceId createdBy createdAt }
    stockLevel { quantity reserved safetyStock available version }
  }
}`;

const AVAILABILITY = `subscription Totals($skus: [String!]!) {
  availabilityChanged(skus: $skus) { sku onHand reserved available }
}`;

async function start() {
  if (state.live) state.live.stop();
  state.admin = false;
  let data;
  try {
    data = await graphql(START);
  } catch (error) {
    setStatus("cannot load: " + error.message, "down");
    return;
  }
  state.warehouses = new Map(data.warehouses.map((w) => [w.code, {
    code: w.code, name: w.name, city: w.city, active: w.active, lat: w.location.latitude, lon: w.location.longitude,
  }]));
  state.levels = new Map();
  state.totals = new Map();
  for (const { node } of data.products.edges) {
    state.totals.set(node.sku, { sku: node.sku, ...node.availability });
    for (const level of node.stockLevels) {
      state.levels.set(`${node.sku}|${level.warehouse.code}`, { sku: node.sku, code: level.warehouse.code, ...level });
    }
  }
  drawMap();
  $("#ledger tbody").replaceChildren();
  if (key()) {
    try {
      const ledger = await graphql(LEDGER);
      state.admin = true;
      const movements = ledger.movements.edges.map((e) => e.node);
      for (const movement of [...movements].reverse()) {
        addToLedger(movement, false);
        countPulse(movement);
      }
      state.lastMovement = movements.length ? movements[0].id : "0";
    } catch (error) {
      setStatus("key refused: " + error.message + " (public view)", "down");
    }
  }
  renderLevels();
  drawPulse();
  if (state.admin) watchLevels();
  else watchTotals();
  comparePlans();
}

function watchLevels() {
  let replayed = 0;
  let resumedAfter = null;
  state.live = new Live(EVENTS, () => ({ after: state.lastMovement }), {
    onNext(data) {
      const { movement, stockLevel } = data.stockLevelChanged;
      const id = `${movement.sku}|${movement.warehouseCode}`;
      state.levels.set(id, { sku: movement.sku, code: movement.warehouseCode, ...stockLevel });
      state.lastMovement = movement.id;
      addToLedger(movement, true);
      countPulse(movement);
      renderLevels(new Set([id]));
      sizeMarkers();
      drawPulse();
      if (resumedAfter !== null) {
        replayed += 1;
        setStatus(`live · resumed after #${resumedAfter}: ${replayed} movement${replayed === 1 ? "" : "s"} since, no gap`, "live");
      }
    },
    onState(kind, error) {
      if (kind === "live") setStatus("live · admin: every stock level change", "live");
      else if (kind === "resumed") {
        resumedAfter = state.lastMovement;
        replayed = 0;
        setStatus(`live · resumed after #${resumedAfter}, no gap`, "live");
      } else if (kind === "down") setStatus(`connection lost after #${state.lastMovement}; reconnecting…`, "down");
      else if (error?.extensions?.lastDeliveredId) {
        setStatus(`the server is stopping; will resume after #${error.extensions.lastDeliveredId}`, "down");
      } else setStatus(`${kind}: ${error?.message ?? ""}`, "down");
    },
  });
}

function watchTotals() {
  const skus = [...state.totals.keys()].slice(0, 100);
  state.live = new Live(AVAILABILITY, () => ({ skus }), {
    onNext(data) {
      const total = data.availabilityChanged;
      const before = state.totals.get(total.sku);
      state.totals.set(total.sku, total);
      const changed = !before || before.available !== total.available;
      renderLevels(changed ? new Set([total.sku]) : new Set());
    },
    onState(kind, error) {
      if (kind === "live" || kind === "resumed") setStatus("live · public: availability per SKU", "live");
      else if (kind === "down") setStatus("connection lost; reconnecting…", "down");
      else setStatus(`${kind}: ${error?.message ?? ""}`, "down");
    },
  });
}

$("#key").value = key();
$("#key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = $("#key").value.trim();
  if (value) sessionStorage.setItem(KEY_STORAGE, value);
  else sessionStorage.removeItem(KEY_STORAGE);
  start();
});
$("#map").addEventListener("click", (event) => {
  const svg = $("#map");
  const point = svg.createSVGPoint();
  point.x = event.clientX;
  point.y = event.clientY;
  const at = point.matrixTransform(svg.getScreenCTM().inverse());
  planTo(-at.y, at.x / projection.k);
});
$("#plan-form").addEventListener("submit", (event) => {
  event.preventDefault();
  comparePlans();
});
for (const filter of ["#filter-sku", "#filter-warehouse"]) $(filter).addEventListener("input", () => renderLevels());
setInterval(drawPulse, 15000);

// For tests and scripts: where a place is on the screen.
window.stockroute = {
  screenPointOf(lat, lon) {
    const svg = $("#map");
    const point = svg.createSVGPoint();
    [point.x, point.y] = toMap(lat, lon);
    const at = point.matrixTransform(svg.getScreenCTM());
    return { x: at.x, y: at.y };
  },
};

start();
