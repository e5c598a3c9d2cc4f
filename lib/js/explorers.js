// explorers.js: the front end of the book's four explorers (an anywidget ES module).
//
// lib/widgets.py bundles this file after a prelude that defines ENGINE_SOURCE (engine.js) and
// WORKER_SOURCE (worker.js) as strings; the engine is imported from a blob: URL and the Web
// Workers run engine + worker from another, so nothing is loaded from anywhere but the page.
// The synced traits are `kind` ("landscape", "trajectory", "phase_space", "transmission") and
// `params` (the controls' values); `result` reports a summary of the figure shown back to Python.
// Everything is computed here, in the reader's browser: the trajectory and the landscape on the
// page's thread, maps and transmitting sets in Workers (two at most, this machine has 2 cores).
const ENGINE_URL = URL.createObjectURL(new Blob([ENGINE_SOURCE], { type: "text/javascript" }));
const E = await import(ENGINE_URL);

const WONG = { black: "#000000", orange: "#E69F00", sky: "#56B4E9", green: "#009E73", yellow: "#F0E442",
  blue: "#0072B2", vermillion: "#D55E00", purple: "#CC79A7" };
const EXPERIMENT_TEXT = {
  frozen: "frozen: oscillator held fixed at y = 0 (Fig. 4a)",
  deflected: "deflected: oscillator starts at rest at y = 0, free to move (Fig. 4b)",
  thermal: "thermal: particle and oscillator from independent baths (Fig. 5a)",
  joint: "joint: total energy Boltzmann-distributed, split at random (Fig. 5b)",
};

// -- workers ----------------------------------------------------------------------------------
let POOL = null;
let NEXT_ID = 0;
function pool() {
  if (POOL) return POOL;
  const url = URL.createObjectURL(new Blob([ENGINE_SOURCE + "\n" + WORKER_SOURCE], { type: "text/javascript" }));
  const n = Math.max(1, Math.min(2, navigator.hardwareConcurrency || 2));
  POOL = Array.from({ length: n }, () => {
    const worker = new Worker(url, { type: "module" });
    const pending = new Map();
    worker.onmessage = (ev) => {
      const { id, result, error } = ev.data;
      const p = pending.get(id);
      pending.delete(id);
      if (error) p.reject(new Error(error)); else p.resolve(result);
    };
    return { call(task, args) {
      const id = NEXT_ID++;
      return new Promise((resolve, reject) => { pending.set(id, { resolve, reject }); worker.postMessage({ id, task, args }); });
    } };
  });
  return POOL;
}

// -- drawing ------------------------------------------------------------------------------------
function niceTicks(lo, hi, n = 5) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) out.push(Math.abs(v) < 1e-12 * span ? 0 : v);
  return out;
}
const fmt = (v) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(1) : String(+v.toPrecision(4)));

/** A plot box on a canvas: data -> pixel maps, frame, ticks, labels. */
function axes(ctx, box, xr, yr, { xlabel = "", ylabel = "", title = "", ylog = false } = {}) {
  const [x0, y0, w, h] = box;
  const ty = (v) => (ylog ? Math.log10(v) : v);
  const [ylo, yhi] = [ty(yr[0]), ty(yr[1])];
  const ax = { box, X: (v) => x0 + ((v - xr[0]) / (xr[1] - xr[0])) * w,
    Y: (v) => y0 + h - ((ty(v) - ylo) / (yhi - ylo)) * h };
  ctx.save();
  ctx.strokeStyle = "#000"; ctx.lineWidth = 1; ctx.strokeRect(x0, y0, w, h);
  ctx.fillStyle = "#000"; ctx.font = "11px sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const t of niceTicks(xr[0], xr[1])) {
    const px = ax.X(t); ctx.beginPath(); ctx.moveTo(px, y0 + h); ctx.lineTo(px, y0 + h + 4); ctx.stroke();
    ctx.fillText(fmt(t), px, y0 + h + 6);
  }
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  const yt = ylog ? niceTicks(Math.ceil(ylo), Math.floor(yhi), 6).filter(Number.isInteger).map((k) => Math.pow(10, k))
    : niceTicks(yr[0], yr[1]);
  for (const t of yt) {
    const py = ax.Y(t); ctx.beginPath(); ctx.moveTo(x0 - 4, py); ctx.lineTo(x0, py); ctx.stroke();
    ctx.fillText(ylog ? `1e${Math.round(Math.log10(t))}` : fmt(t), x0 - 6, py);
  }
  ctx.textAlign = "center"; ctx.textBaseline = "top"; ctx.font = "12px sans-serif";
  ctx.fillText(xlabel, x0 + w / 2, y0 + h + 22);
  ctx.textBaseline = "bottom"; ctx.fillText(title, x0 + w / 2, y0 - 6);
  ctx.save(); ctx.translate(x0 - 44, y0 + h / 2); ctx.rotate(-Math.PI / 2); ctx.textBaseline = "bottom";
  ctx.fillText(ylabel, 0, 0); ctx.restore();
  ctx.restore();
  return ax;
}

function line(ctx, ax, xs, ys, color, { width = 1.5, dash = [] } = {}) {
  const [x0, y0, w, h] = ax.box;
  ctx.save(); ctx.beginPath(); ctx.rect(x0, y0, w, h); ctx.clip();
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

function legend(ctx, x, y, items) {
  ctx.save(); ctx.font = "11px sans-serif"; ctx.textBaseline = "middle"; ctx.textAlign = "left";
  items.forEach(([label, color, dash], k) => {
    const yy = y + 15 * k;
    ctx.strokeStyle = color; ctx.fillStyle = color; ctx.lineWidth = 2; ctx.setLineDash(dash || []);
    ctx.beginPath(); ctx.moveTo(x, yy); ctx.lineTo(x + 18, yy); ctx.stroke();
    ctx.fillStyle = "#000"; ctx.fillText(label, x + 23, yy);
  });
  ctx.restore();
}

// cividis, as matplotlib's, at 9 stops (interpolated linearly)
const CIVIDIS = [[0, 34, 78], [35, 62, 112], [84, 87, 110], [112, 113, 115], [140, 138, 118], [170, 164, 115],
  [202, 191, 104], [234, 220, 86], [254, 232, 56]];
function cividis(t) {
  t = Math.min(1, Math.max(0, t)) * (CIVIDIS.length - 1);
  const k = Math.min(CIVIDIS.length - 2, Math.floor(t)), f = t - k;
  return CIVIDIS[k].map((c, i) => Math.round(c + f * (CIVIDIS[k + 1][i] - c)));
}

// -- controls --------------------------------------------------------------------------------------
function slider(spec, value, onInput) {
  const row = document.createElement("label");
  row.className = "lib-explorer-control";
  row.style.cssText = "display:flex;align-items:center;gap:0.6em;margin:2px 0;font-size:0.9em";
  const name = document.createElement("span"); name.textContent = spec.label; name.style.cssText = "width:13em";
  const input = document.createElement("input");
  Object.assign(input, { type: "range", min: spec.min, max: spec.max, step: spec.step ?? "any", value });
  input.dataset.key = spec.key; input.style.cssText = "flex:1;max-width:22em";
  const out = document.createElement("output"); out.style.cssText = "width:5em;font-variant-numeric:tabular-nums";
  const show = () => { out.textContent = (+input.value).toFixed(spec.digits ?? 2); };
  show();
  input.addEventListener("input", () => { show(); onInput(spec.key, +input.value); });
  row.append(name, input, out);
  return row;
}

function dropdown(spec, value, onInput) {
  const row = document.createElement("label");
  row.className = "lib-explorer-control";
  row.style.cssText = "display:flex;align-items:center;gap:0.6em;margin:2px 0;font-size:0.9em";
  const name = document.createElement("span"); name.textContent = spec.label; name.style.cssText = "width:13em";
  const select = document.createElement("select"); select.dataset.key = spec.key;
  for (const [v, text] of spec.options) {
    const o = document.createElement("option"); o.value = v; o.textContent = text; select.append(o);
  }
  select.value = value;
  select.addEventListener("input", () => onInput(spec.key, select.value));
  row.append(name, select);
  return row;
}

// -- the explorers -----------------------------------------------------------------------------------
const PI = Math.PI;
const phaseText = (p) => `${(p / PI).toFixed(3)}π`;

const EXPLORERS = {
  landscape: {
    note: "Computed in your browser on every move (no kernel): V(x, y) on a 281 × 221 grid and the barrier points.",
    controls: [
      { key: "U0", label: "height U₀ (ħΩ)", min: 0, max: 20, step: 0.01 },
      { key: "lam", label: "width λ", min: 0.5, max: 4, step: 0.01 },
      { key: "s", label: "impact parameter s", min: -3, max: 3, step: 0.01 },
    ],
    height: 460,
    draw(ctx, W, H, p) {
      const m = E.model({ U0: p.U0, lam: p.lam, s: p.s });
      const xr = [-7, 7], yr = [-5.5, 5.5];
      const ax = axes(ctx, [60, 30, W - 190, H - 90], xr, yr, { xlabel: "particle position x (l_osc)",
        ylabel: "oscillator position y (l_osc)", title: `U₀ = ${p.U0}, λ = ${p.lam}, s = ${p.s}` });
      const [bx, by, bw, bh] = ax.box;
      const img = ctx.createImageData(Math.round(bw), Math.round(bh));
      const vmax = 25;
      for (let j = 0; j < img.height; j++) {
        const y = yr[1] - ((j + 0.5) / img.height) * (yr[1] - yr[0]);
        for (let i = 0; i < img.width; i++) {
          const x = xr[0] + ((i + 0.5) / img.width) * (xr[1] - xr[0]);
          const v = E.landscape(m, x, y);
          const c = cividis(Math.floor(v) / vmax);  // filled contours one unit apart
          const o = 4 * (j * img.width + i);
          img.data[o] = c[0]; img.data[o + 1] = c[1]; img.data[o + 2] = c[2]; img.data[o + 3] = 255;
        }
      }
      ctx.putImageData(img, Math.round(bx), Math.round(by));
      axes(ctx, ax.box, xr, yr, {});
      const frozen = E.frozenBarrier(m), relaxed = E.relaxedBarrier(m);
      const mark = (x, y, color, r, filled) => {
        ctx.beginPath(); ctx.arc(ax.X(x), ax.Y(y), r, 0, 2 * PI);
        ctx.lineWidth = 2; ctx.strokeStyle = filled ? "#fff" : color; ctx.fillStyle = color;
        if (filled) ctx.fill(); ctx.stroke();
      };
      mark(0, 0, WONG.vermillion, 6, true);
      const star = (x, y, r, color, filled) => {  // the relaxed barrier points, as the chapter's text says
        ctx.beginPath();
        for (let k = 0; k < 10; k++) {
          const a = -PI / 2 + (k * PI) / 5, rr = k % 2 ? 0.45 * r : r;
          ctx.lineTo(ax.X(x) + rr * Math.cos(a), ax.Y(y) + rr * Math.sin(a));
        }
        ctx.closePath(); ctx.lineWidth = 1.5; ctx.strokeStyle = filled ? "#fff" : color; ctx.fillStyle = color;
        if (filled) ctx.fill(); ctx.stroke();
      };
      relaxed.forEach(([y], k) => star(0, y, k === 0 ? 10 : 7, WONG.sky, k === 0));
      // colour bar
      for (let k = 0; k < 200; k++) {
        const c = cividis(Math.floor((k / 200) * vmax) / vmax);
        ctx.fillStyle = `rgb(${c})`; ctx.fillRect(W - 118, by + bh - (k + 1) * bh / 200, 14, bh / 200 + 1);
      }
      ctx.fillStyle = "#000"; ctx.font = "11px sans-serif"; ctx.textAlign = "left";
      for (const v of [0, 5, 10, 15, 20, 25]) ctx.fillText(String(v), W - 100, by + bh - (v / vmax) * bh);
      ctx.fillText("V (ħΩ)", W - 118, by - 8);
      legend(ctx, 70, H - 14, [[`circle: frozen barrier (0, 0), U(s) = ${frozen.toFixed(3)}`, WONG.vermillion]]);
      legend(ctx, 360, H - 14, [[`star: relaxed barrier (0, ${relaxed[0][0].toFixed(2)}), E* = ${relaxed[0][1].toFixed(3)}`,
        WONG.sky]]);
      return { frozen_barrier: frozen, relaxed_barrier: relaxed[0][1], relaxed_y: relaxed[0][0] };
    },
  },

  trajectory: {
    note: "Computed in your browser on every move (no kernel): lib's adaptive Dormand-Prince integrator, ported to JavaScript.",
    controls: [
      { key: "E_particle", label: "particle energy (ħΩ)", min: 0.2, max: 15, step: 0.01 },
      { key: "E_oscillator", label: "oscillator energy (ħΩ)", min: 0, max: 15, step: 0.01 },
      { key: "phase", label: "oscillator phase φ (rad)", min: 0, max: 2 * PI, step: 0.001, digits: 3 },
      { key: "M", label: "mass M", min: 0.1, max: 10, step: 0.01 },
      { key: "s", label: "impact parameter s", min: -3, max: 3, step: 0.01 },
    ],
    height: 560,
    draw(ctx, W, H, p) {
      const m = E.model({ M: p.M, s: p.s });
      const [y0, vy0] = E.oscillatorInitial(p.E_oscillator, p.phase);
      const state = E.initialState(m, p.E_particle, y0, vy0);
      const decided = E.trajectory(m, state);
      const tStop = decided.t[decided.t.length - 1];
      const tr = E.trajectory(m, state, { tEnd: 2 * tStop, options: { hMax: 0.005 } });
      const n = tr.t.length;
      const ep = new Float64Array(n), eo = new Float64Array(n), eu = new Float64Array(n), et = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        ep[i] = E.particleEnergy(m, tr.vx[i]); eo[i] = E.oscillatorEnergy(tr.y[i], tr.vy[i]);
        eu[i] = E.interaction(tr.x[i], tr.y[i], m.s, m.U0, m.il2)[0]; et[i] = ep[i] + eo[i] + eu[i];
      }
      const names = { 1: "transmitted", 0: "reflected", [-1]: "undecided" };
      const range = (...arrs) => {
        let lo = Infinity, hi = -Infinity;
        for (const a of arrs) for (const v of a) { if (v < lo) lo = v; if (v > hi) hi = v; }
        const pad = 0.05 * (hi - lo || 1); return [lo - pad, hi + pad];
      };
      const tr_ = [0, tr.t[n - 1]];
      const left = 70, w = W - 100;
      ctx.fillStyle = "#000"; ctx.font = "bold 13px sans-serif"; ctx.textAlign = "center";
      ctx.fillText(`${names[decided.outcome]} (outcome ${decided.outcome})   E_particle = ${p.E_particle}, ` +
        `E_osc = ${p.E_oscillator}, φ = ${phaseText(p.phase)}, M = ${p.M}, s = ${p.s}`, W / 2, 16);
      const a1 = axes(ctx, [left, 40, w, 110], tr_, range(tr.x), { ylabel: "particle x" });
      line(ctx, a1, tr.t, tr.x, WONG.blue);
      const a2 = axes(ctx, [left, 180, w, 110], tr_, range(tr.y, [p.s]), { ylabel: "oscillator y" });
      line(ctx, a2, [0, tr_[1]], [p.s, p.s], "#000", { width: 0.6, dash: [2, 3] });
      line(ctx, a2, tr.t, tr.y, WONG.vermillion);
      const a3 = axes(ctx, [left, 320, w, 170], tr_, range(ep, eo, eu, et), { ylabel: "energy (ħΩ)",
        xlabel: "time τ (oscillator periods)" });
      line(ctx, a3, tr.t, ep, WONG.blue); line(ctx, a3, tr.t, eo, WONG.vermillion);
      line(ctx, a3, tr.t, eu, WONG.green); line(ctx, a3, tr.t, et, "#000", { dash: [5, 3] });
      for (const a of [a1, a2, a3]) line(ctx, a, [tStop, tStop], [-1e9, 1e9], "rgba(0,0,0,0.5)", { width: 1 });
      legend(ctx, left, H - 22, [["particle", WONG.blue], ["oscillator", WONG.vermillion]]);
      legend(ctx, left + 130, H - 22, [["interaction U", WONG.green], ["total", "#000", [5, 3]]]);
      legend(ctx, left + 280, H - 22, [["outcome decided", "rgba(0,0,0,0.5)"]]);
      return { outcome: decided.outcome, t_stop: tStop, points: n };
    },
  },

  phase_space: {
    note: "Computed in your browser (Web Workers, no kernel): one trajectory per grid point with lib's default integrator.",
    controls: [
      { key: "phase", label: "oscillator phase φ (rad)", min: 0, max: 2 * PI, step: 0.001, digits: 3 },
      { key: "s", label: "impact parameter s", min: -3, max: 3, step: 0.01 },
      { key: "M", label: "mass M", min: 0.1, max: 10, step: 0.01 },
      { key: "convention", label: "oscillator convention", options: [["paper-text", "paper text: A = √(2E)"],
        ["published-script", "published script: v_y0 = 2π cos φ"]] },
    ],
    height: 470,
    async compute(p) {
      const workers = pool();
      const grid = p.grid;
      const cut = Array.from({ length: workers.length + 1 }, (_, k) => Math.round((k * grid) / workers.length));
      const m = { M: p.M, s: p.s };
      const parts = await Promise.all(workers.map((w, k) => w.call("map", { m, phase: p.phase, grid,
        convention: p.convention, rows: [cut[k], cut[k + 1]] })));
      const out = new Uint8Array(grid * grid);
      let o = 0; for (const part of parts) { out.set(part, o); o += part.length; }
      return out;
    },
    draw(ctx, W, H, p, map) {
      const grid = p.grid;
      const m = E.model({ M: p.M, s: p.s });
      let sum = 0; for (const v of map) sum += v;
      const frac = sum / map.length;
      const xr = E.PARTICLE_RANGE, yr = E.OSCILLATOR_RANGE;
      const dx = (xr[1] - xr[0]) / (grid - 1) / 2, dy = (yr[1] - yr[0]) / (grid - 1) / 2;
      const ax = axes(ctx, [70, 30, W - 110, H - 100], [xr[0] - dx, xr[1] + dx], [yr[0] - dy, yr[1] + dy], {
        xlabel: "particle energy (ħΩ)", ylabel: "oscillator energy (ħΩ)",
        title: `φ = ${phaseText(p.phase)}, s = ${p.s}, M = ${p.M}, ${p.convention}  (${grid} × ${grid}, ` +
          `${(100 * frac).toFixed(1)}% transmitted)` });
      const [bx, by, bw, bh] = ax.box;
      const cw = bw / grid, ch = bh / grid;
      for (let i = 0; i < grid; i++) for (let j = 0; j < grid; j++) {
        ctx.fillStyle = map[i * grid + j] ? WONG.green : WONG.orange;
        ctx.fillRect(bx + j * cw, by + bh - (i + 1) * ch, cw + 0.5, ch + 0.5);
      }
      const ef = E.frozenBarrier(m);
      line(ctx, ax, [ef, ef], [-1, 21], "#000", { width: 1.2, dash: [6, 4] });
      axes(ctx, ax.box, [xr[0] - dx, xr[1] + dx], [yr[0] - dy, yr[1] + dy], {});
      legend(ctx, 80, H - 30, [["reflected", WONG.orange], ["transmitted", WONG.green],
        [`frozen barrier U(s) = ${ef.toFixed(3)}`, "#000", [6, 4]]].slice(0, 2));
      legend(ctx, 260, H - 30, [[`frozen barrier U(s) = ${ef.toFixed(3)}`, "#000", [6, 4]]]);
      return { transmitted_fraction: frac, grid };
    },
  },

  transmission: {
    note: "Computed in your browser (Web Workers, no kernel): the transmitting intervals of lib.transmitting " +
      "(scan and bisection in particle energy, per gate level and phase), then P and E_a by lib.quadrature's sums. " +
      "The Monte Carlo points (with error bars) come from lib.transmission_probability run by Python in the kernel.",
    kernel: true,
    controls: [
      { key: "experiment", label: "experiment", options: E.EXPERIMENTS.map((e) => [e, EXPERIMENT_TEXT[e]]) },
      { key: "s", label: "impact parameter s", min: -3, max: 3, step: 0.01 },
      { key: "M", label: "mass M", min: 0.1, max: 10, step: 0.01 },
      { key: "omega_min", label: "lowest temperature ω_T", min: 0.5, max: 5, step: 0.01 },
      { key: "omega_max", label: "highest temperature ω_T", min: 2, max: 20, step: 0.01 },
    ],
    height: 430,
    async compute(p) {
      return transmission(p);
    },
    draw(ctx, W, H, p, r, mc) {
      const m = E.model({ M: p.M, s: p.s });
      const ef = E.frozenBarrier(m), er = E.relaxedBarrier(m)[0][1];
      mc = mc && sameCurve(mc.params, p) ? mc : null;  // points of other parameters are not drawn
      const inv = r.omegas.map((w) => 1 / w);
      const xr = [0, Math.max(...inv) * 1.05];
      const pos = r.probability.concat(mc ? mc.probability : []).filter((v) => v > 0);
      const ylo = Math.pow(10, Math.floor(Math.log10(Math.min(...pos, Math.exp(-ef * xr[1]))) ));
      const half = (W - 40) / 2;
      const a = axes(ctx, [70, 30, half - 70, H - 110], xr, [Math.max(ylo, 1e-30), 1], { ylog: true,
        xlabel: "1/ω_T", ylabel: "P(ω_T)", title: `${p.experiment}, s = ${p.s}, M = ${p.M}` });
      const xs = Array.from({ length: 100 }, (_, k) => (xr[1] * k) / 99);
      line(ctx, a, xs, xs.map((x) => Math.exp(-ef * x)), "#000", { width: 1.2 });
      line(ctx, a, xs, xs.map((x) => Math.exp(-er * x)), "#000", { width: 1.2, dash: [6, 4] });
      line(ctx, a, inv, r.probability, WONG.blue, { width: 2 });
      ctx.fillStyle = WONG.blue;
      inv.forEach((x, k) => { ctx.beginPath(); ctx.arc(a.X(x), a.Y(r.probability[k]), 2.5, 0, 2 * PI); ctx.fill(); });
      if (mc) mcPoints(ctx, a, mc.temperature.map((w) => 1 / w), mc.probability, mc.ci95_low, mc.ci95_high, true);
      const wr = [0, Math.max(...r.omegas) * 1.05];
      const ea = r.activation.concat(mc ? mc.activation_energy : []).filter(Number.isFinite);
      const b = axes(ctx, [half + 70, 30, half - 80, H - 110], wr,
        [Math.min(0, ...ea, er) - 0.5, Math.max(...ea, ef, er) + 1], { xlabel: "ω_T", ylabel: "E_a(ω_T) (ħΩ)",
          title: "local activation energy -d ln P / d(1/ω_T)" });
      line(ctx, b, wr, [ef, ef], "#000", { width: 1.2 });
      line(ctx, b, wr, [er, er], "#000", { width: 1.2, dash: [6, 4] });
      line(ctx, b, r.omegas, r.activation, WONG.vermillion, { width: 2 });
      if (mc) mcPoints(ctx, b, mc.temperature, mc.activation_energy,
        mc.activation_energy.map((v, k) => v - mc.activation_stderr[k]),
        mc.activation_energy.map((v, k) => v + mc.activation_stderr[k]));
      legend(ctx, 80, H - 42, [[`frozen barrier U(s) = ${ef.toFixed(3)}`, "#000"],
        [`relaxed barrier E* = ${er.toFixed(3)}`, "#000", [6, 4]]]);
      legend(ctx, 80, H - 12, [[`P by quadrature, ${r.omegas.length} temperatures, levels ≤ ${r.nMax}, ` +
        `${r.runs.toLocaleString()} gate states`, WONG.blue]]);
      legend(ctx, half + 80, H - 42, [["E_a(ω_T) from the same sums", WONG.vermillion]]);
      if (mc) legend(ctx, half + 80, H - 12, [[`Monte Carlo in the kernel, ${mc.trials.toLocaleString()} trials`, "#000"]]);
      return { omega_T: r.omegas, probability: r.probability, activation_energy: r.activation, n_max: r.nMax };
    },
  },
};

// Kernel Monte Carlo points: a square per temperature with its error bar [lo, hi] (clipped to the
// axes); on a logarithmic axis (`positive`) a point with nothing transmitted has no place and is left out.
function mcPoints(ctx, ax, xs, ys, lo, hi, positive = false) {
  const [, by, , bh] = ax.box;
  const clip = (v) => Math.min(by + bh, Math.max(by, v));
  const Y = (v) => (v === null || !Number.isFinite(v) ? NaN : ax.Y(Math.max(v, 1e-300)));
  ctx.strokeStyle = "#000"; ctx.fillStyle = "#000"; ctx.lineWidth = 1; ctx.setLineDash([]);
  xs.forEach((x, k) => {
    const y = Y(ys[k]);
    if (!Number.isFinite(y) || (positive && !(ys[k] > 0))) return;
    const X = ax.X(x), y0 = Y(lo[k]), y1 = Y(hi[k]);
    ctx.beginPath();
    ctx.moveTo(X, clip(Number.isFinite(y0) ? y0 : by + bh)); ctx.lineTo(X, clip(Number.isFinite(y1) ? y1 : by));
    ctx.stroke();
    ctx.beginPath(); ctx.rect(X - 2.5, clip(y) - 2.5, 5, 5); ctx.fill();
  });
}

// Whether Monte Carlo points computed for parameters `q` belong on the curve of parameters `p`.
function sameCurve(q, p) {
  return q.experiment === p.experiment && q.s === p.s && q.M === p.M &&
    q.omega_min === Math.min(p.omega_min, p.omega_max) && q.omega_max === Math.max(p.omega_min, p.omega_max);
}

// The "Monte Carlo in the kernel" control. Disabled until the kernel answers a ping: the static
// book has no kernel, so there it stays disabled with its note. `redraw(mc)` draws the points.
function kernelControl(model, params, redraw) {
  const box = document.createElement("div");
  box.className = "lib-explorer-kernel";
  box.style.cssText = "font-size:0.85em;margin:4px 0";
  const button = document.createElement("button");
  button.textContent = "Monte Carlo in the kernel";
  button.disabled = true;
  const trials = document.createElement("input");
  Object.assign(trials, { type: "number", min: 100, max: 20000, step: 100, value: 2000, disabled: true });
  trials.style.width = "6em";
  const label = document.createElement("label");
  label.append(" trials per temperature ", trials);
  const state = document.createElement("span");
  state.className = "lib-explorer-kernel-status";
  state.style.cssText = "margin-left:0.8em;color:#444";
  state.textContent = "Monte Carlo needs a running kernel (Binder or JupyterLab); this page has none.";
  box.dataset.kernel = "none";
  box.append(button, label, state);
  let request = 0, started = 0;
  model.on("msg:custom", (msg) => {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "pong" && box.dataset.kernel === "none") {
      box.dataset.kernel = "connected";
      button.disabled = false; trials.disabled = false;
      state.textContent = "Kernel connected: lib.transmission_probability runs in Python.";
    } else if (msg.type === "monte_carlo_result" && msg.id === request) {
      button.disabled = false;
      const s = (performance.now() - started) / 1000;
      state.textContent = `${msg.trials.toLocaleString()} trials × ${msg.temperature.length} temperatures ` +
        `in the kernel: ${msg.elapsed.toFixed(1)} s computing, ${s.toFixed(1)} s in all.`;
      box.dataset.points = String(msg.temperature.length);
      redraw(msg);
    } else if (msg.type === "monte_carlo_error" && msg.id === request) {
      button.disabled = false;
      state.textContent = `Kernel error: ${msg.message}`;
    }
  });
  button.addEventListener("click", () => {
    const n = Number(trials.value);
    if (!Number.isInteger(n) || n < 100 || n > 20000) {
      state.textContent = "trials must be an integer between 100 and 20,000 per temperature.";
      return;
    }
    request += 1; started = performance.now();
    button.disabled = true;
    state.textContent = "running in the kernel…";
    const lo = Math.min(params.omega_min, params.omega_max), hi = Math.max(params.omega_min, params.omega_max);
    model.send({ type: "monte_carlo", id: request, trials: n, seed: 0,
      params: { experiment: params.experiment, s: params.s, M: params.M, omega_min: lo, omega_max: hi } });
  });
  try { model.send({ type: "ping" }); } catch (e) { /* no kernel: the button stays disabled */ }
  return box;
}

/** Resolution of the in-browser quadrature (coarser than lib's defaults, so it runs in about a second). */
export const QUADRATURE = { tolerance: 1e-2, phases: 16, refine: 2, scan: 16 };

const SETS = new Map();  // transmitting sets computed on this page, by model and gate

// The transmitting set for the explorer's parameters. Level nodes are nested (levelNodes(n) begins
// with levelNodes(n') for n' < n), so a set computed for the same model, gate and a bisection
// tolerance at least as fine is reused, and only missing level nodes are computed.
async function transmission(p) {
  const gate = E.GATE[p.experiment];
  const lo = Math.min(p.omega_min, p.omega_max), hi = Math.max(p.omega_min, p.omega_max);
  const omegas = E.inverseSpaced(lo, hi, p.temperatures);
  const q = QUADRATURE;
  const energyTol = Math.max(q.tolerance * lo / 4, 1e-6);
  const m = { M: p.M, s: p.s };
  const nMax = gate === "levels" ? E.levelCutoff(p.experiment, E.model(m), hi, q.tolerance) : 0;
  const key = JSON.stringify([p.M, p.s, gate]);
  let ts = SETS.get(key);
  if (ts && ts.energyTol > energyTol) ts = null;
  const options = { phases: q.phases, refine: q.refine, scan: q.scan, energyTol: ts ? ts.energyTol : energyTol,
    stats: { runs: 0 } };
  const workers = pool();
  if (!ts) {
    ts = gate === "levels" ? { gate, levels: [], states: [], upper: E.model(m).U0 }
      : await workers[0].call("rest", { m, gate, options });
    ts.energyTol = options.energyTol;
    SETS.set(key, ts);
  }
  if (gate === "levels") {
    const missing = E.levelNodes(nMax).slice(ts.levels.length);
    if (missing.length) {
      const share = workers.map((_, k) => missing.filter((_, i) => i % workers.length === k));
      const parts = await Promise.all(workers.map((w, k) => w.call("levels", { m, nodes: share[k], options })));
      missing.forEach((n, i) => { ts.levels.push(n); ts.states.push(parts[i % workers.length][Math.floor(i / workers.length)]); });
    }
  }
  const { probability, activation } = E.quadrature(p.experiment, ts, omegas);
  return { omegas, probability, activation, nMax, runs: ts.states.reduce((acc, level) => acc + level.length, 0) };
}

// -- the widget ---------------------------------------------------------------------------------------
function render({ model, el }) {
  const kind = model.get("kind");
  const spec = EXPLORERS[kind];
  const params = { ...model.get("params") };
  const root = document.createElement("div");
  root.className = `lib-explorer lib-explorer-${kind}`;
  root.dataset.updates = "0";
  // Its own light background and dark text, whatever the page's theme (dark mode included): the
  // notes and controls below are drawn in dark greys and the canvas in black on white.
  root.style.cssText = "font-family:sans-serif;max-width:760px;background:#fff;color:#222;color-scheme:light;" +
    "padding:6px 8px;border-radius:4px";
  const controls = document.createElement("div");
  const canvas = document.createElement("canvas");
  canvas.className = "lib-explorer-figure";
  const W = 720, H = spec.height, dpr = window.devicePixelRatio || 1;
  canvas.width = W * dpr; canvas.height = H * dpr;
  canvas.style.cssText = `width:${W}px;max-width:100%;height:auto;display:block;margin-top:4px`;
  const status = document.createElement("div");
  status.className = "lib-explorer-status";
  status.style.cssText = "font-size:0.8em;color:#444;min-height:1.2em";
  const note = document.createElement("div");
  note.style.cssText = "font-size:0.8em;color:#444";
  note.textContent = spec.note;
  let generation = 0, data = null, mc = null;
  function draw() {
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
    return spec.draw(ctx, W, H, params, data, mc);
  }
  async function update(started) {
    const mine = ++generation;
    root.dataset.busy = "1";
    status.textContent = "computing…";
    try {
      const fresh = spec.compute ? await spec.compute(params) : null;
      if (mine !== generation) return;  // a newer move superseded this one
      data = fresh;
      const result = draw();
      const ms = performance.now() - started;
      status.textContent = `Updated in ${ms.toFixed(0)} ms in this browser.`;
      root.dataset.lastMs = String(ms);
      root.dataset.updates = String(+root.dataset.updates + 1);
      delete root.dataset.busy;
      try { model.set("result", result); model.set("params", { ...params }); model.save_changes(); } catch (e) { /* no kernel */ }
    } catch (error) {
      if (mine !== generation) return;
      status.textContent = `Error: ${error.message}`;
      root.dataset.error = error.message;
      delete root.dataset.busy;
    }
  }
  let queued = null;
  const onInput = (key, value) => {
    params[key] = value;
    const started = performance.now();
    if (queued) cancelAnimationFrame(queued);
    queued = requestAnimationFrame(() => { queued = null; update(started); });
  };
  for (const c of spec.controls) controls.append((c.options ? dropdown : slider)(c, params[c.key], onInput));
  root.append(controls, canvas, status, note);
  if (spec.kernel) controls.append(kernelControl(model, params, (points) => { mc = points; if (data) draw(); }));
  el.append(root);
  update(performance.now());
  return () => { generation += 1; };
}

export default { render };
