"""Numerical checks of the integrators, as data for the book and the tests.

* :func:`convergence_study`: error of a fixed-step tableau against step size
  on a trajectory through the interaction; the log-log slope is the order.
* :func:`energy_errors`: largest relative drift of the total energy along
  whole trajectories.
* :func:`agreement`: outcome by outcome comparison of two integrators on the
  same initial conditions, with their cost.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .experiments import is_frozen, sample
from .integrate import Integrator, get_integrator, run, trajectory
from .model import Model
from .tableaus import BUTCHER_RK5, Tableau


@dataclass(frozen=True)
class ConvergenceStudy:
    """Global error against step size for one tableau.

    Attributes
    ----------
    tableau : Tableau
    h : ndarray
        Step sizes.
    error : ndarray
        Largest deviation of the state from the reference over the path.
    slope : float
        Least-squares slope of log(error) against log(h): the observed order.
    """

    tableau: Tableau
    h: np.ndarray
    error: np.ndarray
    slope: float


CONVERGENCE_MODEL = Model(M=5.0, s=1.0)
"""A heavy particle crossing an offset gate: smooth, nonlinear, strongly coupled."""

CONVERGENCE_STATE = (-5.0, float(CONVERGENCE_MODEL.speed(9.0)), 0.5, 2.0)
"""Starts inside the interaction and crosses to x = 2.1 by t = 1."""


def convergence_study(tableau: Tableau, *, model: Model = CONVERGENCE_MODEL, state=CONVERGENCE_STATE,
                      t_end: float = 1.0, steps=(40, 80, 160, 320), reference_steps: int = 10240,
                      rotating: bool = False) -> ConvergenceStudy:
    """Fixed-step error of ``tableau`` for ``t_end / n`` steps, ``n`` in ``steps``.

    The reference is Butcher's RK5 with ``reference_steps`` steps (a
    multiple of every ``n``); the error is the largest deviation over all
    common times.
    """
    steps = np.asarray(steps, dtype=int)
    if np.any(reference_steps % steps):
        raise ValueError("reference_steps must be a multiple of every entry of steps")
    ref = trajectory(model, state, Integrator("reference", BUTCHER_RK5, h=t_end / reference_steps,
                                              rotating=rotating), t_end=t_end).states
    errors = []
    for n in steps:
        tr = trajectory(model, state, Integrator(f"{tableau.name}", tableau, h=t_end / n, rotating=rotating),
                        t_end=t_end)
        errors.append(np.abs(tr.states - ref[:: reference_steps // n]).max())
    h = t_end / steps
    errors = np.array(errors)
    slope = float(np.polyfit(np.log(h), np.log(errors), 1)[0])
    return ConvergenceStudy(tableau, h, errors, slope)


def energy_errors(model: Model, states, integrator="adaptive", *, frozen: bool = False) -> np.ndarray:
    """Largest relative drift ``max |E(t) - E(0)| / E(0)`` along each whole trajectory."""
    out = []
    for state in np.atleast_2d(states):
        e = trajectory(model, state, integrator, frozen=frozen).total_energy
        out.append(np.abs(e - e[0]).max() / e[0])
    return np.array(out)


@dataclass(frozen=True)
class Agreement:
    """Two integrators run on the same initial conditions, per temperature.

    Attributes
    ----------
    experiment : str
    model : Model
    omega_T : ndarray
    trials : int
    identical : ndarray(int)
        Trials with the same outcome in both, per temperature.
    evaluations : tuple of two ndarray(float)
        Mean derivative evaluations per trajectory for each integrator.
    names : tuple of str
    """

    experiment: str
    model: Model
    omega_T: np.ndarray
    trials: int
    identical: np.ndarray
    evaluations: tuple
    names: tuple

    @property
    def fraction(self) -> np.ndarray:
        return self.identical / self.trials


def agreement(experiment: str, model: Model, omega_T, *, trials: int = 500, seed: int = 0,
              integrators=("adaptive", "paper"), use_cache: bool = True) -> Agreement:
    """Compare two integrators trial by trial on the same draws.

    The result goes through the on-disk cache (:mod:`lib.cache`), keyed by
    the arguments and the engine version, unless ``use_cache`` is false.
    """
    from . import cache
    from .ensemble import check_seed, check_temperatures, check_trials

    if not isinstance(model, Model):
        raise ValueError(f"model must be a lib.Model, got {type(model).__name__}")
    trials = check_trials(trials)
    seed = check_seed(seed)
    omega_T = check_temperatures(omega_T)
    integs = tuple(get_integrator(i) for i in integrators)
    func = cache.cached(_agreement) if use_cache else _agreement
    return func(experiment, model, omega_T, trials, seed, integs, cache.ENGINE_VERSION)


def _agreement(experiment, model, omega_T, trials, seed, integrators, engine_version) -> Agreement:
    rng = np.random.default_rng(seed)
    a, b = integrators
    identical, ev_a, ev_b = [], [], []
    frozen = is_frozen(experiment)
    for T in omega_T:
        states = sample(experiment, model, T, trials, rng)
        ra, rb = run(model, states, a, frozen=frozen), run(model, states, b, frozen=frozen)
        identical.append(int(np.count_nonzero(ra.outcome == rb.outcome)))
        ev_a.append(ra.evaluations.mean())
        ev_b.append(rb.evaluations.mean())
    return Agreement(experiment, model, omega_T, trials, np.array(identical),
                     (np.array(ev_a), np.array(ev_b)), (a.name, b.name))
