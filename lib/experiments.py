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
``joint`` (Fig. 5b, composite system thermal)
    Total :math:`\mathcal{E} \sim \mathrm{Exponential}(\omega_T)`;
    :math:`n` uniform on the integers :math:`0..\lfloor\mathcal{E}\rfloor`;
    :math:`\mathcal{E}_\mathrm{particle} = \mathcal{E} - n`; phase and
    amplitude as in ``thermal``.

Random numbers are drawn in a fixed order (particle or total energy first,
then ``n``, then the phase), vectorised, from a ``numpy.random.Generator``
owned by the caller. The first draw is the same in all experiments, so for
one seed ``frozen`` and ``deflected`` launch identical particles.
"""
from __future__ import annotations

import math

import numpy as np

from .model import EIGHT_PI2, Model, check_finite

EXPERIMENTS = ("frozen", "deflected", "thermal", "joint")

DESCRIPTIONS = {
    "frozen": "oscillator held fixed at y = 0 (Fig. 4a)",
    "deflected": "oscillator starts at rest at y = 0, free to move (Fig. 4b)",
    "thermal": "particle and oscillator from independent baths (Fig. 5a)",
    "joint": "total energy Boltzmann-distributed, split at random (Fig. 5b)",
}


def check_experiment(experiment: str) -> str:
    if experiment not in EXPERIMENTS:
        raise ValueError(f"experiment must be one of {', '.join(EXPERIMENTS)}; got {experiment!r}")
    return experiment


def is_frozen(experiment: str) -> bool:
    """Whether the experiment holds the oscillator fixed."""
    return check_experiment(experiment) == "frozen"


def paper_temperatures() -> np.ndarray:
    """The paper's 250 temperatures: 50 evenly spaced in [1, 4] then 200 in [4, 150].

    The value 4 appears twice, as in the authors' scripts.
    """
    return np.concatenate([np.linspace(1.0, 4.0, 50), np.linspace(4.0, 150.0, 200)])


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


def sample(experiment: str, model: Model, omega_T: float, n: int,
           rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` initial states of ``experiment`` at temperature ``omega_T``.

    Parameters
    ----------
    experiment : {'frozen', 'deflected', 'thermal', 'joint'}
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
    check_experiment(experiment)
    omega_T = check_finite("temperature", omega_T, positive=True)
    if experiment in ("frozen", "deflected", "thermal"):
        e_particle = rng.exponential(omega_T, n)
        if experiment != "thermal":
            return initial_states(e_particle, 0.0, 0.0, model)
        q = math.exp(-1.0 / omega_T)
        # numpy's geometric counts trials to the first success (k >= 1):
        # P(k) = q^(k-1) (1 - q), so n = k - 1 has P(n) = (1 - q) q^n.
        level = rng.geometric(1.0 - q, n) - 1
    else:  # joint
        e_total = rng.exponential(omega_T, n)
        level = rng.integers(0, np.floor(e_total).astype(np.int64), endpoint=True)
        e_particle = e_total - level
    phase = rng.uniform(0.0, 2.0 * math.pi, n)
    y0, vy0 = oscillator_state(np.sqrt(2.0 * level + 1.0), phase)
    return initial_states(e_particle, y0, vy0, model)
