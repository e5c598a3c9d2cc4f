r"""Transmission phase space (paper Sec. III B, Fig. 3).

For a fixed oscillator phase :math:`\phi`, every point of a grid of particle
energies :math:`\mathcal{E}_\mathrm{particle}` and oscillator energies
:math:`\mathcal{E}_\mathrm{oscillator}` is one trajectory; the map records
which are transmitted (the region :math:`\mathcal{A}` of the paper).

Conventions for the oscillator's initial state (the paper's text and the authors'
published scripts at github.com/rodin-physics/oscillator-activation differ):

``paper-text`` (default)
    What the paper says: amplitude :math:`A = \sqrt{2\mathcal{E}_\mathrm{osc}}`,
    :math:`y_0 = A\sin\phi`, :math:`\dot y_0 = 2\pi A\cos\phi`, so the
    oscillator really has the energy on the axis.
``published-script``
    What the authors' script does: :math:`y_0 = A\sin\phi` but
    :math:`\dot y_0 = 2\pi\cos\phi` (the amplitude is missing from the
    speed), so except at :math:`\phi = \pi/2, 3\pi/2` the oscillator's
    energy is not the labelled one. The script also runs
    :math:`\phi = k\pi/4` for ``k = 0..8``, ``k = 8`` repeating ``k = 0``.
"""
from __future__ import annotations

import math

import numpy as np

from . import cache, parallel
from .inputs import check_integer, check_jobs
from .experiments import initial_states
from .integrate import TRANSMITTED, Integrator, get_integrator, run
from .model import Model, check_finite, check_model
from .records import record

CONVENTIONS = ("paper-text", "published-script")

PAPER_PHASES = tuple(k * math.pi / 4 for k in range(8))
"""The eight phases of Fig. 3, :math:`k\\pi/4` for ``k = 0..7``."""

SCRIPT_PHASES = tuple(k * math.pi / 4 for k in range(9))
"""The published script's nine phases, ``k = 0..8``."""

PARTICLE_RANGE = (0.1, 12.0)
OSCILLATOR_RANGE = (0.0, 20.0)
PAPER_GRID = 200

MAX_GRID = 2000
"""Largest grid per axis (4 million trajectories; the states take 128 MB)."""


def check_convention(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {', '.join(CONVENTIONS)}; got {convention!r}")
    return convention


def oscillator_initial(energy, phase, convention: str = "paper-text"):
    """Initial ``(y0, vy0)`` for oscillator ``energy`` and ``phase`` under ``convention``."""
    check_convention(convention)
    amplitude = np.sqrt(2.0 * np.asarray(energy, dtype=float))
    y0 = amplitude * np.sin(phase)
    if convention == "paper-text":
        vy0 = 2.0 * math.pi * amplitude * np.cos(phase)
    else:
        vy0 = 2.0 * math.pi * np.cos(phase) * np.ones_like(amplitude)
    return y0, vy0


def grid_states(model: Model, phase: float, particle_energy, oscillator_energy,
                convention: str = "paper-text") -> np.ndarray:
    """Initial states for every grid point; rows ordered oscillator-major.

    Returns shape ``(n_osc * n_particle, 4)``: row ``i * n_particle + j``
    has oscillator energy ``oscillator_energy[i]`` and particle energy
    ``particle_energy[j]``.
    """
    ep, eo = np.meshgrid(particle_energy, oscillator_energy)
    y0, vy0 = oscillator_initial(eo, phase, convention)
    return initial_states(ep.ravel(), y0.ravel(), vy0.ravel(), model)


@record
class PhaseSpaceMap:
    """Outcome over an (E_particle, E_oscillator) grid at one phase.

    Attributes
    ----------
    model : Model
    phase : float
        Oscillator phase :math:`\\phi` (radians).
    convention : str
    particle_energy : ndarray(float, ndim=1)
        Grid of :math:`\\mathcal{E}_\\mathrm{particle}` (columns).
    oscillator_energy : ndarray(float, ndim=1)
        Grid of :math:`\\mathcal{E}_\\mathrm{oscillator}` (rows).
    transmitted : ndarray(bool, ndim=2)
        Shape ``(n_osc, n_particle)``; True where the particle passes.
    integrator : str
        The integrator's :attr:`~lib.integrate.Integrator.label`.
    integrator_settings : dict or None
        :meth:`lib.integrate.Integrator.describe` of the integrator used.
    undecided : int or None
        Grid points whose trajectory ended undecided (shown as not transmitted).
    """

    model: Model
    phase: float
    convention: str
    particle_energy: np.ndarray
    oscillator_energy: np.ndarray
    transmitted: np.ndarray
    integrator: str
    integrator_settings: dict | None = None
    undecided: int | None = None

    @property
    def transmitted_fraction(self) -> float:
        """Fraction of grid points in the transmitting region."""
        return float(self.transmitted.mean())

    def to_dict(self) -> dict:
        return {
            **self.model.to_dict(),
            "phase": self.phase,
            "convention": self.convention,
            "integrator": self.integrator,
            "integrator_settings": self.integrator_settings,
            "undecided": self.undecided,
            "particle_energy": self.particle_energy.tolist(),
            "oscillator_energy": self.oscillator_energy.tolist(),
            "transmitted_fraction": self.transmitted_fraction,
            "transmitted": self.transmitted.astype(int).tolist(),
        }


def _rows(model, phase, particle_energy, oscillator_energy, convention, integrator):
    states = grid_states(model, phase, particle_energy, oscillator_energy, convention)
    result = run(model, states, integrator)
    transmitted = (result.outcome == TRANSMITTED).reshape(len(oscillator_energy), len(particle_energy))
    return transmitted, int(np.count_nonzero(result.reason))  # a reason: undecided


def _compute_map(model, phase, particle_energy, oscillator_energy, convention, integrator,
                 engine_version, n_jobs=1):
    n_osc = oscillator_energy.size
    n_blocks = 1 if n_osc * particle_energy.size < 5000 else min(n_osc, 16)
    blocks = np.array_split(np.arange(n_osc), n_blocks)
    tasks = [(model, phase, particle_energy, oscillator_energy[b], convention, integrator) for b in blocks]
    parts = [part for _, part in parallel.run(_rows, tasks, n_jobs=n_jobs)]
    transmitted = np.concatenate([rows for rows, _ in parts], axis=0)
    return PhaseSpaceMap(model, float(phase), convention, particle_energy, oscillator_energy,
                         transmitted, integrator.label, integrator.describe(), sum(n for _, n in parts))


ENERGY_RANGE = (0.0, 1e6)
"""Allowed particle and oscillator energies on the axes (the temperatures' upper bound)."""

MIN_PARTICLE_ENERGY = 1e-3
"""Lowest particle energy on a map: slower particles take ever longer to reach the gate."""


def _axis(name, spec, default_range, grid, low):
    if spec is None:
        spec = default_range
    try:
        arr = np.asarray(spec, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (low, high) pair or a list of real energies, got {spec!r}") from None
    if low > 0 and np.any(arr <= 0):
        raise ValueError(f"{name} must be positive (the particle must move), at least {low:g}; got {spec!r}")
    if arr.shape == (2,):
        lo = check_finite(f"{name} lower bound", arr[0], low=low, high=ENERGY_RANGE[1])
        hi = check_finite(f"{name} upper bound", arr[1], low=low, high=ENERGY_RANGE[1])
        if not hi > lo:
            raise ValueError(f"{name} range must be increasing, got {spec!r}")
        return np.linspace(lo, hi, grid)
    if arr.ndim != 1 or arr.size < 1 or arr.size > MAX_GRID:
        raise ValueError(f"{name} must be a (low, high) pair or a list of 1 to {MAX_GRID} energies")
    for value in arr:
        check_finite(name, value, low=low, high=ENERGY_RANGE[1])
    return arr


def phase_space_map(model: Model, phase: float, *, grid: int = PAPER_GRID, particle_energy=None,
                    oscillator_energy=None, convention: str = "paper-text", integrator="adaptive",
                    n_jobs=None, use_cache: bool = True) -> PhaseSpaceMap:
    """Transmission map over particle and oscillator energies at one phase.

    Parameters
    ----------
    model : Model
    phase : float
        Oscillator phase :math:`\\phi` in radians.
    grid : int, default 200
        Points per axis when a range is given, from 2 to :data:`MAX_GRID`.
    particle_energy, oscillator_energy : (low, high) or sequence, optional
        Axis ranges (``grid`` evenly spaced points including both ends) or
        explicit values. Defaults: the paper's [0.1, 12] and [0, 20].
        Particle energies must lie in [1e-3, 1e6], oscillator energies in
        [0, 1e6].
    convention : {'paper-text', 'published-script'}
        How the oscillator's energy and phase set its initial state.
    integrator : {'adaptive', 'paper'} or Integrator
    n_jobs : int, optional
        Worker processes (``None``: ``$ACTIVATION_JOBS`` or all cores).
    use_cache : bool
        Use the on-disk cache.
    """
    check_model(model)
    phase = check_finite("phase", phase)
    grid = check_integer("grid", grid, minimum=2, maximum=MAX_GRID)
    pe = _axis("particle energy", particle_energy, PARTICLE_RANGE, grid, MIN_PARTICLE_ENERGY)
    oe = _axis("oscillator energy", oscillator_energy, OSCILLATOR_RANGE, grid, 0.0)
    check_convention(convention)
    integ: Integrator = get_integrator(integrator)
    n_jobs = check_jobs(n_jobs)
    func = cache.cached(_compute_map, ignore=("n_jobs",)) if use_cache else _compute_map
    return func(model, phase, pe, oe, convention, integ, cache.ENGINE_VERSION, n_jobs=n_jobs)
