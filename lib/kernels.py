"""Compiled (numba) kernels: explicit Runge-Kutta steps for any tableau, and
drivers that run trajectories to their outcome.

Everything here takes arrays, scalars and the named records below;
validation, random numbers and bookkeeping live in the Python wrappers
(:mod:`lib.integrate` builds the records, :mod:`lib.ensemble`). Work buffers are allocated once per call, never per
step. Functions compile lazily on first use and are cached on disk
(``cache=True``), so importing :mod:`lib` compiles nothing.

Two drivers share every formula:

:func:`integrate`
    one trajectory, scalar code; records the path if asked. Used for single
    trajectories and as the reference for the lane driver.
:func:`run_lanes`
    :data:`LANES` trajectories in lockstep, one per SIMD lane, each with its
    own step size and accept/reject decision; a lane whose trajectory ends
    takes the next one from the queue. The arithmetic of each lane is the
    scalar driver's, operation for operation (no fast-math reassociation,
    and :mod:`lib.fastmath` instead of the C library), so a trajectory's
    result does not depend on its lane, its neighbours or the batch size;
    ``tests/test_kernels.py`` checks bitwise equality.

Calling convention: three records (named tuples, which numba passes by
value and caches like any other argument type):

:class:`Params` ``(kx, s, U0, il2, frame)``
    the model: ``kx = 4 pi^2 / M``, impact parameter ``s``, ``U0``,
    ``il2 = 1 / lambda^2``, and the frame the oscillator is integrated in,
    :data:`LAB`, :data:`ROTATING` or :data:`FROZEN` (oscillator held fixed).
:class:`Method` ``(A, b, c, e, err_exponent, fsal)``
    the Runge-Kutta tableau; ``e`` is empty for fixed steps.
:class:`Control` ``(h0, rtol, atol, max_dx, h_max, h_min, max_steps, max_rejected, free_distance)``
    how it is driven: first (or fixed) step, tolerances, step limits,
    budgets of accepted and of rejected steps, and the free-flight distance
    (``0`` for none).

The scalar driver also takes its buffers as a :class:`Work` record
(:func:`make_work`), so that callers running many trajectories allocate once.

Lab-frame states are ``(x, vx, y, vy)``. In the rotating frame the last two
components are ``(a, b)`` with ``y = a cos(2 pi t) + b sin(2 pi t)``.

Outcome rule (the authors' scripts, :func:`has_ended` and :func:`classify`):
after every accepted step, the trajectory stops as soon as ``x * vx >= 0``;
it is *transmitted* if ``x > 0`` and *reflected* otherwise. For a repulsive
interaction both are final: on either side of ``x = 0`` the force on the
particle points away from the gate.

A trajectory also stops, *undecided*, when it exhausts either budget
(``max_steps`` accepted steps, more than ``max_rejected`` rejected ones),
when a rejected adaptive step's successor would be shorter than ``h_min``,
or when a step breaks it (:func:`step_failed`: a NaN error estimate, or a
non-finite state about to be accepted); it then keeps its last sound state.
Both drivers apply these rules identically and report, per trajectory, its
accepted and rejected steps and why it is undecided (:data:`REASONS`).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from .fastmath import neg_power, sincos_2pi
from .model import interaction

FOUR_PI2 = 4.0 * math.pi**2
TWO_PI = 2.0 * math.pi

# Outcome codes (int8 in the outcome arrays).
REFLECTED = 0
TRANSMITTED = 1
UNDECIDED = -1  # a step budget exhausted, or the state broke down, before an outcome
RECORD_FULL = -2  # trajectory recorder ran out of room (internal)
REACHED_END = -3  # reached the requested end time (trajectory recorder)
RUNNING = 2

# Why a trajectory stopped undecided (int8 in the reason arrays; DECIDED for one with an outcome).
DECIDED = 0
STEP_BUDGET = 1  # max_steps accepted steps without an outcome
REJECTION_BUDGET = 2  # more than max_rejected rejected steps
MINIMUM_STEP = 3  # a rejected step's successor would be shorter than h_min
NOT_FINITE = 4  # a NaN error estimate, or a non-finite state about to be accepted (step_failed)
REASONS = ("step_budget", "rejection_budget", "minimum_step", "not_finite")
"""Names of the undecided reasons, ``REASONS[code - 1]`` for codes STEP_BUDGET..NOT_FINITE."""

# Frames (Params.frame).
LAB = 0
ROTATING = 1
FROZEN = 2

# Step-size controller constants (Hairer, Norsett & Wanner, Sec. II.4).
SAFETY = 0.9  # aim below the tolerance so the next step is rarely rejected
MIN_FACTOR = 0.2  # never shrink a step by more than 5x at once
MAX_FACTOR = 10.0  # never grow a step by more than 10x at once
END_SLACK = 1e-9  # t_end counts as reached within this fraction of a step
SPEED_FLOOR = 1e-300  # the step cap's particle speed is at least this (a particle at rest is not divided by)

LANES = 64
"""Trajectories stepped together. LLVM vectorises each loop over lanes 8 or 16 wide and
unrolls it, so its vector body only runs for at least 24 lanes (``tests/test_kernels.py``
requires at least 32); 64 keeps the lanes busy while wasting little at the end of a batch
(the lanes past the last trajectory idle until the batch ends). No benchmark of other
lane counts is kept: the number is a compile-time constant of the kernels."""


class Params(NamedTuple):
    """The model as the kernels see it (built by :func:`lib.integrate.kernel_parameters`)."""

    kx: float  # 4 pi^2 / M
    s: float  # impact parameter
    U0: float  # height of the Gaussian
    il2: float  # 1 / lambda^2
    frame: int  # LAB, ROTATING or FROZEN


class Method(NamedTuple):
    """A Runge-Kutta method (built by :meth:`lib.integrate.Integrator.kernel_method`)."""

    A: np.ndarray  # stage coefficients, (stages, stages)
    b: np.ndarray  # weights
    c: np.ndarray  # nodes
    e: np.ndarray  # error weights b - b_hat; empty for fixed steps
    err_exponent: float  # step-size controller exponent, 1 / (error order + 1)
    fsal: bool  # last stage is the next step's first


class Control(NamedTuple):
    """How steps are taken (built by :meth:`lib.integrate.Integrator.kernel_control`)."""

    h0: float  # first trial step (adaptive) or the step (fixed)
    rtol: float  # mixed tolerance of adaptive steps
    atol: float
    max_dx: float  # largest particle displacement per adaptive step
    h_max: float  # largest adaptive step
    h_min: float  # smallest adaptive step after a rejection; a shorter one ends the trajectory
    max_steps: int  # budget of accepted steps
    max_rejected: int  # rejected steps tolerated; one more ends the trajectory
    free_distance: float  # exact free flight up to x = -free_distance (0: none)


class Work(NamedTuple):
    """Work buffers of the scalar driver (:func:`make_work`)."""

    K: np.ndarray  # stage derivatives, (stages, 4)
    tmp: np.ndarray  # stage state
    unew: np.ndarray  # proposed state
    err: np.ndarray  # local error estimate


@njit(cache=True, error_model="numpy")
def make_work(n_stages):
    """Buffers for :func:`integrate` with a method of ``n_stages`` stages."""
    return Work(np.empty((n_stages, 4)), np.empty(4), np.empty(4), np.empty(4))


@njit(cache=True, error_model="numpy", inline="always")
def derivative(frame, t, x, vx, q2, q3, kx, s, U0, il2):
    """Time derivative of ``(x, vx, q2, q3)`` at time ``t`` (paper Eq. 5).

    Lab frame: ``(q2, q3) = (y, vy)``. Rotating frame: ``(q2, q3) = (a, b)``
    and, by variation of constants, ``a' = -2 pi G sin(2 pi t)``,
    ``b' = 2 pi G cos(2 pi t)`` with ``G = -dU/dy``: the harmonic motion is
    exact, only the interaction moves ``(a, b)``, so far from the gate an
    adaptive step is not limited by the oscillator's period. Frozen: the
    oscillator stays at ``y = q2``.
    """
    if frame == ROTATING:
        sn, cs = sincos_2pi(t)
        y = q2 * cs + q3 * sn
    else:
        sn = 0.0
        cs = 0.0
        y = q2
    if frame == ROTATING:
        _, ax, g, _ = interaction(x, y, s, U0, il2, kx, TWO_PI)
        return vx, ax, -g * sn, g * cs
    _, ax, fy, _ = interaction(x, y, s, U0, il2, kx, 1.0)
    if frame == FROZEN:
        return vx, ax, 0.0, 0.0
    return vx, ax, q3, FOUR_PI2 * (fy - y)


@njit(cache=True, error_model="numpy", inline="always")
def harmonic_turn(y, w, sn, cs):
    """Free oscillator ``(y, w = vy / 2 pi)`` after turning by the angle with sine ``sn``, cosine ``cs``."""
    return y * cs + w * sn, w * cs - y * sn


@njit(cache=True, error_model="numpy")
def to_rotating(u, t, frame):
    """Lab state ``(x, vx, y, vy)`` at time ``t`` to ``(x, vx, a, b)``, in place (rotating frame only)."""
    if frame != ROTATING:
        return
    sn, cs = sincos_2pi(t)
    u[2], u[3] = harmonic_turn(u[2], u[3] / TWO_PI, -sn, cs)


@njit(cache=True, error_model="numpy")
def to_lab(u, t, frame):
    """Inverse of :func:`to_rotating`, in place."""
    if frame != ROTATING:
        return
    sn, cs = sincos_2pi(t)
    y, w = harmonic_turn(u[2], u[3], sn, cs)
    u[2] = y
    u[3] = TWO_PI * w


@njit(cache=True, error_model="numpy")
def free_flight(u, distance, frame):
    """Advance lab state ``u`` exactly to ``x = -distance`` if the particle is farther out.

    Beyond ``distance`` the interaction is negligible (see
    :meth:`lib.model.Model.free_flight_distance`): the particle moves
    uniformly and the oscillator turns in phase space. Returns the time
    elapsed (zero if nothing was done).
    """
    x = u[0]
    vx = u[1]
    if not (x < -distance and vx > 0.0):
        return 0.0
    dt = (-distance - x) / vx
    u[0] = -distance
    if frame != FROZEN:
        sn, cs = sincos_2pi(dt)
        y, w = harmonic_turn(u[2], u[3] / TWO_PI, sn, cs)
        u[2] = y
        u[3] = TWO_PI * w
    return dt


@njit(cache=True, error_model="numpy", inline="always")
def has_ended(x, vx):
    """The stop rule: the particle is at or past ``x = 0`` moving away, or at rest (``x * vx >= 0``)."""
    return x * vx >= 0.0


@njit(cache=True, error_model="numpy", inline="always")
def classify(x, vx):
    """Outcome code if the trajectory has ended (:func:`has_ended`), else RUNNING."""
    if has_ended(x, vx):
        if x > 0.0:
            return TRANSMITTED
        return REFLECTED
    return RUNNING


@njit(cache=True, error_model="numpy", inline="always")
def step_failed(en, accepted, n0, n1, n2, n3):
    """Whether a step attempt breaks the trajectory, which then stops undecided.

    Broken: the error norm ``en`` is NaN (pass ``0.0`` for fixed steps), or
    the step is ``accepted`` with a non-finite new state ``n``. An infinite
    error norm is not a failure: the step is rejected and shrunk. Written
    with comparisons and ``&`` only (``v - v == 0`` is false exactly for
    infinite and NaN ``v``), so that the loop over lanes vectorises.
    """
    finite = (n0 - n0 == 0.0) & (n1 - n1 == 0.0) & (n2 - n2 == 0.0) & (n3 - n3 == 0.0)
    return (en != en) | (accepted & (not finite))


@njit(cache=True, error_model="numpy", inline="always")
def step_cap(h, vx, h_max, max_dx):
    """Limit a proposed step: at most ``h_max``, and the particle moves at most ``max_dx``."""
    return min(h, min(h_max, max_dx / max(abs(vx), SPEED_FLOOR)))


@njit(cache=True, error_model="numpy", inline="always")
def new_step(hs, en, err_exponent, rejected_last):
    """Step-size controller: ``(accepted, next h)`` after a step ``hs`` with error norm ``en``.

    Accepted when ``en <= 1``; the next step is ``hs`` times
    ``SAFETY * en**(-err_exponent)`` clipped to ``[MIN_FACTOR, MAX_FACTOR]``,
    and not larger than ``hs`` right after a rejection. Written with
    selects only, so that the loop over lanes vectorises.
    """
    factor = SAFETY * neg_power(en, err_exponent)  # en = 0 gives a huge factor, clipped below
    accepted = en <= 1.0
    grow = min(MAX_FACTOR, factor)
    grow = min(1.0, grow) if rejected_last else grow
    shrink = max(MIN_FACTOR, factor)
    return accepted, hs * (grow if accepted else shrink)


@njit(cache=True, error_model="numpy")
def rk_step(t, u, h, params, method, work, first_stage):
    """One explicit Runge-Kutta step of size ``h`` from ``u`` at time ``t`` (scalar).

    Stages ``first_stage..`` are evaluated into rows of ``work.K`` (stage 0
    is supplied by the caller when ``first_stage == 1``). Writes the new
    state into ``work.unew`` and, when ``method.e`` is non-empty, the local
    error estimate into ``work.err``.
    """
    A, b, c, e = method.A, method.b, method.c, method.e
    K, tmp, unew, err = work.K, work.tmp, work.unew, work.err
    frame = params.frame
    n = b.shape[0]
    for i in range(first_stage, n):
        for m in range(4):
            acc = 0.0
            for j in range(i):
                acc += A[i, j] * K[j, m]
            tmp[m] = u[m] + h * acc
        K[i, 0], K[i, 1], K[i, 2], K[i, 3] = derivative(frame, t + c[i] * h, tmp[0], tmp[1], tmp[2], tmp[3],
                                                        params.kx, params.s, params.U0, params.il2)
    for m in range(4):
        acc = 0.0
        for i in range(n):
            acc += b[i] * K[i, m]
        unew[m] = u[m] + h * acc
    if e.shape[0] > 0:
        for m in range(4):
            acc = 0.0
            for i in range(n):
                acc += e[i] * K[i, m]
            err[m] = h * acc


@njit(cache=True, error_model="numpy", inline="always")
def error_norm(u0, u1, u2, u3, n0, n1, n2, n3, e0, e1, e2, e3, rtol, atol):
    """RMS of the error estimate ``e`` in units of ``atol + rtol * max(|u|, |unew|)``."""
    r0 = e0 / (atol + rtol * max(abs(u0), abs(n0)))
    r1 = e1 / (atol + rtol * max(abs(u1), abs(n1)))
    r2 = e2 / (atol + rtol * max(abs(u2), abs(n2)))
    r3 = e3 / (atol + rtol * max(abs(u3), abs(n3)))
    return math.sqrt(0.25 * (r0 * r0 + r1 * r1 + r2 * r2 + r3 * r3))


@njit(cache=True, error_model="numpy")
def integrate(u, t, h, params, method, control, t_end, stop_on_outcome, work, rec, counts):
    """Advance the lab-frame state ``u`` in place from time ``t`` (scalar driver).

    Fixed steps of size ``h`` if ``method.e`` is empty, else adaptive steps
    from trial step ``h`` with the mixed tolerance ``(control.rtol,
    control.atol)``; adaptive steps never exceed ``control.h_max`` nor move
    the particle by more than ``control.max_dx``. In the rotating frame the
    oscillator's phase origin is the starting time.

    Stops at the outcome (if ``stop_on_outcome``), at ``t_end`` (if
    positive), when ``rec`` is full, after ``control.max_steps`` accepted
    steps, after more than ``control.max_rejected`` rejected ones, when a
    rejected step's successor is shorter than ``control.h_min``, or when a
    step fails (:func:`step_failed`). Accepted steps are appended to ``rec``
    (lab-frame rows ``t, x, vx, y, vy``) from row ``counts[2]`` when ``rec``
    has rows. ``counts`` accumulates ``[accepted steps, derivative
    evaluations, recorded rows, rejected steps]``. ``work`` is
    :func:`make_work`'s buffers.

    Returns ``(status, t, h, reason)``, ``h`` being the step to try next
    and ``reason`` why an undecided trajectory stopped (:data:`STEP_BUDGET`,
    ...; :data:`DECIDED` otherwise); ``u`` is left in the lab frame.
    """
    adaptive = method.e.shape[0] > 0
    n_stages = method.b.shape[0]
    frame = params.frame
    K, unew, err = work.K, work.unew, work.err
    if stop_on_outcome:
        status = classify(u[0], u[1])
        if status != RUNNING:
            return status, t, h, DECIDED
    t_start = t
    tl = 0.0  # time since t_start: the rotating frame's phase
    to_rotating(u, tl, frame)
    have_first = False
    rejected_last = False
    status = UNDECIDED
    reason = STEP_BUDGET  # unless the loop ends otherwise
    steps = 0
    rejected = 0
    while steps < control.max_steps:
        # t_end counts as reached within END_SLACK of a step, so that
        # rounding in the accumulated time never adds a sliver of a step
        if t_end > 0.0 and t_end - (t_start + tl) <= END_SLACK * h:
            status = REACHED_END
            break
        if rec.shape[0] > 0 and counts[2] >= rec.shape[0]:
            status = RECORD_FULL
            break
        if adaptive:
            h = step_cap(h, u[1], control.h_max, control.max_dx)
        hs = h
        if t_end > 0.0 and t_start + tl + hs > t_end:
            hs = t_end - (t_start + tl)
        if not have_first:
            K[0, 0], K[0, 1], K[0, 2], K[0, 3] = derivative(frame, tl, u[0], u[1], u[2], u[3],
                                                            params.kx, params.s, params.U0, params.il2)
            counts[1] += 1
        rk_step(tl, u, hs, params, method, work, 1)
        counts[1] += n_stages - 1
        en = 0.0
        accepted = True
        h_next = h
        if adaptive:
            en = error_norm(u[0], u[1], u[2], u[3], unew[0], unew[1], unew[2], unew[3],
                            err[0], err[1], err[2], err[3], control.rtol, control.atol)
            accepted, h_next = new_step(hs, en, method.err_exponent, rejected_last)
        if step_failed(en, accepted, unew[0], unew[1], unew[2], unew[3]):
            reason = NOT_FINITE
            break  # undecided; u is the last sound state
        if not accepted:
            h = h_next
            have_first = True  # stage 0 is still f(u)
            rejected_last = True
            counts[3] += 1
            rejected += 1
            if rejected > control.max_rejected:
                reason = REJECTION_BUDGET
                break  # undecided
            if h_next < control.h_min:
                reason = MINIMUM_STEP
                break  # undecided
            continue
        if adaptive:
            rejected_last = False
            if hs == h:
                h = h_next
            # else: a step clipped to t_end keeps the previous proposal
        for m in range(4):
            u[m] = unew[m]
        tl += hs
        steps += 1
        counts[0] += 1
        if method.fsal:
            for m in range(4):
                K[0, m] = K[n_stages - 1, m]
            have_first = True
        else:
            have_first = False
        if rec.shape[0] > 0:
            r = counts[2]
            rec[r, 0] = t_start + tl
            for m in range(4):
                rec[r, m + 1] = u[m]
            to_lab(rec[r, 1:], tl, frame)
            counts[2] = r + 1
        if stop_on_outcome:
            status = classify(u[0], u[1])
            if status != RUNNING:
                break
            status = UNDECIDED
    if status != UNDECIDED:
        reason = DECIDED  # an outcome, or the end time or the record's end (trajectory recorder)
    to_lab(u, tl, frame)
    return status, t_start + tl, h, reason


@njit(cache=True, error_model="numpy")
def run_batch(u0, params, method, control, outcome, evaluations, steps, rejected, reason, u_end, t_end):
    """Run every initial state in ``u0`` (shape ``(n, 4)``) to its outcome, one at a time.

    Writes the outcome code of trajectory ``i`` into ``outcome[i]`` (int8),
    its number of derivative evaluations into ``evaluations[i]``, its
    accepted and rejected steps into ``steps[i]`` and ``rejected[i]``
    (int64) and why it is undecided into ``reason[i]`` (int8, :data:`DECIDED`
    when it has an outcome).
    If ``u_end`` has rows, the lab state and time at the stop go into
    ``u_end[i]`` and ``t_end[i]``. ``control.free_distance > 0`` enables the
    exact free flight up to ``x = -free_distance`` before integrating.
    """
    work = make_work(method.b.shape[0])
    u = np.empty(4)
    rec = np.empty((0, 5))
    counts = np.zeros(4, dtype=np.int64)
    keep_end = u_end.shape[0] > 0
    for i in range(u0.shape[0]):
        for m in range(4):
            u[m] = u0[i, m]
        t0 = 0.0
        if control.free_distance > 0.0:
            t0 = free_flight(u, control.free_distance, params.frame)
        counts[0] = 0
        counts[1] = 0
        counts[3] = 0
        status, t, h, why = integrate(u, t0, control.h0, params, method, control, -1.0, True, work, rec, counts)
        outcome[i] = status
        evaluations[i] = counts[1]
        steps[i] = counts[0]
        rejected[i] = counts[3]
        reason[i] = why
        if keep_end:
            for m in range(4):
                u_end[i, m] = u[m]
            t_end[i] = t


@njit(cache=True, error_model="numpy")
def _lane_derivatives(frame, k, ci, U, K, H, TL, T, params):
    """Stage ``k`` in every lane: ``K[k] = f(TL + ci H, U + H T)``.

    The frame is tested once, outside the loop over lanes, and each branch
    passes ``derivative`` a constant frame, so that after inlining the loop
    body is straight-line arithmetic that LLVM turns into vector code.
    """
    kx, s, U0, il2 = params.kx, params.s, params.U0, params.il2
    nl = U.shape[1]
    if frame == ROTATING:
        for l in range(nl):
            h = H[l]
            K[k, 0, l], K[k, 1, l], K[k, 2, l], K[k, 3, l] = derivative(
                ROTATING, TL[l] + ci * h, U[0, l] + h * T[0, l], U[1, l] + h * T[1, l],
                U[2, l] + h * T[2, l], U[3, l] + h * T[3, l], kx, s, U0, il2)
    elif frame == FROZEN:
        for l in range(nl):
            h = H[l]
            K[k, 0, l], K[k, 1, l], K[k, 2, l], K[k, 3, l] = derivative(
                FROZEN, TL[l] + ci * h, U[0, l] + h * T[0, l], U[1, l] + h * T[1, l],
                U[2, l] + h * T[2, l], U[3, l] + h * T[3, l], kx, s, U0, il2)
    else:
        for l in range(nl):
            h = H[l]
            K[k, 0, l], K[k, 1, l], K[k, 2, l], K[k, 3, l] = derivative(
                LAB, TL[l] + ci * h, U[0, l] + h * T[0, l], U[1, l] + h * T[1, l],
                U[2, l] + h * T[2, l], U[3, l] + h * T[3, l], kx, s, U0, il2)


@njit(cache=True, error_model="numpy")
def _lane_combine(W, n_stages, K, U, H, T, OUT, add_state):
    """``OUT = U + H * sum_i W[i] K[i]`` (or without ``U``) in every lane."""
    nl = U.shape[1]
    for m in range(4):
        for l in range(nl):
            T[m, l] = 0.0
        for i in range(n_stages):
            w = W[i]
            for l in range(nl):
                T[m, l] += w * K[i, m, l]
        if add_state:
            for l in range(nl):
                OUT[m, l] = U[m, l] + H[l] * T[m, l]
        else:
            for l in range(nl):
                OUT[m, l] = H[l] * T[m, l]


@njit(cache=True, error_model="numpy")
def _lane_stages(frame, first, n_stages, A, c, U, K, H, TL, T, params):
    """Stages ``first..n_stages-1`` for every lane."""
    nl = U.shape[1]
    for i in range(first, n_stages):
        for m in range(4):
            for l in range(nl):
                T[m, l] = 0.0
        for j in range(i):
            a = A[i, j]
            for m in range(4):
                for l in range(nl):
                    T[m, l] += a * K[j, m, l]
        _lane_derivatives(frame, i, c[i], U, K, H, TL, T, params)


@njit(cache=True, error_model="numpy")
def run_lanes(u0, params, method, control, outcome, evaluations, steps, rejected, reason, u_end, t_end):
    """Same contract and same results as :func:`run_batch`, :data:`LANES` trajectories at a time.

    Each pass of the main loop makes one step attempt in every lane (loops
    over lanes with a run-time bound and no branches, which LLVM
    vectorises), then, only if some lane finished, records its result and
    refills it from the queue (scalar code, once per trajectory).
    """
    A, b, c, e, err_exponent, fsal = method
    h0, rtol, atol = control.h0, control.rtol, control.atol
    max_dx, h_max, h_min = control.max_dx, control.h_max, control.h_min
    max_steps, max_rejected, free_distance = control.max_steps, control.max_rejected, control.free_distance
    n = u0.shape[0]
    n_stages = b.shape[0]
    adaptive = e.shape[0] > 0
    frame = params.frame
    keep_end = u_end.shape[0] > 0
    nl = LANES
    U = np.zeros((4, nl))  # idle lanes hold a harmless state
    UN = np.empty((4, nl))
    ER = np.zeros((4, nl))
    K = np.zeros((n_stages, 4, nl))
    T = np.zeros((4, nl))
    H = np.zeros(nl)  # step being attempted
    HN = np.zeros(nl)  # proposal for the next attempt
    TL = np.zeros(nl)  # time since the lane's trajectory started integrating
    T0 = np.zeros(nl)  # time spent in free flight before that
    REJ = np.zeros(nl, dtype=np.bool_)  # last attempt was rejected
    ACC = np.zeros(nl, dtype=np.bool_)  # this attempt is accepted
    BAD = np.zeros(nl, dtype=np.bool_)  # this attempt failed (step_failed)
    LIVE = np.zeros(nl, dtype=np.bool_)
    FIN = np.ones(nl, dtype=np.bool_)  # lane needs (new) work
    STEPS = np.zeros(nl, dtype=np.int64)
    NREJ = np.zeros(nl, dtype=np.int64)  # rejected steps
    EVALS = np.zeros(nl, dtype=np.int64)
    IDX = np.full(nl, -1, dtype=np.int64)
    u = np.empty(4)
    next_i = 0
    active = 0
    any_fin = True
    while True:
        if any_fin:
            # --- record finished lanes and refill them (scalar, rare) --------
            for l in range(nl):
                if not FIN[l]:
                    continue
                FIN[l] = False
                if LIVE[l]:
                    i = IDX[l]
                    status = classify(U[0, l], U[1, l]) if ACC[l] else RUNNING
                    outcome[i] = UNDECIDED if status == RUNNING else status
                    evaluations[i] = EVALS[l]
                    steps[i] = STEPS[l]
                    rejected[i] = NREJ[l]
                    if status != RUNNING:
                        reason[i] = DECIDED
                    elif BAD[l]:
                        reason[i] = NOT_FINITE
                    elif ACC[l]:
                        reason[i] = STEP_BUDGET
                    elif NREJ[l] > max_rejected:
                        reason[i] = REJECTION_BUDGET
                    else:
                        reason[i] = MINIMUM_STEP
                    if keep_end:
                        for m in range(4):
                            u[m] = U[m, l]
                        to_lab(u, TL[l], frame)
                        for m in range(4):
                            u_end[i, m] = u[m]
                        t_end[i] = T0[l] + TL[l]
                    LIVE[l] = False
                    active -= 1
                while next_i < n:
                    i = next_i
                    next_i += 1
                    for m in range(4):
                        u[m] = u0[i, m]
                    status = classify(u[0], u[1])
                    if status != RUNNING:  # ended before it started
                        outcome[i] = status
                        evaluations[i] = 0
                        steps[i] = 0
                        rejected[i] = 0
                        reason[i] = DECIDED
                        if keep_end:
                            for m in range(4):
                                u_end[i, m] = u[m]
                            t_end[i] = 0.0
                        continue
                    T0[l] = free_flight(u, free_distance, frame) if free_distance > 0.0 else 0.0
                    to_rotating(u, 0.0, frame)
                    for m in range(4):
                        U[m, l] = u[m]
                    EVALS[l] = 0
                    if fsal:  # else stage 0 is evaluated with the others below
                        K[0, 0, l], K[0, 1, l], K[0, 2, l], K[0, 3, l] = derivative(
                            frame, 0.0, u[0], u[1], u[2], u[3], params.kx, params.s, params.U0, params.il2)
                        EVALS[l] = 1
                    TL[l] = 0.0
                    HN[l] = h0
                    STEPS[l] = 0
                    NREJ[l] = 0
                    REJ[l] = False
                    IDX[l] = i
                    LIVE[l] = True
                    active += 1
                    break
            if active == 0:
                break
        # --- one step attempt in every lane (vectorised) ----------------------
        nv = U.shape[1]  # a run-time bound: LLVM vectorises rather than unrolls
        if adaptive:
            for l in range(nv):
                H[l] = step_cap(HN[l], U[1, l], h_max, max_dx)
        else:
            for l in range(nv):
                H[l] = h0
        if not fsal:
            for m in range(4):
                for l in range(nv):
                    T[m, l] = 0.0
            _lane_derivatives(frame, 0, 0.0, U, K, H, TL, T, params)
        _lane_stages(frame, 1, n_stages, A, c, U, K, H, TL, T, params)
        _lane_combine(b, n_stages, K, U, H, T, UN, True)
        if adaptive:
            _lane_combine(e, n_stages, K, U, H, T, ER, False)
            for l in range(nv):
                en = error_norm(U[0, l], U[1, l], U[2, l], U[3, l], UN[0, l], UN[1, l], UN[2, l],
                                UN[3, l], ER[0, l], ER[1, l], ER[2, l], ER[3, l], rtol, atol)
                acc, HN[l] = new_step(H[l], en, err_exponent, REJ[l])
                bad = step_failed(en, acc, UN[0, l], UN[1, l], UN[2, l], UN[3, l])
                REJ[l] = not acc
                NREJ[l] += 0 if acc | bad else 1  # a failed attempt ends the trajectory uncounted, as in integrate
                BAD[l] = bad
                ACC[l] = acc & LIVE[l] & (not bad)
        else:
            for l in range(nv):
                bad = step_failed(0.0, True, UN[0, l], UN[1, l], UN[2, l], UN[3, l])
                BAD[l] = bad
                ACC[l] = LIVE[l] & (not bad)
        new_evals = (n_stages - 1) if fsal else n_stages
        for l in range(nv):
            acc = ACC[l]
            EVALS[l] += new_evals
            TL[l] = TL[l] + H[l] if acc else TL[l]
            STEPS[l] += 1 if acc else 0
        for m in range(4):
            for l in range(nv):
                U[m, l] = UN[m, l] if ACC[l] else U[m, l]
        if fsal:
            last = n_stages - 1
            for m in range(4):
                for l in range(nv):
                    K[0, m, l] = K[last, m, l] if ACC[l] else K[0, m, l]
        n_fin = 0
        for l in range(nv):
            stop = ((ACC[l] & has_ended(U[0, l], U[1, l])) | BAD[l] | (STEPS[l] >= max_steps)
                    | (NREJ[l] > max_rejected) | (REJ[l] & (HN[l] < h_min)))
            done = LIVE[l] & stop
            FIN[l] = done
            n_fin += 1 if done else 0
        any_fin = n_fin > 0
