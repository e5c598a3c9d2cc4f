r"""The particle-oscillator model of Noori, Olsen and Rodin (paper Sec. III A).

A particle of mass :math:`M` moves along :math:`x`; a harmonic "gate"
oscillator of unit mass moves along :math:`y`. They repel through a Gaussian

.. math::

    U(z) = U_0 \exp\left(-\frac{z^2}{2\lambda^2}\right), \qquad
    z = \sqrt{x^2 + (y - s)^2},

where :math:`s` is the impact parameter. In the paper's units (time in
oscillator periods :math:`\tau = t/t_\mathrm{osc}`, lengths in
:math:`l_\mathrm{osc}`, energies in :math:`\hbar\Omega`) the Lagrangian is
(paper Eq. 4)

.. math::

    L = \frac{M\dot x^2}{8\pi^2} + \frac{\dot y^2}{8\pi^2} - \frac{y^2}{2} - U(x, y),

and the equations of motion (paper Eq. 5) are

.. math::

    \frac{M\ddot x}{4\pi^2} = -\partial_x U, \qquad
    \frac{\ddot y}{4\pi^2} = -y - \partial_y U .

The state of a trajectory is the four-vector ``(x, vx, y, vy)`` with
``vx = dx/dtau`` and ``vy = dy/dtau``. This module holds the parameters
(:class:`Model`) and vectorised NumPy versions of the potential, forces and
energies; the compiled kernels in :mod:`lib.kernels` evaluate the same
formulas.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FOUR_PI2 = 4.0 * math.pi**2
"""The factor :math:`4\\pi^2` that the choice of time unit puts into Eq. 5."""

EIGHT_PI2 = 8.0 * math.pi**2
"""Kinetic energy is ``m v**2 / EIGHT_PI2`` in the paper's units."""


def check_finite(name: str, value, *, positive: bool = False,
                 nonnegative: bool = False) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` naming ``name``.

    The message is one line, and is what the command line prints.
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v!r}")
    if positive and not v > 0:
        raise ValueError(f"{name} must be positive, got {v!r}")
    if nonnegative and not v >= 0:
        raise ValueError(f"{name} must be non-negative, got {v!r}")
    return v


@dataclass(frozen=True)
class Model:
    """Parameters of the particle-oscillator system (dimensionless).

    Parameters
    ----------
    M : float
        Particle mass in units of the oscillator mass (paper: 1/5, 1, 5).
    s : float
        Impact parameter: offset of the particle's axis from the oscillator's
        equilibrium position (paper: 0 and 2).
    U0 : float
        Height of the Gaussian repulsion, in units of :math:`\\hbar\\Omega`
        (paper: 10). Must be non-negative: the outcome rule relies on the
        interaction being repulsive.
    lam : float
        Width :math:`\\lambda` of the Gaussian, in :math:`l_\\mathrm{osc}`
        (paper: 2).
    x0 : float
        Starting position of the particle (paper: -20). Must be negative.

    All parameters are validated on construction; an invalid value raises
    ``ValueError`` with a one-line message naming it.
    """

    M: float = 1.0
    s: float = 0.0
    U0: float = 10.0
    lam: float = 2.0
    x0: float = -20.0

    def __post_init__(self):
        object.__setattr__(self, "M", check_finite("mass M", self.M, positive=True))
        object.__setattr__(self, "s", check_finite("impact parameter s", self.s))
        object.__setattr__(self, "U0", check_finite("U0", self.U0, nonnegative=True))
        object.__setattr__(self, "lam", check_finite("lambda", self.lam, positive=True))
        x0 = check_finite("x0", self.x0)
        if not x0 < 0:
            raise ValueError(f"x0 must be negative (the particle starts left of the gate), got {x0!r}")
        object.__setattr__(self, "x0", x0)

    # -- the interaction ---------------------------------------------------
    def potential(self, x, y):
        """Gaussian repulsion :math:`U(x, y)`; broadcasts over arrays."""
        x = np.asarray(x, dtype=float)
        dy = np.asarray(y, dtype=float) - self.s
        return self.U0 * np.exp(-(x * x + dy * dy) / (2.0 * self.lam**2))

    def landscape(self, x, y):
        """Total potential energy :math:`U(x, y) + y^2/2` (interaction plus well)."""
        return self.potential(x, y) + 0.5 * np.asarray(y, dtype=float) ** 2

    def forces(self, x, y):
        """Forces ``(-dU/dx, -dU/dy - y)`` on the particle and the oscillator."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        u = self.potential(x, y)
        inv_l2 = 1.0 / self.lam**2
        return x * inv_l2 * u, (y - self.s) * inv_l2 * u - y

    def rhs(self, state, frozen: bool = False):
        """Time derivative of ``state = (x, vx, y, vy)`` (last axis), paper Eq. 5.

        With ``frozen=True`` the oscillator's derivatives are zero, as in the
        protocol's frozen-oscillator experiment.
        """
        state = np.asarray(state, dtype=float)
        x, vx, y, vy = np.moveaxis(state, -1, 0)
        fx, fy = self.forces(x, y)
        out = np.empty_like(state)
        out[..., 0] = vx
        out[..., 1] = FOUR_PI2 / self.M * fx
        if frozen:
            out[..., 2] = 0.0
            out[..., 3] = 0.0
        else:
            out[..., 2] = vy
            out[..., 3] = FOUR_PI2 * fy
        return out

    # -- energies -----------------------------------------------------------
    def particle_energy(self, vx):
        """Kinetic energy of the particle, :math:`M v_x^2 / 8\\pi^2`."""
        vx = np.asarray(vx, dtype=float)
        return self.M * vx * vx / EIGHT_PI2

    def oscillator_energy(self, y, vy):
        """Energy of the gate oscillator, :math:`y^2/2 + v_y^2 / 8\\pi^2`."""
        y = np.asarray(y, dtype=float)
        vy = np.asarray(vy, dtype=float)
        return 0.5 * y * y + vy * vy / EIGHT_PI2

    def total_energy(self, state):
        """Total energy of ``state = (x, vx, y, vy)`` (last axis)."""
        state = np.asarray(state, dtype=float)
        x, vx, y, vy = np.moveaxis(state, -1, 0)
        return self.particle_energy(vx) + self.oscillator_energy(y, vy) + self.potential(x, y)

    def speed(self, energy):
        """Particle speed :math:`\\sqrt{8\\pi^2 E / M}` for kinetic energy ``energy``."""
        return np.sqrt(EIGHT_PI2 * np.asarray(energy, dtype=float) / self.M)

    def free_flight_distance(self, tol: float) -> float:
        """Distance ``d`` beyond which ``U <= tol * U0`` whatever ``y`` is.

        Since :math:`U \\le U_0 e^{-x^2/2\\lambda^2}`, for :math:`|x| > d`
        with :math:`d = \\lambda\\sqrt{2\\ln(1/\\mathrm{tol})}` the interaction
        is below ``tol * U0``.
        """
        tol = check_finite("free-flight tolerance", tol, positive=True)
        if tol >= 1.0:
            return 0.0
        return self.lam * math.sqrt(2.0 * math.log(1.0 / tol))
