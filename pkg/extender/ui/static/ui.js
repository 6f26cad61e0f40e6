// The live picture: polls view.json (a relative URL, so that the page works
// under the API server's service proxy) and redraws nodes, cards and the pods
// that wait. Every text is set with textContent: nothing from the cluster is
// ever parsed as HTML.
"use strict";

const POLL_MS = 1500;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function gib(mib) {
  const g = mib / 1024;
  return (Number.isInteger(g) ? g : g.toFixed(1)) + "Gi";
}

function pct(milli) {
  return Math.round(milli / 10) + "%";
}

function loadClass(card) {
  const u = card.load && card.load.utilPercent;
  if (u === undefined || u === null) return "load-none";
  if (u >= 70) return "load-high";
  if (u >= 30) return "load-mid";
  return "load-low";
}

function cardTitle(node, c) {
  const lines = [node.name + " card " + c.index + " (" + c.type + ", " + gib(c.memoryMiB) + ")",
    "allocated: " + pct(c.usedMilli) + " of the cores, " + gib(c.usedMemoryMiB) + " of memory"];
  if (c.wholeMilli > 0) lines.push("whole-card pod(s): " + pct(c.wholeMilli));
  for (const s of c.shares) lines.push("vGPU share " + s.pod + ": " + pct(s.milli) + ", " + gib(s.memoryMiB));
  if (c.load) {
    if (c.load.utilPercent !== undefined) lines.push("measured load: " + Math.round(c.load.utilPercent) + "%");
    if (c.load.memoryUsedMiB !== undefined) lines.push("measured memory: " + gib(c.load.memoryUsedMiB));
  } else {
    lines.push("no measured load");
  }
  return lines.join("\n");
}

function drawCard(node, c) {
  const d = el("div", "card " + loadClass(c));
  d.dataset.node = node.name;
  d.dataset.index = String(c.index);
  d.dataset.usedMilli = String(c.usedMilli);
  d.dataset.wholeMilli = String(c.wholeMilli);
  d.dataset.sharedMilli = String(c.sharedMilli);
  d.dataset.usedMemoryMib = String(c.usedMemoryMiB);
  d.title = cardTitle(node, c);
  const whole = el("div", "fill whole");
  whole.style.height = Math.min(c.wholeMilli / 10, 100) + "%";
  const shared = el("div", "fill shared");
  shared.style.bottom = Math.min(c.wholeMilli / 10, 100) + "%";
  shared.style.height = Math.min(c.sharedMilli / 10, 100 - Math.min(c.wholeMilli / 10, 100)) + "%";
  d.append(whole, shared);
  if (c.sharedMilli > 0 && c.memoryMiB > 0) {
    const mem = el("div", "membar");
    mem.style.width = Math.min(100, 100 * c.usedMemoryMiB / c.memoryMiB) + "%";
    d.append(mem);
  }
  const label = el("div", "label");
  label.append(el("div", "", "#" + c.index + " " + c.type), el("div", "pct", pct(c.usedMilli)));
  d.append(label);
  return d;
}

function drawNodes(view) {
  const box = document.getElementById("nodes");
  const rows = [];
  for (const n of view.nodes) {
    const row = el("div", "node");
    row.dataset.node = n.name;
    const head = el("div", "node-head");
    head.append(el("div", "node-name", n.name));
    const free = n.cards.filter(c => c.usedMilli === 0).length;
    head.append(el("div", "node-meta", n.mode + " · " + n.cards.length + " cards, " + free + " free · " + n.pods + " pods"));
    if (n.error) head.append(el("div", "node-error", n.error));
    const cards = el("div", "cards");
    for (const c of n.cards) cards.append(drawCard(n, c));
    row.append(head, cards);
    rows.push(row);
  }
  if (rows.length === 0) rows.push(el("p", "empty", view.synced ? "No node has GPUs." : "Reading the cluster…"));
  box.replaceChildren(...rows);
  document.getElementById("others").textContent =
    view.otherNodes > 0 ? view.otherNodes + " node(s) without GPUs not shown." : "";
}

function verdictCell(p) {
  const td = el("td", "verdict");
  const v = p.verdict;
  if (!v) {
    td.append(el("span", "empty", "not asked yet: kube-scheduler's own checks may have refused every node first (kubectl gpuplane why " + p.pod + ")"));
    return td;
  }
  const at = new Date(v.at).toLocaleTimeString();
  if (v.error) {
    td.append(el("div", "", "the call failed: " + v.error + " (" + at + ")"));
    return td;
  }
  td.append(el("div", "", v.fitting + " of " + v.candidates + " node(s) fit (" + at + ")"));
  if (v.groups.length > 0) {
    const ul = el("ul");
    for (const g of v.groups) {
      let text;
      if (g.nodes.length === 1 && g.count === 1) {
        text = g.nodes[0] + ": " + g.reason;
      } else {
        const more = g.count > g.nodes.length ? ", …" : "";
        text = g.count + " nodes: " + g.reason + (g.nodes.length ? " (" + g.nodes.join(", ") + more + ")" : "");
      }
      ul.append(el("li", "reason", text));
    }
    td.append(ul);
  }
  return td;
}

function drawPending(view) {
  const body = document.querySelector("#pending tbody");
  const rows = [];
  for (const p of view.pending) {
    const tr = el("tr");
    tr.dataset.pod = p.pod;
    tr.append(el("td", "pod", p.pod), el("td", "request", p.request), verdictCell(p));
    rows.push(tr);
  }
  if (rows.length === 0) {
    const tr = el("tr");
    const td = el("td", "empty", "none");
    td.colSpan = 3;
    tr.append(td);
    rows.push(tr);
  }
  body.replaceChildren(...rows);
  document.getElementById("pending-note").textContent =
    view.pendingTotal > view.pending.length ? view.pending.length + " of " + view.pendingTotal + " shown." : "";
}

function drawStatus(view) {
  const s = document.getElementById("status");
  s.className = "status";
  let load = "load: not read (no Prometheus)";
  if (view.load.configured) load = view.load.fresh ? "load: fresh" : "load: stale, not shown";
  s.textContent = "updated " + new Date(view.at).toLocaleTimeString() + " · " + load +
    (view.synced ? "" : " · reading the cluster…");
  document.body.dataset.updated = view.at;
}

async function poll() {
  try {
    const resp = await fetch("view.json", { cache: "no-store", credentials: "same-origin" });
    if (!resp.ok) throw new Error(resp.status + " " + resp.statusText);
    const view = await resp.json();
    drawNodes(view);
    drawPending(view);
    drawStatus(view);
  } catch (err) {
    const s = document.getElementById("status");
    s.className = "status error";
    s.textContent = "cannot read the extender's view: " + err.message + " (retrying)";
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();
