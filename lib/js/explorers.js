// explorers.js: the front end of the book's four explorers (an anywidget ES module).
//
// lib/widgets.py bundles this file after a prelude that defines ENGINE_SOURCE (engine.js with lib's
// constants written in), WORKER_SOURCE (worker.js) and CONFIG (lib.widgets.explorer_config(): every
// control's range and label, the notes, keyboard steps, palette, line styles and resolutions). The
// engine is imported from a blob: URL and the Web Workers run engine + worker from another, so nothing
// is loaded from anywhere but the page. The synced traits are `kind` ("landscape", "trajectory",
// "phase_space", "transmission"), `params` (the controls' values, both ways: a change from Python
// moves the controls and redraws) and `result` (a summary of the figure shown, for Python).
// Everything is computed here, in the reader's browser: the trajectory and the landscape on the
// page's thread, maps and transmitting sets in as many Web Workers as the machine has cores, in
// stages that are drawn as they finish; a newer move cancels the work of older ones.
const ENGINE_URL = URL.createObjectURL(new Blob([ENGINE_SOURCE], { type: "text/javascript" }));
const E = await import(ENGINE_URL);

const C = CONFIG;
const WONG = C.palette;
const ROLE = C.roles;
const GREY = "#737373";  // matplotlib's "0.45", the barrier lines of the book's transmission figures
const FONT = "sans-serif, 'DejaVu Math TeX Gyre', 'STIX Two Math', 'Cambria Math'";
const PI = Math.PI;

// -- workers: a pool of stateless workers and a queue that a newer move empties -----------------------
let POOL = null;
function pool() {
  if (POOL) return POOL;
  const url = URL.createObjectURL(new Blob([ENGINE_SOURCE + "\n" + WORKER_SOURCE], { type: "text/javascript" }));
  const n = Math.max(1, Math.min(16, navigator.hardwareConcurrency || 2));
  const queue = [];
  let next = 0;
  const workers = Array.from({ length: n }, () => {
    const w = { worker: new Worker(url, { type: "module" }), job: null };
    w.worker.onmessage = (ev) => {
      const { result, error } = ev.data;
      const job = w.job;
      w.job = null;
      if (error) job.reject(new Error(error)); else job.resolve(result);
      dispatch();
    };
    return w;
  });
  function dispatch() {
    for (const w of workers) {
      while (!w.job && queue.length) {
        const job = queue.shift();
        if (job.stale()) { job.reject(CANCELLED); continue; }
        w.job = job;
        w.worker.postMessage({ id: next++, task: job.task, args: job.args });
      }
    }
  }
  POOL = {
    size: n,
    // Run tasks [{ task, args }] on the pool; rejects with CANCELLED as soon as stale() is true.
    run(tasks, stale) {
      return Promise.all(tasks.map(({ task, args }) => new Promise((resolve, reject) => {
        queue.push({ task, args, resolve, reject, stale });
        dispatch();
      })));
    },
  };
  return POOL;
}
const CANCELLED = new Error("cancelled by a newer move");

// -- mathematics in labels: $...$ with _, ^, \mathrm, \mathcal, \dot and a few symbols ------------------
const SYMBOLS = { hbar: "ħ", Omega: "Ω", omega: "ω", lambda: "λ", phi: "φ", pi: "π", psi: "ψ", beta: "β",
  ln: "ln\u2009", infty: "∞", times: "×", le: "≤", ge: "≥", approx: "≈", cdot: "·", to: "→" };
const SCRIPT = { E: "ℰ", P: "𝒫", A: "𝒜" };
const UPRIGHT_SYMBOLS = new Set(["Ω", "ln\u2009", "∞", "×", "≤", "≥", "≈", "·", "→"]);

/** Runs [{ t, it (italic), lvl (0, -1 sub, 1 sup) }] of a label. */
function parseLabel(src) {
  const runs = [];
  const push = (t, it, lvl) => {
    const last = runs[runs.length - 1];
    if (last && last.it === it && last.lvl === lvl) last.t += t; else runs.push({ t, it, lvl });
  };
  const parts = String(src).split("$");
  parts.forEach((part, k) => { if (k % 2 === 0) push(part, false, 0); else math(part, 0); });
  function group(s, i) {  // the argument at s[i]: a {group} or one character or one \command
    while (s[i] === " ") i++;
    if (s[i] === "{") {
      let depth = 0, j = i;
      for (; j < s.length; j++) { if (s[j] === "{") depth++; else if (s[j] === "}" && --depth === 0) break; }
      return [s.slice(i + 1, j), j + 1];
    }
    if (s[i] === "\\") {  // a command, with its argument if it takes one
      const m = /^\\[a-zA-Z]+/.exec(s.slice(i));
      if (!["\\mathrm", "\\mathcal", "\\text", "\\dot"].includes(m[0])) return [m[0], i + m[0].length];
      const [arg, j] = group(s, i + m[0].length);
      return [`${m[0]}{${arg}}`, j];
    }
    return [s[i] || "", i + 1];
  }
  function math(s, lvl) {
    let i = 0;
    while (i < s.length) {
      const ch = s[i];
      if (ch === "\\") {
        const name = /^\\([a-zA-Z]+)/.exec(s.slice(i))[1];
        i += name.length + 1;
        if (name === "mathrm" || name === "text") { const [g, j] = group(s, i); push(g, false, lvl); i = j; }
        else if (name === "mathcal") { const [g, j] = group(s, i); push(SCRIPT[g] || g, false, lvl); i = j; }
        else if (name === "dot") { const [g, j] = group(s, i); push(g + "\u0307", true, lvl); i = j; }
        else if (SYMBOLS[name]) push(SYMBOLS[name], !UPRIGHT_SYMBOLS.has(SYMBOLS[name]), lvl);
        else if (name === ",") push("\u2009", false, lvl);
        else push(name, false, lvl);
      } else if (ch === "_" || ch === "^") {
        const [g, j] = group(s, i + 1);
        math(g, ch === "_" ? -1 : 1);
        i = j;
      } else if (ch === "{" || ch === "}" || ch === " ") {
        i++;
      } else if (/[A-Za-z]/.test(ch)) {
        push(ch, true, lvl); i++;
      } else if (ch === "," && lvl === 0) {
        push(", ", false, lvl); i++;
      } else if ("=<>".includes(ch) && lvl === 0) {
        push(` ${ch} `, false, lvl); i++;
      } else if (ch === "-") {
        const binary = lvl === 0 && runs.length && /[\w)ωφλ]\s*$/.test(runs[runs.length - 1].t);
        push(binary ? " − " : "−", false, lvl); i++;
      } else {
        push(ch, false, lvl); i++;
      }
    }
  }
  return runs.filter((r) => r.t.length);
}

const escapeHTML = (t) => t.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

/** A label as HTML (italic variables, sub- and superscripts). */
function labelHTML(src) {
  return parseLabel(src).map(({ t, it, lvl }) => {
    let h = escapeHTML(t);
    if (it) h = `<i>${h}</i>`;
    return lvl < 0 ? `<sub>${h}</sub>` : lvl > 0 ? `<sup>${h}</sup>` : h;
  }).join("");
}

/** A label as plain text (for accessible names). */
const labelText = (src) => parseLabel(src).map((r) => r.t).join("");

function runFont(r, size) {
  const px = r.lvl ? Math.round(size * 0.72) : size;
  return `${r.it ? "italic " : ""}${px}px ${FONT}`;
}

/** Width of a label drawn at ``size`` px. */
function labelWidth(ctx, src, size = 13) {
  let w = 0;
  for (const r of parseLabel(src)) { ctx.font = runFont(r, size); w += ctx.measureText(r.t).width; }
  return w;
}

/** Draw a label with its baseline at y; align "left", "center" or "right". Returns its width. */
function drawLabel(ctx, src, x, y, { align = "left", size = 13, color = "#000", bold = false } = {}) {
  const runs = parseLabel(src);
  const w = labelWidth(ctx, src, size);
  let px = align === "center" ? x - w / 2 : align === "right" ? x - w : x;
  ctx.save();
  ctx.fillStyle = color; ctx.textAlign = "left"; ctx.textBaseline = "alphabetic";
  for (const r of runs) {
    ctx.font = (bold ? "bold " : "") + runFont(r, size);
    const dy = r.lvl < 0 ? 0.25 * size : r.lvl > 0 ? -0.42 * size : 0;
    ctx.fillText(r.t, px, y + dy);
    px += ctx.measureText(r.t).width;
  }
  ctx.restore();
  return w;
}

// -- numbers ------------------------------------------------------------------------------------------
/** A number as the book prints it: at most ``digits`` decimals, trailing zeros dropped, a true minus. */
function num(v, digits = 3) {
  if (!Number.isFinite(v)) return String(v);
  const s = (+v.toFixed(digits)).toString();
  return s.replace("-", "−");
}

/** lib.plotting.phase_label: multiples of pi/4 as fractions of pi, other phases in radians. */
function phaseLabel(phase) {
  const k = phase / (PI / 4);
  if (Math.abs(k - Math.round(k)) > 1e-9) return num(+phase.toPrecision(3), 3);
  const n = Math.round(k);
  if (n === 0) return "0";
  const g = gcd(n, 4), a = n / g, b = 4 / g;
  return `${a === 1 ? "" : a}π${b === 1 ? "" : "/" + b}`;
}
const gcd = (a, b) => (b ? gcd(b, a % b) : Math.abs(a));

function niceTicks(lo, hi, n = 5) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw);
  const out = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * span; v += step) out.push(Math.abs(v) < 1e-12 * span ? 0 : v);
  return out;
}

// -- drawing --------------------------------------------------------------------------------------------
/**
 * A plot box on a canvas: data -> pixel maps, frame, ticks and labels (mathematics typeset; a
 * logarithmic axis is labelled with powers of ten, or 1-2-5 values on a short range).
 */
function axes(ctx, box, xr, yr, { xlabel = "", ylabel = "", title = "", xlog = false, ylog = false, ticks = true } = {}) {
  const [x0, y0, w, h] = box;
  const tx = (v) => (xlog ? Math.log10(v) : v), ty = (v) => (ylog ? Math.log10(v) : v);
  const [xlo, xhi, ylo, yhi] = [tx(xr[0]), tx(xr[1]), ty(yr[0]), ty(yr[1])];
  const ax = { box, X: (v) => x0 + ((tx(v) - xlo) / (xhi - xlo)) * w, Y: (v) => y0 + h - ((ty(v) - ylo) / (yhi - ylo)) * h };
  ctx.save();
  ctx.strokeStyle = "#000"; ctx.lineWidth = 1; ctx.setLineDash([]); ctx.strokeRect(x0, y0, w, h);
  if (ticks) {
    for (const [t, text] of logOrLinear(xr, xlog)) {
      const px = ax.X(t);
      ctx.beginPath(); ctx.moveTo(px, y0 + h); ctx.lineTo(px, y0 + h + 4); ctx.stroke();
      drawLabel(ctx, text, px, y0 + h + 18, { align: "center", size: 12 });
    }
    for (const [t, text] of logOrLinear(yr, ylog)) {
      const py = ax.Y(t);
      ctx.beginPath(); ctx.moveTo(x0 - 4, py); ctx.lineTo(x0, py); ctx.stroke();
      drawLabel(ctx, text, x0 - 6, py + 4, { align: "right", size: 12 });
    }
  }
  if (xlabel) drawLabel(ctx, xlabel, x0 + w / 2, y0 + h + 38, { align: "center" });
  if (title) drawLabel(ctx, title, x0 + w / 2, y0 - 8, { align: "center" });
  if (ylabel) {
    ctx.save(); ctx.translate(x0 - 48, y0 + h / 2); ctx.rotate(-PI / 2);
    drawLabel(ctx, ylabel, 0, 0, { align: "center" }); ctx.restore();
  }
  ctx.restore();
  return ax;
}

/** Ticks [value, label] of an axis range: powers of ten (or 1, 2, 5 times them) on a log axis. */
function logOrLinear([lo, hi], log) {
  if (!log) return niceTicks(lo, hi).map((t) => [t, num(t, 4)]);
  const a = Math.ceil(Math.log10(lo) - 1e-9), b = Math.floor(Math.log10(hi) + 1e-9);
  if (b - a >= 2) {
    const every = Math.ceil((b - a + 1) / 7);
    const out = [];
    for (let k = b; k >= a; k -= every) out.push([Math.pow(10, k), k === 0 ? "1" : k === 1 ? "10" : `$10^{${k}}$`]);
    return out.reverse();
  }
  const out = [];
  for (let k = Math.floor(Math.log10(lo)); k <= b; k++) {
    for (const f of [1, 2, 5]) {
      const v = f * Math.pow(10, k);
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push([v, num(v, 4)]);
    }
  }
  return out;
}

function clip(ctx, ax) {
  const [x0, y0, w, h] = ax.box;
  ctx.beginPath(); ctx.rect(x0, y0, w, h); ctx.clip();
}

function line(ctx, ax, xs, ys, color, { width = 1.5, dash = [] } = {}) {
  ctx.save(); clip(ctx, ax);
  ctx.strokeStyle = color; ctx.lineWidth = width; ctx.setLineDash(dash); ctx.beginPath();
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    const px = ax.X(xs[i]), py = ax.Y(ys[i]);
    if (!Number.isFinite(px) || !Number.isFinite(py)) { pen = false; continue; }
    if (pen) ctx.lineTo(px, py); else ctx.moveTo(px, py);
    pen = true;
  }
  ctx.stroke(); ctx.restore();
}

/** A marker ("o", "s", "^", "D", "*") at (px, py): filled with ``fill`` (or open), edged with ``edge``. */
function marker(ctx, kind, px, py, r, { fill = null, edge = "#000", width = 1.2 } = {}) {
  ctx.save(); ctx.beginPath(); ctx.setLineDash([]);
  if (kind === "s") ctx.rect(px - r * 0.85, py - r * 0.85, 1.7 * r, 1.7 * r);
  else if (kind === "^") { ctx.moveTo(px, py - r); ctx.lineTo(px + 0.9 * r, py + 0.6 * r); ctx.lineTo(px - 0.9 * r, py + 0.6 * r); ctx.closePath(); }
  else if (kind === "D") { ctx.moveTo(px, py - r); ctx.lineTo(px + 0.8 * r, py); ctx.lineTo(px, py + r); ctx.lineTo(px - 0.8 * r, py); ctx.closePath(); }
  else if (kind === "*") {
    for (let k = 0; k < 10; k++) {
      const a = -PI / 2 + (k * PI) / 5, rr = k % 2 ? 0.42 * r : r;
      ctx.lineTo(px + rr * Math.cos(a), py + rr * Math.sin(a));
    }
    ctx.closePath();
  } else ctx.arc(px, py, r, 0, 2 * PI);
  if (fill) { ctx.fillStyle = fill; ctx.fill(); }
  ctx.strokeStyle = edge; ctx.lineWidth = width; ctx.stroke();
  ctx.restore();
}

/**
 * A legend in rows below a figure: items { label, color, dash, marker, fill, patch } laid out left to
 * right from x, wrapping at ``right``; returns the y below it.
 */
function legend(ctx, x, y, right, items) {
  let px = x, py = y;
  for (const it of items) {
    const w = 28 + labelWidth(ctx, it.label, 12) + 18;
    if (px > x && px + w > right) { px = x; py += 18; }
    ctx.save();
    if (it.patch) { ctx.fillStyle = it.patch; ctx.fillRect(px, py - 6, 20, 11); }
    else if (it.color) {
      ctx.strokeStyle = it.color; ctx.lineWidth = 1.8; ctx.setLineDash(it.dash || []);
      ctx.beginPath(); ctx.moveTo(px, py); ctx.lineTo(px + 20, py); ctx.stroke();
    }
    if (it.marker) marker(ctx, it.marker, px + 10, py, it.size || 4.5, { fill: it.fill, edge: it.edge || "#000" });
    ctx.restore();
    drawLabel(ctx, it.label, px + 26, py + 4, { size: 12 });
    px += w;
  }
  return py + 18;
}

function vertical(ctx, ax, x, color, dash, width = 1.2) {
  const [, y0, , h] = ax.box;
  ctx.save(); clip(ctx, ax); ctx.strokeStyle = color; ctx.lineWidth = width; ctx.setLineDash(dash);
  ctx.beginPath(); ctx.moveTo(ax.X(x), y0); ctx.lineTo(ax.X(x), y0 + h); ctx.stroke(); ctx.restore();
}

function horizontal(ctx, ax, y, color, dash, width = 1.2) {
  const [x0, , w] = ax.box;
  ctx.save(); clip(ctx, ax); ctx.strokeStyle = color; ctx.lineWidth = width; ctx.setLineDash(dash);
  ctx.beginPath(); ctx.moveTo(x0, ax.Y(y)); ctx.lineTo(x0 + w, ax.Y(y)); ctx.stroke(); ctx.restore();
}

// cividis, as matplotlib's, at 9 stops (interpolated linearly)
const CIVIDIS = [[0, 34, 78], [35, 62, 112], [84, 87, 110], [112, 113, 115], [140, 138, 118], [170, 164, 115],
  [202, 191, 104], [234, 220, 86], [254, 232, 56]];
function cividis(t) {
  t = Math.min(1, Math.max(0, t)) * (CIVIDIS.length - 1);
  const k = Math.min(CIVIDIS.length - 2, Math.floor(t)), f = t - k;
  return CIVIDIS[k].map((c, i) => Math.round(c + f * (CIVIDIS[k + 1][i] - c)));
}

/** lib.plotting.mass_style: the paper's three masses in their colours and markers, any other in black. */
function massStyle(M) {
  for (const [m, s] of C.masses) if (Math.abs(M - m) <= 1e-9 * Math.max(1, Math.abs(m))) return s;
  return { color: WONG.black, marker: "D", label: `$M = ${num(M)}$` };
}

// -- controls --------------------------------------------------------------------------------------
// Keys the notebook front ends (JupyterLab, Notebook 7) would otherwise take for their own commands.
const NAVIGATION = new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "PageUp", "PageDown", "Home", "End"]);

/**
 * ``v`` within the slider's range and, where the table says so, below (``below``) or above (``above``)
 * another control's value by 1% of the range (the lowest temperature stays below the highest).
 */
function bounded(spec, v, params) {
  const gap = C.keys.arrow * (spec.max - spec.min);
  let lo = spec.min, hi = spec.max;
  if (spec.below && spec.below in params) hi = Math.min(hi, params[spec.below] - gap);
  if (spec.above && spec.above in params) lo = Math.max(lo, params[spec.above] + gap);
  return Math.min(hi, Math.max(lo, v));
}

function slider(spec, value, onInput, params) {
  const row = document.createElement("label");
  row.className = "lib-explorer-control";
  row.style.cssText = "display:flex;align-items:center;gap:0.6em;margin:2px 0;font-size:0.9em";
  const name = document.createElement("span");
  name.innerHTML = labelHTML(spec.label); name.style.cssText = "width:15em";
  const input = document.createElement("input");
  Object.assign(input, { type: "range", min: spec.min, max: spec.max, step: "any", value });
  input.dataset.key = spec.key;
  input.setAttribute("data-lm-suppress-shortcuts", "true");  // Lumino (JupyterLab, Notebook 7): leave keys here
  input.setAttribute("aria-label", labelText(spec.label));
  input.style.cssText = "flex:1;max-width:22em";
  const out = document.createElement("output"); out.style.cssText = "width:4.5em;font-variant-numeric:tabular-nums";
  const show = () => { out.textContent = num(+input.value, spec.digits); };
  show();
  const set = (v) => {
    const next = bounded(spec, v, params);
    if (next === +input.value) return;
    input.value = String(next);
    show(); onInput(spec.key, next);
  };
  input.addEventListener("input", () => {
    const v = bounded(spec, +input.value, params);
    if (v !== +input.value) input.value = String(v);
    show(); onInput(spec.key, v);
  });
  input.addEventListener("keydown", (ev) => {
    if (!NAVIGATION.has(ev.key)) return;
    ev.preventDefault(); ev.stopPropagation();
    const span = spec.max - spec.min, v = +input.value;
    const step = (ev.key.startsWith("Page") ? C.keys.page : C.keys.arrow) * span;
    if (ev.key === "Home") set(spec.min);
    else if (ev.key === "End") set(spec.max);
    else if (["ArrowRight", "ArrowUp", "PageUp"].includes(ev.key)) set(v + step);
    else set(v - step);
  });
  row.append(name, input, out);
  return { row, set: (v) => { input.value = String(v); show(); } };
}

function dropdown(spec, value, onInput) {
  const row = document.createElement("label");
  row.className = "lib-explorer-control";
  row.style.cssText = "display:flex;align-items:center;gap:0.6em;margin:2px 0;font-size:0.9em";
  const name = document.createElement("span");
  name.innerHTML = labelHTML(spec.label); name.style.cssText = "width:15em";
  const select = document.createElement("select");
  select.dataset.key = spec.key;
  select.setAttribute("data-lm-suppress-shortcuts", "true");
  select.setAttribute("aria-label", labelText(spec.label));
  select.style.cssText = "flex:1;max-width:34em;min-width:0";
  for (const [v, text] of spec.options) {
    const o = document.createElement("option"); o.value = v; o.textContent = labelText(text); select.append(o);
  }
  select.value = value;
  select.addEventListener("keydown", (ev) => { if (NAVIGATION.has(ev.key)) ev.stopPropagation(); });
  select.addEventListener("input", () => onInput(spec.key, select.value));
  row.append(name, select);
  return { row, set: (v) => { select.value = v; } };
}

// -- the explorers -----------------------------------------------------------------------------------
// Each explorer: `height` of its figure, `compute(p, emit, stale)` (optional; calls emit(data, done)
// for each stage) and `draw(ctx, W, H, p, data, extra)` returning the summary reported as `result`.

const LEFT = 74;

const EXPLORERS = {
  landscape: {
    height: 450,
    draw(ctx, W, H, p) {
      const m = E.model({ U0: p.U0, lam: p.lam, s: p.s });
      const xr = [-7, 7], yr = [-5.5, 5.5], vmax = 25;
      const box = [LEFT, 30, W - LEFT - 120, H - 30 - 84];
      const ax = axes(ctx, box, xr, yr, { xlabel: "particle position $x$ ($l_\\mathrm{osc}$)",
        ylabel: "gate position $y$ ($l_\\mathrm{osc}$)", ticks: false,
        title: `$U_0 = ${num(p.U0, 2)}$, $\\lambda = ${num(p.lam, 2)}$, $s = ${num(p.s, 2)}$` });
      const [bx, by, bw, bh] = box;
      const dpr = ctx.getTransform().a;
      const iw = Math.round(bw * dpr), ih = Math.round(bh * dpr);
      const img = ctx.createImageData(iw, ih);
      for (let j = 0; j < ih; j++) {
        const y = yr[1] - ((j + 0.5) / ih) * (yr[1] - yr[0]);
        for (let i = 0; i < iw; i++) {
          const x = xr[0] + ((i + 0.5) / iw) * (xr[1] - xr[0]);
          const c = cividis((Math.floor(E.landscape(m, x, y)) + 0.5) / vmax);  // filled contours 1 apart
          const o = 4 * (j * iw + i);
          img.data[o] = c[0]; img.data[o + 1] = c[1]; img.data[o + 2] = c[2]; img.data[o + 3] = 255;
        }
      }
      ctx.putImageData(img, Math.round(bx * dpr), Math.round(by * dpr));
      axes(ctx, box, xr, yr, {});
      horizontal(ctx, ax, p.s, ROLE.particle, [6, 4], 1.2);
      const frozen = E.frozenBarrier(m), relaxed = E.relaxedBarrier(m);
      marker(ctx, "o", ax.X(0), ax.Y(0), 5, { fill: ROLE.frozen });
      for (const [y] of relaxed.minima) marker(ctx, "*", ax.X(0), ax.Y(y), 8, { fill: ROLE.relaxed, width: 1 });
      // colour bar, its title above its top tick
      const cx = bx + bw + 22;
      for (let k = 0; k < vmax; k++) {
        const c = cividis((k + 0.5) / vmax);
        ctx.fillStyle = `rgb(${c})`; ctx.fillRect(cx, by + bh - ((k + 1) * bh) / vmax, 14, bh / vmax + 0.5);
      }
      ctx.strokeStyle = "#000"; ctx.lineWidth = 1; ctx.strokeRect(cx, by, 14, bh);
      for (let v = 0; v <= vmax; v += 5) {
        const py = by + bh - (v / vmax) * bh;
        ctx.beginPath(); ctx.moveTo(cx + 14, py); ctx.lineTo(cx + 18, py); ctx.stroke();
        drawLabel(ctx, String(v), cx + 21, py + 4, { size: 12 });
      }
      drawLabel(ctx, "$V$ ($\\hbar\\Omega$)", cx + 7, by - 10, { align: "center", size: 12 });
      legend(ctx, bx, by + bh + 64, W - 10, [
        { label: "particle's line $y = s$", color: ROLE.particle, dash: [6, 4] },
        { label: `frozen: $V(0, 0) = U(s) = ${num(frozen, 3)}$`, marker: "o", fill: ROLE.frozen, size: 5 },
        { label: `relaxed: $\\mathcal{E}_* = ${num(relaxed.energy, 4)}$`, marker: "*", fill: ROLE.relaxed, size: 7 },
      ]);
      return { frozen_barrier: frozen, relaxed_barrier: relaxed.energy, relaxed_y: relaxed.y };
    },
  },

  trajectory: {
    height: 500,
    draw(ctx, W, H, p) {
      const m = E.model({ M: p.M, s: p.s });
      const [y0, vy0] = E.oscillatorInitial(p.E_oscillator, p.phase);
      const state = E.initialState(m, p.E_particle, y0, vy0);
      const decided = E.trajectory(m, state);
      const tStop = decided.t[decided.t.length - 1];
      const tr = E.trajectory(m, state, { tEnd: 2 * tStop, options: { h_max: 0.005 } });
      const n = tr.t.length;
      const ep = new Float64Array(n), eo = new Float64Array(n), eu = new Float64Array(n), et = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        ep[i] = E.particleEnergy(m, tr.vx[i]); eo[i] = E.oscillatorEnergy(tr.y[i], tr.vy[i]);
        eu[i] = E.interaction(tr.x[i], tr.y[i], m.s, m.U0, m.il2)[0]; et[i] = ep[i] + eo[i] + eu[i];
      }
      const name = { 1: "transmitted", 0: "reflected", [-1]: "undecided" }[decided.outcome];
      const range = (...arrs) => {
        let lo = Infinity, hi = -Infinity;
        for (const a of arrs) for (const v of a) { if (v < lo) lo = v; if (v > hi) hi = v; }
        const pad = 0.06 * (hi - lo || 1); return [lo - pad, hi + pad];
      };
      const tr_ = [0, tr.t[n - 1]], w = W - LEFT - 20;
      drawLabel(ctx, `${name}: $\\mathcal{E}_\\mathrm{p} = ${num(p.E_particle, 2)}$, ` +
        `$\\mathcal{E}_\\mathrm{o} = ${num(p.E_oscillator, 2)}$, $\\phi = ${phaseLabel(p.phase)}$, ` +
        `$M = ${num(p.M, 2)}$, $s = ${num(p.s, 2)}$`, LEFT + w / 2, 18, { align: "center" });
      const a1 = axes(ctx, [LEFT, 32, w, 150], tr_, range(tr.x, tr.y), { ylabel: "position ($l_\\mathrm{osc}$)" });
      line(ctx, a1, tr.t, tr.x, ROLE.particle);
      line(ctx, a1, tr.t, tr.y, ROLE.gate);
      const a2 = axes(ctx, [LEFT, 222, w, 190], tr_, range(ep, eo, eu, et), { ylabel: "energy ($\\hbar\\Omega$)",
        xlabel: "time (gate periods)" });
      line(ctx, a2, tr.t, ep, ROLE.particle); line(ctx, a2, tr.t, eo, ROLE.gate);
      line(ctx, a2, tr.t, eu, ROLE.interaction); line(ctx, a2, tr.t, et, ROLE.total, { dash: [5, 3] });
      for (const a of [a1, a2]) vertical(ctx, a, tStop, GREY, [2, 3], 1);
      legend(ctx, LEFT, H - 22, W - 10, [
        { label: "particle", color: ROLE.particle }, { label: "gate", color: ROLE.gate },
        { label: "interaction $U$", color: ROLE.interaction }, { label: "total", color: ROLE.total, dash: [5, 3] },
        { label: "outcome decided", color: GREY, dash: [2, 3] },
      ]);
      return { outcome: decided.outcome, t_stop: tStop, points: n };
    },
  },

  phase_space: {
    height: 490,
    async compute(p, emit, stale) {
      const [coarse, fine] = C.map_grids;
      const workers = pool();
      const m = { M: p.M, s: p.s };
      const tasks = (grid, rows) => {
        const out = [];
        for (let r = 0; r < grid; r += rows) out.push({ task: "map", args: { m, phase: p.phase, grid, convention: p.convention,
          rows: [r, Math.min(grid, r + rows)] } });
        return out;
      };
      const first = await workers.run(tasks(coarse, Math.max(1, Math.ceil(coarse / (4 * workers.size)))), stale);
      const map = { grid: coarse, cells: concat(first, coarse * coarse), fine: null, rows: 0 };
      emit(map, false);
      // refine: the fine map's rows replace the coarse ones as they arrive, bottom up
      const fineCells = new Uint8Array(fine * fine);
      const band = 8;
      const bands = tasks(fine, band);
      const done = new Array(bands.length).fill(false);
      let shown = 0;
      await Promise.all(bands.map((t, k) => workers.run([t], stale).then(([part]) => {
        fineCells.set(part, t.args.rows[0] * fine);
        done[k] = true;
        let rows = 0;
        while (rows < bands.length && done[rows]) rows++;
        if (rows > shown && rows < bands.length) {
          shown = rows;
          emit({ grid: coarse, cells: map.cells, fine: fineCells, fineGrid: fine, rows: Math.min(fine, rows * band) }, false);
        }
      })));
      emit({ grid: fine, cells: fineCells, fine: null, rows: 0 }, true);
    },
    draw(ctx, W, H, p, map) {
      const m = E.model({ M: p.M, s: p.s });
      const xr = E.PARTICLE_RANGE, yr = E.OSCILLATOR_RANGE;
      const box = [LEFT, 30, W - LEFT - 24, H - 30 - 84];
      const [bx, by, bw, bh] = box;
      const half = (r, g) => (r[1] - r[0]) / (g - 1) / 2;  // half a cell: the axes end at the outer cells' edges
      const g0 = C.map_grids[C.map_grids.length - 1];
      const xa = [xr[0] - half(xr, g0), xr[1] + half(xr, g0)], ya = [yr[0] - half(yr, g0), yr[1] + half(yr, g0)];
      const X = (v) => bx + ((v - xa[0]) / (xa[1] - xa[0])) * bw, Y = (v) => by + bh - ((v - ya[0]) / (ya[1] - ya[0])) * bh;
      // each map as an image of its cells (row 0, the lowest gate energy, at the bottom), scaled to its extent
      const paint = (grid, cells, rows) => {
        const img = new ImageData(grid, grid);
        const col = C.outcomes.map((c) => [1, 3, 5].map((k) => parseInt(c.slice(k, k + 2), 16)));
        for (let i = 0; i < rows; i++) for (let j = 0; j < grid; j++) {
          const c = col[cells[i * grid + j]], o = 4 * ((grid - 1 - i) * grid + j);
          img.data[o] = c[0]; img.data[o + 1] = c[1]; img.data[o + 2] = c[2]; img.data[o + 3] = 255;
        }
        const off = document.createElement("canvas");
        off.width = grid; off.height = grid;
        off.getContext("2d").putImageData(img, 0, 0);
        const x0 = X(xr[0] - half(xr, grid)), x1 = X(xr[1] + half(xr, grid));
        const y0 = Y(yr[0] - half(yr, grid)), y1 = Y(yr[1] + half(yr, grid));
        const ch = (y0 - y1) / grid;
        ctx.drawImage(off, 0, grid - rows, grid, rows, x0, y0 - rows * ch, x1 - x0, rows * ch);
      };
      ctx.save(); ctx.beginPath(); ctx.rect(bx, by, bw, bh); ctx.clip(); ctx.imageSmoothingEnabled = false;
      paint(map.grid, map.cells, map.grid);
      if (map.fine) paint(map.fineGrid, map.fine, map.rows);
      ctx.restore();
      let sum = 0; for (const v of map.cells) sum += v;
      const frac = sum / map.cells.length;
      const ax = axes(ctx, box, xa, ya, {
          xlabel: "particle energy ($\\hbar\\Omega$)", ylabel: "gate energy ($\\hbar\\Omega$)",
          title: `$s = ${num(p.s, 2)}$, $\\phi = ${phaseLabel(p.phase)}$, $M = ${num(p.M, 2)}$, ` +
            (p.convention === "paper-text" ? "the paper's text" : "the published script") });
      const ef = E.frozenBarrier(m), er = E.relaxedBarrier(m).energy;
      vertical(ctx, ax, ef, "#000", C.barrier_dash.frozen, 1.3);
      vertical(ctx, ax, er, "#000", C.barrier_dash.relaxed, 1.3);
      legend(ctx, bx, by + bh + 64, W - 10, [
        { label: "reflected", patch: C.outcomes[0] },
        { label: `transmitted ($\\mathcal{A}$): ${num(100 * frac, 1)}% of the map`, patch: C.outcomes[1] },
        { label: `frozen $U(s) = ${num(ef, 3)}$`, color: "#000", dash: C.barrier_dash.frozen },
        { label: `relaxed $\\mathcal{E}_* = ${num(er, 3)}$`, color: "#000", dash: C.barrier_dash.relaxed },
      ]);
      return { transmitted_fraction: frac, grid: map.grid };
    },
  },

  transmission: {
    height: 440,
    kernel: true,
    compute(p, emit, stale) {
      return transmission(p, emit, stale);
    },
    draw(ctx, W, H, p, r, mc) {
      const m = E.model({ M: p.M, s: p.s });
      const ef = E.frozenBarrier(m), er = E.relaxedBarrier(m).energy;
      const style = massStyle(p.M);
      mc = mc && sameCurve(mc.params, p) ? mc : null;  // points of other parameters are not drawn
      const inv = r.omegas.map((w) => 1 / w);
      const xr = [0, Math.max(...inv) * 1.05];
      const pos = r.probability.concat(mc ? mc.probability : []).filter((v) => v > 0);
      const ylo = Math.pow(10, Math.floor(Math.log10(Math.min(...pos, Math.exp(-ef * xr[1])))));
      const half = (W - LEFT) / 2;
      const a = axes(ctx, [LEFT, 30, half - 40, H - 30 - 92], xr, [Math.max(ylo, 1e-30), 1], { ylog: true,
        xlabel: "$1/\\omega_T$", ylabel: "transmission probability $\\mathcal{P}$",
        title: `${p.experiment}, $s = ${num(p.s, 2)}$, $M = ${num(p.M, 2)}$` });
      const xs = Array.from({ length: 100 }, (_, k) => (xr[1] * k) / 99);
      line(ctx, a, xs, xs.map((x) => Math.exp(-ef * x)), GREY, { width: 1.2, dash: C.barrier_dash.frozen });
      line(ctx, a, xs, xs.map((x) => Math.exp(-er * x)), GREY, { width: 1.2, dash: C.barrier_dash.relaxed });
      line(ctx, a, inv, r.probability, style.color, { width: 1.8 });
      if (mc) mcPoints(ctx, a, mc.temperature.map((w) => 1 / w), mc.probability, mc.ci95_low, mc.ci95_high, style, true);
      const wr = [Math.min(...r.omegas) / 1.08, Math.max(...r.omegas) * 1.08];
      const ea = r.activation.concat(mc ? mc.activation_energy : []).filter(Number.isFinite);
      const b = axes(ctx, [LEFT + half + 24, 30, half - 40, H - 30 - 92], wr,
        [Math.min(0, ...ea, er) - 0.5, Math.max(...ea, ef, er) + 1], { xlog: true,
          xlabel: "$\\omega_T = k_BT/\\hbar\\Omega$", ylabel: "$E_a$ ($\\hbar\\Omega$)",
          title: "$E_a = -d\\ln\\mathcal{P}/d(1/\\omega_T)$" });
      horizontal(ctx, b, ef, GREY, C.barrier_dash.frozen);
      horizontal(ctx, b, er, GREY, C.barrier_dash.relaxed);
      line(ctx, b, r.omegas, r.activation, style.color, { width: 1.8 });
      if (mc) mcPoints(ctx, b, mc.temperature, mc.activation_energy,
        mc.activation_energy.map((v, k) => (v === null ? null : v - mc.activation_stderr[k])),
        mc.activation_energy.map((v, k) => (v === null ? null : v + mc.activation_stderr[k])), style);
      const items = [
        { label: `frozen $U(s) = ${num(ef, 3)}$`, color: GREY, dash: C.barrier_dash.frozen },
        { label: `relaxed $\\mathcal{E}_* = ${num(er, 3)}$`, color: GREY, dash: C.barrier_dash.relaxed },
        { label: `quadrature, ${style.label}`, color: style.color },
      ];
      if (mc) items.push({ label: `Monte Carlo (kernel), ${mc.trials.toLocaleString("en-US")} trials`,
        marker: style.marker, edge: style.color, size: 3.5 });
      legend(ctx, LEFT, H - 22, W - 10, items);
      return { omega_T: r.omegas, probability: r.probability, activation_energy: r.activation, n_max: r.nMax,
        converged: r.converged };
    },
  },
};

function concat(parts, n) {
  const out = new Uint8Array(n);
  let o = 0;
  for (const part of parts) { out.set(part, o); o += part.length; }
  return out;
}

// Kernel Monte Carlo points: an open marker per temperature with its error bar [lo, hi] (clipped to
// the axes); on a logarithmic axis (`positive`) a point with nothing transmitted is left out.
function mcPoints(ctx, ax, xs, ys, lo, hi, style, positive = false) {
  const [, by, , bh] = ax.box;
  const clamp = (v) => Math.min(by + bh, Math.max(by, v));
  const Y = (v) => (v === null || !Number.isFinite(v) ? NaN : ax.Y(Math.max(v, 1e-300)));
  ctx.save(); ctx.strokeStyle = style.color; ctx.lineWidth = 0.8; ctx.setLineDash([]);
  xs.forEach((x, k) => {
    const y = Y(ys[k]);
    if (!Number.isFinite(y) || (positive && !(ys[k] > 0))) return;
    const X = ax.X(x), y0 = Y(lo[k]), y1 = Y(hi[k]);
    ctx.beginPath();
    ctx.moveTo(X, clamp(Number.isFinite(y0) ? y0 : by + bh)); ctx.lineTo(X, clamp(Number.isFinite(y1) ? y1 : by));
    ctx.stroke();
    if (y >= by && y <= by + bh) marker(ctx, style.marker, X, y, 3.5, { edge: style.color, fill: "#fff" });
  });
  ctx.restore();
}

// Whether Monte Carlo points computed for parameters `q` belong on the curve of parameters `p`.
function sameCurve(q, p) {
  return q.experiment === p.experiment && q.s === p.s && q.M === p.M &&
    q.omega_min === Math.min(p.omega_min, p.omega_max) && q.omega_max === Math.max(p.omega_min, p.omega_max);
}

// -- the transmission explorer's quadrature, in stages -------------------------------------------------
// The gate states computed on this page, by model and gate: { key: Map("n|phase" -> { y, vy, brackets,
// width, open }) }. A state keeps its scan and brackets: a later stage or move bisects them further.
const SETS = new Map();

/** The stage's level nodes: every `every`-th node of the full list, the first and last always. */
function stageNodes(nodes, every) {
  return nodes.filter((_, i) => i % every === 0 || i === nodes.length - 1);
}

async function transmission(p, emit, stale) {
  const gate = E.EXPERIMENT[p.experiment].gate;
  const frozen = E.EXPERIMENT[p.experiment].frozen;
  const lo = Math.min(p.omega_min, p.omega_max), hi = Math.max(p.omega_min, p.omega_max);
  const omegas = E.inverseSpaced(lo, hi, p.temperatures || C.temperatures);
  const m = { M: p.M, s: p.s };
  const mm = E.model(m);
  const nMax = gate === "levels" ? E.levelCutoff(p.experiment, mm, hi, C.quadrature_tolerance) : 0;
  const key = JSON.stringify([p.M, p.s, gate]);
  if (!SETS.has(key)) SETS.set(key, new Map());
  const store = SETS.get(key);
  const workers = pool();
  const stages = C.quadrature_stages;
  // bring the states (n, phase) to width `width`, computing those the page does not have yet
  async function solve(list, width, scan) {
    const todo = [];
    for (const [n, phase] of list) {
      const k = `${n}|${phase}`;
      let st = store.get(k);
      if (!st) {
        const [y, vy] = gate === "levels" ? E.oscillatorState(E.levelAmplitude(n), phase) : [0.0, 0.0];
        st = { y, vy, brackets: null, width: Infinity, open: false };
        store.set(k, st);
      }
      if (st.width > width) todo.push(st);
    }
    const chunk = Math.max(1, Math.min(12, Math.ceil(todo.length / (3 * workers.size))));
    const tasks = [];
    for (let i = 0; i < todo.length; i += chunk) {
      const items = todo.slice(i, i + chunk);
      tasks.push({ items, task: "states", args: { m, frozen, scan, energyTol: width,
        items: items.map((st) => ({ y: st.y, vy: st.vy, brackets: st.brackets })) } });
    }
    const results = await workers.run(tasks, stale);
    results.forEach((res, t) => res.forEach((r, k) => {
      const st = tasks[t].items[k];
      st.brackets = r.brackets; st.open = r.open; st.width = width;
    }));
  }
  const intervals = (n, phase) => {
    const st = store.get(`${n}|${phase}`);
    return E.intervalsOf(st.brackets, st.open);
  };
  for (let k = 0; k < stages.length; k++) {
    const stage = stages[k];
    const width = Math.max(stage.tolerance * lo / 4, E.DEFAULT_ENERGY_TOL);
    let ts;
    if (gate !== "levels") {
      await solve([[0, 0.0]], width, stage.scan);
      ts = { gate, levels: [0], states: [[{ phase: 0.0, intervals: intervals(0, 0.0), weight: 1.0 }]], upper: mm.U0 };
    } else {
      const nodes = stageNodes(E.levelNodes(nMax), stage.nodes);
      let phases = nodes.map(() => E.uniformPhases(stage.phases));
      await solve(nodes.flatMap((n, i) => phases[i].map((ph) => [n, ph])), width, stage.scan);
      const level = (i) => phases[i].map((ph) => ({ phase: ph, intervals: intervals(nodes[i], ph) }))
        .sort((u, v) => u.phase - v.phase);
      for (let pass = 0; pass < stage.refine; pass++) {  // lib.transmitting.transmitting_set's refinement
        const added = nodes.map((_, i) => E.refinementPhases(level(i), width));
        if (!added.some((a) => a.length)) break;
        await solve(nodes.flatMap((n, i) => added[i].map((ph) => [n, ph])), width, stage.scan);
        phases = phases.map((ph, i) => ph.concat(added[i]));
      }
      ts = { gate, levels: nodes, states: nodes.map((_, i) => E.withWeights(level(i))), upper: mm.U0 };
    }
    if (stale()) throw CANCELLED;
    const { probability, activation } = E.quadrature(p.experiment, ts, omegas);
    const done = k === stages.length - 1;
    emit({ omegas, probability, activation, nMax, converged: done, stage: k }, done);
  }
}

// The "Monte Carlo in the kernel" control. Hidden until the kernel answers a ping: the static book
// has no kernel, so there it never shows. `redraw(mc)` draws the points.
function kernelControl(model, params, redraw) {
  const box = document.createElement("div");
  box.className = "lib-explorer-kernel";
  box.style.cssText = "font-size:0.85em;margin:4px 0;display:none";
  box.dataset.kernel = "none";
  const button = document.createElement("button");
  button.textContent = "Monte Carlo in the kernel";
  const mc = C.monte_carlo;
  const trials = document.createElement("input");
  Object.assign(trials, { type: "number", min: mc.min, max: mc.max, step: 100, value: mc.trials });
  trials.setAttribute("data-lm-suppress-shortcuts", "true");
  trials.style.width = "6em";
  const label = document.createElement("label");
  label.append(" trials per temperature ", trials);
  const state = document.createElement("span");
  state.className = "lib-explorer-kernel-status";
  state.style.cssText = "margin-left:0.8em;color:#444";
  state.textContent = "Points with error bars from lib.transmission_probability, run in the kernel.";
  box.append(button, label, state);
  let request = 0;
  model.on("msg:custom", (msg) => {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "pong" && box.dataset.kernel === "none") {
      box.dataset.kernel = "connected";
      box.style.display = "block";
    } else if (msg.type === "monte_carlo_result" && msg.id === request) {
      button.disabled = false;
      state.textContent = `${msg.trials.toLocaleString("en-US")} trials at each of ${msg.temperature.length} ` +
        "temperatures, from lib.transmission_probability in the kernel.";
      box.dataset.points = String(msg.temperature.length);
      redraw(msg);
    } else if (msg.type === "monte_carlo_error" && msg.id === request) {
      button.disabled = false;
      state.textContent = `The kernel could not run it: ${msg.message}`;
    }
  });
  button.addEventListener("click", () => {
    const n = Number(trials.value);
    if (!Number.isInteger(n) || n < mc.min || n > mc.max) {
      state.textContent = `Trials must be an integer between ${mc.min} and ${mc.max.toLocaleString("en-US")} per temperature.`;
      return;
    }
    request += 1;
    button.disabled = true;
    state.textContent = "Running in the kernel…";
    const lo = Math.min(params.omega_min, params.omega_max), hi = Math.max(params.omega_min, params.omega_max);
    model.send({ type: "monte_carlo", id: request, trials: n, seed: 0,
      params: { experiment: params.experiment, s: params.s, M: params.M, omega_min: lo, omega_max: hi } });
  });
  try { model.send({ type: "ping" }); } catch (e) { /* no kernel: the control stays hidden */ }
  return box;
}

// -- the widget ---------------------------------------------------------------------------------------
function render({ model, el }) {
  const kind = model.get("kind");
  const spec = EXPLORERS[kind];
  const table = C.kinds[kind];
  const params = { ...model.get("params") };
  const root = document.createElement("div");
  root.className = `lib-explorer lib-explorer-${kind}`;
  root.dataset.updates = "0";  // figures finished (the last stage of each move)
  root.dataset.draws = "0";    // figures drawn, stages included
  // Its own light background and dark text, whatever the page's theme (dark mode included).
  root.style.cssText = "font-family:sans-serif;max-width:760px;background:#fff;color:#222;color-scheme:light;" +
    "padding:6px 8px;border-radius:4px";
  // Navigation keys stay in the explorer: JupyterLab and Notebook 7 would take them for their commands.
  root.addEventListener("keydown", (ev) => { if (NAVIGATION.has(ev.key)) ev.stopPropagation(); });
  const controls = document.createElement("div");
  const canvas = document.createElement("canvas");
  canvas.className = "lib-explorer-figure";
  const W = 720, H = spec.height, dpr = Math.max(1, window.devicePixelRatio || 1);
  canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
  canvas.style.cssText = `width:${W}px;max-width:100%;height:auto;display:block;margin-top:4px`;
  canvas.setAttribute("role", "img");
  const status = document.createElement("div");
  status.className = "lib-explorer-status";
  status.style.cssText = "font-size:0.8em;color:#444;min-height:1.2em";
  const note = document.createElement("div");
  note.style.cssText = "font-size:0.8em;color:#444";
  note.textContent = table.note;
  let generation = 0, data = null, mc = null;
  function draw() {
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
    const result = spec.draw(ctx, W, H, params, data, mc);
    canvas.setAttribute("aria-label", `${kind.replace("_", " ")} explorer figure`);
    return result;
  }
  function report(result) {
    try {
      model.set("result", { ...result, params: { ...params } });
      model.save_changes();
    } catch (e) { /* no kernel */ }
  }
  async function update(started) {
    const mine = ++generation;
    const stale = () => mine !== generation;
    root.dataset.busy = "1";
    delete root.dataset.error;
    let first = true;
    const emit = (fresh, done) => {
      if (stale()) return;
      data = fresh;
      const result = draw();
      const ms = performance.now() - started;
      root.dataset.draws = String(+root.dataset.draws + 1);
      if (first) { root.dataset.firstMs = String(ms); first = false; }
      if (done) {
        root.dataset.lastMs = String(ms);
        root.dataset.updates = String(+root.dataset.updates + 1);
        delete root.dataset.busy;
        status.textContent = "";
      } else {
        status.textContent = "Refining…";
      }
      report(result);
    };
    try {
      if (spec.compute) await spec.compute({ ...params }, emit, stale);
      else emit(null, true);
    } catch (error) {
      if (error === CANCELLED || stale()) return;
      status.textContent = `Could not compute this figure: ${error.message}`;
      root.dataset.error = error.message;
      delete root.dataset.busy;
    }
  }
  let queued = null;
  const schedule = () => {
    const started = performance.now();
    if (queued) cancelAnimationFrame(queued);
    queued = requestAnimationFrame(() => { queued = null; update(started); });
  };
  const widgets = {};
  const onInput = (key, value) => {
    params[key] = value;
    try { model.set("params", { ...params }); model.save_changes(); } catch (e) { /* no kernel */ }
    schedule();
  };
  for (const c of table.controls) {
    const w = (c.type === "choice" ? dropdown : slider)(c, params[c.key], onInput, params);
    widgets[c.key] = w;
    controls.append(w.row);
  }
  // params set from Python: move the controls and redraw
  model.on("change:params", () => {
    const next = model.get("params");
    if (!next || Object.keys(next).every((k) => next[k] === params[k])) return;
    Object.assign(params, next);
    for (const [key, w] of Object.entries(widgets)) if (key in next) w.set(next[key]);
    schedule();
  });
  root.append(controls, canvas, status, note);
  if (spec.kernel) controls.append(kernelControl(model, params, (points) => { mc = points; if (data) report(draw()); }));
  el.append(root);
  update(performance.now());
  return () => { generation += 1; };
}

export default { render };
