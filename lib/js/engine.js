// engine.js: the particle-oscillator model in JavaScript, for the book's explorers.
//
// An ES module with no dependencies and no DOM access: it runs in a page, in a
// Web Worker and in Node. It mirrors these functions of `lib` (the Python
// package is the reference; tests/test_js_engine.py checks agreement in
// headless Chromium):
//
//   interaction, derivative ........ lib.model.interaction, lib.kernels.derivative
//   expNeg, sincos2pi, negPower .... lib.fastmath.exp_neg, sincos_2pi, neg_power (same polynomials)
//   DOPRI54, ADAPTIVE control ...... lib.tableaus.DORMAND_PRINCE_54, lib.integrate.ADAPTIVE
//                                    (h0 1e-2, rtol = atol = 1e-8, max_dx = lambda, h_max 0.25,
//                                    free flight below 1e-12 U0, rotating frame, step budgets)
//   integrate, runOne, run ......... lib.kernels.integrate, free_flight, run_batch; stop rule
//                                    lib.kernels.has_ended / classify (x * vx >= 0)
//   trajectory ..................... lib.integrate.trajectory (records every step, no free flight)
//   initialStates, oscillatorState,
//   levelAmplitude ................. lib.experiments.initial_states, oscillator_state, level_amplitude
//   oscillatorInitial, phaseMap .... lib.phase_space.oscillator_initial, phase_space_map (both conventions)
//   levelNodes, findIntervals,
//   transmittingSet ................ lib.transmitting.level_nodes, find_intervals (scan + bisection in
//                                    particle energy at x_ref), transmitting_set (phase grid + refinement)
//   levelCutoff, quadrature ........ lib.quadrature.level_cutoff and the P(omega_T), E_a(omega_T) sums of
//                                    lib.quadrature.quadrature (no error estimate)
//   frozenBarrier, relaxedBarrier .. lib.barriers.frozen_barrier, relaxed_barrier
//
// Units as in lib: time in oscillator periods, lengths in l_osc, energies in hbar Omega.
// States are [x, vx, y, vy] with vx = dx/dtau.

export const FOUR_PI2 = 4.0 * Math.PI * Math.PI;
export const EIGHT_PI2 = 8.0 * Math.PI * Math.PI;
const TWO_PI = 2.0 * Math.PI;

export const REFLECTED = 0;
export const TRANSMITTED = 1;
export const UNDECIDED = -1;
const RECORD_FULL = -2;
const REACHED_END = -3;
const RUNNING = 2;

export const LAB = 0;
export const ROTATING = 1;
export const FROZEN = 2;

const SAFETY = 0.9;
const MIN_FACTOR = 0.2;
const MAX_FACTOR = 10.0;

// -- lib.fastmath ------------------------------------------------------------------
const LOG2E = 1.4426950408889634;
const LN2_HI = 6.93147180369123816490e-01;
const LN2_LO = 1.90821492927058770002e-10;
const EXP_MIN = -708.0;
const F = [];
{
  let f = 1.0;
  for (let n = 0; n < 18; n++) { if (n > 0) f *= n; F.push(1.0 / f); }
}
// lib computes 1/n! as 1.0 / math.factorial(n) (exact integers up to 17!), as here.
const [E0, E1, E2, E3, E4, E5, E6, E7, E8, E9, E10, E11, E12, E13] = F.slice(0, 14);
const S = [1, 3, 5, 7, 9, 11, 13, 15, 17].map((n) => F[n] * (Math.floor(n / 2) % 2 ? -1 : 1));
const C = [0, 2, 4, 6, 8, 10, 12, 14, 16].map((n) => F[n] * (Math.floor(n / 2) % 2 ? -1 : 1));

/** e^x for x <= 0 (clamped at e^-708), lib.fastmath.exp_neg. */
export function expNeg(x) {
  x = Math.max(x, EXP_MIN);
  const k = Math.floor(x * LOG2E + 0.5);
  const r = (x - k * LN2_HI) - k * LN2_LO;
  let p = E13;
  p = p * r + E12; p = p * r + E11; p = p * r + E10; p = p * r + E9; p = p * r + E8;
  p = p * r + E7; p = p * r + E6; p = p * r + E5; p = p * r + E4; p = p * r + E3;
  p = p * r + E2; p = p * r + E1; p = p * r + E0;
  return p * Math.pow(2, k);  // exact power of two, as lib assembles from the exponent bits
}

let SN = 0.0, CS = 0.0;  // results of sincosInto (no array allocated in the inner loop)

/** [sin 2 pi t, cos 2 pi t], lib.fastmath.sincos_2pi. */
export function sincos2pi(t) {
  sincosInto(t);
  return [SN, CS];
}

function sincosInto(t) {
  const f = t - Math.floor(t);
  let q = Math.floor(4.0 * f + 0.5);
  const a = TWO_PI * (f - 0.25 * q);
  const a2 = a * a;
  let s = S[8];
  for (let i = 7; i >= 1; i--) s = s * a2 + S[i];
  s = (s * a2 + S[0]) * a;
  let c = C[8];
  for (let i = 7; i >= 0; i--) c = c * a2 + C[i];
  q = q - 4.0 * Math.floor(0.25 * q);
  const odd = q === 1.0 || q === 3.0;
  const sign = q >= 2.0 ? -1.0 : 1.0;
  SN = sign * (odd ? c : s);
  CS = sign * (odd ? -s : c);
}

const _f64 = new Float64Array(1);
const _u32 = new Uint32Array(_f64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;  // index of the high word

/** x^-a for x > 0, about 1e-7 relative, lib.fastmath.neg_power. */
export function negPower(x, a) {
  x = Math.min(Math.max(x, 1e-280), 1e280);
  _f64[0] = x;
  const hi = _u32[HI];
  const e = ((hi >>> 20) & 0x7ff) - 1023;
  _u32[HI] = (hi & 0x000fffff) | 0x3ff00000;
  const m = _f64[0];
  const z = (m - 1.0) / (m + 1.0);
  const z2 = z * z;
  const lnM = 2.0 * z * (1.0 + z2 * (1.0 / 3.0 + z2 * (1.0 / 5.0 + z2 * (1.0 / 7.0 + z2 * (
    1.0 / 9.0 + z2 * (1.0 / 11.0 + z2 * (1.0 / 13.0 + z2 * (1.0 / 15.0))))))));
  const y = -a * (e * (LN2_HI + LN2_LO) + lnM);
  const r = expNeg(-Math.abs(y));
  return y > 0.0 ? 1.0 / r : r;
}

// -- lib.model -----------------------------------------------------------------------

/** Model parameters with lib's defaults (lib.model.Model): M, s, U0, lam, x0. */
export function model({ M = 1.0, s = 0.0, U0 = 10.0, lam = 2.0, x0 = -20.0 } = {}) {
  const check = (name, v, cond, what) => {
    if (typeof v !== "number" || !Number.isFinite(v)) throw new RangeError(`${name} must be finite, got ${v}`);
    if (cond && !cond(v)) throw new RangeError(`${name} must be ${what}, got ${v}`);
  };
  check("mass M", M, (v) => v > 0, "positive");
  check("impact parameter s", s);
  check("U0", U0, (v) => v >= 0, "non-negative");
  check("lambda", lam, (v) => v > 0, "positive");
  check("x0", x0, (v) => v < 0, "negative");
  return { M, s, U0, lam, x0, il2: 1.0 / (lam * lam) };
}

/** U, forces scaled by cx, cy (the kernels' order of operations), and d2U/dy2: lib.model.interaction. */
export function interaction(x, y, s, U0, il2, cx = 1.0, cy = 1.0) {
  const dy = y - s;
  const U = U0 * expNeg(-0.5 * (x * x + dy * dy) * il2);
  return [U, cx * x * il2 * U, cy * dy * il2 * U, il2 * U * (dy * dy * il2 - 1.0)];
}

/** U(x, y) + y^2 / 2 (lib.model.Model.landscape). */
export function landscape(m, x, y) {
  return interaction(x, y, m.s, m.U0, m.il2)[0] + 0.5 * y * y;
}

export const particleEnergy = (m, vx) => m.M * vx * vx / EIGHT_PI2;
export const oscillatorEnergy = (y, vy) => 0.5 * y * y + vy * vy / EIGHT_PI2;
export const speed = (m, energy) => Math.sqrt(EIGHT_PI2 * energy / m.M);

/** Distance beyond which U <= tol U0 whatever y is (lib.model.Model.free_flight_distance). */
export function freeFlightDistance(m, tol) {
  return tol >= 1.0 ? 0.0 : m.lam * Math.sqrt(2.0 * Math.log(1.0 / tol));
}

// -- lib.barriers ----------------------------------------------------------------------

/** The frozen barrier U(s) = U0 exp(-s^2 / 2 lambda^2) (lib.barriers.frozen_barrier). */
export function frozenBarrier(m) {
  return interaction(0.0, 0.0, m.s, m.U0, m.il2)[0];
}

/** Minima of V(0, y) = U(0, y) + y^2/2 over y, lowest first: [[y, V], ...] (lib.barriers.relaxed_barrier). */
export function relaxedBarrier(m) {
  // V'(y) = y - (y - s) il2 U: bracket its zeros on a grid (lib's bound), refine by bisection.
  const dV = (y) => y - (y - m.s) * m.il2 * interaction(0.0, y, m.s, m.U0, m.il2)[0];
  const V = (y) => landscape(m, 0.0, y);
  const reach = m.U0 / (m.lam * Math.sqrt(Math.E)) + Math.abs(m.s) + 1.0;  // lib.barriers' bracket
  const n = 4000;
  const minima = [];
  let y0 = -reach, d0 = dV(y0);
  for (let i = 1; i <= n; i++) {
    const y1 = -reach + (2 * reach * i) / n, d1 = dV(y1);
    if (d0 < 0 && d1 >= 0) {  // V falls then rises: a minimum
      let lo = y0, hi = y1;
      for (let k = 0; k < 80 && hi - lo > 1e-14 * (1 + Math.abs(lo)); k++) {
        const mid = 0.5 * (lo + hi);
        if (dV(mid) < 0) lo = mid; else hi = mid;
      }
      const y = 0.5 * (lo + hi);
      minima.push([y, V(y)]);
    }
    y0 = y1; d0 = d1;
  }
  minima.sort((a, b) => a[1] - b[1]);
  return minima;
}

// -- lib.tableaus, lib.integrate -----------------------------------------------------------

export const DOPRI54 = {
  A: [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
  ],
  b: [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0],
  c: [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
  e: [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40],
  errExponent: 1.0 / 5.0,
};

/** The defaults of lib.integrate.ADAPTIVE, before they are scaled to a model. */
export const ADAPTIVE = { h0: 1e-2, rtol: 1e-8, atol: 1e-8, maxDx: 1.0, hMax: 0.25, maxSteps: 1e8,
  maxRejected: 1e6, freeFlightTol: 1e-12 };

/** lib.integrate.Integrator.kernel_control for ``m``; ``options`` override ADAPTIVE's fields. */
export function control(m, options = {}) {
  const o = { ...ADAPTIVE, ...options };
  return { h0: o.h0, rtol: o.rtol, atol: o.atol, maxDx: o.maxDx * m.lam, hMax: o.hMax, maxSteps: o.maxSteps,
    maxRejected: o.maxRejected, freeDistance: o.freeFlightTol ? freeFlightDistance(m, o.freeFlightTol) : 0.0 };
}

/** lib.integrate.kernel_parameters: the default integrator runs in the rotating frame. */
export function params(m, frozen = false) {
  return { kx: FOUR_PI2 / m.M, s: m.s, U0: m.U0, il2: m.il2, frame: frozen ? FROZEN : ROTATING };
}

/** Time derivative of (x, vx, q2, q3) into out[0..3] (lib.kernels.derivative). */
function derivative(out, frame, t, x, vx, q2, q3, p) {
  let sn = 0.0, cs = 0.0, y = q2;
  if (frame === ROTATING) {
    sincosInto(t);
    sn = SN; cs = CS;
    y = q2 * cs + q3 * sn;
    const dy = y - p.s;
    const U = p.U0 * expNeg(-0.5 * (x * x + dy * dy) * p.il2);
    const ax = p.kx * x * p.il2 * U;
    const g = TWO_PI * dy * p.il2 * U;
    out[0] = vx; out[1] = ax; out[2] = -g * sn; out[3] = g * cs;
    return;
  }
  const dy = y - p.s;
  const U = p.U0 * expNeg(-0.5 * (x * x + dy * dy) * p.il2);
  const ax = p.kx * x * p.il2 * U;
  if (frame === FROZEN) { out[0] = vx; out[1] = ax; out[2] = 0.0; out[3] = 0.0; return; }
  const fy = 1.0 * dy * p.il2 * U;
  out[0] = vx; out[1] = ax; out[2] = q3; out[3] = FOUR_PI2 * (fy - y);
}

function harmonicTurn(y, w, sn, cs) {
  return [y * cs + w * sn, w * cs - y * sn];
}

function toRotating(u, t, frame) {
  if (frame !== ROTATING) return;
  const [sn, cs] = sincos2pi(t);
  [u[2], u[3]] = harmonicTurn(u[2], u[3] / TWO_PI, -sn, cs);
}

function toLab(u, t, frame) {
  if (frame !== ROTATING) return;
  const [sn, cs] = sincos2pi(t);
  const [y, w] = harmonicTurn(u[2], u[3], sn, cs);
  u[2] = y; u[3] = TWO_PI * w;
}

/** Exact free flight up to x = -distance (lib.kernels.free_flight); returns the time elapsed. */
function freeFlight(u, distance, frame) {
  const x = u[0], vx = u[1];
  if (!(x < -distance && vx > 0.0)) return 0.0;
  const dt = (-distance - x) / vx;
  u[0] = -distance;
  if (frame !== FROZEN) {
    const [sn, cs] = sincos2pi(dt);
    const [y, w] = harmonicTurn(u[2], u[3] / TWO_PI, sn, cs);
    u[2] = y; u[3] = TWO_PI * w;
  }
  return dt;
}

/** The stop rule of lib.kernels.has_ended: x * vx >= 0. */
export const hasEnded = (x, vx) => x * vx >= 0.0;

/** lib.kernels.classify. */
export function classify(x, vx) {
  if (hasEnded(x, vx)) return x > 0.0 ? TRANSMITTED : REFLECTED;
  return RUNNING;
}

function errorNorm(u, n, e, rtol, atol) {
  let acc = 0.0;
  for (let m = 0; m < 4; m++) {
    const r = e[m] / (atol + rtol * Math.max(Math.abs(u[m]), Math.abs(n[m])));
    acc += r * r;
  }
  return Math.sqrt(0.25 * acc);
}

// The scalar driver's buffers, allocated once per module (the engine is single-threaded). Stage k's
// derivative is K[4k .. 4k+3]; the tableau is flattened the same way.
const K = new Float64Array(28);
const KD = new Float64Array(4);
const TMP = new Float64Array(4);
const UNEW = new Float64Array(4);
const ERR = new Float64Array(4);
const A_FLAT = new Float64Array(49);
DOPRI54.A.forEach((row, i) => row.forEach((v, j) => { A_FLAT[7 * i + j] = v; }));
const B = Float64Array.from(DOPRI54.b), CN = Float64Array.from(DOPRI54.c), EW = Float64Array.from(DOPRI54.e);

function stage(k, frame, t, x, vx, q2, q3, p) {
  derivative(KD, frame, t, x, vx, q2, q3, p);
  K[4 * k] = KD[0]; K[4 * k + 1] = KD[1]; K[4 * k + 2] = KD[2]; K[4 * k + 3] = KD[3];
}

/**
 * Advance lab state ``u`` (length 4, in place) from time ``t``: lib.kernels.integrate with the
 * Dormand-Prince pair. ``tEnd > 0`` stops there; ``stop`` stops at the outcome; ``rec``, when
 * given, is an array that receives [t, x, vx, y, vy] after every accepted step (at most
 * ``maxRecord``). ``counts`` accumulates [accepted, evaluations, recorded, rejected].
 * Returns [status, t, h].
 */
export function integrate(u, t, h, p, ctl, tEnd, stop, rec = null, counts = [0, 0, 0, 0], maxRecord = Infinity) {
  const errExponent = DOPRI54.errExponent;
  const frame = p.frame;
  let status;
  if (stop) {
    status = classify(u[0], u[1]);
    if (status !== RUNNING) return [status, t, h];
  }
  const tStart = t;
  let tl = 0.0;
  toRotating(u, tl, frame);
  let haveFirst = false, rejectedLast = false;
  status = UNDECIDED;
  let steps = 0, rejected = 0;
  while (steps < ctl.maxSteps) {
    if (tEnd > 0.0 && tEnd - (tStart + tl) <= 1e-9 * h) { status = REACHED_END; break; }
    if (rec !== null && counts[2] >= maxRecord) { status = RECORD_FULL; break; }
    h = Math.min(h, Math.min(ctl.hMax, ctl.maxDx / Math.max(Math.abs(u[1]), 1e-300)));
    let hs = h;
    if (tEnd > 0.0 && tStart + tl + hs > tEnd) hs = tEnd - (tStart + tl);
    if (!haveFirst) { stage(0, frame, tl, u[0], u[1], u[2], u[3], p); counts[1] += 1; }
    for (let i = 1; i < 7; i++) {
      for (let m = 0; m < 4; m++) {
        let acc = 0.0;
        for (let j = 0; j < i; j++) acc += A_FLAT[7 * i + j] * K[4 * j + m];
        TMP[m] = u[m] + hs * acc;
      }
      stage(i, frame, tl + CN[i] * hs, TMP[0], TMP[1], TMP[2], TMP[3], p);
    }
    for (let m = 0; m < 4; m++) {
      let acc = 0.0;
      for (let i = 0; i < 7; i++) acc += B[i] * K[4 * i + m];
      UNEW[m] = u[m] + hs * acc;
    }
    for (let m = 0; m < 4; m++) {
      let acc = 0.0;
      for (let i = 0; i < 7; i++) acc += EW[i] * K[4 * i + m];
      ERR[m] = hs * acc;
    }
    counts[1] += 6;
    const en = errorNorm(u, UNEW, ERR, ctl.rtol, ctl.atol);
    // lib.kernels.new_step
    const factor = SAFETY * negPower(en, errExponent);
    const accepted = en <= 1.0;
    let grow = Math.min(MAX_FACTOR, factor);
    if (rejectedLast) grow = Math.min(1.0, grow);
    const hNext = hs * (accepted ? grow : Math.max(MIN_FACTOR, factor));
    // lib.kernels.step_failed
    const finite = Number.isFinite(UNEW[0]) && Number.isFinite(UNEW[1]) && Number.isFinite(UNEW[2])
      && Number.isFinite(UNEW[3]);
    if (en !== en || (accepted && !finite)) break;
    if (!accepted) {
      h = hNext; haveFirst = true; rejectedLast = true; counts[3] += 1; rejected += 1;
      if (rejected > ctl.maxRejected) break;
      continue;
    }
    rejectedLast = false;
    if (hs === h) h = hNext;
    for (let m = 0; m < 4; m++) u[m] = UNEW[m];
    tl += hs;
    steps += 1;
    counts[0] += 1;
    for (let m = 0; m < 4; m++) K[m] = K[24 + m];  // FSAL: the last stage is the next step's first
    haveFirst = true;
    if (rec !== null) {
      const lab = [u[0], u[1], u[2], u[3]];
      toLab(lab, tl, frame);
      rec.push([tStart + tl, lab[0], lab[1], lab[2], lab[3]]);
      counts[2] += 1;
    }
    if (stop) {
      status = classify(u[0], u[1]);
      if (status !== RUNNING) break;
      status = UNDECIDED;
    }
  }
  toLab(u, tl, frame);
  return [status, tStart + tl, h];
}

/** One trajectory to its outcome as lib.run does it (free flight first): [outcome, evaluations, t]. */
export function runOne(state, p, ctl) {
  const u = Float64Array.from(state);
  let t0 = 0.0;
  if (ctl.freeDistance > 0.0) t0 = freeFlight(u, ctl.freeDistance, p.frame);
  const counts = [0, 0, 0, 0];
  const [status, t] = integrate(u, t0, ctl.h0, p, ctl, -1.0, true, null, counts);
  return [status, counts[1], t, u];
}

/** Outcomes (Int8Array) of initial states given flat [x, vx, y, vy, x, ...] (lib.integrate.run). */
export function run(m, states, { frozen = false, options = {} } = {}) {
  const p = params(m, frozen), ctl = control(m, options);
  const n = states.length / 4;
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) out[i] = runOne(states.subarray ? states.subarray(4 * i, 4 * i + 4)
    : states.slice(4 * i, 4 * i + 4), p, ctl)[0];
  return out;
}

/**
 * One recorded trajectory (lib.integrate.trajectory): the whole path, no free flight. With
 * ``tEnd`` it runs to that time and the outcome is read off the last state. ``options`` override
 * the integrator's controls (e.g. { hMax: 0.005 } for smooth curves). Returns
 * { t, x, vx, y, vy (arrays), outcome }.
 */
export function trajectory(m, state, { frozen = false, tEnd = null, options = {}, maxPoints = 5e6 } = {}) {
  const p = params(m, frozen);
  const ctl = { ...control(m, options), freeDistance: 0.0 };
  const u = Float64Array.from(state);
  const rec = [[0.0, u[0], u[1], u[2], u[3]]];
  const counts = [0, 0, 0, 0];
  let [status] = integrate(u, 0.0, ctl.h0, p, ctl, tEnd === null ? -1.0 : tEnd, tEnd === null, rec, counts,
    maxPoints);
  if (status === REACHED_END || status === RECORD_FULL) {
    status = classify(u[0], u[1]);
    if (status === RUNNING) status = UNDECIDED;
  }
  const col = (k) => Float64Array.from(rec, (r) => r[k]);
  return { t: col(0), x: col(1), vx: col(2), y: col(3), vy: col(4), outcome: status };
}

// -- lib.experiments, lib.phase_space --------------------------------------------------------

export const levelAmplitude = (n) => Math.sqrt(2.0 * n + 1.0);
/** Oscillator [y0, vy0] = [A sin phi, 2 pi A cos phi] (lib.experiments.oscillator_state). */
export const oscillatorState = (A, phase) => [A * Math.sin(phase), 2.0 * Math.PI * A * Math.cos(phase)];

/** Lab-frame initial state [x0, vx0, y0, vy0] (lib.experiments.initial_states, one row). */
export function initialState(m, particleEnergy, y0, vy0) {
  return [m.x0, Math.sqrt(EIGHT_PI2 * particleEnergy / m.M), y0, vy0];
}

export const CONVENTIONS = ["paper-text", "published-script"];

/** Oscillator [y0, vy0] for energy and phase under a convention (lib.phase_space.oscillator_initial). */
export function oscillatorInitial(energy, phase, convention = "paper-text") {
  if (!CONVENTIONS.includes(convention)) throw new RangeError(`convention must be one of ${CONVENTIONS}`);
  const A = Math.sqrt(2.0 * energy);
  const y0 = A * Math.sin(phase);
  const vy0 = convention === "paper-text" ? 2.0 * Math.PI * A * Math.cos(phase) : 2.0 * Math.PI * Math.cos(phase);
  return [y0, vy0];
}

export const PARTICLE_RANGE = [0.1, 12.0];
export const OSCILLATOR_RANGE = [0.0, 20.0];

/** numpy.linspace(lo, hi, n). */
export function linspace(lo, hi, n) {
  const out = new Float64Array(n);
  const step = (hi - lo) / (n - 1);
  for (let i = 0; i < n; i++) out[i] = lo + i * step;
  if (n > 1) out[n - 1] = hi;
  return out;
}

/**
 * Transmission map (lib.phase_space.phase_space_map): Uint8Array of grid x grid, row i (oscillator
 * energy) major, 1 where transmitted. ``rows`` = [first, end) computes part of the rows (for workers).
 */
export function phaseMap(m, phase, { grid = 200, convention = "paper-text", particleRange = PARTICLE_RANGE,
  oscillatorRange = OSCILLATOR_RANGE, rows = null } = {}) {
  const pe = linspace(particleRange[0], particleRange[1], grid);
  const oe = linspace(oscillatorRange[0], oscillatorRange[1], grid);
  const p = params(m, false), ctl = control(m);
  const [r0, r1] = rows || [0, grid];
  const out = new Uint8Array((r1 - r0) * grid);
  for (let i = r0; i < r1; i++) {
    const [y0, vy0] = oscillatorInitial(oe[i], phase, convention);
    for (let j = 0; j < grid; j++) {
      const s = initialState(m, pe[j], y0, vy0);
      out[(i - r0) * grid + j] = runOne(s, p, ctl)[0] === TRANSMITTED ? 1 : 0;
    }
  }
  return out;
}

// -- lib.transmitting ------------------------------------------------------------------------

export const NEGLIGIBLE = 1e-12;
export const DENSE_LEVELS = 16;
export const NODES_PER_OCTAVE = 8;
export const JUMP_FACTOR = 4.0;

export const referencePosition = (m) => -freeFlightDistance(m, NEGLIGIBLE);

/** lib.transmitting.level_nodes. */
export function levelNodes(nMax) {
  const nodes = [];
  for (let n = 0; n <= Math.min(nMax, DENSE_LEVELS - 1); n++) nodes.push(n);
  let n = DENSE_LEVELS, step = DENSE_LEVELS / NODES_PER_OCTAVE;
  while (nodes[nodes.length - 1] < nMax) {
    nodes.push(n);
    n += step;
    if (n >= 2 * step * NODES_PER_OCTAVE) step *= 2;
  }
  return nodes;
}

function spacing(x) {  // numpy.spacing for positive x
  _f64[0] = x;
  const lo = _u32[1 - HI];
  _u32[1 - HI] = lo + 1;
  if (_u32[1 - HI] === 0) _u32[HI] += 1;
  return _f64[0] - x;
}

/**
 * Transmitting intervals of one gate state (y, vy) at x_ref: lib.transmitting.find_intervals for one
 * state. Returns [[a1, b1], ..., [ak, Infinity]] and counts trajectories in ``stats.runs``.
 */
export function findIntervals(m, y, vy, { frozen = false, scan = 32, energyTol = 1e-6, stats = null } = {}) {
  const top = m.U0;
  if (top === 0.0) return [[0.0, Infinity]];
  const p = params(m, frozen), ctl = control(m);
  const xRef = referencePosition(m);
  const transmits = (E) => {
    if (stats) stats.runs += 1;
    return runOne([xRef, Math.sqrt(EIGHT_PI2 * E / m.M), y, vy], p, ctl)[0] === TRANSMITTED;
  };
  const grid = [];
  for (let i = 0; i <= scan; i++) grid.push(top * i / scan);
  const table = grid.map((E, i) => (i === 0 ? false : i === scan ? true : transmits(E)));
  const width = Math.max(energyTol, 4.0 * spacing(top));
  const edges = [];
  for (let i = 0; i < scan; i++) {
    if (table[i] === table[i + 1]) continue;
    const rising = table[i + 1];
    let lo = grid[i], hi = grid[i + 1];
    while (hi - lo > width) {
      const mid = 0.5 * (lo + hi);
      if (transmits(mid) === rising) hi = mid; else lo = mid;
    }
    edges.push([0.5 * (lo + hi), rising]);
  }
  const out = [];
  for (const [E, rising] of edges) {
    if (rising) out.push([E, Infinity]); else out[out.length - 1][1] = E;
  }
  return out;
}

function trapezoidWeights(phases) {
  const n = phases.length;
  if (n === 1) return [1.0];
  const gaps = phases.map((ph, i) => (i + 1 < n ? phases[i + 1] : phases[0] + TWO_PI) - ph);
  return gaps.map((g, i) => 0.5 * (g + gaps[(i + n - 1) % n]) / TWO_PI);
}

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  const k = v.length >> 1;
  return v.length % 2 ? v[k] : 0.5 * (v[k - 1] + v[k]);
}

/** Cells (j, j+1) of one level whose intervals jump (lib.transmitting._jump_cells). */
function jumpCells(states, energyTol) {
  const n = states.length;
  const change = [], count = [];
  for (let j = 0; j < n; j++) {
    const a = states[j].intervals, b = states[(j + 1) % n].intervals;
    const width = Math.max(a.length, b.length);
    let c = 0;
    for (let r = 0; r < width; r++) {
      for (let k = 0; k < 2; k++) {
        const va = r < a.length ? a[r][k] : Infinity, vb = r < b.length ? b[r][k] : Infinity;
        const d = Math.abs(vb - va);
        if (Number.isFinite(d)) c = Math.max(c, d);
      }
    }
    change.push(c);
    count.push(a.length !== b.length);
  }
  const threshold = Math.max(JUMP_FACTOR * median(change), 10.0 * energyTol);
  const out = [];
  for (let j = 0; j < n; j++) if (count[j] || change[j] > threshold) out.push(j);
  return out;
}

/**
 * The transmitting set (lib.transmitting.transmitting_set): for gate 'frozen' or 'rest' one state;
 * for 'levels', every level node up to nMax with ``phases`` uniform phases refined ``refine`` times
 * where the intervals jump. Returns { gate, levels, states: [[{ phase, intervals, weight }, ...] per
 * level node], upper, runs }.
 */
export function transmittingSet(m, gate = "levels", { nMax = 0, phases = 64, refine = 4, scan = 32,
  energyTol = 1e-6, onProgress = null } = {}) {
  const stats = { runs: 0 };
  const frozen = gate === "frozen";
  if (gate !== "levels") {
    const intervals = findIntervals(m, 0.0, 0.0, { frozen, scan, energyTol, stats });
    return { gate, levels: [0], states: [[{ phase: 0.0, intervals, weight: 1.0 }]], upper: m.U0, runs: stats.runs };
  }
  const levels = levelNodes(nMax);
  const states = levels.map((n, i) => {
    const level = levelStates(m, n, { phases, refine, scan, energyTol, stats });
    if (onProgress) onProgress((i + 1) / levels.length);
    return level;
  });
  return { gate, levels, states, upper: m.U0, runs: stats.runs };
}

/** The gate states of one level n: uniform phases refined where the intervals jump, with trapezoid weights. */
export function levelStates(m, n, { phases = 64, refine = 4, scan = 32, energyTol = 1e-6, stats = { runs: 0 } } = {}) {
  const solve = (phase) => {
    const [y, vy] = oscillatorState(levelAmplitude(n), phase);
    return { phase, intervals: findIntervals(m, y, vy, { scan, energyTol, stats }) };
  };
  {
    let level = [];
    for (let k = 0; k < phases; k++) level.push(solve(TWO_PI * k / phases));
    for (let pass = 0; pass < refine; pass++) {
      const cells = jumpCells(level, energyTol);
      if (!cells.length) break;
      const added = cells.map((j) => {
        const a = level[j].phase, b = j + 1 < level.length ? level[j + 1].phase : level[0].phase + TWO_PI;
        return solve((a + 0.5 * (b - a)) % TWO_PI);
      });
      level = level.concat(added).sort((u, v) => u.phase - v.phase);
    }
    const w = trapezoidWeights(level.map((st) => st.phase));
    level.forEach((st, k) => { st.weight = w[k]; });
    return level;
  }
}

// -- lib.quadrature --------------------------------------------------------------------------

export const GATE = { frozen: "frozen", deflected: "rest", thermal: "levels", joint: "levels" };
export const DENSITY = { frozen: "particle", deflected: "particle", thermal: "independent", joint: "split" };
export const EXPERIMENTS = Object.keys(GATE);
export const MAX_LEVEL = 100000;

/** Highest level needed at temperatures up to omegaMax (lib.quadrature.level_cutoff). */
export function levelCutoff(experiment, m, omegaMax, tolerance) {
  const extra = DENSITY[experiment] === "split" ? Math.log(m.U0 + 2.0) : 0.0;
  let n = m.U0 + omegaMax * (Math.log(1.0 / tolerance) + extra);
  for (let i = 0; i < 20; i++) n = m.U0 + omegaMax * (Math.log(1.0 / tolerance) + extra + Math.log(n + 1.0));
  if (n > MAX_LEVEL) throw new RangeError(`temperature ${omegaMax} is too high: it needs levels up to ${n}`);
  return Math.ceil(n);
}

// Per node: G[bucket] = sum over states and intervals clipped to the bucket of w (e^-beta a - e^-beta b),
// and dG = d/dbeta.
function nodeIntegrals(level, buckets, beta) {
  const G = new Float64Array(buckets.length), dG = new Float64Array(buckets.length);
  for (const st of level) {
    for (const [a0, b0] of st.intervals) {
      buckets.forEach(([lo, hi], k) => {
        const a = Math.min(Math.max(a0, lo), hi), b = Math.min(Math.max(b0, lo), hi);
        if (!(b > a)) return;
        const ea = Math.exp(-beta * a);
        G[k] += st.weight * ea; dG[k] += -a * st.weight * ea;
        if (Number.isFinite(b)) {
          const eb = Math.exp(-beta * b);
          G[k] -= st.weight * eb; dG[k] -= -b * st.weight * eb;
        }
      });
    }
  }
  return [G, dG];
}

// lib.quadrature._joint_above for one beta: arrays over n = 0..nMax.
function jointAbove(beta, nMax, top) {
  const q = Math.exp(-beta), oneQ = -Math.expm1(-beta);
  const K = Math.ceil(top);
  const mFirst = K + 1, mLast = K + nMax + 1;
  const extra = Math.ceil(45.0 / beta) + 1;
  const R = new Float64Array(mLast - mFirst + 1);
  let r = 0.0;
  for (let M = mLast + extra; M >= mFirst; M--) {
    r = 1.0 / M + q * r;
    if (M <= mLast) R[M - mFirst] = r;
  }
  const c = oneQ * Math.pow(q, K), dc = Math.pow(q, K + 1) - K * c;
  const F = new Float64Array(nMax + 1), dF = new Float64Array(nMax + 1);
  for (let n = 0; n <= nMax; n++) {
    const M = mFirst + n;
    const dR = M * R[n] - 1.0 / oneQ;
    F[n] = c * R[n]; dF[n] = dc * R[n] + c * dR;
    if (top < K) {
      const w = 1.0 / (Math.floor(top) + n + 1.0);
      const ea = Math.exp(-beta * top), eb = Math.exp(-beta * K);
      F[n] += w * (ea - eb); dF[n] += w * (-top * ea + K * eb);
    }
  }
  return [F, dF];
}

/**
 * P(omega_T) and E_a(omega_T) = -d ln P / d(1/omega_T) of an experiment from its transmitting set
 * ``ts`` (the sums of lib.quadrature.quadrature; levels between nodes interpolated linearly up to
 * the last node, n_max of lib's TransmittingSet; the levels above it cut off).
 * Returns { probability: [...], activation: [...] }.
 */
export function quadrature(experiment, ts, omegas) {
  const density = DENSITY[experiment];
  const nMax = ts.levels[ts.levels.length - 1];
  const buckets = density === "split"
    ? Array.from({ length: Math.max(1, Math.ceil(ts.upper)) }, (_, k) => [k, Math.min(k + 1, ts.upper)])
    : [[-Infinity, Infinity]];
  const probability = [], activation = [];
  for (const omega of omegas) {
    const beta = 1.0 / omega;
    const node = ts.states.map((level) => nodeIntegrals(level, buckets, beta));
    let P = 0.0, dP = 0.0;
    if (ts.gate !== "levels") {
      P = node[0][0][0]; dP = node[0][1][0];
    } else {
      const nodes = ts.levels;
      const q = Math.exp(-beta), oneQ = -Math.expm1(-beta);
      const [Fa, dFa] = density === "split" ? jointAbove(beta, nMax, ts.upper) : [null, null];
      let k = 0;
      for (let n = 0; n <= nMax; n++) {
        while (k + 1 < nodes.length && nodes[k + 1] <= n) k++;
        const k1 = Math.min(k + 1, nodes.length - 1);
        const span = nodes[k1] - nodes[k];
        const t = span > 0 ? (n - nodes[k]) / span : 0.0;
        let Fn = 0.0, dFn = 0.0;
        for (let bkt = 0; bkt < buckets.length; bkt++) {
          const g = (1 - t) * node[k][0][bkt] + t * node[k1][0][bkt];
          const dg = (1 - t) * node[k][1][bkt] + t * node[k1][1][bkt];
          const scale = density === "split" ? 1.0 / (bkt + n + 1.0) : 1.0;
          Fn += g * scale; dFn += dg * scale;
        }
        if (Fa) { Fn += Fa[n]; dFn += dFa[n]; }
        let W, dW;
        if (density === "independent") {
          W = oneQ * Math.pow(q, n); dW = W * (q / oneQ - n);
        } else {
          W = Math.pow(q, n); dW = -n * W;
        }
        P += W * Fn; dP += dW * Fn + W * dFn;
      }
    }
    probability.push(P);
    activation.push(-dP / P);
  }
  return { probability, activation };
}

/** Temperatures evenly spaced in 1/omega_T between lo and hi (as the explorer plots them). */
export function inverseSpaced(lo, hi, n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(1.0 / (1.0 / hi + (i / Math.max(1, n - 1)) * (1.0 / lo - 1.0 / hi)));
  return out.reverse();
}
