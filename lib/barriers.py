r"""Barriers: the frozen :math:`U(s)` and the relaxed (NEB-like) :math:`\mathcal{E}_*`.

With the oscillator held at ``y = 0`` the particle must climb the full
interaction at the point of closest approach, the *frozen* barrier
:math:`U(s) = U_0 e^{-s^2/2\lambda^2}` (paper Sec. III C).

In the spirit of the nudged elastic band, the *relaxed* barrier lets the
oscillator settle with the particle held at ``x = 0``: minimise

.. math::

    f(y) = U(y - s) + \frac{y^2}{2},

i.e. solve :math:`f'(y) = y - \frac{y - s}{\lambda^2}U(y - s) = 0` and keep the
lowest of the stable solutions (the oscillator may give way on either side
of the particle's path). Every root satisfies
:math:`|y| \le U_0 / (\lambda\sqrt{e})`, because :math:`|z e^{-z^2/2\lambda^2}| / \lambda^2`
never exceeds :math:`1/(\lambda\sqrt{e})`; the roots are bracketed on a fine grid over that
interval and refined with :func:`scipy.optimize.brentq`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .model import Model


def frozen_barrier(model: Model) -> float:
    """:math:`U(s)`: the barrier with the oscillator held at its equilibrium."""
    return float(model.potential(0.0, 0.0))


def relaxed_energy(model: Model, y):
    """:math:`f(y) = U(y - s) + y^2/2`: energy with the particle at ``x = 0``."""
    return model.landscape(0.0, y)


def _slope(model: Model, y):
    y = np.asarray(y, dtype=float)
    dy = y - model.s
    return y - dy / model.lam**2 * model.potential(0.0, y)


def _curvature(model: Model, y):
    dy = y - model.s
    inv_l2 = 1.0 / model.lam**2
    return 1.0 - inv_l2 * model.potential(0.0, y) * (1.0 - dy * dy * inv_l2)


@dataclass(frozen=True)
class RelaxedBarrier:
    """The relaxed barrier and every stable configuration found.

    Attributes
    ----------
    energy : float
        :math:`\\mathcal{E}_*`, the lowest stable :math:`f(y)`.
    y : float
        Oscillator position :math:`y_*` at the minimum.
    minima : tuple of (y, energy)
        All stable solutions, lowest energy first.
    model : Model
    """

    energy: float
    y: float
    minima: tuple
    model: Model


def relaxed_barrier(model: Model, grid: int = 4001) -> RelaxedBarrier:
    """Relaxed barrier :math:`\\mathcal{E}_*`: the lowest stable minimum of :math:`f(y)`.

    Parameters
    ----------
    model : Model
    grid : int
        Points used to bracket the roots of :math:`f'(y)`.
    """
    from scipy.optimize import brentq

    bound = model.U0 / (model.lam * math.sqrt(math.e)) + abs(model.s) + 1.0
    ys = np.linspace(-bound, bound, int(grid))
    g = _slope(model, ys)
    roots = [float(y) for y, v in zip(ys, g) if v == 0.0]
    for i in np.nonzero(np.sign(g[:-1]) * np.sign(g[1:]) < 0)[0]:
        roots.append(brentq(lambda y: float(_slope(model, y)), ys[i], ys[i + 1], xtol=1e-14, rtol=1e-15))
    minima = sorted((float(relaxed_energy(model, y)), y) for y in roots if _curvature(model, y) > 0)
    if not minima:  # cannot happen: f grows like y^2/2, so it has a minimum
        raise RuntimeError("no stable minimum found")
    energy, y_star = minima[0]
    return RelaxedBarrier(energy, y_star, tuple((y, e) for e, y in minima), model)
