// The operator console: one screen per hash route, each drawn from API answers with DOM
// calls (text goes in as text, never as HTML). Plain ES modules, no build step.
import { completeSignIn, signIn, signOut, token } from "./auth.js";

const main = document.getElementById("main");
const statusLine = document.getElementById("status");
const apiBase = new URL("../", document.baseURI);
let config = { signIn: { mode: "cognito" }, apiKey: "" };

// --- small helpers ----------------------------------------------------------------------

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function say(text, isError = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", isError);
}

function show(...children) {
  main.replaceChildren(...children);
  main.focus();
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

function table(caption, headings, rows) {
  const numeric = new Set(headings.filter((x) => x.endsWith("#")));
  const names = headings.map((x) => x.replace(/#$/, ""));
  return h("table", {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, names.map((name, i) =>
      h("th", { scope: "col", class: numeric.has(headings[i]) ? "n" : null }, name)))),
    h("tbody", {}, rows.length ? rows.map((cells) => h("tr", {}, cells.map((cell, i) =>
      h("td", { class: numeric.has(headings[i]) ? "n" : null }, cell)))) :
      h("tr", {}, h("td", { colspan: headings.length }, "None."))));
}

function key() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `the API answered ${status}`);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (config.apiKey) headers["x-api-key"] = config.apiKey;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  // Every action carries a key of its own: a retried click changes nothing twice.
  if (method !== "GET") headers["Idempotency-Key"] = key();
  const response = await fetch(new URL(path.replace(/^\//, ""), apiBase), {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : null;
  if (response.status === 401) {
    signOut();
    render();
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

function searchForm(label, name, value, go) {
  const input = h("input", { id: `f-${name}`, name, value: value || "", required: true, autocomplete: "off" });
  return h("form", { role: "search", onsubmit: (event) => { event.preventDefault(); go(input.value.trim()); } },
    h("label", { for: `f-${name}` }, label, input),
    h("button", { type: "submit" }, "Show"));
}

// --- screens --------------------------------------------------------------------------

async function skuScreen(sku) {
  const form = searchForm("SKU", "sku", sku, (value) => { location.hash = `#/sku/${encodeURIComponent(value)}`; });
  if (!sku) return show(h("h2", {}, "Stock and holds"), form);
  show(h("h2", {}, `Stock and holds of ${sku}`), form, h("p", {}, "Loading…"));
  let inventory = null;
  try {
    inventory = await api("GET", `/inventory/${encodeURIComponent(sku)}`);
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  const holds = (await api("GET", `/inventory/${encodeURIComponent(sku)}/reservations`)).holds;
  // The per-sku list has no order ids: each hold's own record has (at most 50 read).
  const orders = new Map(await Promise.all(holds.slice(0, 50).map(async (x) =>
    [x.id, (await api("GET", `/reservations/${encodeURIComponent(x.id)}`)).orderId])));
  const stock = inventory ? table(`Stock of ${sku} per location`,
    ["Location", "On hand#", "Reserved#", "Available#", "Low-stock threshold#", "Version#"],
    inventory.locations.map((x) => [x.location, x.onHand, x.reserved,
      h("span", { class: x.available < 0 ? "negative" : null }, x.available),
      x.lowStockThreshold ?? "—", x.version])) : h("p", {}, `No stock record for ${sku}.`);
  const live = table(`Live holds on ${sku}`,
    ["Reservation", "Status", "Channel", "Order", "Location", "Held#", "Expires"],
    holds.map((x) => [h("a", { href: `#/reservation/${encodeURIComponent(x.id)}` }, x.id),
      x.status, x.channel, orders.get(x.id) || "—", x.location, x.quantity, when(x.expiresAt)]));
  show(h("h2", {}, `Stock and holds of ${sku}`), form, stock, live);
}

async function ordersScreen(orderId) {
  const form = searchForm("Order id", "order", orderId, (value) => { location.hash = `#/orders/${encodeURIComponent(value)}`; });
  if (!orderId) return show(h("h2", {}, "Find an order's holds"), form);
  const found = await api("GET", `/reservations?orderId=${encodeURIComponent(orderId)}`);
  show(h("h2", {}, "Find an order's holds"), form, table(`Holds of order ${orderId}`,
    ["Reservation", "Status", "Channel", "Lines#", "Created", "Expires"],
    found.reservations.map((x) => [h("a", { href: `#/reservation/${encodeURIComponent(x.id)}` }, x.id),
      x.status, x.channel, x.lineCount, when(x.createdAt), when(x.expiresAt)])));
}

async function labelScreen(name) {
  const form = searchForm("Label", "label", name, (value) => { location.hash = `#/labels/${encodeURIComponent(value)}`; });
  if (!name) return show(h("h2", {}, "Find a label"), form);
  const x = await api("GET", `/labels/${encodeURIComponent(name)}`);
  // An admin sees which hold and order hold a RESERVED label.
  const holder = x.reservationId
    ? h("a", { href: `#/reservation/${encodeURIComponent(x.reservationId)}` }, x.reservationId) : "—";
  show(h("h2", {}, "Find a label"), form, h("h2", {}, `Label ${x.label}`),
    h("dl", {}, h("dt", {}, "SKU"), h("dd", {}, h("a", { href: `#/sku/${encodeURIComponent(x.sku)}` }, x.sku)),
      h("dt", {}, "Location"), h("dd", {}, x.location), h("dt", {}, "Bin"), h("dd", {}, x.bin || "—"),
      h("dt", {}, "Quantity"), h("dd", {}, x.quantity), h("dt", {}, "Status"), h("dd", { id: "label-status" }, x.status),
      h("dt", {}, "Held by"), h("dd", {}, holder), h("dt", {}, "Order"), h("dd", {}, x.orderId || "—"),
      h("dt", {}, "Created"), h("dd", {}, when(x.createdAt))));
}

async function act(what, method, path, body, reservationId) {
  try {
    await api(method, path, body);
    say(`${what}: done.`);
  } catch (error) {
    say(`${what}: ${error.message}`, true);
  }
  await reservationScreen(reservationId, true);
}

async function reservationScreen(id, keepStatus = false) {
  const r = await api("GET", `/reservations/${encodeURIComponent(id)}`);
  const path = `/reservations/${encodeURIComponent(id)}`;
  const live = r.status === "ACTIVE" || r.status === "CONFIRMED";
  const lines = table("Lines", ["SKU", "Location", "Quantity#", "Held#", "Released#", "Consumed#", "Offset#", "Labels held", "Release"],
    r.items.map((line, i) => {
      const quantity = h("input", { id: `release-${i}`, type: "number", min: 1, max: line.held, value: line.held, inputmode: "numeric" });
      const release = live && line.held > 0 ? h("form", {
        onsubmit: (event) => {
          event.preventDefault();
          act(`Release ${line.sku}`, "POST", `${path}/release`,
            { items: [{ sku: line.sku, location: line.location, quantity: Number(quantity.value) }] }, id);
        },
      }, h("label", { for: `release-${i}` }, `Quantity of ${line.sku} to release`, quantity),
        h("button", { type: "submit", class: "quiet" }, `Release ${line.sku}`)) : "—";
      const labels = (line.labels || []).filter((x) => x.held).map((x) => x.label).join(", ") || "—";
      return [line.sku, line.location, line.quantity, line.held, line.released, line.consumed, line.offset, labels, release];
    }));
  const seconds = h("input", { id: "extend-seconds", type: "number", min: 1, value: 900, inputmode: "numeric" });
  const actions = live ? h("div", { class: "actions" },
    r.status === "ACTIVE" ? h("form", {
      onsubmit: (event) => {
        event.preventDefault();
        act("Extend", "POST", `${path}/extend`, { expiresInSeconds: Number(seconds.value) }, id);
      },
    }, h("label", { for: "extend-seconds" }, "Expire in (seconds from now)", seconds),
      h("button", { type: "submit" }, "Extend")) : null,
    h("form", { onsubmit: (event) => { event.preventDefault(); act("Cancel", "DELETE", path, undefined, id); } },
      h("button", { type: "submit", class: "danger" }, "Cancel the hold"))) : h("p", {}, "This hold has ended.");
  if (!keepStatus) say("");
  show(h("h2", {}, `Reservation ${r.id}`),
    h("dl", {}, h("dt", {}, "Status"), h("dd", { id: "reservation-status" }, r.status),
      h("dt", {}, "Channel"), h("dd", {}, r.channel), h("dt", {}, "Order"), h("dd", {}, r.orderId || "—"),
      h("dt", {}, "Created"), h("dd", {}, when(r.createdAt)), h("dt", {}, "Expires"), h("dd", {}, when(r.expiresAt))),
    lines, h("h2", {}, "Actions"), actions);
}

async function deadLettersScreen() {
  const found = await api("GET", "/operations/dead-letters");
  const typeOf = (body) => { try { return JSON.parse(body).type || "—"; } catch { return "not JSON"; } };
  show(h("h2", {}, "ERP dead-letter queue"),
    h("p", {}, `About ${found.approximateTotal} message(s) waiting. At most ten per sku are shown.`),
    table("Messages the ERP sent that did not take effect",
      ["Message", "Group (sku)", "Type", "Reason", "Deliveries#", "Sent", "Redrive"],
      found.messages.map((m) => [h("pre", {}, m.messageId), m.messageGroupId, typeOf(m.body), m.reason,
        m.receiveCount, when(m.sentAt),
        h("button", {
          type: "button", "aria-label": `Redrive message ${m.messageId}`,
          onclick: async () => {
            try {
              const done = await api("POST", `/operations/dead-letters/${encodeURIComponent(m.messageId)}/redrive`);
              say(`Redriven to the ERP queue as ${done.redrivenAs}.`);
            } catch (error) {
              say(`Redrive: ${error.message}`, true);
            }
            await deadLettersScreen();
          },
        }, "Redrive")])));
}

async function driftScreen() {
  const run = h("button", { type: "button", onclick: async () => {
    say("Running the drift check…");
    const result = await api("GET", "/operations/drift");
    say("");
    show(h("h2", {}, "Drift check"), run,
      h("p", { class: result.ok ? "ok" : "negative" }, result.ok ? "No drift." : `${result.problems.length} difference(s).`),
      h("p", {}, `Checked ${when(result.checkedAt)}: ${result.items} items, ${result.stockRecords} stock records, ${result.heldUnits} units held by live lines.`),
      result.problems.length ? h("ul", {}, result.problems.map((p) => h("li", {}, p))) : null);
  } }, "Run the drift check");
  show(h("h2", {}, "Drift check"),
    h("p", {}, "Recomputes every stock record's reserved from the hold lines. It reads the whole table."), run);
}

// --- routing and sign-in ----------------------------------------------------------------

const screens = {
  sku: skuScreen, orders: ordersScreen, reservation: reservationScreen, labels: labelScreen,
  "dead-letters": deadLettersScreen, drift: driftScreen,
};

function signInScreen() {
  const development = config.signIn.mode === "development";
  show(h("h2", {}, "Sign in"),
    h("p", {}, development
      ? "This is the local stack: sign in with a development operator token."
      : "Operators sign in with their account of the user pool."),
    h("button", { type: "button", onclick: async () => {
      try {
        await signIn(config.signIn);
        render();
      } catch (error) {
        say(error.message, true);
      }
    } }, development ? "Sign in (development)" : "Sign in"));
}

async function render() {
  const signedIn = Boolean(token());
  document.querySelector("nav").hidden = !signedIn;
  document.getElementById("sign-out").hidden = !signedIn;
  document.getElementById("who").textContent = signedIn ? "Signed in as an operator" : "";
  if (!signedIn) return signInScreen();
  const [name, ...rest] = (location.hash.replace(/^#\/?/, "") || "sku").split("/");
  const argument = decodeURIComponent(rest.join("/"));
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", link.getAttribute("href") === `#/${name}`);
    if (link.hasAttribute("aria-current")) link.setAttribute("aria-current", "page");
  }
  const screen = screens[name] || skuScreen;
  try {
    await screen(argument);
  } catch (error) {
    say(error.message, true);
  }
}

document.getElementById("sign-out").addEventListener("click", () => { signOut(); render(); });
window.addEventListener("hashchange", () => { say(""); render(); });

(async () => {
  config = await (await fetch("config.json")).json();
  try {
    await completeSignIn(config.signIn);
  } catch (error) {
    say(error.message, true);
  }
  render();
})();
