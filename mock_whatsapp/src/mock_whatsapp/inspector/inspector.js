// The inspector page: loads the mock's state once through the control API, then follows
// the event stream (WebSocket /_mock/events/ws) to stay live. Plain browser JavaScript,
// no framework and no build step. Everything shown is built with textContent, never
// innerHTML: payloads come from bots and phones and may contain markup.
"use strict";

const STATUS_ORDER = { accepted: 0, sent: 1, delivered: 2, read: 3, failed: 4 };
const MAX_EVENTS_SHOWN = 300;
// Only the newest deliveries are drawn, so that a load test does not bog the page down.
const MAX_DELIVERIES_SHOWN = 200;

const state = {
  phones: new Map(), // number -> {number, name, messages: [], byId: Map}
  deliveries: new Map(), // id -> {id, url, state, payload, signature, attempts: []}
  selected: null,
  lastSeq: 0,
  events: [],
  errors: 0,
  clockOffsetMs: 0, // the mock's clock minus this browser's
  openDeliveries: new Set(),
  openEvents: new Set(),
  // What changed since the last frame: the phone numbers whose chats changed, and
  // whether the delivery list did.
  dirtyPhones: new Set(),
  dirtyDeliveries: false,
};

// --- small helpers ----------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data && data.error;
    const message = (error && (error.message || error.code)) || `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return data;
}

let toastTimer = null;
function toast(message) {
  const node = $("toast");
  node.textContent = message;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (node.hidden = true), 4000);
}

function digits(raw) {
  return String(raw).replace(/\D/g, "");
}

function displayNumber(number) {
  return "+" + number;
}

function shortTime(iso) {
  const d = new Date(iso);
  return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function dayOf(iso) {
  const d = new Date(iso);
  return isNaN(d) ? "" : d.toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" });
}

// --- state changes (idempotent: the stream may repeat what the snapshot already had) ----

function phone(number) {
  let p = state.phones.get(number);
  if (!p) {
    p = { number, name: "", messages: [], byId: new Map() };
    state.phones.set(number, p);
  }
  return p;
}

function upsertMessage(number, message) {
  const p = phone(number);
  const known = p.byId.get(message.id);
  if (known) {
    updateStatus(known, message.status, message.errors);
    return;
  }
  const copy = { ...message };
  p.byId.set(copy.id, copy);
  p.messages.push(copy);
  p.messages.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
}

function updateStatus(message, status, errors) {
  if (!status) return;
  const now = STATUS_ORDER[message.status] ?? 0;
  if ((STATUS_ORDER[status] ?? 0) > now) message.status = status;
  if (errors && errors.length) message.errors = errors;
}

function upsertDelivery(data) {
  let d = state.deliveries.get(data.delivery_id ?? data.id);
  if (!d) {
    d = { id: data.delivery_id ?? data.id, attempts: [] };
    state.deliveries.set(d.id, d);
  }
  for (const key of ["url", "state", "payload", "signature"]) {
    if (data[key] !== undefined) d[key] = data[key];
  }
  return d;
}

function upsertAttempt(delivery, attempt) {
  const number = attempt.attempt ?? attempt.number;
  const copy = { ...attempt, number };
  const at = delivery.attempts.findIndex((a) => a.number === number);
  if (at >= 0) delivery.attempts[at] = copy;
  else delivery.attempts.push(copy);
  delivery.attempts.sort((a, b) => a.number - b.number);
}

function clearState() {
  state.phones.clear();
  state.deliveries.clear();
  state.openDeliveries.clear();
}

// --- loading and following --------------------------------------------------------------

async function loadSnapshot() {
  // The stream resumes after the last event seen here; whatever happens while the
  // snapshot loads is replayed by it and applied a second time, harmlessly.
  const recent = await api("GET", "/_mock/events/recent?after=0&limit=5000");
  state.lastSeq = recent.events.length ? recent.events[recent.events.length - 1].seq : 0;
  state.events = recent.events.slice(-MAX_EVENTS_SHOWN);
  state.errors = state.events.filter((e) => e.kind === "api.error").length;

  const [phones, deliveries, clock, subscribers] = await Promise.all([
    api("GET", "/_mock/phones"),
    api("GET", "/_mock/webhooks/deliveries"),
    api("GET", "/_mock/clock"),
    api("GET", "/_mock/webhooks/subscribers"),
  ]);
  showSubscribers(subscribers.subscribers);
  clearState();
  await Promise.all(
    phones.map(async (p) => {
      phone(p.phone).name = p.name || "";
      const chat = await api("GET", `/_mock/phones/${encodeURIComponent(p.phone)}/messages`);
      for (const m of chat) upsertMessage(p.phone, m);
    }),
  );
  for (const d of Array.isArray(deliveries) ? deliveries : deliveries.deliveries || []) {
    const delivery = upsertDelivery(d);
    for (const a of d.attempts || []) upsertAttempt(delivery, a);
  }
  setClock(clock.now);
  renderAll();
}

let socket = null;

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/_mock/events/ws?after=${state.lastSeq}`);
  let first = true;
  socket.onopen = () => setLive("live", "live");
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (first && state.lastSeq > 0 && event.seq > state.lastSeq + 1) {
      // The replay buffer no longer holds what we missed: closing starts over from a
      // fresh snapshot.
      socket.close();
      return;
    }
    first = false;
    apply(event);
  };
  socket.onclose = () => {
    setLive("down", "reconnecting…");
    // The mock may have restarted or been reset meanwhile: reload everything, then follow.
    setTimeout(async () => {
      try {
        await loadSnapshot();
      } catch {
        // still down: connecting fails too, and closing brings us back here
      }
      connect();
    }, 1000);
  };
}

// Without the default subscriber the mock still answers every phone, yet nothing reaches
// the bot: say so where the webhooks are shown.
function showSubscribers(subscribers) {
  $("no-default-subscriber").hidden = subscribers.some((s) => s.id === "default");
}

function setLive(stateName, text) {
  $("live").dataset.state = stateName;
  $("live-text").textContent = text;
}

function apply(event) {
  if (event.seq <= state.lastSeq) return; // already in the snapshot or seen
  state.lastSeq = event.seq;
  state.events.push(event);
  if (state.events.length > MAX_EVENTS_SHOWN) state.events.shift();
  const d = event.data || {};
  if (d.phone) state.dirtyPhones.add(d.phone);
  if (event.kind.startsWith("webhook.")) state.dirtyDeliveries = true;
  switch (event.kind) {
    case "message.inbound":
    case "message.outbound":
      upsertMessage(d.phone, d);
      break;
    case "message.status": {
      const m = phone(d.phone).byId.get(d.id);
      if (m) updateStatus(m, d.status, d.errors);
      break;
    }
    case "phone.updated":
      if ("name" in d) phone(d.phone).name = d.name || "";
      break;
    case "message.read_by_business": {
      const m = phone(d.phone).byId.get(d.id);
      if (m) m.read_by_business = true;
      break;
    }
    case "typing":
      phone(d.phone).typing = Boolean(d.typing);
      break;
    case "webhook.queued":
      upsertDelivery(d);
      break;
    case "webhook.attempt":
      upsertAttempt(upsertDelivery(d), d);
      break;
    case "webhook.gave_up":
      upsertDelivery({ delivery_id: d.delivery_id, state: "gave_up" });
      break;
    case "clock.changed":
      setClock(d.now);
      break;
    case "reset":
      clearState();
      state.dirtyPhones.add(state.selected);
      state.dirtyDeliveries = true;
      break;
    case "subscribers.changed":
      showSubscribers(d.subscribers || []);
      break;
    case "api.error":
      state.errors += 1;
      toast(`${d.endpoint}: ${d.message || d.code}`);
      break;
    default:
      if (event.kind.startsWith("fault.") || event.kind.startsWith("limits.")) loadFaults();
      if (event.kind.startsWith("template.")) loadTemplates();
  }
  scheduleRender();
}

let renderPending = false;
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => {
    renderPending = false;
    renderChanges();
  });
}

function renderChanges() {
  if (state.dirtyPhones.size) renderPhones();
  if (state.dirtyPhones.has(state.selected)) renderChat();
  if (state.dirtyDeliveries) renderDeliveries();
  renderEvents();
  state.dirtyPhones.clear();
  state.dirtyDeliveries = false;
}

function renderAll() {
  renderPhones();
  renderChat();
  renderDeliveries();
  renderEvents();
}

// --- conversations ----------------------------------------------------------------------

function lastMessage(p) {
  return p.messages[p.messages.length - 1];
}

function renderPhones() {
  const list = $("phone-list");
  const phones = [...state.phones.values()].sort((a, b) => {
    const ta = lastMessage(a)?.timestamp || "";
    const tb = lastMessage(b)?.timestamp || "";
    return ta < tb ? 1 : ta > tb ? -1 : a.number.localeCompare(b.number);
  });
  list.replaceChildren(
    ...phones.map((p) => {
      const last = lastMessage(p);
      const label = p.name || displayNumber(p.number);
      const initials = p.name ? p.name.trim().slice(0, 1).toUpperCase() : p.number.slice(-2);
      return el(
        "li",
        {
          dataset: { phone: p.number },
          "aria-selected": String(p.number === state.selected),
          onclick: () => select(p.number),
        },
        el("div", { class: "avatar" }, initials),
        el(
          "div",
          { class: "phone-meta" },
          el(
            "div",
            { class: "phone-top" },
            el("span", { class: "phone-name" }, label),
            el("span", { class: "phone-time" }, last ? shortTime(last.timestamp) : ""),
          ),
          el(
            "div",
            { class: "phone-last" },
            p.typing
              ? el("span", { class: "typing" }, "typing…")
              : last
                ? (last.direction === "outbound" ? "Business: " : "") + preview(last)
                : p.name
                  ? displayNumber(p.number)
                  : "",
          ),
        ),
      );
    }),
  );
  $("no-phones").hidden = phones.length > 0;
}

function preview(m) {
  return m.text || `[${m.type}]`;
}

function select(number) {
  state.selected = number;
  phone(number);
  $("composer").hidden = false;
  renderPhones();
  renderChat(true);
  if ($("only-selected").checked) renderDeliveries();
  $("composer-text").focus();
}

function renderChat(scrollToEnd = false) {
  const head = $("chat-head");
  const box = $("messages");
  if (!state.selected) {
    box.replaceChildren();
    return;
  }
  // Not phone(): after a reset the selected chat is empty and must not reappear in the list.
  const p = state.phones.get(state.selected) || { number: state.selected, name: "", messages: [], byId: new Map() };
  head.replaceChildren(
    el("div", { class: "avatar" }, p.name ? p.name.slice(0, 1).toUpperCase() : p.number.slice(-2)),
    el(
      "div",
      {},
      el("div", { class: "title" }, p.name || displayNumber(p.number)),
      p.typing
        ? el("div", { class: "typing", id: "chat-typing" }, "business is typing…")
        : el("div", { class: "muted" }, p.name ? displayNumber(p.number) : "simulated phone"),
    ),
  );
  $("composer-text").placeholder = `Message as ${p.name || displayNumber(p.number)}`;
  const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  const nodes = [];
  let day = "";
  for (const m of p.messages) {
    const thisDay = dayOf(m.timestamp);
    if (thisDay !== day) {
      day = thisDay;
      nodes.push(el("div", { class: "day" }, day));
    }
    nodes.push(bubble(p, m));
  }
  box.replaceChildren(...nodes);
  if (scrollToEnd || atEnd) box.scrollTop = box.scrollHeight;
}

// Ticks on the business's messages; on the phone's own too once the business marks
// them read (the phone's messages carry no status until then).
function ticks(m) {
  switch (m.status) {
    case "read":
      return el("span", { class: "ticks read", title: "read" }, "✓✓");
    case "delivered":
      return el("span", { class: "ticks", title: "delivered" }, "✓✓");
    case "sent":
      return el("span", { class: "ticks", title: "sent" }, "✓");
    case "failed":
      return el("span", { class: "ticks failed", title: "failed" }, "⚠ failed");
    default:
      return el("span", { class: "ticks", title: m.status || "accepted" }, "🕓");
  }
}

// The phone's own message: grey ✓✓ once the business has it, blue once it marked it read.
function ownTicks(m) {
  return m.read_by_business
    ? el("span", { class: "ticks read", title: "read by the business" }, "✓✓")
    : el("span", { class: "ticks", title: "delivered to the business" }, "✓✓");
}

function kindLabel(m) {
  const details = m[m.type];
  if (m.type === "text") return null;
  if (m.type === "template") return `template · ${details?.name ?? ""}`;
  if (m.type === "interactive") {
    const t = details?.type;
    if (t === "button_reply") return "tapped button";
    if (t === "list_reply") return "chose from list";
    return t === "list" ? "list" : "buttons";
  }
  if (m.type === "reaction") return "reaction";
  return m.type;
}

function bubble(p, m) {
  const details = m[m.type] || {};
  const parts = [];
  const label = kindLabel(m);
  if (label) parts.push(el("div", { class: "kind" }, label));
  if (m.context_id) {
    const quoted = p.byId.get(m.context_id);
    parts.push(el("div", { class: "context" }, quoted ? preview(quoted) : "reply to an earlier message"));
  }
  if (m.type === "interactive" && details.type === "list" && details.header) {
    parts.push(el("strong", {}, details.header), "\n");
  }
  if (m.type === "template" && typeof details.header === "string") {
    parts.push(el("strong", { class: "header" }, details.header), "\n");
  }
  parts.push(el("span", { class: "text" }, preview(m)));
  if ((m.type === "interactive" || m.type === "template") && details.footer) {
    parts.push(el("div", { class: "footer" }, details.footer));
  }
  if (m.direction === "outbound" && m.type === "interactive") parts.push(choices(p, m, details));
  if (m.direction === "outbound" && m.type === "template") parts.push(templateChoices(p, m, details));
  if (m.errors && m.errors.length) {
    for (const e of m.errors) {
      const why = e.error_data?.details || e.message || e.title || "";
      parts.push(el("div", { class: "error" }, `${e.code} ${e.title || ""}${why && why !== e.title ? ": " + why : ""}`));
    }
  }
  parts.push(
    el("div", { class: "meta" }, el("span", {}, shortTime(m.timestamp)), m.direction === "outbound" || m.status ? ticks(m) : ownTicks(m)),
  );
  return el("div", { class: `bubble ${m.direction}`, dataset: { id: m.id, status: m.status || "" } }, parts);
}

function choices(p, m, details) {
  const box = el("div", { class: "choices" });
  // A failed message never reached the phone: there is nothing to tap.
  const disabled = m.status === "failed";
  if (details.type === "button") {
    for (const b of details.buttons || []) {
      box.append(
        el(
          "button",
          { type: "button", disabled, onclick: () => tap(p.number, m.id, { button_reply: { id: b.id, title: b.title } }) },
          b.title,
        ),
      );
    }
  } else if (details.type === "list") {
    box.append(el("div", { class: "section" }, `☰ ${details.button || "Options"}`));
    for (const section of details.sections || []) {
      if (section.title) box.append(el("div", { class: "section" }, section.title));
      for (const row of section.rows || []) {
        const reply = { id: row.id, title: row.title };
        if (row.description) reply.description = row.description;
        box.append(
          el(
            "button",
            { type: "button", disabled, onclick: () => tap(p.number, m.id, { list_reply: reply }) },
            row.title,
            row.description ? el("span", { class: "row-desc" }, row.description) : null,
          ),
        );
      }
    }
  }
  return box;
}

// A template's quick-reply buttons: a tap comes back as Meta's `button` message with the
// payload the send gave the button (its text when it gave none).
function templateChoices(p, m, details) {
  const box = el("div", { class: "choices" });
  for (const b of details.buttons || []) {
    if (b.type !== "quick_reply") continue;
    const button = { payload: b.payload || b.text, text: b.text };
    box.append(
      el(
        "button",
        { type: "button", disabled: m.status === "failed", onclick: () => tap(p.number, m.id, { type: "button", button }) },
        b.text,
      ),
    );
  }
  return box;
}

async function tap(number, contextId, reply) {
  try {
    await api("POST", `/_mock/phones/${encodeURIComponent(number)}/messages`, {
      type: "interactive",
      context_id: contextId,
      ...reply,
    });
  } catch (error) {
    toast(`Tap failed: ${error.message}`);
  }
}

async function sendAsPhone(event) {
  event.preventDefault();
  const input = $("composer-text");
  const text = input.value.trim();
  if (!text || !state.selected) return;
  const button = $("composer-send");
  button.disabled = true;
  try {
    // The message shows up through the event stream, like any other.
    await api("POST", `/_mock/phones/${encodeURIComponent(state.selected)}/messages`, { text });
    input.value = "";
  } catch (error) {
    toast(`Not sent: ${error.message}`);
  } finally {
    button.disabled = false;
    input.focus();
  }
}

function openChat(event) {
  event.preventDefault();
  const input = $("new-chat-number");
  const number = digits(input.value);
  if (number.length < 6 || number.length > 15) {
    toast("A phone number has 6 to 15 digits");
    return;
  }
  input.value = "";
  select(number);
}

// --- webhook deliveries -----------------------------------------------------------------

function describePayload(payload) {
  const value = payload?.entry?.[0]?.changes?.[0]?.value;
  if (!value) return "webhook";
  if (value.messages?.length) {
    const m = value.messages[0];
    const body = m.text?.body ?? m.interactive?.button_reply?.title ?? m.interactive?.list_reply?.title ?? m.type;
    return `message from +${m.from}: ${body}`;
  }
  if (value.statuses?.length) {
    const s = value.statuses[0];
    return `status ${s.status} → +${s.recipient_id}`;
  }
  return payload?.entry?.[0]?.changes?.[0]?.field || "webhook";
}

// The simulated phone a webhook is about: the sender of a message, the recipient of a status.
function phoneOf(payload) {
  const value = payload?.entry?.[0]?.changes?.[0]?.value;
  return value?.messages?.[0]?.from ?? value?.statuses?.[0]?.recipient_id ?? null;
}

function renderDeliveries() {
  const list = $("delivery-list");
  const onlySelected = $("only-selected").checked && state.selected;
  const deliveries = [...state.deliveries.values()]
    .filter((d) => !onlySelected || phoneOf(d.payload) === state.selected)
    .sort((a, b) => b.id - a.id);
  const shown = deliveries.slice(0, MAX_DELIVERIES_SHOWN);
  list.replaceChildren(...shown.map(deliveryItem));
  if (deliveries.length > shown.length) {
    list.append(el("li", { class: "empty" }, `… and ${deliveries.length - shown.length} older`));
  }
  $("no-deliveries").hidden = deliveries.length > 0;
  $("webhooks-count").textContent = String(state.deliveries.size);
}

function deliveryItem(d) {
  const last = d.attempts[d.attempts.length - 1];
  const outcome = last
    ? last.status_code != null
      ? el("span", { class: `badge ${last.status_code < 300 ? "ok" : "bad"}` }, String(last.status_code))
      : el("span", { class: "badge bad" }, "error")
    : null;
  const details = el(
    "details",
    {
      class: "delivery",
      dataset: { delivery: d.id },
      open: state.openDeliveries.has(d.id),
      ontoggle: (e) => {
        if (!e.target.open) return state.openDeliveries.delete(d.id);
        state.openDeliveries.add(d.id);
        // The payload is drawn only once someone looks at it.
        if (!e.target.querySelector(".body")) e.target.append(deliveryBody(d));
      },
    },
    el(
      "summary",
      {},
      el("span", { class: "mono muted" }, `#${d.id}`),
      el("span", { class: "what" }, describePayload(d.payload)),
      outcome,
      last ? el("span", { class: "muted mono" }, `${last.latency_ms} ms`) : null,
      el("span", { class: `badge ${d.state}` }, (d.state || "pending").replace("_", " ")),
    ),
    state.openDeliveries.has(d.id) ? deliveryBody(d) : null,
  );
  return el("li", {}, details);
}

function deliveryBody(d) {
  return el(
    "div",
    { class: "body" },
    el("div", { class: "field" }, el("div", { class: "label" }, "POST"), el("div", { class: "mono" }, d.url || "")),
    el(
      "div",
      { class: "field" },
      el("div", { class: "label" }, "X-Hub-Signature-256"),
      el("div", { class: "mono signature" }, d.signature || ""),
    ),
    el("div", { class: "field" }, el("div", { class: "label" }, "Attempts"), attemptsTable(d)),
    el("div", { class: "field" }, el("div", { class: "label" }, "Payload"), jsonBlock(d.payload)),
  );
}

function attemptsTable(d) {
  if (!d.attempts.length) return el("div", { class: "muted" }, "not attempted yet");
  return el(
    "table",
    { class: "attempts" },
    el("tr", {}, el("th", {}, "#"), el("th", {}, "at"), el("th", {}, "response"), el("th", {}, "latency")),
    d.attempts.map((a) =>
      el(
        "tr",
        {},
        el("td", {}, String(a.number)),
        el("td", { class: "mono" }, a.at ? new Date(a.at).toLocaleTimeString() : ""),
        el("td", { class: "mono" }, a.status_code != null ? `HTTP ${a.status_code}` : a.error || "", responseBody(a)),
        el("td", { class: "mono" }, `${a.latency_ms} ms`),
      ),
    ),
  );
}

// The receiver's answer, when the delivery log keeps it (older mocks record only the status).
function responseBody(a) {
  const body = a.response_body ?? a.response ?? a.body;
  if (body === undefined || body === null || body === "") return null;
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return el("div", { class: "response muted", title: text }, text.length > 200 ? text.slice(0, 200) + "…" : text);
}

// Pretty JSON with coloured keys, strings, numbers and literals, built as DOM nodes.
function jsonBlock(value) {
  const pre = el("pre", { class: "json" });
  const write = (v, indent) => {
    const pad = "  ".repeat(indent);
    if (Array.isArray(v)) {
      if (!v.length) return pre.append("[]");
      pre.append("[\n");
      v.forEach((item, i) => {
        pre.append(pad + "  ");
        write(item, indent + 1);
        pre.append(i < v.length - 1 ? ",\n" : "\n");
      });
      pre.append(pad + "]");
    } else if (v && typeof v === "object") {
      const keys = Object.keys(v);
      if (!keys.length) return pre.append("{}");
      pre.append("{\n");
      keys.forEach((k, i) => {
        pre.append(pad + "  ", el("span", { class: "k" }, JSON.stringify(k)), ": ");
        write(v[k], indent + 1);
        pre.append(i < keys.length - 1 ? ",\n" : "\n");
      });
      pre.append(pad + "}");
    } else {
      const cls = typeof v === "string" ? "s" : typeof v === "number" ? "n" : "b";
      pre.append(el("span", { class: cls }, JSON.stringify(v)));
    }
  };
  write(value ?? null, 0);
  return pre;
}

// --- events -----------------------------------------------------------------------------

function renderEvents() {
  const list = $("event-list");
  list.replaceChildren(
    ...state.events
      .slice()
      .reverse()
      .map((e) =>
        el(
          "li",
          {
            dataset: { seq: e.seq },
            onclick: () => {
              if (!state.openEvents.delete(e.seq)) state.openEvents.add(e.seq);
              renderEvents();
            },
          },
          el("span", { class: "seq" }, String(e.seq)),
          el("span", { class: `kind ${e.kind === "api.error" ? "error" : ""}` }, e.kind, " ", el("span", { class: "muted" }, shortTime(e.time))),
          state.openEvents.has(e.seq) ? jsonBlock(e.data) : el("span", { class: "data" }, JSON.stringify(e.data)),
        ),
      ),
  );
  const count = $("errors-count");
  count.hidden = state.errors === 0;
  count.textContent = String(state.errors);
  count.title = `${state.errors} Graph API error(s)`;
}

// --- clock and reset --------------------------------------------------------------------

function setClock(iso) {
  const t = Date.parse(iso);
  if (!isNaN(t)) state.clockOffsetMs = t - Date.now();
  tickClock();
}

function tickClock() {
  const now = new Date(Date.now() + state.clockOffsetMs);
  $("clock").textContent = now.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

async function advanceClock(seconds) {
  try {
    const { now } = await api("GET", "/_mock/clock");
    const target = new Date(Date.parse(now) + seconds * 1000).toISOString();
    const moved = await api("PUT", "/_mock/clock", { now: target });
    setClock(moved.now);
  } catch (error) {
    toast(`Clock not moved: ${error.message}`);
  }
}

async function reset() {
  if (!confirm("Forget every chat and webhook delivery?")) return;
  try {
    await api("POST", "/_mock/reset");
    state.selected = null;
    $("composer").hidden = true;
    $("chat-head").replaceChildren(el("span", { class: "muted" }, "Select a conversation"));
  } catch (error) {
    toast(`Reset failed: ${error.message}`);
  }
}

// --- faults and limits (an API this mock may not have) ----------------------------------

async function loadFaults() {
  let data;
  try {
    data = await api("GET", "/_mock/faults");
  } catch (error) {
    $("faults-unavailable").hidden = false;
    $("faults-panel").hidden = true;
    $("faults-unavailable").textContent =
      error.status === 404 || error.status === 405
        ? "Faults unavailable: this mock has no fault API."
        : `Faults unavailable: ${error.message}`;
    return;
  }
  $("faults-unavailable").hidden = true;
  $("faults-panel").hidden = false;
  const faults = data.faults || [];
  $("fault-list").replaceChildren(
    ...faults.map((f) =>
      el(
        "li",
        { dataset: { fault: f.id } },
        el("span", { class: "what" }, describeFault(f)),
        el("button", { type: "button", class: "ghost danger", onclick: () => deleteFault(f.id) }, "Remove"),
      ),
    ),
  );
  $("no-faults").hidden = faults.length > 0;
  const limits = data.limits || {};
  $("limits").replaceChildren(
    ...Object.entries(limits).map(([name, on]) =>
      el(
        "label",
        {},
        el("input", {
          type: "checkbox",
          name,
          checked: Boolean(on),
          onchange: (e) => setLimit(name, e.target.checked),
        }),
        name.replaceAll("_", " "),
      ),
    ),
  );
}

function describeFault(f) {
  const parts = [f.target];
  if (f.error_code != null) parts.push(`error ${f.error_code}`);
  if (f.probability != null && f.probability !== 1) parts.push(`p=${f.probability}`);
  if (f.latency_ms) parts.push(`+${f.latency_ms} ms`);
  if (f.webhook) parts.push(`webhook ${f.webhook}${f.delay_seconds ? ` ${f.delay_seconds}s` : ""}`);
  if (f.report === "webhook") parts.push("reported by webhook");
  if (f.times != null) parts.push(`${f.times} ${f.times === 1 ? "time" : "times"}`);
  return parts.join(" · ");
}

async function addFault(event) {
  event.preventDefault();
  const form = event.target;
  const error = $("fault-error");
  error.hidden = true;
  const body = { target: form.target.value };
  for (const name of ["error_code", "probability", "latency_ms", "delay_seconds", "times"]) {
    const raw = form[name].value.trim();
    if (raw !== "") body[name] = Number(raw);
  }
  body.webhook = form.webhook.value || null;
  if (form.report.value !== "response") body.report = form.report.value;
  try {
    await api("POST", "/_mock/faults", body);
    form.reset();
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
  }
  loadFaults();
}

async function deleteFault(id) {
  try {
    await api("DELETE", `/_mock/faults/${encodeURIComponent(id)}`);
  } catch (error) {
    toast(`Not removed: ${error.message}`);
  }
  loadFaults();
}

async function setLimit(name, on) {
  try {
    await api("PUT", "/_mock/limits", { [name]: on });
  } catch (error) {
    toast(`Limit not changed: ${error.message}`);
  }
  loadFaults();
}

// --- templates and their review -------------------------------------------------------------

// What a reviewer may do next, by status: Meta's review outcomes and later changes.
const REVIEW_ACTIONS = {
  PENDING: [["Approve", "APPROVED"], ["Reject", "REJECTED"], ["Hold", "PENDING"]],
  APPROVED: [["Pause", "PAUSED"], ["Disable", "DISABLED"]],
  PAUSED: [["Approve", "APPROVED"], ["Disable", "DISABLED"]],
  REJECTED: [["Approve", "APPROVED"], ["Review again", "PENDING"]],
  DISABLED: [],
};

async function loadTemplates() {
  let data;
  try {
    data = await api("GET", "/_mock/templates");
  } catch (error) {
    $("templates-unavailable").textContent = `Templates unavailable: ${error.message}`;
    $("templates-unavailable").hidden = false;
    return;
  }
  $("templates-unavailable").hidden = true;
  const templates = data.templates || [];
  const wabas = new Set(templates.map((t) => t.waba_id));
  $("template-list").replaceChildren(...templates.map((t) => templateItem(t, wabas.size > 1)));
  $("no-templates").hidden = templates.length > 0;
  const pending = templates.filter((t) => t.status === "PENDING").length;
  $("pending-count").textContent = String(pending);
  $("pending-count").hidden = pending === 0;
}

const REJECTION_REASONS = [
  "INVALID_FORMAT",
  "INCORRECT_CATEGORY",
  "PROMOTIONAL",
  "ABUSIVE_CONTENT",
  "SCAM",
  "TAG_CONTENT_MISMATCH",
];

function templateItem(t, showWaba) {
  const actions = [];
  for (const [label, status] of REVIEW_ACTIONS[t.status] || []) {
    if (status === "PENDING" && t.on_hold) continue; // already held
    if (status === "REJECTED") {
      const reason = el(
        "select",
        { name: "reason", "aria-label": "rejection reason" },
        ...REJECTION_REASONS.map((r) => el("option", {}, r)),
      );
      actions.push(reason);
      actions.push(
        el("button", { type: "button", class: "ghost danger", onclick: () => review(t, status, reason.value) }, label),
      );
    } else {
      actions.push(el("button", { type: "button", class: "ghost", onclick: () => review(t, status) }, label));
    }
  }
  let status = t.status.toLowerCase();
  if (t.status === "REJECTED") status += ` · ${t.rejected_reason}`;
  if (t.status === "PENDING") status += t.on_hold ? " · held" : " · in review";
  return el(
    "li",
    { dataset: { template: t.id, status: t.status } },
    el(
      "div",
      { class: "head" },
      el("span", { class: "name" }, t.name),
      el("span", { class: "muted" }, `${t.language} · ${t.category.toLowerCase()}`),
      el("span", { class: `badge status-${t.status.toLowerCase()}` }, status),
    ),
    el("div", { class: "body" }, t.body),
    showWaba ? el("div", { class: "muted mono" }, `WABA ${t.waba_id}`) : null,
    actions.length ? el("div", { class: "actions" }, ...actions) : null,
  );
}

async function review(t, status, reason) {
  const body = { status };
  if (reason) body.reason = reason;
  try {
    await api("POST", `/_mock/templates/${encodeURIComponent(t.id)}/review`, body);
  } catch (error) {
    toast(`Review not changed: ${error.message}`);
  }
  loadTemplates();
}

// --- wiring -----------------------------------------------------------------------------

function showTab(name) {
  for (const tab of document.querySelectorAll("[role=tab]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  }
  for (const panel of document.querySelectorAll("[role=tabpanel]")) {
    panel.hidden = panel.id !== `tab-${name}`;
  }
  if (name === "faults") loadFaults();
  if (name === "templates") loadTemplates();
}

function bindUi() {
  $("composer").addEventListener("submit", sendAsPhone);
  $("new-chat").addEventListener("submit", openChat);
  $("fault-form").addEventListener("submit", addFault);
  $("reset").addEventListener("click", reset);
  $("only-selected").addEventListener("change", renderDeliveries);
  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", () => advanceClock(Number(button.dataset.advance)));
  }
  for (const tab of document.querySelectorAll("[role=tab]")) {
    tab.addEventListener("click", () => showTab(tab.dataset.tab));
  }
  setInterval(tickClock, 15000);
}

async function boot() {
  bindUi();
  try {
    await loadSnapshot();
  } catch (error) {
    toast(`Could not load the mock's state: ${error.message}`);
  }
  connect();
  loadFaults();
  loadTemplates();
}

boot();
