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

from .inputs import check_integer, check_temperatures
from .model import Model


def frozen_barrier(model: Model) -> float:
    """:math:`U(s)`: the barrier with the oscillator held at its equilibrium."""
    return float(model.potential(0.0, 0.0))


def relaxed_energy(model: Model, y):
    """:math:`f(y) = U(y - s) + y^2/2`: energy with the particle at ``x = 0``."""
    return model.landscape(0.0, y)


def _slope(model: Model, y):
    """:math:`f'(y) = y + \\partial_y U(0, y)`."""
    _, _, fy, _ = model.interaction(0.0, y)
    return np.asarray(y, dtype=float) - fy


def _curvature(model: Model, y):
    """:math:`f''(y) = 1 + \\partial_y^2 U(0, y)`."""
    return 1.0 + model.interaction(0.0, y)[3]


def _is_minimum(model: Model, y: float) -> bool:
    """Whether the root ``y`` of :math:`f'` is a minimum: positive curvature, or a flat
    (quartic) minimum where :math:`f''(y) = 0` and :math:`f` rises on both sides."""
    curvature = float(_curvature(model, y))
    if curvature != 0.0:
        return curvature > 0
    f0, h = float(relaxed_energy(model, y)), 1e-3 * model.lam
    return float(relaxed_energy(model, y - h)) >= f0 and float(relaxed_energy(model, y + h)) >= f0


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
        Points of each of the two grids that bracket the roots of :math:`f'(y)`:
        one over every possible root, one a few widths :math:`\\lambda` around
        :math:`y = s`, where a narrow or strong repulsion puts roots closer
        together than the first grid's spacing.
    """
    from scipy.optimize import brentq

    grid = check_integer("grid", grid, minimum=101, maximum=10**6)
    bound = model.U0 / (model.lam * math.sqrt(math.e)) + abs(model.s) + 1.0
    # Away from y = s (by more than `reach` widths) the repulsion's slope is below
    # 1e-3 of the well's, so f' has no root there but the one near y = 0, which the
    # coarse grid over [-bound, bound] brackets; near y = s the roots lie within
    # `reach` widths and are bracketed on a grid fine on the scale of lambda.
    reach = math.sqrt(2.0 * math.log(max(model.U0 / model.lam**2, 1.0) * 1e3 + 1.0)) + 2.0
    ys = np.union1d(np.linspace(-bound, bound, grid),
                    np.clip(model.s + model.lam * np.linspace(-reach, reach, grid), -bound, bound))
    g = _slope(model, ys)
    roots = [float(y) for y, v in zip(ys, g) if v == 0.0]
    for i in np.nonzero(np.sign(g[:-1]) * np.sign(g[1:]) < 0)[0]:
        roots.append(brentq(lambda y: float(_slope(model, y)), ys[i], ys[i + 1], xtol=1e-14, rtol=1e-15))
    minima = sorted((float(relaxed_energy(model, y)), y) for y in roots if _is_minimum(model, y))
    if not minima:  # f grows like y^2/2, so it has a minimum, and the grids bracket it
        raise RuntimeError(f"no stable minimum found for {model}; please report this")
    energy, y_star = minima[0]
    return RelaxedBarrier(energy, y_star, tuple((y, e) for e, y in minima), model)


# --------------------------------------------------------------------------------------------
# reference quantities for the quantum model (lib.scattering, lib.quantum)

def barrier_frequency(model: Model) -> float:
    r"""Frequency :math:`\omega_b = \sqrt{U(s)/(M\lambda^2)}` of the frozen barrier's top, in units of :math:`\Omega`.

    :math:`U(x, 0) = U(s)e^{-x^2/2\lambda^2}` has curvature :math:`-U(s)/\lambda^2` at
    :math:`x = 0`; an inverted oscillator of mass :math:`M` with that curvature
    has frequency :math:`\omega_b`. (Zero when there is no barrier.)
    """
    return math.sqrt(frozen_barrier(model) / (model.M * model.lam ** 2))


def crossover_temperature(model: Model) -> float:
    r""":math:`\omega_b/2\pi`: below it, tunnelling through the frozen barrier's top dominates over going across it."""
    return barrier_frequency(model) / (2.0 * math.pi)


def wigner_correction(model: Model, omega_T):
    r"""Wigner's tunnelling factor :math:`1 + (\omega_b/\omega_T)^2/24` for the frozen barrier :cite:`wigner1932tunnel`."""
    w = check_temperatures(omega_T)
    out = 1.0 + (barrier_frequency(model) / w) ** 2 / 24.0
    return out if np.ndim(omega_T) else float(out[0])


def saddle_frequency(model: Model) -> float:
    r"""The gate's frequency at the relaxed saddle: :math:`\omega_y = \sqrt{f''(y_*)}`, :math:`f = y^2/2 + U(0, y)`.

    In units of :math:`\Omega` (the gate's mass is 1): the curvature along
    :math:`y` of the potential the gate feels with the particle held at
    :math:`x = 0`, at the minimum that defines :math:`\mathcal{E}_*`.
    """
    rb = relaxed_barrier(model)
    return math.sqrt(float(_curvature(model, rb.y)))


def vibrationally_adiabatic_barrier(model: Model) -> float:
    r"""The vibrationally adiabatic barrier :math:`\mathcal{E}_* + (\omega_y - 1)/2`.

    The relaxed barrier plus the change of the gate's zero-point energy from
    its free value :math:`1/2` to :math:`\omega_y/2` at the saddle
    (:func:`saddle_frequency`): the barrier a ground-state gate presents to a
    slow particle if it follows adiabatically and keeps its zero-point energy
    :cite:`truhlar1996current`. Particle energies are measured from the free gate's ground state.
    """
    return relaxed_barrier(model).energy + 0.5 * (saddle_frequency(model) - 1.0)

