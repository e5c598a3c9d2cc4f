r"""Numerical checks of the integrators, as data for the book and the tests.

* :func:`convergence_study`: error of a fixed-step tableau against step size
  on a trajectory through the interaction; the log-log slope is the order.
* :func:`energy_errors`: largest relative drift of the total energy along
  whole trajectories.
* :func:`agreement`: outcome by outcome comparison of two integrators on the
  same initial conditions, with their cost.

The statistics the chapters quote, each checked in ``tests/test_validation.py``:

* :class:`Deviations` of Monte Carlo estimates from an exact reference
  (:func:`binomial_deviations` against a closed form,
  :func:`quadrature_deviations` and :func:`tolman_deviations` against the
  quadrature), with their mean square, the count beyond three standard
  errors and a Poisson test of that count;
* the seed studies: :func:`frozen_seed_study` (a frozen gate, whose
  :math:`\mathcal{P}` is exact, with other seeds) and
  :func:`independent_seed_deviations` (every panel with a seed of its own);
* :func:`activation_drift`, :func:`drift_share` and
  :func:`extrapolation_factors` of quadrature curves;
* :func:`activation_split`: Tolman's activation energy split into the
  particle's and the gate's share.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import cache
from .arrhenius import arrhenius, extrapolate_arrhenius
from .barriers import frozen_barrier
from .experiments import (EXPERIMENT_REGISTRY, check_experiment, figure_experiments, is_frozen, paper_temperatures,
                          sample)
from .inputs import check_integer, check_seed, check_temperatures, check_trials
from .integrate import Integrator, get_integrator, run, trajectory
from .model import Model, check_model
from .transmission import transmission_probability
from .transmitting import transmitting_set
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
        The integrators' labels (:attr:`lib.integrate.Integrator.label`).
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
    check_model(model)
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
                     (np.array(ev_a), np.array(ev_b)), (a.label, b.label))


# -- statistics of the chapters: Monte Carlo against exact references ---------------------------------

TAIL_3SIGMA = 0.0026997960632601866
"""Probability that a standard normal lies beyond three standard deviations, ``2 * norm.sf(3)``."""


@dataclass(frozen=True)
class Deviations:
    """Standardised deviations ``z`` of Monte Carlo estimates from a reference, with their summary.

    For independent estimates with correct errors ``z`` is standard normal:
    its mean square :attr:`msd` is 1 within :attr:`spread`, and about
    ``n * 0.0027`` points lie beyond three standard deviations.
    """

    z: np.ndarray

    @property
    def n(self) -> int:
        return int(self.z.size)

    @property
    def msd(self) -> float:
        """Mean squared deviation, in variances (1 expected)."""
        return float(np.mean(self.z ** 2)) if self.n else float("nan")

    @property
    def max_abs(self) -> float:
        return float(np.max(np.abs(self.z))) if self.n else float("nan")

    @property
    def spread(self) -> float:
        """Standard deviation of :attr:`msd` for standard normal ``z``: ``sqrt(2 / n)``."""
        return float(np.sqrt(2.0 / self.n)) if self.n else float("nan")

    @property
    def excess_sigma(self) -> float:
        """How many :attr:`spread` the :attr:`msd` lies above 1."""
        return (self.msd - 1.0) / self.spread

    def beyond(self, k: float = 3.0) -> int:
        """Points with ``|z| > k``."""
        return int(np.count_nonzero(np.abs(self.z) > k))

    def expected_beyond(self, k: float = 3.0) -> float:
        """Points expected beyond ``k`` for standard normal ``z``."""
        from scipy.stats import norm

        tail = TAIL_3SIGMA if k == 3.0 else 2.0 * float(norm.sf(k))
        return self.n * tail

    def chance(self, k: float = 3.0, level: float = 0.05) -> bool:
        """Whether :meth:`beyond` ``k`` or more points is plausible by chance: the Poisson probability of
        at least that many, with mean :meth:`expected_beyond`, is at least ``level``."""
        from scipy.stats import poisson

        return bool(poisson.sf(self.beyond(k) - 1, self.expected_beyond(k)) >= level)


def pooled(deviations) -> Deviations:
    """One :class:`Deviations` of several, their points together."""
    parts = [d.z for d in deviations]
    return Deviations(np.concatenate(parts) if parts else np.empty(0))


def matching_indices(grid, omega_T) -> np.ndarray:
    """Indices of the temperatures ``omega_T`` in ``grid`` (a quadrature's temperatures, which contain them).

    Raises ValueError if a temperature is missing from the grid.
    """
    grid = np.asarray(grid, dtype=float)
    omega_T = np.asarray(omega_T, dtype=float)
    i = np.clip(np.searchsorted(grid, omega_T), 0, grid.size - 1)
    if not np.allclose(grid[i], omega_T, rtol=1e-12, atol=0.0):
        raise ValueError("the quadrature's temperatures must contain every Monte Carlo temperature")
    return i


def binomial_deviations(result, probability, *, min_transmitted: int = 0) -> Deviations:
    r"""Deviations of a Monte Carlo result (a :class:`lib.Transmission`) from an exact :math:`\mathcal{P}`.

    ``z = (k/n - p) / sqrt(p (1 - p) / n)`` with the exact ``p`` (an array
    over ``result.omega_T``, e.g. :math:`e^{-U(s)/\omega_T}` for a frozen
    gate), at the temperatures with at least ``min_transmitted``
    transmissions and ``0 < p < 1``.
    """
    p = np.broadcast_to(np.asarray(probability, dtype=float), result.omega_T.shape)
    n = result.decided.astype(float)
    keep = (result.transmitted >= min_transmitted) & (p > 0) & (p < 1) & (n > 0)
    z = (result.probability[keep] - p[keep]) / np.sqrt(p[keep] * (1.0 - p[keep]) / n[keep])
    return Deviations(z)


def quadrature_deviations(result, quad, *, min_transmitted: int = 10) -> Deviations:
    r"""Monte Carlo :math:`\mathcal{P}` against the quadrature, in combined standard errors.

    ``z = (P_MC - P_q) / hypot(stderr_MC, error_q)`` at the Monte Carlo
    temperatures with at least ``min_transmitted`` transmissions (the
    normal approximation behind "three standard errors" needs counts).
    """
    i = matching_indices(quad.omega_T, result.omega_T)
    keep = result.transmitted >= min_transmitted
    z = (result.probability - quad.probability[i]) / np.hypot(result.stderr, quad.error[i])
    return Deviations(z[keep])


def tolman_deviations(result, quad, *, min_transmitted: int = 30) -> Deviations:
    r"""Tolman's Monte Carlo :math:`E_a` against the quadrature's, in combined standard errors."""
    i = matching_indices(quad.omega_T, result.omega_T)
    ea, se = result.activation_energy, result.activation_stderr
    with np.errstate(invalid="ignore"):
        keep = (result.transmitted >= min_transmitted) & np.isfinite(se)
        z = (ea - quad.activation_energy[i]) / np.hypot(se, quad.activation_error[i])
    return Deviations(z[keep])


def frozen_seed_study(model: Model, omega_T, seeds, *, trials: int = 2000, min_transmitted: int = 10) -> dict:
    r"""The frozen gate with several seeds: mean squared deviation from :math:`e^{-U(s)/\omega_T}` per seed.

    A frozen gate transmits exactly with :math:`e^{-U(s)/\omega_T}`, so its
    deviations test the random draws alone. Returns ``{seed: Deviations}``
    (through the result cache, as :func:`lib.transmission_probability`).
    """
    exact = arrhenius(np.asarray(omega_T, dtype=float), frozen_barrier(model))
    out = {}
    for seed in seeds:
        r = transmission_probability("frozen", model, omega_T, trials=trials, seed=int(seed), progress=False)
        out[int(seed)] = binomial_deviations(r, exact, min_transmitted=min_transmitted)
    return out


def independent_seed_deviations(blocks, exact: dict, *, trials: int = 2000, first_seed: int = 1,
                                min_transmitted: int = 10, omega_T=None) -> dict:
    r"""Each ``(experiment, s, M)`` block rerun with a seed of its own and compared with the quadrature.

    The reproduction, like the paper, draws every panel from one seed, so
    the panels' deviations are not independent. Here block ``k`` uses seed
    ``first_seed + k`` and the paper's temperatures (or ``omega_T``, which
    the quadratures must contain); returns ``{block: Deviations}`` against
    ``exact[block]`` (:func:`quadrature_deviations`).
    """
    temps = paper_temperatures() if omega_T is None else np.asarray(omega_T, dtype=float)
    out = {}
    for k, (experiment, s, M) in enumerate(blocks):
        r = transmission_probability(experiment, Model(M=M, s=s), temps, trials=trials, seed=first_seed + k,
                                     progress=False)
        out[(experiment, s, M)] = quadrature_deviations(r, exact[(experiment, s, M)],
                                                        min_transmitted=min_transmitted)
    return out


def activation_drift(quad, floor: float = 0.0) -> float:
    r"""Range (max - min) of a quadrature's :math:`E_a(\omega_T)` where :math:`\mathcal{P} \ge` ``floor``."""
    keep = quad.probability >= floor
    return float(np.ptp(quad.activation_energy[keep]))


def drift_share(quad, reference, floor: float = 0.0) -> float:
    r""":func:`activation_drift` of ``quad`` as a fraction of that of ``reference`` (e.g. a classical gate's
    drift over the quasi-classical gate's)."""
    return activation_drift(quad, floor) / activation_drift(reference, floor)


def extrapolation_factors(quad, window, targets, floor: float = 0.0) -> np.ndarray:
    r"""Predicted over exact :math:`\mathcal{P}` at ``targets`` for an Arrhenius line fitted in ``window``.

    The line is :func:`lib.arrhenius.extrapolate_arrhenius` on the
    quadrature's :math:`\mathcal{P} \ge` ``floor``; the factor is
    interpolated in :math:`\ln` between its temperatures.
    """
    keep = quad.probability >= floor
    ex = extrapolate_arrhenius(quad.omega_T[keep], quad.probability[keep], window)
    t = np.atleast_1d(np.asarray(targets, dtype=float))
    if np.any(t < ex.omega_T.min()) or np.any(t > ex.omega_T.max()):
        raise ValueError("targets must lie within the quadrature's temperatures")
    return np.exp(np.interp(np.log(t), np.log(ex.omega_T), np.log(ex.factor)))


@dataclass(frozen=True)
class ActivationSplit:
    r"""Tolman's :math:`E_a = \langle E\rangle_\mathrm{transmitted} - \langle E\rangle_\mathrm{all}`, split into
    the particle's and the gate's energy.

    :math:`E` is the particle's energy plus the gate's energy above its
    ground state, as in :attr:`lib.Transmission.activation_energy`; the two
    parts add up to the total. Each comes with its standard error (the
    delta method of :attr:`lib.Transmission.activation_stderr`).
    """

    experiment: str
    model: Model
    omega_T: np.ndarray
    trials: int
    seed: int
    probability: np.ndarray
    particle: np.ndarray
    gate: np.ndarray
    particle_stderr: np.ndarray
    gate_stderr: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return self.particle + self.gate


def activation_split(experiment: str, model: Model, omega_T, *, trials: int = 20_000, seed: int = 0,
                     use_cache: bool = True) -> ActivationSplit:
    """Which energy the transmitted trials carry in excess: :class:`ActivationSplit` at each temperature.

    ``trials`` initial states per temperature from ``experiment`` (one
    :class:`numpy.random.Generator` seeded with ``seed``), run with the
    adaptive integrator. Cached like :func:`agreement`.
    """
    check_model(model)
    experiment = check_experiment(experiment)
    trials = check_integer("trials", trials, minimum=1, maximum=10**7, what="an integer from 1 to 10,000,000")
    seed = check_seed(seed)
    omega_T = check_temperatures(omega_T)
    func = cache.cached(_activation_split) if use_cache else _activation_split
    return func(experiment, model, omega_T, trials, seed, cache.ENGINE_VERSION)


def _excess(energy, transmitted):
    """Tolman's difference of means for one energy and its delta-method standard error."""
    n, k = energy.size, int(np.count_nonzero(transmitted))
    if k == 0:
        return float("nan"), float("nan")
    p = k / n
    diff = energy[transmitted].mean() - energy.mean()
    var, var_t = energy.var(), energy[transmitted].var()
    return float(diff), float(np.sqrt(max(var_t * (1.0 / p - 2.0) + var, 0.0) / n))


def _activation_split(experiment, model, omega_T, trials, seed, engine_version) -> ActivationSplit:
    rng = np.random.default_rng(seed)
    frozen = is_frozen(experiment)
    levels = EXPERIMENT_REGISTRY[experiment].gate == "levels"
    cols = {"p": [], "particle": [], "gate": [], "particle_se": [], "gate_se": []}
    for T in omega_T:
        states = sample(experiment, model, T, trials, rng)
        outcome = run(model, states, "adaptive", frozen=frozen).outcome
        decided = outcome >= 0
        tr = (outcome == 1)[decided]
        e_particle = model.particle_energy(states[decided, 1])
        e_gate = model.oscillator_energy(states[decided, 2], states[decided, 3]) - (0.5 if levels else 0.0)
        cols["p"].append(tr.mean())
        for name, e in (("particle", e_particle), ("gate", e_gate)):
            d, se = _excess(e, tr)
            cols[name].append(d)
            cols[name + "_se"].append(se)
    a = {k: np.array(v, dtype=float) for k, v in cols.items()}
    return ActivationSplit(experiment, model, omega_T, trials, seed, a["p"], a["particle"], a["gate"],
                           a["particle_se"], a["gate_se"])


@dataclass(frozen=True)
class BoundaryAgreement:
    """Two integrators' transmitting sets for the same gate states, boundary by boundary.

    Where a random sample of trials can only bound the share of flipped
    outcomes, the boundaries of the transmitting set are where outcomes flip:
    comparing them bounds the integrators' disagreement directly.

    Attributes
    ----------
    model : Model
    gate : str
    names : tuple of str
    states : int
        Gate states compared (levels times phases, or one for a gate at rest).
    same_count : int
        States where both integrators find the same number of transmitting intervals.
    max_shift : float
        Largest difference of a finite interval end between the two, over those states.
    energy_tol : float
        Width to which each boundary was bisected (the resolution of the comparison).
    """

    model: Model
    gate: str
    names: tuple
    states: int
    same_count: int
    max_shift: float
    energy_tol: float


def boundary_agreement(model: Model, gate: str = "levels", *, integrators=("adaptive", "paper"), n_max: int = 2,
                       phases: int = 8, scan: int = 32, energy_tol: float = 1e-8) -> BoundaryAgreement:
    """Compare the transmitting sets (:func:`lib.transmitting.transmitting_set`) of two integrators.

    Both on the same grid of gate states (levels ``0..n_max`` times
    ``phases`` phases, no refinement; or the gate at rest, ``gate='rest'``)
    and the same scanned energies, each boundary bisected to ``energy_tol``.
    """
    sets = [transmitting_set(model, gate, n_max=n_max, phases=phases, scan=scan, energy_tol=energy_tol,
                             refine=0, n_jobs=1, integrator=name) for name in integrators]
    a, b = sets
    counts_a, counts_b = a.interval_counts(), b.interval_counts()
    same = counts_a == counts_b
    shift = 0.0
    for i in np.nonzero(same)[0]:
        for lo_hi in ("lower", "upper"):
            x, y = getattr(a, lo_hi)[i], getattr(b, lo_hi)[i]
            finite = np.isfinite(x) & np.isfinite(y)
            if finite.any():
                shift = max(shift, float(np.max(np.abs(x[finite] - y[finite]))))
    return BoundaryAgreement(model, gate, (a.integrator, b.integrator), int(a.n_states),
                             int(np.count_nonzero(same)), shift, float(energy_tol))


def activation_span(quad, omega_range=None, floor: float = 0.0) -> tuple[float, float]:
    r"""Lowest and highest :math:`E_a(\omega_T)` of a quadrature, over ``omega_range`` (inclusive; default all)
    where :math:`\mathcal{P} \ge` ``floor``."""
    keep = quad.probability >= floor
    if omega_range is not None:
        keep &= (quad.omega_T >= omega_range[0]) & (quad.omega_T <= omega_range[1])
    ea = quad.activation_energy[keep]
    return float(ea.min()), float(ea.max())


def map_difference(a, b) -> float:
    """Share of grid points where two phase-space maps (:class:`lib.PhaseSpaceMap`) disagree."""
    if a.transmitted.shape != b.transmitted.shape:
        raise ValueError("the maps must have the same grid")
    return float(np.mean(a.transmitted != b.transmitted))


AGREEMENT_TEMPERATURES = (1.5, 4.0, 15.0, 60.0)
"""Temperatures of :func:`paper_agreement`: the paper's range and beyond."""


def paper_agreement(*, trials: int = 150) -> dict:
    """:func:`agreement` of the ``adaptive`` and ``paper`` integrators for each of the paper's four experiments,
    both impact parameters and the three masses, at :data:`AGREEMENT_TEMPERATURES`.

    Keyed by ``(experiment, s, M)``; the seed of each is ``int(10 M + s)``.
    Cached, so the chapters that quote it share one computation.
    """
    out = {}
    for experiment in (e for f in figure_experiments().values() for e in f):
        for s in (0.0, 2.0):
            for M in (0.2, 1.0, 5.0):
                out[(experiment, s, M)] = agreement(experiment, Model(M=M, s=s), list(AGREEMENT_TEMPERATURES),
                                                    trials=trials, seed=int(10 * M + s))
    return out


def agreement_totals(studies) -> tuple[int, int, float]:
    """Trajectories compared, identical outcomes, and the ratio of derivative evaluations (second integrator over
    first, e.g. ``paper`` over ``adaptive``) summed over :class:`Agreement` studies."""
    studies = list(studies)
    total = sum(ag.trials * ag.omega_T.size for ag in studies)
    same = sum(int(ag.identical.sum()) for ag in studies)
    first = sum(float(ag.evaluations[0].sum()) * ag.trials for ag in studies)
    second = sum(float(ag.evaluations[1].sum()) * ag.trials for ag in studies)
    return int(total), int(same), second / first
