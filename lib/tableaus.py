"""Runge-Kutta methods as data (Butcher tableaus).

A method is its tableau: ``A`` (strictly lower triangular), weights ``b``,
nodes ``c``, its order, and for an embedded pair the error weights
``e = b - b_hat`` with the order of the embedded (lower-order) solution.
One compiled step function in :mod:`lib.kernels` runs any of them.

Two methods are defined:

``BUTCHER_RK5``
    The fixed-step six-stage fifth-order method of Butcher that the authors'
    scripts use. Run with step 5e-4 it is the ``paper``
    integrator.
``DORMAND_PRINCE_54``
    The Dormand-Prince 5(4) embedded pair (Dormand & Prince 1980), seven
    stages with the first-same-as-last property, so six new derivative
    evaluations per accepted step. It drives the default ``adaptive``
    integrator.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Tableau:
    """An explicit Runge-Kutta method, validated on construction.

    Attributes
    ----------
    name : str
    A : ndarray(float, ndim=2)
        Stage coefficients, shape ``(stages, stages)``, strictly lower triangular.
    b : ndarray(float, ndim=1)
        Weights of the propagated solution; they sum to one.
    c : ndarray(float, ndim=1)
        Nodes; each equals the sum of its row of ``A``.
    order : int
        Order of the propagated solution.
    e : ndarray(float, ndim=1) or None
        ``b - b_hat`` for an embedded pair (sums to zero), else ``None``.
    error_order : int or None
        Order of the embedded solution ``b_hat``; the step-size controller
        uses the exponent ``1 / (error_order + 1)``.
    fsal : bool
        True when the last stage is evaluated at the new solution (last row
        of ``A`` equals ``b`` and ``c[-1] == 1``), so it can be reused as the
        first stage of the next step. Derived, not given.
    """

    name: str
    A: np.ndarray
    b: np.ndarray
    c: np.ndarray
    order: int
    e: np.ndarray | None = None
    error_order: int | None = None
    fsal: bool = field(init=False)

    def __post_init__(self):
        A = np.ascontiguousarray(self.A, dtype=float)
        b = np.ascontiguousarray(self.b, dtype=float)
        c = np.ascontiguousarray(self.c, dtype=float)
        n = b.size
        if A.shape != (n, n) or c.shape != (n,):
            raise ValueError(f"{self.name}: A must be {n}x{n} and c of length {n}")
        if np.any(np.triu(A) != 0):
            raise ValueError(f"{self.name}: A must be strictly lower triangular (explicit method)")
        if not np.allclose(A.sum(axis=1), c, rtol=0, atol=1e-14):
            raise ValueError(f"{self.name}: rows of A must sum to c")
        if not abs(b.sum() - 1.0) < 1e-14:
            raise ValueError(f"{self.name}: weights b must sum to one")
        object.__setattr__(self, "A", A)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "c", c)
        if self.e is not None:
            e = np.ascontiguousarray(self.e, dtype=float)
            if e.shape != (n,):
                raise ValueError(f"{self.name}: e must have length {n}")
            if not abs(e.sum()) < 1e-14:
                raise ValueError(f"{self.name}: error weights e must sum to zero")
            if self.error_order is None:
                raise ValueError(f"{self.name}: an embedded pair needs error_order")
            object.__setattr__(self, "e", e)
        fsal = bool(n > 1 and c[-1] == 1.0 and np.array_equal(A[-1], b))
        object.__setattr__(self, "fsal", fsal)

    @property
    def stages(self) -> int:
        return self.b.size

    @property
    def adaptive(self) -> bool:
        return self.e is not None

    @property
    def evaluations_per_step(self) -> int:
        """Derivative evaluations per step once the first step is taken."""
        return self.stages - 1 if self.fsal else self.stages


BUTCHER_RK5 = Tableau(
    name="Butcher RK5 (paper)",
    A=[
        [0, 0, 0, 0, 0, 0],
        [1 / 4, 0, 0, 0, 0, 0],
        [1 / 8, 1 / 8, 0, 0, 0, 0],
        [0, -1 / 2, 1, 0, 0, 0],
        [3 / 16, 0, 0, 9 / 16, 0, 0],
        [-3 / 7, 2 / 7, 12 / 7, -12 / 7, 8 / 7, 0],
    ],
    b=np.array([7, 0, 32, 12, 32, 7]) / 90,
    c=[0, 1 / 4, 1 / 4, 1 / 2, 3 / 4, 1],
    order=5,
)

DORMAND_PRINCE_54 = Tableau(
    name="Dormand-Prince 5(4)",
    A=[
        [0, 0, 0, 0, 0, 0, 0],
        [1 / 5, 0, 0, 0, 0, 0, 0],
        [3 / 40, 9 / 40, 0, 0, 0, 0, 0],
        [44 / 45, -56 / 15, 32 / 9, 0, 0, 0, 0],
        [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0, 0, 0],
        [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0, 0],
        [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0],
    ],
    b=[35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0],
    c=[0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
    order=5,
    e=[71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40],
    error_order=4,
)

TABLEAUS = {"paper": BUTCHER_RK5, "dopri5": DORMAND_PRINCE_54}
