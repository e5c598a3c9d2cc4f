// engine.js: the particle-oscillator model in JavaScript, for the book's explorers.
//
// An ES module with no DOM access: it runs in a page, in a Web Worker and in Node. Every number it
// takes from lib (tableaus, integrator settings, controller constants, the polynomials of
// lib.fastmath, the transmitting-set constants, the experiments' gate and density tables, the model's
// defaults) comes from CONSTANTS, which lib.widgets.engine_constants() generates from the Python
// objects: lib.widgets.bundle() writes it into the module it ships, and constants.js holds the same
// for Node (tests/test_js_engine.py checks that it is fresh). The arithmetic is lib's, operation for
// operation, so the results are lib's bit for bit (checked there, under Node, with exact equality):
//
//   interaction, derivative ........ lib.model.interaction, lib.kernels.derivative
//   expNeg, sincos2pi, negPower .... lib.fastmath.exp_neg, sincos_2pi, neg_power
//   method, control ................ lib.integrate.Integrator.kernel_method, kernel_control (any tableau of
//                                    lib.tableaus, fixed or adaptive steps; ADAPTIVE and PAPER)
//   integrate, runOne, run ......... lib.kernels.integrate, free_flight, run_batch; the stop rule
//                                    lib.kernels.has_ended / classify (x * vx >= 0)
//   trajectory ..................... lib.integrate.trajectory (records every step, no free flight)
//   initialState, oscillatorState,
//   levelAmplitude ................. lib.experiments.initial_states, oscillator_state, level_amplitude
//   oscillatorInitial, phaseMap .... lib.phase_space.oscillator_initial, phase_space_map (both conventions)
//   levelNodes, findIntervals,
//   levelStates, transmittingSet ... lib.transmitting.level_nodes, find_intervals (scan + bisection in
//                                    particle energy at x_ref), transmitting_set (phase grid + refinement)
//   levelCutoff, quadrature ........ lib.quadrature.level_cutoff and the P(omega_T), E_a(omega_T) sums of
//                                    lib.quadrature.quadrature (no error estimate)
//   frozenBarrier, relaxedBarrier .. lib.barriers.frozen_barrier, relaxed_barrier (the same grids, and
//                                    scipy's brentq ported line by line)
//
// What is not lib's arithmetic: Math.sin, Math.cos, Math.log, Math.exp and Math.pow are the browser's,
// which differ from the C library's (numpy's) in the last bit for a few per cent of arguments. sin and
// cos of the gate's initial phase go through `trig`, which the tests replace with numpy's values to
// compare everything else exactly; the others enter only free-flight distances and level cutoffs
// (checked equal for the models tested) and the quadrature sums (equal to about 1e-15).
//
// Units as in lib: time in oscillator periods, lengths in l_osc, energies in hbar Omega.
// States are [x, vx, y, vy] with vx = dx/dtau.
import { CONSTANTS } from "./constants.js";

export { CONSTANTS };
const LIB = CONSTANTS;

export const { FOUR_PI2, EIGHT_PI2 } = LIB.model;
const { TWO_PI } = LIB.kernels;
export const { REFLECTED, TRANSMITTED, UNDECIDED } = LIB.kernels;
/** Why a trajectory stopped undecided (lib.kernels.DECIDED, STEP_BUDGET, ...; REASONS[code - 1] names it). */
export const { DECIDED, STEP_BUDGET, REJECTION_BUDGET, MINIMUM_STEP, NOT_FINITE, REASONS } = LIB.kernels;
const { RECORD_FULL, REACHED_END, RUNNING } = LIB.kernels;
export const { LAB, ROTATING, FROZEN } = LIB.kernels;
const { SAFETY, MIN_FACTOR, MAX_FACTOR, END_SLACK, SPEED_FLOOR } = LIB.kernels;

// -- lib.fastmath ------------------------------------------------------------------
const { LOG2E, LN2_HI, LN2_LO, EXP_MIN, POWER_MIN, POWER_MAX } = LIB.fastmath;
const [E0, E1, E2, E3, E4, E5, E6, E7, E8, E9, E10, E11, E12, E13] = LIB.fastmath.E;
const [S1, S3, S5, S7, S9, S11, S13, S15, S17] = LIB.fastmath.S;
const [C0, C2, C4, C6, C8, C10, C12, C14, C16] = LIB.fastmath.C;
const [A3, A5, A7, A9, A11, A13, A15] = LIB.fastmath.A;

/** e^x for x <= 0 (clamped at e^-708), lib.fastmath.exp_neg. */
export function expNeg(x) {
  x = Math.max(x, EXP_MIN);
  const k = Math.floor(x * LOG2E + 0.5);
  const r = (x - k * LN2_HI) - k * LN2_LO;
  let p = E13;
  p = p * r + E12; p = p * r + E11; p = p * r + E10; p = p * r + E9; p = p * r + E8;
  p = p * r + E7; p = p * r + E6; p = p * r + E5; p = p * r + E4; p = p * r + E3;
  p = p * r + E2; p = p * r + E1; p = p * r + E0;
  return p * Math.pow(2, k);  // an exact power of two, as lib assembles it from the exponent bits
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
  let s = S17;
  s = s * a2 + S15; s = s * a2 + S13; s = s * a2 + S11; s = s * a2 + S9; s = s * a2 + S7;
  s = s * a2 + S5; s = s * a2 + S3;
  s = (s * a2 + S1) * a;
  let c = C16;
  c = c * a2 + C14; c = c * a2 + C12; c = c * a2 + C10; c = c * a2 + C8; c = c * a2 + C6;
  c = c * a2 + C4; c = c * a2 + C2; c = c * a2 + C0;
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
  x = Math.min(Math.max(x, POWER_MIN), POWER_MAX);
  _f64[0] = x;
  const hi = _u32[HI];
  const e = ((hi >>> 20) & 0x7ff) - 1023;
  _u32[HI] = (hi & 0x000fffff) | 0x3ff00000;
  const m = _f64[0];
  const z = (m - 1.0) / (m + 1.0);
  const z2 = z * z;
  const lnM = 2.0 * z * (1.0 + z2 * (A3 + z2 * (A5 + z2 * (A7 + z2 * (A9 + z2 * (A11 + z2 * (A13 + z2 * A15)))))));
  const y = -a * (e * (LN2_HI + LN2_LO) + lnM);
  const r = expNeg(-Math.abs(y));
  return y > 0.0 ? 1.0 / r : r;
}

// -- lib.model -----------------------------------------------------------------------

/** Model parameters with lib's defaults (lib.model.Model): M, s, U0, lam, x0. */
export function model(values = {}) {
  const m = { ...LIB.model.defaults, ...values };
  const check = (name, v, cond, what) => {
    if (typeof v !== "number" || !Number.isFinite(v)) throw new RangeError(`${name} must be finite, got ${v}`);
    if (cond && !cond(v)) throw new RangeError(`${name} must be ${what}, got ${v}`);
  };
  check("mass M", m.M, (v) => v > 0, "positive");
  check("impact parameter s", m.s);
  check("U0", m.U0, (v) => v >= 0, "non-negative");
  check("lambda", m.lam, (v) => v > 0, "positive");
  check("x0", m.x0, (v) => v < 0, "negative");
  return { M: m.M, s: m.s, U0: m.U0, lam: m.lam, x0: m.x0, il2: 1.0 / (m.lam * m.lam) };
}

/** The Gaussian U = U0 exp(-(x^2 + dy^2) il2 / 2) with dy = y - s: the one place it is written. */
function gaussian(x, dy, U0, il2) {
  return U0 * expNeg(-0.5 * (x * x + dy * dy) * il2);
}

/** [U, cx Fx, cy Fy, d2U/dy2] at (x, y): lib.model.interaction (cx, cy applied first, as there). */
export function interaction(x, y, s, U0, il2, cx = 1.0, cy = 1.0) {
  const dy = y - s;
  const U = gaussian(x, dy, U0, il2);
  return [U, cx * x * il2 * U, cy * dy * il2 * U, il2 * U * (dy * dy * il2 - 1.0)];
}

/** U(x, y) + y^2 / 2 (lib.model.Model.landscape). */
export function landscape(m, x, y) {
  return gaussian(x, y - m.s, m.U0, m.il2) + 0.5 * y * y;
}

export const particleEnergy = (m, vx) => m.M * vx * vx / EIGHT_PI2;
export const oscillatorEnergy = (y, vy) => 0.5 * y * y + vy * vy / EIGHT_PI2;
export const speed = (m, energy) => Math.sqrt(EIGHT_PI2 * energy / m.M);

/** Distance beyond which U <= tol U0 whatever y is (lib.model.Model.free_flight_distance). */
export function freeFlightDistance(m, tol) {
  return tol >= 1.0 ? 0.0 : m.lam * Math.sqrt(2.0 * Math.log(1.0 / tol));
}

// -- lib.barriers ----------------------------------------------------------------------

/** The frozen barrier U(s) (lib.barriers.frozen_barrier). */
export function frozenBarrier(m) {
  return gaussian(0.0, 0.0 - m.s, m.U0, m.il2);
}

/**
 * scipy.optimize.brentq (scipy/optimize/Zeros/brentq.c, line by line): a root of f in [xa, xb],
 * where f changes sign, to within xtol + rtol |x|.
 */
export function brentq(f, xa, xb, xtol, rtol, iter = 100) {
  let xpre = xa, xcur = xb, xblk = 0.0, fblk = 0.0, spre = 0.0, scur = 0.0;
  let fpre = f(xpre), fcur = f(xcur);
  if (fpre * fcur > 0) throw new RangeError("brentq: f(a) and f(b) must have different signs");
  if (fpre === 0) return xpre;
  if (fcur === 0) return xcur;
  for (let i = 0; i < iter; i++) {
    if (fpre * fcur < 0) { xblk = xpre; fblk = fpre; spre = scur = xcur - xpre; }
    if (Math.abs(fblk) < Math.abs(fcur)) {
      xpre = xcur; xcur = xblk; xblk = xpre;
      fpre = fcur; fcur = fblk; fblk = fpre;
    }
    const delta = (xtol + rtol * Math.abs(xcur)) / 2;
    const sbis = (xblk - xcur) / 2;
    if (fcur === 0 || Math.abs(sbis) < delta) return xcur;
    if (Math.abs(spre) > delta && Math.abs(fcur) < Math.abs(fpre)) {
      let stry;
      if (xpre === xblk) {
        stry = -fcur * (xcur - xpre) / (fcur - fpre);  // interpolate
      } else {  // extrapolate
        const dpre = (fpre - fcur) / (xpre - xcur);
        const dblk = (fblk - fcur) / (xblk - xcur);
        stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre));
      }
      if (2 * Math.abs(stry) < Math.min(Math.abs(spre), 3 * Math.abs(sbis) - delta)) {
        spre = scur; scur = stry;  // good short step
      } else {
        spre = sbis; scur = sbis;  // bisect
      }
    } else {
      spre = sbis; scur = sbis;
    }
    xpre = xcur; fpre = fcur;
    if (Math.abs(scur) > delta) xcur += scur;
    else xcur += sbis > 0 ? delta : -delta;
    fcur = f(xcur);
  }
  throw new RangeError("brentq: no convergence");
}

/**
 * The relaxed barrier (lib.barriers.relaxed_barrier): the stable minima of f(y) = U(0, y) + y^2/2,
 * lowest first, as { energy, y, minima: [[y, f], ...] }. The same two grids bracket the roots of
 * f'(y) = y - Fy(0, y), brentq refines them, and the curvature 1 + d2U/dy2 keeps the minima.
 */
export function relaxedBarrier(m, grid = LIB.barriers.grid) {
  const slope = (y) => y - interaction(0.0, y, m.s, m.U0, m.il2)[2];
  const curvature = (y) => 1.0 + interaction(0.0, y, m.s, m.U0, m.il2)[3];
  const energy = (y) => landscape(m, 0.0, y);
  const bound = m.U0 / (m.lam * Math.sqrt(Math.E)) + Math.abs(m.s) + 1.0;
  const reach = Math.sqrt(2.0 * Math.log(Math.max(m.U0 / (m.lam * m.lam), 1.0) * 1e3 + 1.0)) + 2.0;
  const near = linspace(-reach, reach, grid).map((v) => Math.min(Math.max(m.s + m.lam * v, -bound), bound));
  const ys = Float64Array.from(new Set([...linspace(-bound, bound, grid), ...near])).sort();  // numpy.union1d
  const g = ys.map(slope);
  const roots = [];
  ys.forEach((y, i) => { if (g[i] === 0.0) roots.push(y); });
  for (let i = 0; i + 1 < ys.length; i++) {
    if (Math.sign(g[i]) * Math.sign(g[i + 1]) < 0) roots.push(brentq(slope, ys[i], ys[i + 1], 1e-14, 1e-15));
  }
  const isMinimum = (y) => {
    const c = curvature(y);
    if (c !== 0.0) return c > 0;
    const f0 = energy(y), h = 1e-3 * m.lam;
    return energy(y - h) >= f0 && energy(y + h) >= f0;
  };
  const minima = roots.filter(isMinimum).map((y) => [energy(y), y])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([e, y]) => [y, e]);
  if (!minima.length) throw new RangeError("no stable minimum found");
  return { energy: minima[0][1], y: minima[0][0], minima };
}

// -- lib.tableaus, lib.integrate -----------------------------------------------------------

/**
 * An integrator of lib.integrate.INTEGRATORS ("adaptive", "paper") as the kernels take it:
 * lib.integrate.Integrator.kernel_method, flattened: A row-major (stages x stages), b, c, e (empty
 * for fixed steps), errExponent, fsal.
 */
export function method(name = "adaptive") {
  const spec = LIB.integrators[name];
  if (!spec) throw new RangeError(`integrator must be one of ${Object.keys(LIB.integrators)}`);
  const t = spec.tableau, n = t.b.length;
  const A = new Float64Array(n * n);
  t.A.forEach((row, i) => row.forEach((v, j) => { A[n * i + j] = v; }));
  return { name, stages: n, A, b: Float64Array.from(t.b), c: Float64Array.from(t.c),
    e: Float64Array.from(spec.adaptive ? t.e : []), errExponent: spec.adaptive ? 1.0 / (t.error_order + 1) : 0.0,
    fsal: t.fsal, rotating: spec.rotating };
}

/** lib.integrate.Integrator.kernel_control for ``m``; ``options`` override the integrator's fields. */
export function control(m, options = {}, name = "adaptive") {
  const o = { ...LIB.integrators[name], ...options };
  return { h0: o.h, rtol: o.adaptive ? o.rtol : 0.0, atol: o.adaptive ? o.atol : 0.0, maxDx: o.max_dx * m.lam,
    hMax: o.h_max, hMin: o.h_min, maxSteps: o.max_steps, maxRejected: o.max_rejected,
    freeDistance: o.free_flight_tol === null ? 0.0 : freeFlightDistance(m, o.free_flight_tol) };
}

/** lib.integrate.kernel_parameters: a frozen oscillator overrides the integrator's frame. */
export function params(m, frozen = false, rotating = true) {
  return { kx: FOUR_PI2 / m.M, s: m.s, U0: m.U0, il2: m.il2, frame: frozen ? FROZEN : rotating ? ROTATING : LAB };
}

/** Everything one run needs: the model's parameters, the method and its control. */
export function setup(m, { frozen = false, integrator = "adaptive", options = {} } = {}) {
  const meth = method(integrator);
  return { p: params(m, frozen, meth.rotating), meth, ctl: control(m, options, integrator) };
}

/** Time derivative of (x, vx, q2, q3) into K[o .. o+3] (lib.kernels.derivative). */
function derivative(frame, t, x, vx, q2, q3, p, o) {
  if (frame === ROTATING) {
    sincosInto(t);
    const sn = SN, cs = CS;
    const dy = q2 * cs + q3 * sn - p.s;
    const U = gaussian(x, dy, p.U0, p.il2);
    const g = TWO_PI * dy * p.il2 * U;
    K[o] = vx; K[o + 1] = p.kx * x * p.il2 * U; K[o + 2] = -g * sn; K[o + 3] = g * cs;
    return;
  }
  const dy = q2 - p.s;
  const U = gaussian(x, dy, p.U0, p.il2);
  K[o] = vx; K[o + 1] = p.kx * x * p.il2 * U;
  if (frame === FROZEN) { K[o + 2] = 0.0; K[o + 3] = 0.0; return; }
  K[o + 2] = q3; K[o + 3] = FOUR_PI2 * (1.0 * dy * p.il2 * U - q2);
}

function harmonicTurn(y, w, sn, cs) {
  return [y * cs + w * sn, w * cs - y * sn];
}

function toRotating(u, t, frame) {
  if (frame !== ROTATING) return;
  sincosInto(t);
  [u[2], u[3]] = harmonicTurn(u[2], u[3] / TWO_PI, -SN, CS);
}

function toLab(u, t, frame) {
  if (frame !== ROTATING) return;
  sincosInto(t);
  const [y, w] = harmonicTurn(u[2], u[3], SN, CS);
  u[2] = y; u[3] = TWO_PI * w;
}

/** Exact free flight up to x = -distance (lib.kernels.free_flight); returns the time elapsed. */
function freeFlight(u, distance, frame) {
  const x = u[0], vx = u[1];
  if (!(x < -distance && vx > 0.0)) return 0.0;
  const dt = (-distance - x) / vx;
  u[0] = -distance;
  if (frame !== FROZEN) {
    sincosInto(dt);
    const [y, w] = harmonicTurn(u[2], u[3] / TWO_PI, SN, CS);
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
  const r0 = e[0] / (atol + rtol * Math.max(Math.abs(u[0]), Math.abs(n[0])));
  const r1 = e[1] / (atol + rtol * Math.max(Math.abs(u[1]), Math.abs(n[1])));
  const r2 = e[2] / (atol + rtol * Math.max(Math.abs(u[2]), Math.abs(n[2])));
  const r3 = e[3] / (atol + rtol * Math.max(Math.abs(u[3]), Math.abs(n[3])));
  return Math.sqrt(0.25 * (r0 * r0 + r1 * r1 + r2 * r2 + r3 * r3));
}

// The driver's buffers, allocated once per module (the engine is single-threaded). Stage k's
// derivative is K[4k .. 4k+3].
const K = new Float64Array(4 * 16);
const TMP = new Float64Array(4);
const UNEW = new Float64Array(4);
const ERR = new Float64Array(4);

/**
 * Advance lab state ``u`` (length 4, in place) from time ``t``: lib.kernels.integrate with method
 * ``meth`` (see method()). ``tEnd > 0`` stops there; ``stop`` stops at the outcome; ``rec``, when
 * given, is an array that receives [t, x, vx, y, vy] after every accepted step (at most
 * ``maxRecord``). ``counts`` accumulates [accepted, evaluations, recorded, rejected].
 * Returns [status, t, h, reason] (reason: why an undecided trajectory stopped, else DECIDED).
 */
export function integrate(u, t, h, p, meth, ctl, tEnd, stop, rec = null, counts = [0, 0, 0, 0], maxRecord = Infinity) {
  const { A, b, c, e, errExponent, fsal, stages: n } = meth;
  const adaptive = e.length > 0;
  const frame = p.frame;
  let status;
  if (stop) {
    status = classify(u[0], u[1]);
    if (status !== RUNNING) return [status, t, h, DECIDED];
  }
  const tStart = t;
  let tl = 0.0;
  toRotating(u, tl, frame);
  let haveFirst = false, rejectedLast = false;
  status = UNDECIDED;
  let reason = STEP_BUDGET;  // unless the loop ends otherwise
  let steps = 0, rejected = 0;
  while (steps < ctl.maxSteps) {
    if (tEnd > 0.0 && tEnd - (tStart + tl) <= END_SLACK * h) { status = REACHED_END; break; }
    if (rec !== null && counts[2] >= maxRecord) { status = RECORD_FULL; break; }
    if (adaptive) h = Math.min(h, Math.min(ctl.hMax, ctl.maxDx / Math.max(Math.abs(u[1]), SPEED_FLOOR)));
    let hs = h;
    if (tEnd > 0.0 && tStart + tl + hs > tEnd) hs = tEnd - (tStart + tl);
    if (!haveFirst) { derivative(frame, tl, u[0], u[1], u[2], u[3], p, 0); counts[1] += 1; }
    for (let i = 1; i < n; i++) {
      for (let m = 0; m < 4; m++) {
        let acc = 0.0;
        for (let j = 0; j < i; j++) acc += A[n * i + j] * K[4 * j + m];
        TMP[m] = u[m] + hs * acc;
      }
      derivative(frame, tl + c[i] * hs, TMP[0], TMP[1], TMP[2], TMP[3], p, 4 * i);
    }
    counts[1] += n - 1;
    for (let m = 0; m < 4; m++) {
      let acc = 0.0;
      for (let i = 0; i < n; i++) acc += b[i] * K[4 * i + m];
      UNEW[m] = u[m] + hs * acc;
    }
    let en = 0.0, accepted = true, hNext = h;
    if (adaptive) {
      for (let m = 0; m < 4; m++) {
        let acc = 0.0;
        for (let i = 0; i < n; i++) acc += e[i] * K[4 * i + m];
        ERR[m] = hs * acc;
      }
      en = errorNorm(u, UNEW, ERR, ctl.rtol, ctl.atol);
      // lib.kernels.new_step
      const factor = SAFETY * negPower(en, errExponent);
      accepted = en <= 1.0;
      let grow = Math.min(MAX_FACTOR, factor);
      if (rejectedLast) grow = Math.min(1.0, grow);
      hNext = hs * (accepted ? grow : Math.max(MIN_FACTOR, factor));
    }
    // lib.kernels.step_failed
    const finite = Number.isFinite(UNEW[0]) && Number.isFinite(UNEW[1]) && Number.isFinite(UNEW[2])
      && Number.isFinite(UNEW[3]);
    if (en !== en || (accepted && !finite)) { reason = NOT_FINITE; break; }
    if (!accepted) {
      h = hNext; haveFirst = true; rejectedLast = true; counts[3] += 1; rejected += 1;
      if (rejected > ctl.maxRejected) { reason = REJECTION_BUDGET; break; }
      if (hNext < ctl.hMin) { reason = MINIMUM_STEP; break; }
      continue;
    }
    if (adaptive) {
      rejectedLast = false;
      if (hs === h) h = hNext;
    }
    for (let m = 0; m < 4; m++) u[m] = UNEW[m];
    tl += hs;
    steps += 1;
    counts[0] += 1;
    if (fsal) {
      for (let m = 0; m < 4; m++) K[m] = K[4 * (n - 1) + m];  // the last stage is the next step's first
      haveFirst = true;
    } else {
      haveFirst = false;
    }
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
  if (status !== UNDECIDED) reason = DECIDED;
  toLab(u, tl, frame);
  return [status, tStart + tl, h, reason];
}

const U1 = new Float64Array(4);
const COUNTS = [0, 0, 0, 0];

/**
 * One trajectory to its outcome as lib.kernels.run_batch does it (free flight first) from the state
 * (x, vx, y, vy): returns the outcome; ``out``, when given, receives [evaluations, t, accepted, rejected,
 * reason].
 */
export function runOne(x, vx, y, vy, run, out = null) {
  U1[0] = x; U1[1] = vx; U1[2] = y; U1[3] = vy;
  let t0 = 0.0;
  if (run.ctl.freeDistance > 0.0) t0 = freeFlight(U1, run.ctl.freeDistance, run.p.frame);
  COUNTS[0] = 0; COUNTS[1] = 0; COUNTS[2] = 0; COUNTS[3] = 0;
  const [status, t, , reason] = integrate(U1, t0, run.ctl.h0, run.p, run.meth, run.ctl, -1.0, true, null, COUNTS);
  if (out) { out[0] = COUNTS[1]; out[1] = t; out[2] = COUNTS[0]; out[3] = COUNTS[3]; out[4] = reason; }
  return status;
}

/**
 * Outcomes of initial states given flat [x, vx, y, vy, x, ...] (lib.integrate.run): { outcome
 * (Int8Array), evaluations, accepted, rejected (Float64Array), reason (Int8Array), finalState (flat),
 * finalTime }.
 */
export function run(m, states, { frozen = false, integrator = "adaptive", options = {} } = {}) {
  const r = setup(m, { frozen, integrator, options });
  const n = states.length / 4;
  const outcome = new Int8Array(n), evaluations = new Float64Array(n), accepted = new Float64Array(n);
  const rejected = new Float64Array(n), finalState = new Float64Array(4 * n), finalTime = new Float64Array(n);
  const reason = new Int8Array(n);
  const info = [0, 0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    outcome[i] = runOne(states[4 * i], states[4 * i + 1], states[4 * i + 2], states[4 * i + 3], r, info);
    evaluations[i] = info[0]; finalTime[i] = info[1]; accepted[i] = info[2]; rejected[i] = info[3];
    reason[i] = info[4];
    finalState.set(U1, 4 * i);
  }
  return { outcome, evaluations, accepted, rejected, reason, finalState, finalTime };
}

/**
 * One recorded trajectory (lib.integrate.trajectory): the whole path, no free flight. With
 * ``tEnd`` it runs to that time and the outcome is read off the last state. ``options`` override
 * the integrator's controls (e.g. { h_max: 0.005 } for smooth curves). Returns
 * { t, x, vx, y, vy (arrays), outcome, accepted, rejected, reason }.
 */
export function trajectory(m, state, { frozen = false, tEnd = null, integrator = "adaptive", options = {},
  maxPoints = 5e6 } = {}) {
  const r = setup(m, { frozen, integrator, options });
  const ctl = { ...r.ctl, freeDistance: 0.0 };
  const u = Float64Array.from(state);
  const rec = [[0.0, u[0], u[1], u[2], u[3]]];
  const counts = [0, 0, 0, 0];
  let [status, , , reason] = integrate(u, 0.0, ctl.h0, r.p, r.meth, ctl, tEnd === null ? -1.0 : tEnd, tEnd === null, rec,
    counts, maxPoints);
  if (status === REACHED_END || status === RECORD_FULL) {
    status = classify(u[0], u[1]);
    if (status === RUNNING) status = UNDECIDED;
  }
  if (status !== UNDECIDED) reason = DECIDED;
  const col = (k) => Float64Array.from(rec, (row) => row[k]);
  return { t: col(0), x: col(1), vx: col(2), y: col(3), vy: col(4), outcome: status, accepted: counts[0],
    rejected: counts[3], reason };
}

// -- lib.experiments, lib.phase_space --------------------------------------------------------

/**
 * sin and cos of a gate's initial phase: Math's, or what the tests substitute (numpy's, to compare
 * the rest exactly; see the header).
 */
export const trig = { sin: Math.sin, cos: Math.cos };

export const levelAmplitude = (n) => Math.sqrt(2.0 * (n + 0.5));
/** Oscillator [y0, vy0] = [A sin phi, 2 pi A cos phi] (lib.experiments.oscillator_state). */
export const oscillatorState = (A, phase) => [A * trig.sin(phase), 2.0 * Math.PI * A * trig.cos(phase)];

/** Lab-frame initial state [x0, vx0, y0, vy0] (lib.experiments.initial_states, one row). */
export function initialState(m, particleEnergy, y0, vy0) {
  return [m.x0, Math.sqrt(EIGHT_PI2 * particleEnergy / m.M), y0, vy0];
}

export const { CONVENTIONS, PARTICLE_RANGE, OSCILLATOR_RANGE } = LIB.phase_space;

/** Oscillator [y0, vy0] for energy and phase under a convention (lib.phase_space.oscillator_initial). */
export function oscillatorInitial(energy, phase, convention = CONVENTIONS[0]) {
  if (!CONVENTIONS.includes(convention)) throw new RangeError(`convention must be one of ${CONVENTIONS}`);
  const A = Math.sqrt(2.0 * energy);
  const y0 = A * trig.sin(phase);
  const vy0 = convention === CONVENTIONS[0] ? 2.0 * Math.PI * A * trig.cos(phase) : 2.0 * Math.PI * trig.cos(phase);
  return [y0, vy0];
}

/** numpy.linspace(lo, hi, n). */
export function linspace(lo, hi, n) {
  const out = new Float64Array(n);
  const step = (hi - lo) / (n - 1);
  for (let i = 0; i < n; i++) out[i] = i * step + lo;
  if (n > 1) out[n - 1] = hi;
  return out;
}

/**
 * Transmission map (lib.phase_space.phase_space_map): Uint8Array of grid x grid, row i (oscillator
 * energy) major, 1 where transmitted. ``rows`` = [first, end) computes part of the rows (for workers).
 */
export function phaseMap(m, phase, { grid = 200, convention = CONVENTIONS[0], particleRange = PARTICLE_RANGE,
  oscillatorRange = OSCILLATOR_RANGE, rows = null } = {}) {
  const pe = linspace(particleRange[0], particleRange[1], grid);
  const oe = linspace(oscillatorRange[0], oscillatorRange[1], grid);
  const r = setup(m);
  const [r0, r1] = rows || [0, grid];
  const out = new Uint8Array((r1 - r0) * grid);
  for (let i = r0; i < r1; i++) {
    const [y0, vy0] = oscillatorInitial(oe[i], phase, convention);
    for (let j = 0; j < grid; j++) {
      const vx = Math.sqrt(EIGHT_PI2 * pe[j] / m.M);
      out[(i - r0) * grid + j] = runOne(m.x0, vx, y0, vy0, r) === TRANSMITTED ? 1 : 0;
    }
  }
  return out;
}

// -- lib.transmitting ------------------------------------------------------------------------

export const { NEGLIGIBLE, DENSE_LEVELS, NODES_PER_OCTAVE, JUMP_FACTOR, DEFAULT_SCAN, DEFAULT_PHASES,
  DEFAULT_REFINE, DEFAULT_ENERGY_TOL, MAX_LEVEL } = LIB.transmitting;

export const referencePosition = (m) => -freeFlightDistance(m, NEGLIGIBLE);

/** lib.transmitting.level_nodes. */
export function levelNodes(nMax) {
  const nodes = [];
  for (let n = 0; n <= Math.min(nMax, DENSE_LEVELS - 1); n++) nodes.push(n);
  let n = DENSE_LEVELS, step = Math.floor(DENSE_LEVELS / NODES_PER_OCTAVE);
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
 * The scan of lib.transmitting.find_intervals for one gate state (y, vy) at x_ref: outcomes at
 * ``scan`` + 1 energies evenly spaced in [0, U0] (0 reflects and U0 transmits: neither is run), and
 * a bracket [lo, hi, rising] for each change of outcome. Returns { brackets, runs }.
 */
export function scanState(m, y, vy, { frozen = false, scan = DEFAULT_SCAN } = {}) {
  const top = m.U0;
  if (top === 0.0) return { brackets: [], runs: 0, open: true };
  const r = setup(m, { frozen });
  const xRef = referencePosition(m);
  const grid = [];
  for (let i = 0; i <= scan; i++) grid.push(top * i / scan);
  let runs = 0;
  const table = grid.map((E, i) => {
    if (i === 0) return false;
    if (i === scan) return true;
    runs += 1;
    return runOne(xRef, Math.sqrt(EIGHT_PI2 * E / m.M), y, vy, r) === TRANSMITTED;
  });
  const brackets = [];
  for (let i = 0; i < scan; i++) if (table[i] !== table[i + 1]) brackets.push([grid[i], grid[i + 1], table[i + 1]]);
  return { brackets, runs };
}

/**
 * Bisect the brackets of one gate state (from scanState) until each is at most ``energyTol`` wide
 * (and no narrower than 4 ulp of U0), as lib.transmitting.find_intervals does; brackets already that
 * narrow are left as they are, so a coarse bisection continued to a finer tolerance ends exactly
 * where one from the scan would. Modifies ``brackets`` in place; returns the trajectories run.
 */
export function bisect(m, y, vy, brackets, { frozen = false, energyTol = DEFAULT_ENERGY_TOL } = {}) {
  if (!brackets.length) return 0;
  const r = setup(m, { frozen });
  const xRef = referencePosition(m);
  const width = Math.max(energyTol, 4.0 * spacing(m.U0));
  let runs = 0;
  for (const br of brackets) {
    let [lo, hi] = br;
    const rising = br[2];
    while (hi - lo > width) {
      const mid = 0.5 * (lo + hi);
      runs += 1;
      if ((runOne(xRef, Math.sqrt(EIGHT_PI2 * mid / m.M), y, vy, r) === TRANSMITTED) === rising) hi = mid;
      else lo = mid;
    }
    br[0] = lo; br[1] = hi;
  }
  return runs;
}

/** Intervals [[a1, b1], ..., [ak, Infinity]] from bisected brackets (lib.transmitting._pair_edges). */
export function intervalsOf(brackets, open = false) {
  if (open) return [[0.0, Infinity]];
  const out = [];
  for (const [lo, hi, rising] of brackets) {
    const E = 0.5 * (lo + hi);
    if (rising) out.push([E, Infinity]); else out[out.length - 1][1] = E;
  }
  return out;
}

/**
 * Transmitting intervals of one gate state (y, vy) at x_ref: lib.transmitting.find_intervals for one
 * state. Returns [[a1, b1], ..., [ak, Infinity]] and counts trajectories in ``stats.runs``.
 */
export function findIntervals(m, y, vy, { frozen = false, scan = DEFAULT_SCAN, energyTol = DEFAULT_ENERGY_TOL,
  stats = null } = {}) {
  if (m.U0 === 0.0) return [[0.0, Infinity]];
  const { brackets, runs } = scanState(m, y, vy, { frozen, scan });
  const more = bisect(m, y, vy, brackets, { frozen, energyTol });
  if (stats) stats.runs += runs + more;
  return intervalsOf(brackets);
}

/** Periodic trapezoid weights (summing to 1) of sorted phases in [0, 2 pi) (lib.transmitting). */
export function trapezoidWeights(phases) {
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

/** Cells (j, j+1) of one level, sorted by phase, whose intervals jump (lib.transmitting._jump_cells). */
export function jumpCells(states, energyTol) {
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

/** Uniform phases 2 pi k / count (lib.transmitting.transmitting_set's first grid). */
export function uniformPhases(count) {
  return Array.from({ length: count }, (_, k) => TWO_PI * k / count);
}

/** Phases added by one refinement pass: the midpoints of the cells that jump (sorted states). */
export function refinementPhases(states, energyTol) {
  return jumpCells(states, energyTol).map((j) => {
    const a = states[j].phase, b = j + 1 < states.length ? states[j + 1].phase : states[0].phase + TWO_PI;
    return (a + 0.5 * (b - a)) % TWO_PI;
  });
}

/** The gate states of one level n: uniform phases refined where the intervals jump, with trapezoid weights. */
export function levelStates(m, n, { phases = DEFAULT_PHASES, refine = DEFAULT_REFINE, scan = DEFAULT_SCAN,
  energyTol = DEFAULT_ENERGY_TOL, stats = { runs: 0 } } = {}) {
  const solve = (phase) => {
    const [y, vy] = oscillatorState(levelAmplitude(n), phase);
    return { phase, intervals: findIntervals(m, y, vy, { scan, energyTol, stats }) };
  };
  let level = uniformPhases(phases).map(solve);
  for (let pass = 0; pass < refine; pass++) {
    const added = refinementPhases(level, energyTol);
    if (!added.length) break;
    level = level.concat(added.map(solve)).sort((u, v) => u.phase - v.phase);
  }
  return withWeights(level);
}

/** The states of one level with their trapezoid weights (``weight``), sorted by phase. */
export function withWeights(level) {
  const w = trapezoidWeights(level.map((st) => st.phase));
  return level.map((st, k) => ({ ...st, weight: w[k] }));
}

/**
 * The transmitting set (lib.transmitting.transmitting_set): for gate 'frozen' or 'rest' one state;
 * for 'levels', every level node up to nMax with ``phases`` uniform phases refined ``refine`` times
 * where the intervals jump. Returns { gate, levels, states: [[{ phase, intervals, weight }, ...] per
 * level node], upper, runs }.
 */
export function transmittingSet(m, gate = "levels", { nMax = 0, phases = DEFAULT_PHASES, refine = DEFAULT_REFINE,
  scan = DEFAULT_SCAN, energyTol = DEFAULT_ENERGY_TOL } = {}) {
  const stats = { runs: 0 };
  if (gate !== "levels") {
    const intervals = findIntervals(m, 0.0, 0.0, { frozen: gate === "frozen", scan, energyTol, stats });
    return { gate, levels: [0], states: [[{ phase: 0.0, intervals, weight: 1.0 }]], upper: m.U0, runs: stats.runs };
  }
  const levels = levelNodes(nMax);
  const states = levels.map((n) => levelStates(m, n, { phases, refine, scan, energyTol, stats }));
  return { gate, levels, states, upper: m.U0, runs: stats.runs };
}

// -- lib.quadrature --------------------------------------------------------------------------

/** The experiments the browser computes: { name: { gate, density, frozen } } (lib.experiments' registry). */
export const EXPERIMENT = LIB.experiments;
export const EXPERIMENTS = Object.keys(EXPERIMENT);

/** Highest level needed at temperatures up to omegaMax (lib.quadrature.level_cutoff). */
export function levelCutoff(experiment, m, omegaMax, tolerance) {
  const extra = EXPERIMENT[experiment].density === "split" ? Math.log(m.U0 + 2.0) : 0.0;
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
  const Kt = Math.ceil(top);
  const mFirst = Kt + 1, mLast = Kt + nMax + 1;
  const extra = Math.ceil(45.0 / beta) + 1;
  const R = new Float64Array(mLast - mFirst + 1);
  let r = 0.0;
  for (let M = mLast + extra; M >= mFirst; M--) {
    r = 1.0 / M + q * r;
    if (M <= mLast) R[M - mFirst] = r;
  }
  const c = oneQ * Math.pow(q, Kt), dc = Math.pow(q, Kt + 1) - Kt * c;
  const F = new Float64Array(nMax + 1), dF = new Float64Array(nMax + 1);
  for (let n = 0; n <= nMax; n++) {
    const M = mFirst + n;
    const dR = M * R[n] - 1.0 / oneQ;
    F[n] = c * R[n]; dF[n] = dc * R[n] + c * dR;
    if (top < Kt) {
      const w = 1.0 / (Math.floor(top) + n + 1.0);
      const ea = Math.exp(-beta * top), eb = Math.exp(-beta * Kt);
      F[n] += w * (ea - eb); dF[n] += w * (-top * ea + Kt * eb);
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
  const density = EXPERIMENT[experiment].density;
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
