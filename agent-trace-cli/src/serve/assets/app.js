// The viewer's pages, drawn from the JSON API. Every captured value reaches the page as
// text (`textContent`, never markup), so a captured `<script>` shows as what it is.
"use strict";

const app = document.getElementById("app");

/** An element with attributes and children; strings become text nodes. */
function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function show(...nodes) {
  app.replaceChildren(...nodes);
}

async function api(path) {
  const response = await fetch(path, { headers: { accept: "application/json" } });
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function failure(error) {
  return el("p", { class: "error-box" }, String(error.message || error));
}

function micros(us) {
  if (us < 1000) return `${us} µs`;
  if (us < 1e6) return `${(us / 1000).toFixed(1)} ms`;
  return `${(us / 1e6).toFixed(2)} s`;
}

function shortId(id) {
  return id.length > 12 ? id.slice(0, 8) : id;
}

function when(text) {
  return text ? text.replace("T", " ").replace(/\.\d+/, "").replace(/\+00:00$|Z$/, " UTC") : "";
}

// ---------- the sessions list ----------

const FILTERS = ["status", "since", "until", "user", "tag", "meta", "min_reward", "system_id", "limit"];

async function sessionsPage() {
  const query = new URLSearchParams(location.search);
  const form = el("form", { class: "filters", method: "get", action: "/" },
    el("label", {}, "status", el("select", { name: "status" },
      ["", "running", "success", "error", "cancelled"].map((s) =>
        el("option", { value: s, selected: query.get("status") === s }, s || "any")))),
    ...[["since", "since (2h, 2026-12-01)"], ["until", "until"], ["user", "user"], ["tag", "tag"], ["meta", "metadata key=value"],
      ["min_reward", "min reward"], ["limit", "per page"]].map(([name, label]) =>
      el("label", {}, label, el("input", { name, value: query.get(name) || "", size: name === "meta" ? 18 : 10 }))),
    el("button", { type: "submit" }, "Filter"));
  const offset = Number(query.get("offset") || 0);
  const params = new URLSearchParams();
  for (const name of FILTERS) if (query.get(name)) params.set(name, query.get(name));
  params.set("offset", offset);
  let page;
  try {
    page = await api(`/api/sessions?${params}`);
  } catch (error) {
    show(el("h1", {}, "Sessions"), form, failure(error));
    return;
  }
  document.getElementById("store").textContent = page.store;
  const picked = new Set();
  const compare = el("button", { type: "button", disabled: true, onclick: () => {
    const [a, b] = [...picked];
    location.href = `/diff?${new URLSearchParams({ a, b })}`;
  } }, "Compare the two picked");
  const rows = page.sessions.map((s) => el("tr", { class: "session-row" },
    el("td", {}, el("input", { type: "checkbox", title: "pick for a diff", onchange: (event) => {
      if (event.target.checked) picked.add(s.session_id); else picked.delete(s.session_id);
      compare.disabled = picked.size !== 2;
    } })),
    el("td", {}, el("a", { href: `/sessions/${encodeURIComponent(s.session_id)}` }, shortId(s.session_id))),
    el("td", {}, when(s.started_at)),
    el("td", { class: `status-${s.status}` }, s.status),
    el("td", { class: "num" }, s.duration_ms === null ? "running" : micros(Math.round(s.duration_ms * 1000))),
    el("td", { class: "num" }, s.event_count),
    el("td", { class: "num" }, s.error_count),
    el("td", { class: "num" }, `${s.input_tokens}/${s.output_tokens}`),
    el("td", { class: "num" }, s.outcome_reward),
    el("td", { class: "user" }, s.user || ""),
    el("td", { class: "labels" }, [s.name, ...(s.tags || []).map((tag) => `#${tag}`)].filter(Boolean).join(" "))));
  const pageLink = (to, label) => {
    const next = new URLSearchParams(query);
    next.set("offset", Math.max(0, to));
    return el("a", { href: `/?${next}` }, label);
  };
  const running = page.sessions.some((s) => s.status === "running");
  show(
    el("h1", {}, "Sessions"),
    form,
    el("table", { class: "sessions" },
      el("thead", {}, el("tr", {}, ["", "id", "started", "status", "duration", "events", "errors", "tokens in/out", "reward", "user", "name / tags"]
        .map((h, i) => el("th", { class: i > 3 && i < 9 ? "num" : undefined }, h)))),
      el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 11, class: "quiet" }, "No session passes these filters.")))),
    el("div", { class: "pager" },
      offset > 0 ? pageLink(offset - page.limit, "← newer") : null,
      page.more ? pageLink(offset + page.limit, "older →") : null,
      compare,
      running ? el("span", { class: "live" }, "● live: running sessions refresh") : null));
  if (running) setTimeout(() => { if (!document.hidden) sessionsPage(); }, 2000);
}

// ---------- one session ----------

/** The events in tree order, each with its depth; orphans at the top, no recursion. */
function treeOrder(events) {
  const ids = new Set(events.map((e) => e.id));
  const children = new Map();
  for (const event of events) {
    const parent = event.parent !== undefined && event.parent !== null && ids.has(event.parent) && event.parent !== event.id ? event.parent : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(event);
  }
  const order = [];
  const seen = new Set();
  const stack = (children.get(null) || []).slice().reverse().map((e) => [e, 0]);
  while (stack.length) {
    const [event, depth] = stack.pop();
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    order.push([event, depth]);
    for (const child of (children.get(event.id) || []).slice().reverse()) stack.push([child, depth + 1]);
  }
  for (const event of events) if (!seen.has(event.id)) order.push([event, 0]);
  return order;
}

/** The places in a value that the capture policy marked: cut, redacted, unserializable. */
function markers(value, path, found) {
  if (typeof value === "string") {
    if (value === "[REDACTED]") found.push(["redacted", `${path || "value"} redacted`]);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => markers(item, `${path}[${i}]`, found));
  } else if (value && typeof value === "object") {
    if (value.$truncated === true) {
      found.push(["truncated", `${path || "value"} truncated${value.len ? ` (${value.len} bytes)` : ""}${value.items ? ` (${value.items} items left out)` : ""}`]);
    }
    if (value.$unserializable !== undefined) found.push(["unserializable", `${path || "value"} unserializable: ${value.$unserializable}`]);
    for (const [key, inner] of Object.entries(value)) markers(inner, path ? `${path}.${key}` : key, found);
  }
  return found;
}

function block(title, value) {
  const found = markers(value, "", []);
  return [
    el("h2", {}, title),
    found.length ? el("div", {}, found.map(([kind, text]) => el("span", { class: `marker ${kind}` }, text))) : null,
    el("pre", { class: `value ${title}` }, JSON.stringify(value, null, 2)),
  ];
}

function details(event) {
  return [
    el("h2", { class: "event-title" }, `${event.kind} ${event.name}`),
    el("p", {}, el("span", { class: `outcome-${event.outcome}` }, event.outcome), ` · ${micros(event.duration_us)} · event ${event.id}`,
      event.parent !== undefined && event.parent !== null ? ` · parent ${event.parent}` : "",
      event.turn !== undefined && event.turn !== null ? ` · turn ${event.turn}` : ""),
    block("inputs", event.inputs || {}),
    event.output !== undefined && event.output !== null ? block("output", event.output) : null,
    event.error ? block("error", event.error) : null,
    event.metadata && Object.keys(event.metadata).length ? block("metadata", event.metadata) : null,
  ];
}

async function sessionPage(id, selectedId) {
  let body;
  try {
    body = await api(`/api/sessions/${encodeURIComponent(id)}`);
  } catch (error) {
    show(el("h1", {}, `Session ${id}`), failure(error));
    return;
  }
  const session = body.session;
  const totals = body.totals;
  const span = Math.max(totals.duration_us, 1);
  const panel = el("div", { class: "details" }, el("p", { class: "quiet" }, "Click a call to see its inputs, output, error and metadata."));
  const table = el("table", { class: "calls" });
  const turns = new Map();
  const rows = treeOrder(session.events).map(([event, depth]) => {
    if (event.turn !== undefined && event.turn !== null && !turns.has(event.turn)) turns.set(event.turn, event.offset_us);
    const bar = el("div", { class: "bar", title: `+${micros(event.offset_us)}, ${micros(event.duration_us)}` });
    bar.style.left = `${(100 * event.offset_us) / span}%`;
    bar.style.width = `${(100 * event.duration_us) / span}%`;
    const name = el("td", { class: "tree" },
      event.turn !== undefined && event.turn !== null ? [el("span", { class: "turn" }, `turn ${event.turn}`), " "] : null,
      el("span", { class: "kind" }, event.kind), " ", el("span", { class: "name" }, event.name));
    name.style.paddingLeft = `${0.5 + Math.min(depth, 40) * 1.1}rem`;
    const failed = event.outcome === "err" || event.outcome === "panicked";
    const row = el("tr", { class: `event${failed ? " failed" : ""}${event.outcome === "cancelled" ? " cancelled" : ""}`, "data-event": event.id, "data-kind": event.kind, "data-name": event.name },
      name,
      el("td", { class: `outcome-${event.outcome}` }, event.outcome),
      el("td", { class: "num" }, micros(event.duration_us)),
      el("td", { class: "timeline" }, el("div", { class: "track" }, bar)));
    row.addEventListener("click", () => {
      for (const other of table.querySelectorAll("tr.selected")) other.classList.remove("selected");
      row.classList.add("selected");
      panel.replaceChildren(...details(event).filter(Boolean).flat().filter(Boolean));
      history.replaceState(null, "", `/sessions/${encodeURIComponent(session.session_id)}#event-${event.id}`);
    });
    return row;
  });
  const ruler = el("div", { class: "ruler" });
  for (const [turn, offset] of turns) {
    const mark = el("span", { class: "mark" }, `t${turn}`);
    mark.style.left = `${(100 * offset) / span}%`;
    ruler.append(mark);
  }
  table.append(
    el("thead", {}, el("tr", {}, el("th", {}, "call"), el("th", {}, "outcome"), el("th", { class: "num" }, "duration"), el("th", {}, ruler))),
    el("tbody", {}, rows));
  const messages = session.messages.map((m) => el("tr", {},
    el("td", {}, m.message_type), el("td", {}, `${m.source_id} → ${m.target_id}`), el("td", {}, el("pre", {}, JSON.stringify(m.content, null, 2)))));
  const rewards = (session.rewards || []).map((r) => el("tr", {},
    el("td", {}, r.name), el("td", { class: "num" }, r.value), el("td", {}, r.event === null || r.event === undefined ? "session" : `event ${r.event}`)));
  const scores = (session.scores || []).map((score) => el("tr", { class: "score" },
    el("td", {}, score.name), el("td", { class: "num" }, String(score.value)), el("td", {}, score.source),
    el("td", {}, score.event === null || score.event === undefined ? "session" : `event ${score.event}`),
    el("td", {}, score.comment || ""), el("td", { class: "quiet" }, when(score.at))));
  show(
    el("h1", {}, session.name ? `${session.name} · ${session.session_id}` : `Session ${session.session_id}`),
    session.user || (session.tags || []).length
      ? el("p", { class: "labels" }, session.user ? `user ${session.user}` : "", session.user && session.tags && session.tags.length ? " · " : "",
        (session.tags || []).map((tag) => `#${tag}`).join(" "))
      : null,
    el("div", { class: "totals" },
      el("div", {}, el("b", { class: `status-${session.status}` }, session.status), "status"),
      el("div", {}, el("b", {}, micros(totals.duration_us)), when(session.started_at)),
      el("div", {}, el("b", { class: "event-count" }, totals.events), "events"),
      el("div", {}, el("b", {}, totals.errors), "errors"),
      el("div", {}, el("b", {}, `${totals.input_tokens} / ${totals.output_tokens}`), `tokens in / out (${totals.cached_input_tokens} cached)`),
      el("div", {}, el("b", {}, totals.outcome_reward), "outcome reward"),
      totals.graph_nodes ? el("div", {}, el("b", {}, el("a", { href: `/sessions/${encodeURIComponent(session.session_id)}/graph` }, "graph")), `${totals.graph_nodes} nodes`) : null),
    el("div", { class: "session" }, table, panel),
    el("h2", {}, `Messages (${messages.length})`),
    messages.length ? el("table", { class: "messages" }, el("tbody", {}, messages)) : el("p", { class: "quiet" }, "None."),
    el("h2", {}, `Rewards (${rewards.length})`),
    rewards.length ? el("table", { class: "rewards" }, el("tbody", {}, rewards)) : el("p", { class: "quiet" }, "None."),
    el("h2", {}, `Scores (${scores.length})`),
    scores.length ? el("table", { class: "scores" }, el("tbody", {}, scores)) : el("p", { class: "quiet" }, "None."));
  const wanted = selectedId || (location.hash.startsWith("#event-") ? location.hash.slice(7) : null);
  if (wanted) table.querySelector(`tr[data-event="${CSS.escape(wanted)}"]`)?.click();
  if (session.status === "running") {
    setTimeout(() => {
      if (!document.hidden) sessionPage(id, table.querySelector("tr.selected")?.dataset.event);
    }, 2000);
  }
}

// ---------- the diff of two sessions ----------

async function diffPage() {
  const query = new URLSearchParams(location.search);
  const form = el("form", { class: "filters", method: "get", action: "/diff" },
    el("label", {}, "session A", el("input", { name: "a", value: query.get("a") || "", size: 38 })),
    el("label", {}, "session B", el("input", { name: "b", value: query.get("b") || "", size: 38 })),
    el("button", { type: "submit" }, "Compare"));
  if (!query.get("a") || !query.get("b")) {
    show(el("h1", {}, "Compare two sessions"), form, el("p", { class: "quiet" }, "Give two session ids (or their starts), or pick two in the list."));
    return;
  }
  let body;
  try {
    body = await api(`/api/diff?${new URLSearchParams({ a: query.get("a"), b: query.get("b") })}`);
  } catch (error) {
    show(el("h1", {}, "Compare two sessions"), form, failure(error));
    return;
  }
  const link = (id) => el("a", { href: `/sessions/${encodeURIComponent(id)}` }, id);
  show(
    el("h1", {}, "Compare two sessions"),
    form,
    el("p", {}, "A ", link(body.a), " · B ", link(body.b)),
    body.same
      ? el("p", { class: "same" }, "The sessions are the same.")
      : el("table", { class: "diff" },
        el("thead", {}, el("tr", {}, el("th", {}, "where"), el("th", {}, "field"), el("th", {}, "A"), el("th", {}, "B"))),
        el("tbody", {}, body.differences.map((d) => el("tr", { class: "difference" },
          el("td", {}, d.place), el("td", {}, d.field), el("td", { class: "a" }, d.a), el("td", { class: "b" }, d.b))))));
}

// ---------- the #[bundle] graph ----------

async function graphPage(id) {
  let body;
  try {
    body = await api(`/api/sessions/${encodeURIComponent(id)}`);
  } catch (error) {
    show(el("h1", {}, `Graph of ${id}`), failure(error));
    return;
  }
  const session = body.session;
  const parameters = Object.entries((session.graph && session.graph.parameters) || {});
  show(
    el("h1", {}, "Graph of ", el("a", { href: `/sessions/${encodeURIComponent(session.session_id)}` }, session.session_id)),
    el("div", { class: "graph" }, el("img", { src: `/api/sessions/${encodeURIComponent(session.session_id)}/graph.svg`, alt: "the session's #[bundle] graph" })),
    el("h2", {}, `Parameters (${parameters.length})`),
    el("table", {}, el("tbody", {}, parameters.map(([name, p]) => el("tr", {},
      el("td", {}, p.trainable ? `★ ${name}` : name), el("td", {}, p.trainable ? "trainable" : "fixed"),
      el("td", {}, el("pre", {}, JSON.stringify(p.value, null, 2))))))));
}

// ---------- routing ----------

const path = decodeURIComponent(location.pathname);
let match;
if (path === "/") sessionsPage();
else if (path === "/diff") diffPage();
else if ((match = path.match(/^\/sessions\/(.+)\/graph$/))) graphPage(match[1]);
else if ((match = path.match(/^\/sessions\/(.+)$/))) sessionPage(match[1]);
else show(el("h1", {}, "Not found"), el("p", {}, el("a", { href: "/" }, "Back to the sessions")));
