r"""The paper's four numerical experiments: how initial conditions are drawn.

Temperatures are :math:`\omega_T = k_B T / \hbar\Omega`. In every experiment
the particle starts at ``x0`` (paper: -20) moving towards the gate with
speed :math:`\sqrt{8\pi^2 \mathcal{E}_\mathrm{particle} / M}`.

``frozen`` (Fig. 4a)
    :math:`\mathcal{E}_\mathrm{particle} \sim \mathrm{Exponential}(\omega_T)`;
    the oscillator sits at ``y = 0`` and is held there.
``deflected`` (Fig. 4b)
    The same draws; the oscillator starts at rest at ``y = 0`` and is free
    to move.
``thermal`` (Fig. 5a, independent baths)
    :math:`\mathcal{E}_\mathrm{particle} \sim \mathrm{Exponential}(\omega_T)`;
    oscillator level :math:`n \sim (1-q)q^n` with :math:`q = e^{-1/\omega_T}`;
    phase :math:`\phi \sim U[0, 2\pi)`; amplitude :math:`A = \sqrt{2n+1}`;
    :math:`y_0 = A\sin\phi`, :math:`\dot y_0 = 2\pi A\cos\phi`.
``joint`` (Fig. 5b, the paper's "composite system")
    Total :math:`\mathcal{E} \sim \mathrm{Exponential}(\omega_T)`;
    :math:`n` uniform on the integers :math:`0..\lfloor\mathcal{E}\rfloor`;
    :math:`\mathcal{E}_\mathrm{particle} = \mathcal{E} - n`; phase and
    amplitude as in ``thermal``. This is *not* the canonical distribution of
    the pair (see :func:`mean_energies` and the book's "Beyond the paper").
``classical`` (outside the paper: a classical gate)
    As ``thermal``, but the gate's energy :math:`\varepsilon \sim
    \mathrm{Exponential}(\omega_T)` is continuous, without zero-point
    energy: amplitude :math:`A = \sqrt{2\varepsilon}`.

Random numbers are drawn in a fixed order (particle or total energy first,
then ``n``, then the phase), vectorised, from a ``numpy.random.Generator``
owned by the caller. The first draw is the same in all experiments, so for
one seed ``frozen`` and ``deflected`` launch identical particles.

Each experiment is an :class:`Experiment` record in :data:`EXPERIMENT_REGISTRY`;
:data:`EXPERIMENTS`, :data:`DESCRIPTIONS`, :func:`is_frozen`, :func:`sample`,
the command line and :mod:`lib.reproduce` are derived from it, so a new
ensemble is one entry.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .model import EIGHT_PI2, Model, check_finite


def paper_temperatures() -> np.ndarray:
    """The paper's 250 temperatures: 50 evenly spaced in [1, 4] then 200 in [4, 150].

    The value 4 appears twice, as in the authors' scripts.
    """
    return np.concatenate([np.linspace(1.0, 4.0, 50), np.linspace(4.0, 150.0, 200)])


def energy_amplitude(energy):
    """Amplitude :math:`\\sqrt{2\\varepsilon}` of the gate with energy :math:`\\varepsilon = A^2/2` (units of :math:`\\hbar\\Omega`)."""
    return np.sqrt(2.0 * np.asarray(energy, dtype=float))


def level_amplitude(level):
    """Amplitude :math:`\\sqrt{2n + 1}` of the gate in level ``n`` (energy :math:`n + 1/2`)."""
    return energy_amplitude(np.asarray(level, dtype=float) + 0.5)


def oscillator_state(amplitude, phase):
    """Oscillator ``(y0, vy0) = (A sin(phi), 2 pi A cos(phi))`` (paper Sec. III D)."""
    amplitude = np.asarray(amplitude, dtype=float)
    phase = np.asarray(phase, dtype=float)
    return amplitude * np.sin(phase), 2.0 * math.pi * amplitude * np.cos(phase)


def initial_states(particle_energy, oscillator_y, oscillator_vy, model: Model) -> np.ndarray:
    """Stack lab-frame initial states ``(x0, vx0, y0, vy0)``, shape ``(n, 4)``."""
    e = np.asarray(particle_energy, dtype=float)
    u = np.empty((e.size, 4))
    u[:, 0] = model.x0
    u[:, 1] = np.sqrt(EIGHT_PI2 * e.ravel() / model.M)
    u[:, 2] = np.broadcast_to(oscillator_y, e.shape).ravel()
    u[:, 3] = np.broadcast_to(oscillator_vy, e.shape).ravel()
    return u


def _thermal_oscillator(model: Model, e_particle, level, n: int, rng: np.random.Generator,
                        amplitude=None) -> np.ndarray:
    """States with the oscillator in ``level`` (or of ``amplitude``) at a uniformly drawn phase (the last draw)."""
    phase = rng.uniform(0.0, 2.0 * math.pi, n)
    y0, vy0 = oscillator_state(level_amplitude(level) if amplitude is None else amplitude, phase)
    return initial_states(e_particle, y0, vy0, model)


def _sample_at_rest(model: Model, omega_T: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Boltzmann particle energy; oscillator at rest at ``y = 0`` (frozen, deflected)."""
    return initial_states(rng.exponential(omega_T, n), 0.0, 0.0, model)


def _sample_thermal(model: Model, omega_T: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Particle and oscillator from independent baths at ``omega_T``."""
    e_particle = rng.exponential(omega_T, n)
    q = math.exp(-1.0 / omega_T)
    # numpy's geometric counts trials to the first success (k >= 1):
    # P(k) = q^(k-1) (1 - q), so n = k - 1 has P(n) = (1 - q) q^n.
    level = rng.geometric(1.0 - q, n) - 1
    return _thermal_oscillator(model, e_particle, level, n, rng)


def _sample_joint(model: Model, omega_T: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Boltzmann total energy, split at a uniformly drawn oscillator level."""
    e_total = rng.exponential(omega_T, n)
    level = rng.integers(0, np.floor(e_total).astype(np.int64), endpoint=True)
    return _thermal_oscillator(model, e_total - level, level, n, rng)


def _sample_classical(model: Model, omega_T: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Particle and a classical gate (continuous Boltzmann energy, no zero-point energy) from independent baths."""
    e_particle = rng.exponential(omega_T, n)
    e_gate = rng.exponential(omega_T, n)
    return _thermal_oscillator(model, e_particle, None, n, rng, amplitude=energy_amplitude(e_gate))


def mean_energies(experiment: str, omega_T) -> dict:
    r"""Mean particle and gate energies of ``experiment``'s initial conditions, in closed form.

    Gate energies are measured from the gate's ground state (its level
    :math:`n` for a quantum gate). With :math:`q = e^{-1/\omega_T}`:

    * ``frozen``, ``deflected``: particle :math:`\omega_T`, gate 0.
    * ``thermal`` (the canonical distribution of the pair,
      :math:`\propto e^{-(\mathcal{E} + n)/\omega_T}`): particle
      :math:`\omega_T`, gate :math:`q/(1-q)` (Bose-Einstein).
    * ``joint``: the total :math:`\varepsilon` is exponential with mean
      :math:`\omega_T`, and :math:`n` uniform on :math:`0..\lfloor\varepsilon\rfloor`
      has mean :math:`\lfloor\varepsilon\rfloor/2`; since
      :math:`\langle\lfloor\varepsilon\rfloor\rangle = \sum_{k\ge1} P(\varepsilon \ge k) = q/(1-q)`,
      gate :math:`q/2(1-q)` and particle :math:`\omega_T - q/2(1-q)`.
    * ``classical``: particle :math:`\omega_T`, gate :math:`\omega_T`.

    Returns ``{"particle": ..., "gate": ..., "total": ...}`` (arrays like ``omega_T``).
    """
    name = check_experiment(experiment)
    w = np.asarray(omega_T, dtype=float)
    if not np.all(np.isfinite(w) & (w > 0)):
        raise ValueError(f"temperature must be finite and positive, got {omega_T!r}")
    bose = 1.0 / np.expm1(1.0 / w)  # q / (1 - q)
    particle, gate = {
        "frozen": (w, 0.0 * w), "deflected": (w, 0.0 * w), "thermal": (w, bose),
        "joint": (w - 0.5 * bose, 0.5 * bose), "classical": (w, w),
    }[name]
    return {"particle": particle, "gate": gate, "total": particle + gate}


@dataclass(frozen=True)
class Experiment:
    """One ensemble of initial conditions.

    Attributes
    ----------
    name : str
        Key in :data:`EXPERIMENT_REGISTRY` and on the command line.
    description : str
        One line, shown by the command line and the widgets.
    frozen : bool
        Whether the oscillator is held fixed while the particle passes.
    sampler : callable
        ``sampler(model, omega_T, n, rng)`` returns ``n`` lab-frame initial
        states, shape ``(n, 4)``; ``omega_T`` is validated by :func:`sample`.
    figure : str or None
        The paper's panel, e.g. ``"4a"``; ``None`` for an ensemble outside
        the paper.
    gate : {'frozen', 'rest', 'levels', 'energies'}
        The gate states the transmitting set needs for quadrature
        (:mod:`lib.transmitting`): held, free at rest, in levels with
        phases, or of continuous energy with phases.
    density : {'particle', 'independent', 'split', 'classical'}
        How :mod:`lib.quadrature` weighs them: a Boltzmann particle alone;
        independent Boltzmann particle and gate levels; a Boltzmann total
        energy split uniformly over the levels (the paper's joint sampler);
        or independent Boltzmann particle and continuous gate energy.
    """

    name: str
    description: str
    frozen: bool
    sampler: Callable[[Model, float, int, np.random.Generator], np.ndarray]
    figure: str | None = None
    gate: str = "rest"
    density: str = "particle"

    @property
    def figure_number(self) -> str | None:
        """The paper's figure without the panel letter, e.g. ``"4"``."""
        return None if self.figure is None else self.figure.rstrip("abcdefghijklmnopqrstuvwxyz")


def _registry(*experiments: Experiment) -> dict[str, Experiment]:
    return {e.name: e for e in experiments}


EXPERIMENT_REGISTRY: dict[str, Experiment] = _registry(
    Experiment("frozen", "oscillator held fixed at y = 0", True, _sample_at_rest, "4a", "frozen", "particle"),
    Experiment("deflected", "oscillator starts at rest at y = 0, free to move", False, _sample_at_rest, "4b",
               "rest", "particle"),
    Experiment("thermal", "particle and oscillator from independent baths", False, _sample_thermal, "5a",
               "levels", "independent"),
    Experiment("joint", "total energy Boltzmann-distributed, split at random", False, _sample_joint, "5b",
               "levels", "split"),
    Experiment("classical", "particle and a classical gate (no zero-point energy) from independent baths",
               False, _sample_classical, None, "energies", "classical"),
)
"""Every experiment, by name, in the order they are listed everywhere."""

EXPERIMENTS = tuple(EXPERIMENT_REGISTRY)
"""Names of the experiments."""

DESCRIPTIONS = {name: e.description + (f" (Fig. {e.figure})" if e.figure else "")
                for name, e in EXPERIMENT_REGISTRY.items()}
"""One-line description of each experiment, with its figure."""


def figure_experiments() -> dict[str, tuple[str, ...]]:
    """Experiments of each of the paper's figures, e.g. ``{"4": ("frozen", "deflected"), ...}``."""
    out: dict[str, tuple[str, ...]] = {}
    for name, e in EXPERIMENT_REGISTRY.items():
        if e.figure_number is not None:
            out[e.figure_number] = out.get(e.figure_number, ()) + (name,)
    return out


def get_experiment(experiment: str) -> Experiment:
    """The registered :class:`Experiment` called ``experiment``, or ``ValueError``."""
    try:
        return EXPERIMENT_REGISTRY[experiment]
    except (KeyError, TypeError):
        raise ValueError(f"experiment must be one of {', '.join(EXPERIMENTS)}; got {experiment!r}") from None


def check_experiment(experiment: str) -> str:
    """``experiment`` if it is registered, else ``ValueError``."""
    return get_experiment(experiment).name


def is_frozen(experiment: str) -> bool:
    """Whether the experiment holds the oscillator fixed."""
    return get_experiment(experiment).frozen


def sample(experiment: str, model: Model, omega_T: float, n: int,
           rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` initial states of ``experiment`` at temperature ``omega_T``.

    Parameters
    ----------
    experiment : str
        A name in :data:`EXPERIMENTS` ({'frozen', 'deflected', 'thermal', 'joint', 'classical'}).
    model : Model
    omega_T : float
        Temperature in units of :math:`\\hbar\\Omega`; positive.
    n : int
        Number of trials.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray(float, ndim=2)
        Shape ``(n, 4)``, rows ``(x0, vx0, y0, vy0)``.
    """
    sampler = get_experiment(experiment).sampler
    omega_T = check_finite("temperature", omega_T, positive=True)
    return sampler(model, omega_T, n, rng)
