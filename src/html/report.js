// iomodels' HTML report: draws the runs embedded in #data as swimlanes on one time axis, then
// figure 6.6 and the summary. No libraries, no network: the page works from file://.
"use strict";

const data = JSON.parse(document.getElementById("data").textContent);
// Every text the page shows, in the run's language: `say(id, {name: value})` fills a message's
// `{name}`s. Numbers are written as that language writes them.
const T = JSON.parse(document.getElementById("texts").textContent);
const say = (id, values) => T[id].replace(/\{(\w+)\}/g, (_, k) => values[k]);
const num = n => n.toLocaleString(T.lang);
const SVG = "http://www.w3.org/2000/svg";
const ROW_H = 18, LANE_GAP = 6, AXIS_H = 24;

// Okabe–Ito colours (safe for colour-blind readers); each stage also has a pattern and a label.
const STAGES = {
  "setup": { color: "#BBBBBB", label: T["stage-setup"] },
  "data-ready": { color: "#E69F00", label: "①", pattern: null },
  "copy-to-user": { color: "#0072B2", label: "②", pattern: "dots" },
  "data-ready+copy": { color: "#CC79A7", label: "①②", pattern: "stripes" },
  "copy-to-kernel": { color: "#56B4E9", label: T["stage-out"], pattern: "vlines" },
  "completion": { color: "#009E73", label: "✓", pattern: "hlines" },
  "teardown": { color: "#999999", label: T["stage-teardown"] },
  "client": { color: "#D55E00", label: T["stage-client"] },
  "work": { color: "#F0E442", label: T["stage-work"] },
};
// As the legend and the hover text name them (a box's own label is the short one above).
const STAGE_NAMES = {
  "setup": T["name-setup"], "data-ready": T["name-data-ready"], "copy-to-user": T["name-copy-to-user"],
  "data-ready+copy": T["name-data-ready-copy"], "copy-to-kernel": T["name-copy-to-kernel"],
  "completion": T["name-completion"], "teardown": T["name-teardown"], "work": T["name-work"], "client": T["name-client"],
};
// A lane as people read it: its kind's word in the page's language, then the rest of its name
// (`client A`, `server/2`).
const laneName = l => l.name.startsWith(l.kind) ? T["lane-" + l.kind] + l.name.slice(l.kind.length) : l.name;
// A number's label: the message for its field, else the field's name.
const key = k => T["key-" + k.replace(/_/g, "-")] || k;

// Stacked runs are aligned on the scenario: the shared axis is the scenario's clock (0: its
// start), and each run is shifted by the median of how late its clients acted out each step
// (setup comes before 0). A single run keeps its own clock.
const aligned = !!data.steps && data.runs.length > 1;
const shifts = new Map(data.runs.map(run => {
  const late = aligned ? run.marks.filter(m => m.step !== null && data.steps[m.step])
    .map(m => m.t_us - data.steps[m.step][0]).sort((a, b) => a - b) : [];
  return [run, late.length ? late[Math.floor(late.length / 2)] : 0];
}));
const shift = run => shifts.get(run);
const lo = Math.min(0, ...data.runs.map(r => -shift(r)));
const hi = Math.max(lo + 1, ...data.runs.map(r => r.end_us - shift(r)));
const view = { t0: lo, t1: hi };

function el(tag, attrs, parent, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

function h(tag, attrs, parent, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

// As much of a box's label as fits in `px`: about 7 px a character at 12 px, a wide (CJK) one 12.
function fitted(label, px) {
  let used = 0, n = 0;
  for (const ch of label) {
    used += ch.codePointAt(0) >= 0x2E80 ? 12 : 7;
    if (used > px) break;
    n += ch.length;
  }
  return label.slice(0, n);
}

function took(us) {
  if (us < 0) return "−" + took(-us);
  return us >= 1000 ? (us / 1000).toFixed(1) + " ms" : us + " µs";
}

// The patterns that tell stages (and spin runs) apart without colour, and the arrow head: made
// once, in a hidden picture of their own, for every picture of the page to use.
function patterns() {
  const svg = el("svg", { width: 0, height: 0, "aria-hidden": "true", class: "defs" }, document.body);
  const defs = el("defs", {}, svg);
  const pat = (id, size, draw) => {
    const p = el("pattern", { id, width: size, height: size, patternUnits: "userSpaceOnUse" }, defs);
    draw(p);
  };
  pat("dots", 5, p => el("circle", { cx: 2.5, cy: 2.5, r: 1.1, fill: "#fff" }, p));
  pat("stripes", 6, p => el("path", { d: "M0,6 L6,0", stroke: "#fff", "stroke-width": 1.5 }, p));
  pat("vlines", 4, p => el("path", { d: "M2,0 L2,4", stroke: "#fff", "stroke-width": 1 }, p));
  pat("hlines", 4, p => el("path", { d: "M0,2 L4,2", stroke: "#fff", "stroke-width": 1 }, p));
  pat("spin", 4, p => el("path", { d: "M0,4 L4,0 M-1,1 L1,-1 M3,5 L5,3", stroke: "#000", "stroke-width": 1 }, p));
  const m = el("marker", { id: "arrow", viewBox: "0 0 8 8", refX: 7, refY: 4, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
  el("path", { d: "M0,0 L8,4 L0,8 z", fill: "#333" }, m);
}

const tip = h("div", { id: "tip", role: "tooltip" }, document.body);

function showTip(evt, lines) {
  tip.replaceChildren();
  lines.forEach((l, i) => h(i === 0 ? "strong" : "div", {}, tip, l));
  tip.style.display = "block";
  const x = Math.min(evt.clientX + 12, window.innerWidth - tip.offsetWidth - 8);
  const y = evt.clientY + 16 + tip.offsetHeight > window.innerHeight ? evt.clientY - tip.offsetHeight - 8 : evt.clientY + 16;
  tip.style.left = Math.max(4, x) + "px";
  tip.style.top = Math.max(4, y) + "px";
}

function hoverable(node, lines) {
  node.addEventListener("mousemove", e => showTip(e, lines));
  node.addEventListener("mouseleave", () => { tip.style.display = "none"; });
  node.addEventListener("click", () => {
    const d = document.getElementById("details");
    d.replaceChildren();
    lines.forEach((l, i) => h(i === 0 ? "strong" : "div", {}, d, l));
  });
}

function callLines(run, c) {
  const lane = run.lanes[c.lane];
  const name = c.call + "(" + [c.fd, c.args].filter(Boolean).join(", ") + ")";
  const result = c.errno ? "−1 " + c.errno : c.ret === null ? "—" : String(c.ret);
  const lines = [name + " → " + result,
    laneName(lane) + " · " + STAGE_NAMES[c.stage] + " · " + say("began-at", { t: took(c.t_us) })];
  if (c.count > 1) {
    lines.push(say("identical", { count: num(c.count), span: took(c.len_us), inside: took(c.dur_us) }));
  } else {
    lines.push(say("took", { t: took(c.dur_us) }));
  }
  if (c.note) lines.push(c.note);
  return lines;
}

// Ticks every 1, 2 or 5 × 10^n µs, about one per 90 pixels.
function ticks(width) {
  const span = view.t1 - view.t0;
  const raw = span / Math.max(1, width / 90);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map(m => m * p).find(s => s >= raw);
  const out = [];
  for (let t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) out.push(t);
  return out;
}

function drawRun(run, box) {
  box.replaceChildren();
  const width = box.clientWidth;
  const labelW = width < 600 ? 78 : 120;
  const plotW = Math.max(60, width - labelW - 8);
  // A run time on the shared axis (times shown in words stay the run's own).
  const x = t => labelW + (t - shift(run) - view.t0) / (view.t1 - view.t0) * plotW;
  const rows = run.lanes.map(() => 1);
  run.calls.forEach(c => { rows[c.lane] = Math.max(rows[c.lane], c.row + 1); });
  const top = [];
  let y = AXIS_H;
  run.lanes.forEach((l, i) => { top.push(y); y += rows[i] * ROW_H + LANE_GAP; });
  const svg = el("svg", { width, height: y + 4, class: "timeline", "data-model": run.model, role: "img",
    "aria-label": say("run-label", { model: run.model, calls: run.calls.length, lanes: run.lanes.length }) }, box);
  const clip = el("clipPath", { id: "plot-" + run.model }, el("defs", {}, svg));
  el("rect", { x: labelW, y: 0, width: plotW, height: y + 4 }, clip);
  // Lanes: a band and a name each.
  run.lanes.forEach((l, i) => {
    el("rect", { x: 0, y: top[i] - 2, width, height: rows[i] * ROW_H + 4, class: "band " + l.kind }, svg);
    const t = el("text", { x: 4, y: top[i] + ROW_H - 4, class: "lane", "data-lane": l.name }, svg, laneName(l));
    if (l.tid) hoverable(t, [laneName(l), say("os-thread", { tid: l.tid })]);
  });
  const plot = el("g", { "clip-path": "url(#plot-" + run.model + ")" }, svg);
  for (const t of ticks(plotW)) {
    const at = x(t + shift(run));
    el("line", { x1: at, x2: at, y1: AXIS_H - 6, y2: y, class: "grid" }, plot);
    // A label needs room before the plot's right edge.
    if (at < labelW + plotW - 50) el("text", { x: at + 2, y: AXIS_H - 10, class: "tick" }, plot, took(t));
  }
  // The scenario's steps, where this run's clients acted them out.
  run.marks.filter(m => m.step !== null).forEach(m => {
    const line = el("line", { x1: x(m.t_us), x2: x(m.t_us), y1: AXIS_H - 4, y2: y, class: "step" }, plot);
    const due = aligned && data.steps[m.step] ? data.steps[m.step][1] + " · " : "";
    hoverable(line, [say("step", { step: m.step, due, t: took(m.t_us) }), laneName(run.lanes[m.lane]) + " " + m.note]);
  });
  run.trips.forEach(r => {
    const line = el("line", { x1: x(r.t_us), x2: x(r.t_us + r.len_us), y1: top[r.lane] + ROW_H / 2, y2: top[r.lane] + ROW_H / 2, class: "trip" }, plot);
    hoverable(line, [say("trip", { t: took(r.len_us) }), r.note]);
  });
  run.calls.forEach(c => {
    const x0 = x(c.t_us), w = Math.max(1.5, x(c.t_us + c.len_us) - x0);
    if (x0 + w < labelW || x0 > labelW + plotW) return;
    const st = STAGES[c.stage] || STAGES.setup;
    const yy = top[c.lane] + c.row * ROW_H;
    const g = el("g", { class: "call", "data-stage": c.stage }, plot);
    el("rect", { x: x0, y: yy, width: w, height: ROW_H - 3, fill: st.color }, g);
    if (st.pattern) el("rect", { x: x0, y: yy, width: w, height: ROW_H - 3, fill: "url(#" + st.pattern + ")" }, g);
    if (c.count > 1) el("rect", { x: x0, y: yy, width: w, height: ROW_H - 3, fill: "url(#spin)", opacity: 0.55 }, g);
    // The label goes on the box's visible part (a long call may begin before the view).
    const label = (c.count > 1 ? c.call + " ×" + num(c.count) : c.call) + " " + st.label;
    const from = Math.max(x0, labelW), seen = Math.min(x0 + w, labelW + plotW) - from;
    if (seen > 40) el("text", { x: from + 3, y: yy + ROW_H - 6, class: "in-box" }, g, fitted(label, seen - 6));
    hoverable(g, callLines(run, c));
  });
  run.marks.forEach(m => {
    const xx = x(m.t_us), yy = top[m.lane] + ROW_H / 2 - 1;
    const kind = run.lanes[m.lane].kind;
    const shape = kind === "client"
      ? el("path", { d: `M${xx},${yy - 6} L${xx + 5},${yy} L${xx},${yy + 6} L${xx - 5},${yy} z`, class: "mark client" }, plot)
      : el("rect", { x: xx - 1, y: yy - 6, width: 2.5, height: 12, class: "mark " + kind }, plot);
    const lines = [say("mark", { what: m.call || T.remark, t: took(m.t_us) }), m.note];
    if (m.count > 1) lines.push(say("events", { count: m.count, span: took(m.span_us || 0) }));
    hoverable(shape, lines);
  });
  run.links.forEach(l => {
    const s = run.marks[l.send], c = run.calls[l.call];
    const x1 = x(s.t_us), y1 = top[s.lane] + ROW_H / 2;
    const x2 = x(l.at_us) + 1, y2 = top[c.lane] + c.row * ROW_H + ROW_H - 3;
    const path = el("path", { d: `M${x1},${y1} C${x1},${(y1 + y2) / 2} ${x2},${(y1 + y2) / 2} ${x2},${y2}`, class: "link", "marker-end": "url(#arrow)" }, plot);
    hoverable(path, [say("link", { from: laneName(run.lanes[s.lane]), call: c.call, to: laneName(run.lanes[c.lane]) }),
      say("link-times", { sent: took(s.t_us), began: took(c.t_us) }), l.how]);
  });
  // Drag pans, the wheel zooms around the pointer.
  svg.addEventListener("wheel", e => {
    e.preventDefault();
    const at = view.t0 + (e.offsetX - labelW) / plotW * (view.t1 - view.t0);
    zoom(e.deltaY < 0 ? 1 / 1.4 : 1.4, at);
  }, { passive: false });
  // Pointer events: a mouse's drag and a finger's swipe alike.
  svg.addEventListener("pointerdown", e => {
    const startX = e.clientX, t0 = view.t0, t1 = view.t1;
    const move = m => pan((startX - m.clientX) / plotW * (t1 - t0), t0, t1);
    const up = () => { window.removeEventListener("pointermove", move); window.removeEventListener("pointerup", up); };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  });
}

function pan(by, t0, t1) {
  const span = t1 - t0;
  view.t0 = Math.min(Math.max(lo, t0 + by), hi - span);
  view.t1 = view.t0 + span;
  drawAll();
}

function zoom(factor, at) {
  const span = Math.min(hi - lo, Math.max(20, (view.t1 - view.t0) * factor));
  at = at === undefined ? (view.t0 + view.t1) / 2 : at;
  const left = (at - view.t0) / (view.t1 - view.t0);
  view.t0 = Math.max(lo, at - left * span);
  view.t1 = Math.min(hi, view.t0 + span);
  view.t0 = Math.max(lo, view.t1 - span);
  drawAll();
}

// Everything drawn to the view or the page's width: the runs, and figure 6.6.
const redraws = [];
function drawAll() {
  redraws.forEach(f => f());
  const v = document.getElementById("view");
  if (v) v.textContent = took(Math.round(view.t0)) + " – " + took(Math.round(view.t1));
}

function legend(parent) {
  const ul = h("ul", { class: "legend" }, parent);
  for (const [stage, st] of Object.entries(STAGES)) {
    if (stage === "client") continue;
    const li = h("li", {}, ul);
    const s = el("svg", { width: 28, height: 14 }, li);
    el("rect", { width: 28, height: 14, fill: st.color }, s);
    if (st.pattern) el("rect", { width: 28, height: 14, fill: "url(#" + st.pattern + ")" }, s);
    h("span", {}, li, " " + STAGE_NAMES[stage]);
  }
  const spin = h("li", {}, ul);
  const s = el("svg", { width: 28, height: 14 }, spin);
  el("rect", { width: 28, height: 14, fill: "#E69F00" }, s);
  el("rect", { width: 28, height: 14, fill: "url(#spin)" }, s);
  h("span", {}, spin, " " + T["legend-spin"]);
  h("li", {}, ul, T["legend-marks"]);
}

// Figure 6.6: one read per model, stage ① then stage ②, to scale.
const STATES = {
  blocked: { color: "#D55E00", pattern: null },
  spinning: { color: "#E69F00", pattern: "spin" },
  free: { color: "#009E73", pattern: "dots" },
  copying: { color: "#0072B2", pattern: "stripes" },
};

function drawFigure(parent) {
  const f = data.figure;
  if (!f || !f.rows.length) return;
  h("h2", {}, parent, say("figure", { client: f.read }));
  const box = h("div", { class: "figure" }, parent);
  const draw = () => {
    box.replaceChildren();
    // Narrow: the numbers go under the bar instead of beside it.
    const width = box.clientWidth, narrow = width < 600;
    const nameW = narrow ? 90 : 130, numW = narrow ? 0 : 300;
    const barW = Math.max(40, width - nameW - numW - 10);
    const longest = Math.max(1, ...f.rows.map(r => r.stage1_us + r.stage2_us));
    const rowH = narrow ? 40 : 24;
    const svg = el("svg", { width, height: f.rows.length * rowH + 8, class: "fig66" }, box);
    f.rows.forEach((r, i) => {
      const y = 4 + i * rowH;
      el("text", { x: 2, y: y + 14, class: "fig-name" }, svg, r.model);
      const w1 = r.stage1_us / longest * barW, w2 = Math.max(2, r.stage2_us / longest * barW);
      [[r.stage1, nameW, w1, "①"], [r.stage2, nameW + w1, w2, "②"]].forEach(([state, x0, w, n]) => {
        const st = STATES[state];
        const g = el("g", {}, svg);
        el("rect", { x: x0, y, width: w, height: 18, fill: st.color }, g);
        if (st.pattern) el("rect", { x: x0, y, width: w, height: 18, fill: "url(#" + st.pattern + ")" }, g);
        hoverable(g, [say("fig-stage", { model: r.model, n, state: T["state-" + state] }),
          took(n === "①" ? r.stage1_us : r.stage2_us) + (n === "②" ? " (" + r.stage2_measures + ")" : ""),
          say("fig-told", { told: T.told[r.model] || r.told })]);
      });
      const numbers = "① " + took(r.stage1_us) + " " + T["state-" + r.stage1] + " · ② " + took(r.stage2_us) + " " + T["state-" + r.stage2];
      el("text", narrow ? { x: nameW, y: y + 33, class: "fig-num" } : { x: nameW + barW + 6, y: y + 14, class: "fig-num" }, svg, numbers);
    });
  };
  redraws.push(draw);
  const ul = h("ul", { class: "legend" }, parent);
  for (const [state, st] of Object.entries(STATES)) {
    const li = h("li", {}, ul);
    const s = el("svg", { width: 28, height: 14 }, li);
    el("rect", { width: 28, height: 14, fill: st.color }, s);
    if (st.pattern) el("rect", { width: 28, height: 14, fill: "url(#" + st.pattern + ")" }, s);
    h("span", {}, li, " " + T["state-" + state]);
  }
}

function cell(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "object") return Object.entries(v).map(([k, x]) => key(k) + ": " + cell(x)).join(", ");
  if (typeof v === "number") return num(v);
  return String(v);
}

function table(parent, rows) {
  const wrap = h("div", { class: "scroll" }, parent);
  const t = h("table", {}, wrap);
  // The model names the row: first.
  const cols = Object.keys(rows[0]).sort((a, b) => (b === "model") - (a === "model"));
  const tr = h("tr", {}, h("thead", {}, t));
  cols.forEach(c => h("th", {}, tr, key(c).replace(/_/g, " ")));
  const body = h("tbody", {}, t);
  rows.forEach(r => { const row = h("tr", {}, body); cols.forEach(c => h("td", {}, row, cell(r[c]))); });
}

function summary(parent) {
  const s = data.summary;
  if (!s) return;
  h("h2", {}, parent, T.summary);
  const dl = h("dl", { class: "numbers" }, parent);
  Object.entries(s).filter(([, v]) => !Array.isArray(v) && v !== null && !(typeof v === "object" && !Object.keys(v).length))
    .forEach(([k, v]) => {
      const item = h("div", {}, dl);
      h("dt", {}, item, key(k).replace(/_us$/, " (µs)").replace(/_/g, " "));
      h("dd", {}, item, cell(v));
    });
}

function main() {
  const root = document.getElementById("report");
  root.replaceChildren();
  patterns();
  document.title = data.title || "iomodels";
  h("h1", {}, root, data.runs.length > 1 ? say("compare", { models: data.runs.map(r => r.model).join(", ") }) : data.title);
  legend(root);
  const bar = h("div", { class: "controls" }, root);
  const button = (label, title, f) => { const b = h("button", { type: "button", title }, bar, label); b.addEventListener("click", f); };
  button("−", T["zoom-out"], () => zoom(1.6));
  button("+", T["zoom-in"], () => zoom(1 / 1.6));
  button("◀", T["pan-left"], () => pan(-(view.t1 - view.t0) / 3, view.t0, view.t1));
  button("▶", T["pan-right"], () => pan((view.t1 - view.t0) / 3, view.t0, view.t1));
  button(T.whole, T["whole-title"], () => { view.t0 = lo; view.t1 = hi; drawAll(); });
  h("span", { id: "view" }, bar);
  h("span", { class: "hint" }, bar, T.hint + (aligned ? T["hint-aligned"] : ""));
  for (const run of data.runs) {
    const sec = h("section", { class: "run", "data-model": run.model }, root);
    h("h2", {}, sec, run.model);
    if (data.runs.length > 1) h("p", { class: "subtitle" }, sec, run.title);
    const box = h("div", { class: "lanes" }, sec);
    redraws.push(() => drawRun(run, box));
  }
  h("div", { id: "details", "aria-live": "polite" }, root, T.details);
  drawFigure(root);
  if (data.notice && data.notice.length) {
    h("h2", {}, root, T.notice);
    const ul = h("ul", {}, root);
    data.notice.forEach(n => h("li", {}, ul, n));
  }
  if (data.table) { h("h2", {}, root, T.numbers); table(root, data.table); }
  summary(root);
  drawAll();
  window.addEventListener("resize", drawAll);
}

main();
