"""Compiled (numba) kernels: one explicit Runge-Kutta step for any tableau,
and drivers that run trajectories to their outcome.

Everything here takes plain arrays and scalars; validation, random numbers
and bookkeeping live in the Python wrappers (:mod:`lib.integrate`,
:mod:`lib.ensemble`). Work buffers are allocated once per call, never per
step. Functions are compiled lazily on first use and cached on disk
(``cache=True``), so importing :mod:`lib` does not compile anything.

Parameter vector ``p`` (float64, length 6), shared by all kernels::

    p[0] = 4 pi^2 / M      particle's inverse mass times the time-unit factor
    p[1] = s               impact parameter
    p[2] = U0              height of the Gaussian
    p[3] = 1 / lambda^2
    p[4] = 1.0 if the oscillator is frozen, else 0.0
    p[5] = 1.0 to integrate the oscillator in the rotating frame, else 0.0

State rows are ``(x, vx, y, vy)``.

Outcome rule (PROTOCOL.md): after every step, the trajectory stops as soon as
``x * vx >= 0``; it is *transmitted* if ``x > 0`` and *reflected* otherwise.
For a repulsive interaction both are final: on either side of ``x = 0`` the
force on the particle points away from the gate.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

FOUR_PI2 = 4.0 * math.pi**2
TWO_PI = 2.0 * math.pi

# Outcome codes (int8 in the outcome arrays).
REFLECTED = 0
TRANSMITTED = 1
UNDECIDED = -1  # step budget exhausted before an outcome
RECORD_FULL = -2  # trajectory recorder ran out of room (internal)
REACHED_END = -3  # reached the requested end time (trajectory recorder)

# Step-size controller constants (Hairer, Norsett & Wanner, Sec. II.4).
SAFETY = 0.9  # aim below the tolerance so the next step is rarely rejected
MIN_FACTOR = 0.2  # never shrink a step by more than 5x at once
MAX_FACTOR = 10.0  # never grow a step by more than 10x at once


@njit(cache=True)
def rhs(t, u, out, k, p):
    """Write the time derivative of state ``u`` at time ``t`` into row ``k`` of ``out``.

    Lab frame (``p[5] == 0``), paper Eq. 5 for ``u = (x, vx, y, vy)``.
    Rotating frame (``p[5] == 1``): ``u = (x, vx, a, b)`` with
    ``y = a cos(2 pi t) + b sin(2 pi t)``; by variation of constants
    ``a' = -2 pi G sin(2 pi t)``, ``b' = 2 pi G cos(2 pi t)`` where
    ``G = -dU/dy``. The harmonic motion is then exact and only the
    interaction moves ``(a, b)``: far from the gate they are constant, so an
    adaptive step is not limited by the oscillator's period there.
    """
    x = u[0]
    frozen = p[4] != 0.0
    rotating = p[5] != 0.0 and not frozen
    if rotating:
        th = TWO_PI * t
        cs = math.cos(th)
        sn = math.sin(th)
        y = u[2] * cs + u[3] * sn
    else:
        y = u[2]
    dy = y - p[1]
    U = p[2] * math.exp(-0.5 * (x * x + dy * dy) * p[3])
    out[k, 0] = u[1]
    out[k, 1] = p[0] * x * p[3] * U
    if frozen:
        out[k, 2] = 0.0
        out[k, 3] = 0.0
    elif rotating:
        g = TWO_PI * dy * p[3] * U
        out[k, 2] = -g * sn
        out[k, 3] = g * cs
    else:
        out[k, 2] = u[3]
        out[k, 3] = FOUR_PI2 * (dy * p[3] * U - y)


@njit(cache=True)
def to_rotating(u, t, p):
    """Lab state ``(x, vx, y, vy)`` at time ``t`` to ``(x, vx, a, b)`` in place."""
    if p[5] == 0.0 or p[4] != 0.0:
        return
    th = TWO_PI * t
    cs = math.cos(th)
    sn = math.sin(th)
    y = u[2]
    w = u[3] / TWO_PI
    u[2] = y * cs - w * sn
    u[3] = y * sn + w * cs


@njit(cache=True)
def to_lab(u, t, p):
    """Inverse of :func:`to_rotating`, in place."""
    if p[5] == 0.0 or p[4] != 0.0:
        return
    th = TWO_PI * t
    cs = math.cos(th)
    sn = math.sin(th)
    a = u[2]
    b = u[3]
    u[2] = a * cs + b * sn
    u[3] = TWO_PI * (b * cs - a * sn)


@njit(cache=True)
def rk_step(t, u, h, A, b, c, e, K, tmp, unew, err, p, first_stage):
    """One explicit Runge-Kutta step of size ``h`` from ``u``.

    Stages ``first_stage..`` are evaluated into ``K`` (stage 0 is supplied
    by the caller when ``first_stage == 1``, as with FSAL). Writes the new
    state into ``unew`` and, when ``e`` is non-empty, the local error
    estimate into ``err``.
    """
    n = b.shape[0]
    for i in range(first_stage, n):
        for m in range(4):
            acc = 0.0
            for j in range(i):
                acc += A[i, j] * K[j, m]
            tmp[m] = u[m] + h * acc
        rhs(t + c[i] * h, tmp, K, i, p)
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


@njit(cache=True)
def error_norm(u, unew, err, rtol, atol):
    """RMS of the error estimate in units of the mixed tolerance."""
    acc = 0.0
    for m in range(4):
        scale = atol + rtol * max(abs(u[m]), abs(unew[m]))
        r = err[m] / scale
        acc += r * r
    return math.sqrt(0.25 * acc)


@njit(cache=True)
def free_flight(u, distance, p):
    """Advance ``u`` exactly to ``x = -distance`` if the particle is farther out.

    Beyond ``distance`` the interaction is negligible (see
    :meth:`lib.model.Model.free_flight_distance`): the particle moves
    uniformly and the oscillator rotates in phase space. Returns the time
    elapsed (zero if nothing was done).
    """
    x = u[0]
    vx = u[1]
    if not (x < -distance and vx > 0.0):
        return 0.0
    dt = (-distance - x) / vx
    u[0] = -distance
    if p[4] == 0.0:
        c = math.cos(TWO_PI * dt)
        sn = math.sin(TWO_PI * dt)
        y = u[2]
        w = u[3] / TWO_PI
        u[2] = y * c + w * sn
        u[3] = TWO_PI * (w * c - y * sn)
    return dt


@njit(cache=True)
def classify(u):
    """Outcome code if the trajectory has ended (``x * vx >= 0``), else 2."""
    if u[0] * u[1] >= 0.0:
        if u[0] > 0.0:
            return TRANSMITTED
        return REFLECTED
    return 2


@njit(cache=True)
def integrate(u, t, h, p, A, b, c, e, err_exponent, fsal, rtol, atol, max_dx, h_max,
              max_steps, t_end, stop_on_outcome, K, tmp, unew, err, rec, counts):
    """Advance the lab-frame state ``u`` in place from time ``t``.

    Fixed steps of size ``h`` if ``e`` is empty, else adaptive steps with
    the mixed tolerance ``(rtol, atol)``; adaptive steps never exceed
    ``h_max`` nor move the particle by more than ``max_dx``. With
    ``p[5] == 1`` the oscillator is integrated in the rotating frame (see
    :func:`rhs`), whose phase origin is the starting time.

    Stops at the outcome (if ``stop_on_outcome``), at ``t_end`` (if
    positive), when ``rec`` is full, or after ``max_steps`` steps.
    Accepted steps are appended to ``rec`` (lab-frame rows
    ``t, x, vx, y, vy``) from row ``counts[2]`` when ``rec`` has rows.
    ``counts`` accumulates ``[accepted steps, derivative evaluations,
    recorded rows, rejected steps]``.

    Returns ``(status, t, h)`` where ``h`` is the step to try next; ``u``
    is left in the lab frame.
    """
    adaptive = e.shape[0] > 0
    n_stages = b.shape[0]
    if stop_on_outcome:
        status = classify(u)
        if status != 2:
            return status, t, h
    t_start = t
    tl = 0.0  # time since t_start: the rotating frame's phase
    to_rotating(u, tl, p)
    have_first = False
    rejected_last = False
    status = UNDECIDED
    steps = 0
    while steps < max_steps:
        # t_end counts as reached within a billionth of a step, so that
        # rounding in the accumulated time never adds a sliver of a step
        if t_end > 0.0 and t_end - (t_start + tl) <= 1e-9 * h:
            status = REACHED_END
            break
        if rec.shape[0] > 0 and counts[2] >= rec.shape[0]:
            status = RECORD_FULL
            break
        if adaptive:
            cap = h_max
            if u[1] != 0.0:
                cap = min(cap, max_dx / abs(u[1]))
            if h > cap:
                h = cap
        hs = h
        if t_end > 0.0 and t_start + tl + hs > t_end:
            hs = t_end - (t_start + tl)
        if not have_first:
            rhs(tl, u, K, 0, p)
            counts[1] += 1
        rk_step(tl, u, hs, A, b, c, e, K, tmp, unew, err, p, 1)
        counts[1] += n_stages - 1
        if adaptive:
            en = error_norm(u, unew, err, rtol, atol)
            if en > 1.0:
                h = hs * max(MIN_FACTOR, SAFETY * en ** (-err_exponent))
                have_first = True  # stage 0 is still f(u)
                rejected_last = True
                counts[3] += 1
                continue
            if en == 0.0:
                factor = MAX_FACTOR
            else:
                factor = min(MAX_FACTOR, SAFETY * en ** (-err_exponent))
            if rejected_last:
                factor = min(1.0, factor)
            rejected_last = False
            if hs == h:
                h = hs * factor
            # else: a step clipped to t_end keeps the previous proposal
        for m in range(4):
            u[m] = unew[m]
        tl += hs
        steps += 1
        counts[0] += 1
        if fsal:
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
            to_lab(rec[r, 1:], tl, p)
            counts[2] = r + 1
        if stop_on_outcome:
            status = classify(u)
            if status != 2:
                break
            status = UNDECIDED
    to_lab(u, tl, p)
    return status, t_start + tl, h


@njit(cache=True)
def run_batch(u0, p, A, b, c, e, err_exponent, fsal, h0, rtol, atol, max_dx, h_max,
              max_steps, free_distance, outcome, evaluations, u_end, t_end):
    """Run every initial state in ``u0`` (shape ``(n, 4)``) to its outcome.

    Writes the outcome code of trajectory ``i`` into ``outcome[i]`` (int8)
    and its number of derivative evaluations into ``evaluations[i]``.
    If ``u_end`` has rows, the state and time at the stop go into
    ``u_end[i]`` and ``t_end[i]``. ``free_distance > 0`` enables the exact
    free flight up to ``x = -free_distance`` before integrating.
    """
    n_stages = b.shape[0]
    K = np.empty((n_stages, 4))
    tmp = np.empty(4)
    unew = np.empty(4)
    err = np.empty(4)
    u = np.empty(4)
    rec = np.empty((0, 5))
    counts = np.zeros(4, dtype=np.int64)
    keep_end = u_end.shape[0] > 0
    for i in range(u0.shape[0]):
        for m in range(4):
            u[m] = u0[i, m]
        t0 = 0.0
        if free_distance > 0.0:
            t0 = free_flight(u, free_distance, p)
        counts[1] = 0
        status, t, h = integrate(u, t0, h0, p, A, b, c, e, err_exponent, fsal, rtol, atol,
                                 max_dx, h_max, max_steps, -1.0, True,
                                 K, tmp, unew, err, rec, counts)
        outcome[i] = status
        evaluations[i] = counts[1]
        if keep_end:
            for m in range(4):
                u_end[i, m] = u[m]
            t_end[i] = t
