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
(:class:`Model`), its energies, and the one definition of the interaction,
:func:`interaction`: :math:`U`, the forces it exerts and its curvature along
:math:`y`. The compiled kernels (:mod:`lib.kernels`), the array methods of
:class:`Model` and the barriers (:mod:`lib.barriers`) all evaluate it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from .fastmath import exp_neg
from .inputs import (IMPACT_RANGE, LAMBDA_RANGE, MASS_RANGE, U0_RANGE, X0_RANGE, check_finite,  # noqa: F401
                     check_range)

FOUR_PI2 = 4.0 * math.pi**2
"""The factor :math:`4\\pi^2` that the choice of time unit puts into Eq. 5."""

EIGHT_PI2 = 8.0 * math.pi**2
"""Kinetic energy is ``m v**2 / EIGHT_PI2`` in the paper's units."""


@njit(cache=True, error_model="numpy", inline="always")
def interaction(x, y, s, U0, il2, cx=1.0, cy=1.0):
    """The Gaussian repulsion at ``(x, y)``: ``(U, cx Fx, cy Fy, d2U/dy2)``.

    ``U = U0 exp(-(x^2 + (y - s)^2) il2 / 2)`` with ``il2 = 1 / lambda^2``;
    ``Fx = -dU/dx = x il2 U`` and ``Fy = -dU/dy = (y - s) il2 U`` are the
    forces on the particle and the oscillator. The scales ``cx``, ``cy`` are
    the factors the equations of motion put in front of a force; they are
    applied first, ``(cx x) il2 U``, because that is the kernels' order of
    operations (changing it would change trajectories in the last bit).
    The curvature ``d2U/dy2`` serves the relaxed barrier; code that does
    not use it pays nothing once the function is inlined.

    Compiled, and inlined into the kernels; :func:`lib.fastmath.exp_neg`
    keeps the lane driver's loops vectorisable. :class:`Model` evaluates
    it on arrays through :func:`interaction_arrays`.
    """
    dy = y - s
    U = U0 * exp_neg(-0.5 * (x * x + dy * dy) * il2)
    fx = cx * x * il2 * U
    fy = cy * dy * il2 * U
    uyy = il2 * U * (dy * dy * il2 - 1.0)
    return U, fx, fy, uyy


@njit(cache=True, error_model="numpy")
def _interaction_loop(x, y, s, U0, il2, out):
    for i in range(x.shape[0]):
        out[0, i], out[1, i], out[2, i], out[3, i] = interaction(x[i], y[i], s, U0, il2)


def interaction_arrays(x, y, s: float, U0: float, il2: float):
    """:func:`interaction` over broadcast arrays ``x``, ``y``: ``(U, Fx, Fy, d2U/dy2)``.

    Each result has the broadcast shape of ``x`` and ``y`` (a NumPy scalar
    when both are scalars).
    """
    x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    shape = x.shape
    out = np.empty((4, x.size))
    _interaction_loop(np.ascontiguousarray(x).ravel(), np.ascontiguousarray(y).ravel(),
                      float(s), float(U0), float(il2), out)
    return tuple(row.reshape(shape)[()] for row in out)


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

    All parameters are validated on construction; a value that is not a
    finite real number, or is outside its physical range (:mod:`lib.inputs`:
    ``M`` in [1e-4, 1e4], ``s`` in [-1e3, 1e3], ``U0`` in [0, 1e4],
    ``lam`` in [0.01, 100], ``x0`` in [-1e4, 0)), raises ``ValueError``
    with a one-line message naming it and its range.
    """

    M: float = 1.0
    s: float = 0.0
    U0: float = 10.0
    lam: float = 2.0
    x0: float = -20.0

    def __post_init__(self):
        object.__setattr__(self, "M", check_range("mass M", self.M, MASS_RANGE))
        object.__setattr__(self, "s", check_range("impact parameter s", self.s, IMPACT_RANGE))
        object.__setattr__(self, "U0", check_range("U0", self.U0, U0_RANGE))
        object.__setattr__(self, "lam", check_range("lambda", self.lam, LAMBDA_RANGE))
        object.__setattr__(self, "x0", check_range("x0 (the particle starts left of the gate)", self.x0, X0_RANGE,
                                                   exclude_high=True))

    def to_dict(self) -> dict:
        """The parameters under the names the datasets and JSON outputs use: impact, mass, U0, lam, x0."""
        return {"impact": self.s, "mass": self.M, "U0": self.U0, "lam": self.lam, "x0": self.x0}

    # -- the interaction ---------------------------------------------------
    @property
    def inv_lam2(self) -> float:
        """:math:`1/\\lambda^2`, the form in which the width enters :func:`interaction`."""
        return 1.0 / self.lam**2

    def interaction(self, x, y):
        """:func:`interaction` on arrays: ``(U, -dU/dx, -dU/dy, d2U/dy2)``; broadcasts."""
        return interaction_arrays(x, y, self.s, self.U0, self.inv_lam2)

    def potential(self, x, y):
        """Gaussian repulsion :math:`U(x, y)`; broadcasts over arrays."""
        return self.interaction(x, y)[0]

    def landscape(self, x, y):
        """Total potential energy :math:`U(x, y) + y^2/2` (interaction plus well)."""
        return self.potential(x, y) + 0.5 * np.asarray(y, dtype=float) ** 2

    def forces(self, x, y):
        """Forces ``(-dU/dx, -dU/dy - y)`` on the particle and the oscillator."""
        _, fx, fy, _ = self.interaction(x, y)
        return fx, fy - np.asarray(y, dtype=float)

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


def check_model(model) -> Model:
    """``model`` itself if it is a :class:`Model`; else ``ValueError`` (the check of :mod:`lib.inputs` for a
    model, kept next to the class it tests: :mod:`lib.inputs` sits below this module)."""
    if not isinstance(model, Model):
        raise ValueError(f"model must be a lib.Model, got {type(model).__name__}")
    return model
