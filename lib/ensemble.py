r"""Ensembles: transmission probability :math:`\mathcal{P}(\omega_T)`.

For each temperature, ``trials`` initial conditions are drawn for the chosen
experiment (:mod:`lib.experiments`) and run to their outcome; the fraction
transmitted estimates :math:`\mathcal{P}`.

Reproducibility
    Work is cut into fixed chunks of :data:`CHUNK_TRIALS` trials. Chunk ``c``
    of the ``i``-th temperature in the list draws from
    ``numpy.random.SeedSequence(seed, spawn_key=(i, c))``. The streams depend
    on neither the number of workers nor the order in which workers finish,
    so results are bitwise identical for one seed whatever ``n_jobs`` is.
    The experiment, mass and impact parameter do not enter the seed: as in
    the paper, the three masses (and the frozen and deflected experiments)
    see the same random draws for the same seed.

Parallelism
    Chunks run through :mod:`lib.parallel`: in local worker processes
    (joblib's loky backend) or on a Dask cluster (``ACTIVATION_SCHEDULER``).
    With fewer than :data:`CHUNK_TRIALS` trials per temperature, the chunks
    of consecutive temperatures share one task and one call of the
    integrator (:func:`run_chunks`); each still draws from its own stream,
    so the results are bitwise the same. What remains per temperature is
    drawing its chunk (a generator seeded from its own ``SeedSequence``, the
    sampler's few NumPy calls): the cost of some eight or nine trajectories
    (25 microseconds on a quiet core), so N temperatures at one trial each
    take about ten times as long as one temperature at N trials, where one
    task per temperature took 60-120 times as long (``benchmarks/temperatures.py``).
    Drawing many temperatures' trials from one stream would remove that too,
    but would change every result for a given seed.

Caching
    Results are cached on disk (:mod:`lib.cache`); repeated calls return at
    once, and an interrupted run stores nothing.
"""
from __future__ import annotations

import functools
import math
import warnings

import numpy as np

from . import cache, parallel
from .experiments import EXPERIMENT_REGISTRY, EXPERIMENTS, check_experiment, is_frozen, sample
from .integrate import REASONS, UNDECIDED, Integrator, get_integrator, run
from .inputs import check_jobs, check_seed, check_temperatures, check_trajectories, check_trials
from .model import Model, check_model
from .records import record
from .stats import confidence_interval, standard_error

CHUNK_TRIALS = 2500
"""Trials per work unit (a chunk, with its own random stream); fixed so that results do not depend on
``n_jobs``. With fewer trials per temperature, the chunks of several temperatures are run as one task
of at most this many trials (:func:`batch_tasks`, :func:`run_chunks`), without changing any stream."""

DEFAULT_TRIALS = 10_000
"""Trials per temperature, as in the paper."""

@record
class Transmission:
    """Transmission probability against temperature, with its statistics.

    Attributes
    ----------
    experiment : str
    model : Model
    integrator : str
        The integrator's :attr:`~lib.integrate.Integrator.label`: its name, with the settings that
        differ from the registered integrator of that name (``'adaptive(h_max=0.005)'``).
    omega_T : ndarray(float, ndim=1)
        Temperatures :math:`k_B T / \\hbar\\Omega`.
    trials : int
        Trials per temperature.
    seed : int
    transmitted : ndarray(int, ndim=1)
        Transmissions per temperature.
    undecided : ndarray(int, ndim=1)
        Trajectories that exhausted a step budget or broke down (excluded from the
        statistics; zero in every run we know of).
    evaluations : int
        Derivative evaluations spent in total.
    energy_sums : ndarray(float, ndim=2) or None
        Per temperature, the sums behind :attr:`activation_energy`.
    integrator_settings : dict or None
        :meth:`lib.integrate.Integrator.describe` of the integrator used (``None`` when read from a
        dataset written before it was recorded).
    steps, rejected : int or None
        Accepted and rejected steps in total.
    undecided_reasons : ndarray(int, ndim=2) or None
        Undecided trials per temperature (rows) and reason (columns, :data:`lib.kernels.REASONS`:
        step budget, rejection budget, minimum step, non-finite state).
    """

    experiment: str
    model: Model
    integrator: str
    omega_T: np.ndarray
    trials: int
    seed: int
    transmitted: np.ndarray
    undecided: np.ndarray
    evaluations: int
    energy_sums: np.ndarray | None = None
    integrator_settings: dict | None = None
    steps: int | None = None
    rejected: int | None = None
    undecided_reasons: np.ndarray | None = None

    @property
    def decided(self) -> np.ndarray:
        """Trials with an outcome, per temperature."""
        return self.trials - self.undecided

    @property
    def probability(self) -> np.ndarray:
        """Estimated transmission probability per temperature (NaN where no trial was decided)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.transmitted / self.decided

    @property
    def stderr(self) -> np.ndarray:
        """Binomial standard error of :attr:`probability` (NaN where no trial was decided)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return standard_error(self.transmitted, self.decided)

    @property
    def activation_energy(self) -> np.ndarray:
        """Tolman's estimate :math:`E_a = \\langle E\\rangle_\\mathrm{transmitted} - \\langle E\\rangle_\\mathrm{all}`.

        :math:`E` is the particle's energy plus the gate's energy above its
        ground state, from the sampled initial states. Each experiment's
        density has the form :math:`g(x)e^{-E(x)/\\omega_T}/Z(\\omega_T)` with
        :math:`g` independent of temperature (frozen and deflected:
        :math:`g = 1`; thermal: :math:`g = 1` with :math:`E` = particle
        energy + level; joint: :math:`g = 1/(\\lfloor E\\rfloor + 1)`), so
        :math:`-d\\ln\\mathcal{P}/d(1/\\omega_T)` is exactly this difference of
        means, for all four. NaN where nothing was transmitted.
        """
        s_all, _, s_tr, _ = self._energy_moments()
        n, k = self.decided, self.transmitted
        with np.errstate(invalid="ignore", divide="ignore"):
            return s_tr / k - s_all / n

    @property
    def activation_stderr(self) -> np.ndarray:
        """Standard error of :attr:`activation_energy` (delta method).

        With :math:`p` the transmitted fraction, :math:`\\mathrm{Var}` the
        variance of :math:`E` over all trials and :math:`\\mathrm{Var}_T` over
        the transmitted ones:
        :math:`\\sigma^2 = [\\mathrm{Var}_T(1/p - 2) + \\mathrm{Var}]/N`.
        """
        s1, s2, t1, t2 = self._energy_moments()
        n, k = self.decided.astype(float), self.transmitted.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = s2 / n - (s1 / n) ** 2
            var_t = t2 / k - (t1 / k) ** 2
            p = k / n
            return np.sqrt(np.maximum(var_t * (1.0 / p - 2.0) + var, 0.0) / n)

    def _energy_moments(self):
        if self.energy_sums is None:
            raise ValueError("this result carries no energy sums (computed by an older engine)")
        return tuple(self.energy_sums.T)

    @functools.cached_property
    def ci95(self) -> tuple[np.ndarray, np.ndarray]:
        """Wilson 95% confidence interval ``(low, high)`` per temperature (NaN where none was decided)."""
        low = np.full(self.omega_T.size, np.nan)
        high = np.full(self.omega_T.size, np.nan)
        ok = self.decided > 0
        if ok.any():
            low[ok], high[ok] = confidence_interval(self.transmitted[ok], self.decided[ok], 0.95, "wilson")
        return low, high

    def to_dict(self) -> dict:
        """JSON-ready summary (lists aligned with ``temperature``)."""
        low, high = self.ci95
        return {
            "experiment": self.experiment,
            **self.model.to_dict(),
            "integrator": self.integrator,
            "integrator_settings": self.integrator_settings,
            "temperature": self.omega_T.tolist(),
            "trials": self.trials,
            "seed": self.seed,
            "transmitted": self.transmitted.tolist(),
            "undecided": self.undecided.tolist(),
            "probability": _json_floats(self.probability),
            "stderr": _json_floats(self.stderr),
            "ci95_low": _json_floats(low),
            "ci95_high": _json_floats(high),
            "activation_energy": _json_floats(self.activation_energy),
            "activation_stderr": _json_floats(self.activation_stderr),
            "evaluations": self.evaluations,
            "steps": self.steps,
            "rejected": self.rejected,
            "undecided_reasons": None if self.undecided_reasons is None else
            {name: self.undecided_reasons[:, k].tolist() for k, name in enumerate(REASONS)},
        }


def _json_floats(values) -> list:
    """Floats for JSON, NaN as ``None``."""
    return [None if not math.isfinite(v) else float(v) for v in np.asarray(values, dtype=float)]


def _chunks(n_temperatures: int, trials: int):
    """Work units ``(temperature index, chunk index, size)`` in a fixed order."""
    n_chunks = math.ceil(trials / CHUNK_TRIALS)
    for i in range(n_temperatures):
        for c in range(n_chunks):
            yield i, c, min(CHUNK_TRIALS, trials - c * CHUNK_TRIALS)


def run_chunk(experiment: str, model: Model, omega_T: float, size: int, seed: int,
              index: int, chunk: int, integrator: Integrator):
    """Draw and run one chunk; return ``(transmitted, undecided, evaluations, energy sums, accepted steps,
    rejected steps, undecided by reason)``.

    The random stream is ``SeedSequence(seed, spawn_key=(index, chunk))``.
    The energy sums are ``(sum E, sum E^2, sum_transmitted E, sum_transmitted E^2)``
    over decided trials, ``E`` being the particle's energy plus the gate's
    energy above its ground state (see :attr:`Transmission.activation_energy`).
    """
    states = _draw(experiment, model, omega_T, size, seed, index, chunk)
    result = run(model, states, integrator, frozen=is_frozen(experiment))
    return _tally(experiment, model, states, result)


def _draw(experiment, model, omega_T, size, seed, index, chunk):
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index, chunk)))
    return sample(experiment, model, omega_T, size, rng)


def _tally(experiment, model, states, result, part=slice(None)):
    """The counts and energy sums of one chunk (see :func:`run_chunk`): ``result[part]`` run from ``states``."""
    outcome, evaluations = result.outcome[part], result.evaluations[part]
    energy = model.particle_energy(states[:, 1]) + model.oscillator_energy(states[:, 2], states[:, 3])
    if EXPERIMENT_REGISTRY[experiment].gate == "levels":
        energy -= 0.5  # the gate's zero-point energy: its level n
    decided = outcome != UNDECIDED
    tr = outcome == 1
    sums = np.array([energy[decided].sum(), (energy[decided] ** 2).sum(), energy[tr].sum(),
                     (energy[tr] ** 2).sum()])
    reasons = np.bincount(result.reason[part], minlength=len(REASONS) + 1)[1:]
    return (int(np.count_nonzero(tr)), int(np.count_nonzero(outcome == UNDECIDED)),
            int(evaluations.sum()), sums, int(result.steps[part].sum()), int(result.rejected[part].sum()), reasons)


def run_chunks(experiment: str, model: Model, integrator: Integrator, seed: int, chunks) -> tuple:
    """:func:`run_chunk` for each ``(omega_T, size, index, chunk)`` of ``chunks``, in one pass.

    Returns the results as columns, one entry per chunk (:func:`tally_columns`):
    ``(transmitted, undecided, evaluations, energy sums, steps, rejected, undecided by reason)``. Every chunk draws
    from its own stream, exactly as :func:`run_chunk` does; the trajectories
    of all of them then run in one call of the integrator (a trajectory's
    outcome and step count do not depend on the batch it runs in), and the
    counts and sums are taken chunk by chunk on the same arrays. The results
    are therefore bitwise those of :func:`run_chunk`, while the fixed cost
    of a call (the integrator's set-up, a task's dispatch, the results'
    transfer) is paid once for many small chunks: with few trials per
    temperature, the cost follows the number of trajectories rather than of
    temperatures (see :data:`CHUNK_TRIALS`).
    """
    drawn = [_draw(experiment, model, omega_T, size, seed, index, chunk) for omega_T, size, index, chunk in chunks]
    if len(drawn) == 1:
        states = drawn[0]
        result = run(model, states, integrator, frozen=is_frozen(experiment))
        return tally_columns([_tally(experiment, model, states, result)])
    states = np.concatenate(drawn)
    result = run(model, states, integrator, frozen=is_frozen(experiment))
    sizes = np.array([part.shape[0] for part in drawn])
    if np.any(sizes != 1):
        out, start = [], 0
        for size, part in zip(sizes, drawn):
            stop = start + size
            out.append(_tally(experiment, model, part, result, slice(start, stop)))
            start = stop
        return tally_columns(out)
    # one trial per chunk: _tally's sums are sums of one term (or none), taken here for all chunks at
    # once; the energies are the same elementwise arithmetic on the same numbers
    energy = model.particle_energy(states[:, 1]) + model.oscillator_energy(states[:, 2], states[:, 3])
    if EXPERIMENT_REGISTRY[experiment].gate == "levels":
        energy -= 0.5
    outcome = result.outcome
    decided, tr = outcome != UNDECIDED, outcome == 1
    square = energy ** 2
    sums = np.stack([np.where(decided, energy, 0.0), np.where(decided, square, 0.0),
                     np.where(tr, energy, 0.0), np.where(tr, square, 0.0)], axis=1)
    reasons = (result.reason[:, None] == np.arange(1, len(REASONS) + 1)).astype(np.int64)
    return (tr.astype(np.int64), (~decided).astype(np.int64), np.asarray(result.evaluations, dtype=np.int64), sums,
            result.steps, result.rejected, reasons)


def tally_columns(results) -> tuple:
    """Results of :func:`run_chunk` (a list of tuples) as the columns :func:`run_chunks` returns."""
    n = len(results)
    return (np.fromiter((r[0] for r in results), np.int64, n), np.fromiter((r[1] for r in results), np.int64, n),
            np.fromiter((r[2] for r in results), np.int64, n),
            np.array([r[3] for r in results], dtype=float).reshape(n, 4),
            np.fromiter((r[4] for r in results), np.int64, n), np.fromiter((r[5] for r in results), np.int64, n),
            np.array([r[6] for r in results], dtype=np.int64).reshape(n, len(REASONS)))


def batch_tasks(experiment, model, omega_T, trials, seed, integrator):
    """The work units of one ensemble grouped into tasks of at most :data:`CHUNK_TRIALS` trials.

    Returns ``(units, tasks, spans)``: ``units[k] = (temperature index,
    chunk, size)`` in a fixed order (each drawing from the stream of
    :func:`run_chunk`); ``tasks[j]`` the arguments of :func:`run_chunks` for the consecutive
    units ``units[spans[j]:spans[j + 1]]``. With at least ``CHUNK_TRIALS``
    trials per temperature each task is one unit, as before; with fewer,
    the units of many temperatures share one task.
    """
    units = list(_chunks(omega_T.size, trials))
    spans, size = [0], 0
    for k, unit in enumerate(units):
        if size and size + unit[2] > CHUNK_TRIALS:
            spans.append(k)
            size = 0
        size += unit[2]
    spans.append(len(units))
    tasks = [(experiment, model, integrator, seed,
              [(float(omega_T[i]), n, i, c) for i, c, n in units[spans[j]: spans[j + 1]]])
             for j in range(len(spans) - 1)]
    return units, tasks, spans


def assemble(experiment, model, omega_T, trials, seed, integrator, units, chunk_results) -> "Transmission":
    """Combine the results of the ``units`` into a :class:`Transmission`.

    ``chunk_results``: one :func:`run_chunk` tuple per unit, in the units'
    order, or the same as columns (:func:`tally_columns`, as
    :func:`run_chunks` returns them, joined in order). Sums run in the fixed
    order of the units, so the result is bitwise the same however and
    wherever the chunks ran.
    """
    tr, und, ev, sums, steps, rejected, reasons = (chunk_results if isinstance(chunk_results, tuple)
                                                   else tally_columns(chunk_results))
    index = np.fromiter((u[0] for u in units), np.int64, len(units))
    transmitted = np.zeros(omega_T.size, dtype=np.int64)
    undecided = np.zeros(omega_T.size, dtype=np.int64)
    energy_sums = np.zeros((omega_T.size, 4))
    np.add.at(transmitted, index, tr)
    np.add.at(undecided, index, und)
    np.add.at(energy_sums, index, sums)  # unbuffered: in the units' order, as a loop would
    undecided_reasons = np.zeros((omega_T.size, len(REASONS)), dtype=np.int64)
    np.add.at(undecided_reasons, index, reasons)
    return Transmission(experiment, model, integrator.label, omega_T, trials, seed,
                        transmitted, undecided, int(ev.sum()), energy_sums, integrator.describe(),
                        int(steps.sum()), int(rejected.sum()), undecided_reasons)


def join_columns(blocks) -> tuple:
    """Columns of consecutive tasks (each from :func:`run_chunks`) joined in order."""
    return tuple(np.concatenate([b[k] for b in blocks]) for k in range(len(blocks[0])))


def _compute(experiment, model, omega_T, trials, seed, integrator, engine_version,
             n_jobs=1, progress=False):
    """Uncached ensemble; arguments already validated."""
    units, tasks, spans = batch_tasks(experiment, model, omega_T, trials, seed, integrator)
    blocks = [None] * len(tasks)
    label = f"{experiment} s={model.s:g} M={model.M:g}"
    with parallel.progress_bar(progress, omega_T.size * trials, unit="traj", desc=label, unit_scale=True,
                               leave=False, smoothing=0.05) as bar:
        for j, out in parallel.run(run_chunks, tasks, n_jobs=n_jobs, ordered=False):
            blocks[j] = out
            bar.update(sum(u[2] for u in units[spans[j]: spans[j + 1]]))
    return assemble(experiment, model, omega_T, trials, seed, integrator, units, join_columns(blocks))


def montecarlo_transmission(experiment: str, model: Model, omega_T, *, trials: int = DEFAULT_TRIALS,
                            seed: int = 0, integrator="adaptive", n_jobs=None, progress=None,
                            use_cache: bool = True) -> Transmission:
    """The Monte Carlo estimate of :math:`\\mathcal{P}(\\omega_T)`: :func:`lib.transmission_probability` with
    ``method='montecarlo'`` (see there for the parameters), validated, cached and run in chunks."""
    check_experiment(experiment)
    check_model(model)
    omega_T = check_temperatures(omega_T)
    trials = check_trials(trials)
    check_trajectories(trials, omega_T.size)
    seed = check_seed(seed)
    integ = get_integrator(integrator)
    n_jobs = check_jobs(n_jobs)
    progress = parallel.show_progress(progress, omega_T.size * trials)
    func = cache.cached(_compute, ignore=("n_jobs", "progress")) if use_cache else _compute
    result = func(experiment, model, omega_T, trials, seed, integ, cache.ENGINE_VERSION,
                  n_jobs=n_jobs, progress=progress)
    if result.undecided.any():
        counts = result.undecided_reasons.sum(axis=0)
        why = ", ".join(f"{name.replace('_', ' ')} {int(n)}" for name, n in zip(REASONS, counts) if n)
        warnings.warn(f"{int(result.undecided.sum())} trajectories were undecided ({why}) and were left out of "
                      "the statistics (see undecided_reasons)", RuntimeWarning, stacklevel=3)
    return result


__all__ = ["EXPERIMENTS", "Transmission", "montecarlo_transmission", "CHUNK_TRIALS", "DEFAULT_TRIALS"]
