"""Checks of user input, in one place: every public entry point and the command line use them.

Each check returns the value in a canonical type or raises ``ValueError``
with a one-line message that names the parameter and, where there is one,
its allowed range; the command line prints that message with exit status 2.

The physical ranges are in the engine's dimensionless units (energies in
:math:`\\hbar\\Omega`, lengths in :math:`l_\\mathrm{osc}`, masses in
oscillator masses; :mod:`lib.model`):

=============================  ======================  ======================================
parameter                      allowed                 why
=============================  ======================  ======================================
mass ``M``                     1e-4 .. 1e4             the paper: 0.2 .. 5; a heavier particle
                                                       crawls (steps grow as sqrt(M)), a
                                                       lighter one overflows speeds and forces
impact parameter ``s``         -1e3 .. 1e3             beyond, the gate is never reached
                                                       (``|s| >> lambda``): nothing to compute
``U0``                         0 .. 1e4                the paper: 10; higher, nothing transmits
                                                       at any allowed temperature
``lambda``                     1e-2 .. 1e2             the paper: 2; the barriers and the step
                                                       control resolve widths in this range
``x0``                         -1e4 .. < 0             the particle starts left of the gate
temperature ``omega_T``        1e-2 .. 1e6             below 0.01 the classical picture of the
                                                       model no longer applies (and P < e^(-100
                                                       E*/1)); above 1e6 the gate levels and
                                                       speeds lose precision
=============================  ======================  ======================================
"""
from __future__ import annotations

import math
import numbers
import os
import warnings

import numpy as np

MASS_RANGE = (1e-4, 1e4)
IMPACT_RANGE = (-1e3, 1e3)
U0_RANGE = (0.0, 1e4)
LAMBDA_RANGE = (1e-2, 1e2)
X0_RANGE = (-1e4, 0.0)
TEMPERATURE_RANGE = (1e-2, 1e6)

# the exact quantum model (lib.scattering, lib.quantum)
SCATTERING_ENERGY_RANGE = (1e-9, 3e3)
"""Total energy of a coupled-channel solve (hbar Omega): positive; above 3000 the open levels alone exceed
what a solve may hold (:data:`MAX_CHANNELS`)."""
MAX_CHANNELS = 4000
"""Gate levels a coupled-channel solve may include (the coupling matrix is exact up to rounding up to here)."""
MAX_SECTORS = 20_000
"""Sectors of one propagation (the default is about 100; more only refines the step)."""
MAX_CLOSED = 1000
"""Closed gate levels a solve may add above the open ones (a few suffice; more only cost time)."""
QUANTUM_TOLERANCE_RANGE = (1e-8, 0.5)
"""Relative accuracy of method='quantum': below 1e-8 rounding in the propagator and the rules dominates."""


MAX_TRAJECTORIES = 10**9
"""Upper bound on trials x temperatures in one Monte Carlo call (about an hour and a half on 2 cores)."""

METHODS = ("montecarlo", "quadrature", "quantum")
"""How a transmission probability is computed: sampled, integrated over the transmitting set, or exact quantum."""

QUADRATURE_TOLERANCE_RANGE = (1e-12, 1.0)
"""Relative tolerance of method='quadrature' (the upper end excluded): boundaries are bisected to
``tolerance * omega / 4``, so below 1e-12 the bisection reaches rounding."""


class ToleranceWarning(RuntimeWarning):
    """A method's error estimate exceeds the requested tolerance: its limits stopped the refinement
    first (the result's ``tolerance_met`` is False). Raised by ``method='quadrature'`` and ``'quantum'``."""


def warn_tolerance(method: str, tolerance: float, probability, error, omega_T, limits: str, *,
                   p_floor: float = 0.0, stacklevel: int = 2) -> None:
    """One :class:`ToleranceWarning` line: ``method``'s tolerance was not met, where (the temperature with
    the largest estimated relative error of P among those with P >= ``p_floor``), by how much, and what
    stopped the refinement (``limits``). ``stacklevel`` as for :func:`warnings.warn`, from the caller."""
    probability, error = np.asarray(probability, dtype=float), np.asarray(error, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(probability >= p_floor, error / probability, 0.0)
    k = int(np.nanargmax(np.where(np.isnan(rel), np.inf, rel)))
    warnings.warn(f"{method} tolerance {tolerance:g} not met: estimated relative error of P {rel[k]:.2g} at "
                  f"omega_T = {omega_T[k]:g} ({limits}); tolerance_met is False", ToleranceWarning,
                  stacklevel=stacklevel + 1)


def check_energies(values, name: str = "energy") -> np.ndarray:
    """Total energies of a scattering solve: a flat, non-empty list, each in :data:`SCATTERING_ENERGY_RANGE`."""
    if values is None or isinstance(values, (str, bytes)):
        raise ValueError(f"{name} must be a number or a list of numbers, got {values!r}")
    try:
        raw = np.atleast_1d(np.asarray(values, dtype=object))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or a flat list of numbers") from None
    if raw.ndim != 1 or raw.size == 0:
        raise ValueError(f"{name} must be a non-empty flat list of numbers")
    low, high = SCATTERING_ENERGY_RANGE
    return np.array([check_finite(name, v, positive=True, low=low, high=high) for v in raw])


def _is_complex(value) -> bool:
    return isinstance(value, complex) or (isinstance(value, (np.ndarray, np.generic)) and np.iscomplexobj(value))


def check_finite(name: str, value, *, positive: bool = False, nonnegative: bool = False,
                 low: float | None = None, high: float | None = None) -> float:
    """Return ``value`` as a finite float, or raise ``ValueError`` naming ``name``.

    ``low`` and ``high`` are inclusive bounds, stated in the message.
    Complex numbers, ``None``, strings and integers too large for a float
    are refused, not converted.
    """
    if _is_complex(value):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    if value is None or isinstance(value, (str, bytes, bool, np.bool_)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        v = float(value)
    except OverflowError:
        raise ValueError(f"{name} must be finite, got an integer of {len(str(abs(int(value))))} digits") from None
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v!r}")
    if positive and not v > 0:
        raise ValueError(f"{name} must be positive, got {v!r}")
    if nonnegative and not v >= 0:
        raise ValueError(f"{name} must be non-negative, got {v!r}")
    if low is not None and low > 0 and not v > 0:
        raise ValueError(f"{name} must be positive (between {low:g} and {high:g}), got {v!r}")
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{name} must be between {low:g} and {high:g}, got {v!r}")
    return v


def check_range(name: str, value, bounds, *, exclude_high: bool = False) -> float:
    """``check_finite`` with ``bounds = (low, high)``; ``exclude_high`` makes ``high`` itself invalid."""
    low, high = bounds
    v = check_finite(name, value, low=low, high=high)
    if exclude_high and v == high:
        raise ValueError(f"{name} must be below {high:g}, got {v!r}")
    return v


def check_free_start(model, tolerance: float) -> None:
    """Refuse a start point ``x0`` inside the interaction, for methods that assume a free start.

    The interaction at the start is at most :math:`U_0 e^{-x_0^2/2\\lambda^2}`
    (at :math:`y = s`), so the particle starts free, with the interaction
    below ``tolerance`` :math:`U_0`, when
    :math:`|x_0| \\ge \\lambda\\sqrt{2\\ln(1/\\mathrm{tolerance})}`, i.e.
    :math:`\\lambda \\le |x_0|/\\sqrt{2\\ln(1/\\mathrm{tolerance})}`. A method
    whose initial states are those of a particle arriving from infinity
    (scattering) describes the experiments' ensembles, which launch the
    particle at ``x0`` with the drawn energy as its kinetic energy, only
    then. ``ValueError`` (one line naming lambda, x0 and the bound) otherwise;
    no interaction (``U0 = 0``) is always a free start. (The quadrature over
    the transmitting set needs no such check: it launches at ``x0`` itself
    when ``x0`` lies inside the interaction, :func:`lib.transmitting.reference_position`.)
    """
    tol = check_finite("free-start tolerance", tolerance)
    if not 0.0 < tol < 1.0:
        raise ValueError(f"free-start tolerance must be between 0 and 1 (exclusive), got {tol!r}")
    if model.U0 == 0.0:
        return
    reach = math.sqrt(2.0 * math.log(1.0 / tol))
    if model.x0 > -model.lam * reach:
        raise ValueError(f"x0 = {model.x0:g} lies inside the interaction for lambda = {model.lam:g} (U(x0) up to "
                         f"{math.exp(-0.5 * (model.x0 / model.lam) ** 2):.2g} U0, more than {tol:g} U0): this method "
                         f"needs x0 <= {-model.lam * reach:.4g} at this lambda, or lambda <= "
                         f"{abs(model.x0) / reach:.3g} at this x0")


def check_integer(name: str, value, *, minimum: int | None = None, maximum: int | None = None,
                  what: str | None = None) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` naming ``name``.

    Accepts Python and NumPy integers, and floats with an integral value
    below 2**53 (so ``1e4`` is 10000); refuses ``None``, booleans, strings,
    fractions, infinities and NaN. ``minimum`` and ``maximum`` are inclusive;
    ``what`` replaces the description of the allowed values in the message.
    """
    if what is None:
        what = "an integer" if minimum is None else f"an integer of at least {minimum}"
        if maximum is not None:
            what = f"an integer from {minimum} to {maximum}" if minimum is not None else \
                f"an integer of at most {maximum}"
    if isinstance(value, (bool, np.bool_)) or value is None or isinstance(value, (str, bytes)) \
            or _is_complex(value):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    if isinstance(value, numbers.Integral):
        n = int(value)
    else:
        try:
            v = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{name} must be {what}, got {value!r}") from None
        if not math.isfinite(v) or not v.is_integer() or abs(v) >= 2.0**53:
            raise ValueError(f"{name} must be {what}, got {value!r}")
        n = int(v)
    if (minimum is not None and n < minimum) or (maximum is not None and n > maximum):
        shown = repr(value) if abs(n) < 10**18 else f"an integer of {len(str(abs(n)))} digits"
        raise ValueError(f"{name} must be {what}, got {shown}")
    return n


def check_temperatures(omega_T) -> np.ndarray:
    """Temperatures as a 1-D float array, each within :data:`TEMPERATURE_RANGE`."""
    if omega_T is None or isinstance(omega_T, (str, bytes)):
        raise ValueError(f"temperature must be a number or a list of numbers, got {omega_T!r}")
    try:
        raw = np.atleast_1d(np.asarray(omega_T))
    except (TypeError, ValueError):
        raise ValueError("temperature must be a number or a flat list of numbers") from None
    if raw.ndim != 1 or raw.size == 0:
        raise ValueError("temperature must be a non-empty flat list of numbers")
    if np.iscomplexobj(raw):
        imaginary = raw[np.iscomplex(raw)]
        raise ValueError(f"temperature must be real, got {(imaginary if imaginary.size else raw)[0]!r}")
    if raw.dtype.kind not in "iuf":
        for value in raw:  # names the offending entry
            check_finite("temperature", value)
    arr = raw.astype(float)
    low, high = TEMPERATURE_RANGE
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(arr) & (arr >= low) & (arr <= high))
    if bad.any():  # the first offending value, with check_finite's message
        check_finite("temperature", arr[bad][0], positive=True, low=low, high=high)
    return arr


def check_jobs(n_jobs) -> int:
    """Number of workers: ``None`` means ``$ACTIVATION_JOBS`` or all cores.

    Negative values count back from all cores as in joblib; more workers
    than cores are capped at the number of cores (callers also cap them at
    the number of work units).
    """
    name = "jobs"
    if n_jobs is None:
        n_jobs = os.environ.get("ACTIVATION_JOBS", -1)
        name = "ACTIVATION_JOBS"
        if isinstance(n_jobs, str):
            try:
                n_jobs = int(n_jobs.strip())
            except ValueError:
                raise ValueError(f"ACTIVATION_JOBS must be an integer, got {n_jobs!r}") from None
    n = check_integer(name, n_jobs)
    if n == 0:
        raise ValueError(f"{name} must be a positive integer or negative (all cores), got 0")
    cores = os.cpu_count() or 1
    if n < 0:
        n = max(1, cores + 1 + n)
    return min(n, cores)


def check_seed(seed) -> int:
    """A non-negative integer. ``None`` is refused: every result is reproducible from its seed."""
    if seed is None:
        raise ValueError("seed must be a non-negative integer, got None (every run is reproducible from "
                         "its seed: pick one)")
    return check_integer("seed", seed, minimum=0)


def check_trials(trials) -> int:
    """Trials per temperature: a positive integer (bounded with the temperatures by :data:`MAX_TRAJECTORIES`)."""
    return check_integer("trials", trials, minimum=1, what="a positive integer")


def check_trajectories(trials: int, temperatures: int, where: str = "per call") -> None:
    """Refuse more than :data:`MAX_TRAJECTORIES` trials x temperatures in one run (``where`` names the run)."""
    if trials * temperatures > MAX_TRAJECTORIES:
        shown = trials if trials < 10**15 else f"about 1e{len(str(trials)) - 1}"
        raise ValueError(f"trials x temperatures must be at most {MAX_TRAJECTORIES:.0e} {where}, got "
                         f"{shown} x {temperatures}; split the run")


def check_method(method) -> str:
    """One of :data:`METHODS`."""
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    return method


def check_tolerance(tolerance, method: str = "quadrature") -> float:
    """The relative tolerance of ``method``: 'quadrature' in :data:`QUADRATURE_TOLERANCE_RANGE` (below 1),
    'quantum' in :data:`QUANTUM_TOLERANCE_RANGE`."""
    if method == "quantum":
        low, high = QUANTUM_TOLERANCE_RANGE
        return check_finite("tolerance", tolerance, low=low, high=high)
    if method != "quadrature":
        raise ValueError(f"tolerance applies to method='quadrature' or 'quantum' only, not {method!r}")
    tol = check_finite("tolerance", tolerance, positive=True)
    low, high = QUADRATURE_TOLERANCE_RANGE
    if not tol < high:
        raise ValueError(f"tolerance must be below {high:g}, got {tol!r}")
    if tol < low:
        raise ValueError(f"tolerance must be at least {low:g}, got {tol!r}")
    return tol
