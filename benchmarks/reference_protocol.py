"""A vectorised NumPy port of the authors' protocol: the benchmark's reference.

What it does is what the authors' published scripts do (github.com/rodin-physics/
oscillator-activation, as recorded in the project's protocol notes), written
independently from those facts: Butcher's six-stage fifth-order Runge-Kutta
with a fixed step ``h = 5e-4``, the whole batch of trajectories stepped
together from ``x0``, and after each step every trajectory with
``x * vx >= 0`` is finished (transmitted if ``x > 0``) and dropped from the
batch. The state is kept as four component arrays so each stage is a handful
of whole-array NumPy operations; the batch is compacted only on steps where
something finished.

It is deliberately independent of ``lib``'s kernels (only the model's
parameters are read), so agreement between the two is a real check.
"""
from __future__ import annotations

import math

import numpy as np

FOUR_PI2 = 4.0 * math.pi**2


def _rhs(x, vx, y, vy, k_over_m, s, U0, inv_l2, frozen):
    dy = y - s
    U = U0 * np.exp(-0.5 * inv_l2 * (x * x + dy * dy))
    ax = k_over_m * inv_l2 * x * U
    if frozen:
        zero = np.zeros_like(x)
        return vx, ax, zero, zero
    ay = FOUR_PI2 * (inv_l2 * dy * U - y)
    return vx, ax, vy, ay


def run_protocol(states, M, s, U0=10.0, lam=2.0, frozen=False, h=5e-4, max_steps=10**9):
    """Outcomes (1 transmitted, 0 reflected, -1 undecided) of each initial state.

    Parameters
    ----------
    states : ndarray, shape (n, 4)
        Initial ``(x, vx, y, vy)``.
    M, s, U0, lam : float
        Model parameters (mass, impact parameter, Gaussian height and width).
    frozen : bool
        Hold the oscillator fixed.
    h : float
        Fixed step (oscillator periods).
    """
    states = np.asarray(states, dtype=float)
    n = states.shape[0]
    outcome = np.full(n, -1, dtype=np.int8)
    idx = np.arange(n)
    x, vx, y, vy = (states[:, m].copy() for m in range(4))
    args = (FOUR_PI2 / M, s, U0, 1.0 / lam**2, frozen)
    done = x * vx >= 0
    if done.any():
        outcome[idx[done]] = x[done] > 0
        keep = ~done
        idx, x, vx, y, vy = idx[keep], x[keep], vx[keep], y[keep], vy[keep]
    steps = 0
    while idx.size and steps < max_steps:
        k1 = _rhs(x, vx, y, vy, *args)
        k2 = _rhs(*(u + (h / 4) * a for u, a in zip((x, vx, y, vy), k1)), *args)
        k3 = _rhs(*(u + (h / 8) * (a + b) for u, a, b in zip((x, vx, y, vy), k1, k2)), *args)
        k4 = _rhs(*(u + h * c - (h / 2) * b for u, b, c in zip((x, vx, y, vy), k2, k3)), *args)
        k5 = _rhs(*(u + (3 * h / 16) * a + (9 * h / 16) * d
                    for u, a, d in zip((x, vx, y, vy), k1, k4)), *args)
        k6 = _rhs(*(u + (h / 7) * (-3 * a + 2 * b + 12 * c - 12 * d + 8 * e)
                    for u, a, b, c, d, e in zip((x, vx, y, vy), k1, k2, k3, k4, k5)), *args)
        x, vx, y, vy = (u + (h / 90) * (7 * a + 32 * c + 12 * d + 32 * e + 7 * f)
                        for u, a, c, d, e, f in zip((x, vx, y, vy), k1, k3, k4, k5, k6))
        steps += 1
        done = x * vx >= 0
        if done.any():
            outcome[idx[done]] = x[done] > 0
            keep = ~done
            idx, x, vx, y, vy = idx[keep], x[keep], vx[keep], y[keep], vy[keep]
    return outcome
