r"""Parameter sweeps: :math:`\mathcal{P}(\omega_T)` and :math:`E_a` over a grid, as an xarray Dataset.

:func:`sweep` runs the product grid of any of experiment, impact parameter
``s``, mass ``M``, ``U0`` and ``lambda``, each point at the same
temperatures, by Monte Carlo (:func:`lib.transmission_probability`) or by
quadrature over the transmitting set (:func:`lib.quadrature.transmission_quadrature`),
and returns a labelled :class:`xarray.Dataset` (:func:`transmission_dataset`)
with dimensions ``experiment, impact, mass, U0, lam, omega_T``.

Resuming
    Every grid point is one cache entry (:mod:`lib.cache`), written by the
    calling process as soon as the point is finished; a Monte Carlo point
    is the very entry :func:`lib.transmission_probability` reads, so a sweep
    and single queries share their work. An interrupted sweep keeps its
    finished points and resumes from them.

Where it runs
    Monte Carlo: the chunks of all unfinished points (2,500 trials each,
    seeded as in :mod:`lib.ensemble`) form one stream of tasks; quadrature:
    each unfinished point is one task (computed serially by its worker).
    Tasks go through :mod:`lib.parallel`: local processes, or a Dask cluster
    with ``scheduler=`` / ``$ACTIVATION_SCHEDULER``. The result is bitwise
    the same either way.

Files
    :func:`write_dataset` writes NetCDF (``.nc``, with the h5netcdf engine)
    or Zarr (``.zarr``, if the ``zarr`` package is installed); both open
    with ``xarray.open_dataset``.
"""
from __future__ import annotations

import itertools
import json
import math
import warnings

import numpy as np

from . import __version__, cache, files, parallel
from .ensemble import DEFAULT_TRIALS, Transmission, _compute, assemble, batch_tasks, join_columns, run_chunks
from .experiments import check_experiment
from .integrate import REASONS, get_integrator
from .inputs import (IMPACT_RANGE, LAMBDA_RANGE, MASS_RANGE, U0_RANGE, X0_RANGE, ToleranceWarning, check_jobs,
                     check_method, check_range, check_seed, check_temperatures, check_tolerance, check_trajectories,
                     check_trials)
from .model import Model
from .quadrature import DEFAULT_TOLERANCE as QUADRATURE_TOLERANCE, level_cutoff, transmission_quadrature
from .quantum import DEFAULT_TOLERANCE as QUANTUM_TOLERANCE, QUANTUM_VERSION, check_quantum_experiment, \
    quantum_transmission

DIMS = ("experiment", "impact", "mass", "U0", "lam")
"""Grid dimensions of a sweep, in order; ``omega_T`` follows."""

ENERGY_MOMENTS = ("E", "E2", "E_transmitted", "E2_transmitted")
"""Order of the per-temperature energy sums of a Monte Carlo result (``energy_sums``)."""

MAX_POINTS = 1_000_000
"""Largest number of grid points in one sweep."""

_UNSET = object()


def _axis(name, values, bounds):
    """One grid axis as a tuple of distinct floats within ``bounds``: a number or a flat list of numbers.

    Every axis is checked alike (the temperatures too, by :func:`_temperatures`):
    a nested list is refused, not flattened, and each value must lie in its
    physical range (:mod:`lib.inputs`).
    """
    what = f"{name} must be a number or a flat list of numbers"
    if values is None or isinstance(values, (str, bytes)):
        raise ValueError(f"{what}, got {values!r}")
    try:
        raw = np.asarray(values, dtype=object)
    except ValueError:
        raise ValueError(what) from None
    if raw.ndim > 1:
        raise ValueError(f"{what}, got a list of {raw.ndim} dimensions")
    seq = [raw.item()] if raw.ndim == 0 else list(raw)
    if not seq:
        raise ValueError(f"{what}, got an empty list")
    out = tuple(check_range(name, v, bounds) for v in seq)
    _distinct(name, out)
    return out


def _distinct(name, values):
    seen = set()
    for v in values:
        if v in seen:
            raise ValueError(f"{name} values must be distinct; {v!r} appears more than once")
        seen.add(v)


def _temperatures(omega_T) -> np.ndarray:
    """The temperature axis: as :func:`lib.inputs.check_temperatures`, and distinct like every other axis."""
    temps = check_temperatures(omega_T)
    _distinct("temperature", temps.tolist())
    return temps


def _experiments(values):
    seq = [values] if isinstance(values, str) else list(values)
    if not seq:
        raise ValueError("experiment must be a name or a non-empty list of names")
    for e in seq:
        check_experiment(e)
    if len(set(seq)) != len(seq):
        raise ValueError(f"experiment values must be distinct, got {seq!r}")
    return tuple(seq)


def _quadrature_point(experiment, model, omega_T, tolerance, integrator, engine_version):
    """One quadrature grid point, computed in this process without the block cache (a tolerance
    not met is reported once for the sweep, by :func:`_quadrature`, not by each worker)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ToleranceWarning)
        return transmission_quadrature(experiment, model, omega_T, tolerance=tolerance, integrator=integrator,
                                       n_jobs=1, progress=False, use_cache=False)


def _quantum_point(experiment, model, omega_T, tolerance, version):
    """One grid point of the exact quantum model (lib.quantum), computed in this process without its own cache
    (a tolerance not met is reported once for the sweep, by :func:`_warn_missed`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ToleranceWarning)
        return quantum_transmission(experiment, model, omega_T, tolerance=tolerance, n_jobs=1, use_cache=False)


def sweep(experiment="thermal", impact=0.0, mass=1.0, U0=10.0, lam=2.0, *, omega_T,
          method: str = "montecarlo", trials: int = DEFAULT_TRIALS, seed: int = 0,
          tolerance: float | None = None, integrator="adaptive", n_jobs=None, progress=None,
          use_cache: bool = True, scheduler=_UNSET):
    """:math:`\\mathcal{P}(\\omega_T)` and :math:`E_a` over the product grid of the parameters.

    Parameters
    ----------
    experiment : str or sequence of str, default 'thermal'
    impact, mass, U0, lam : float or sequence of float
        Impact parameter ``s`` (default 0), mass ``M`` (default 1), height
        ``U0`` (default 10) and width ``lambda`` (default 2) of the
        interaction; each value must be distinct within its axis.
    omega_T : float or sequence of float
        Temperatures, the same at every point.
    method : {'montecarlo', 'quadrature', 'quantum'}, default 'montecarlo'
        ``'quantum'``: the exact quantum model (:func:`lib.quantum.quantum_transmission`).
    trials, seed : int
        Monte Carlo trials per temperature (default 10,000) and seed
        (default 0); seeds as in :func:`lib.transmission_probability`, so
        every point sees the same random draws.
    tolerance : float, optional
        Relative accuracy of quadrature or the quantum model (default 1e-3).
    integrator : {'adaptive', 'paper'}, default 'adaptive'
        Quadrature needs 'adaptive'.
    n_jobs : int, optional
        Local worker processes (``None``: ``$ACTIVATION_JOBS`` or all cores).
    progress : bool, optional
        tqdm progress bar (``None``: ``$ACTIVATION_PROGRESS``, else on a terminal).
    use_cache : bool, default True
        Read and write one cache entry per grid point.
    scheduler : str or None, optional
        Dask scheduler address for this sweep (``None``: local workers);
        left out, ``$ACTIVATION_SCHEDULER`` or the scheduler in force
        (:func:`lib.parallel.use_scheduler`) decides.

    Returns
    -------
    xarray.Dataset
        See :func:`transmission_dataset`.
    """
    experiments = _experiments(experiment)
    axes = {"experiment": experiments,
            "impact": _axis("impact", impact, IMPACT_RANGE),
            "mass": _axis("mass", mass, MASS_RANGE),
            "U0": _axis("U0", U0, U0_RANGE),
            "lam": _axis("lam", lam, LAMBDA_RANGE)}
    temps = _temperatures(omega_T)
    method = check_method(method)
    n_points = math.prod(len(v) for v in axes.values())  # from the axis lengths, before any list of points
    if n_points > MAX_POINTS:
        raise ValueError(f"a sweep must have at most {MAX_POINTS} grid points, got {n_points}")
    points = list(itertools.product(*axes.values()))
    integ = get_integrator(integrator)
    n_jobs = check_jobs(n_jobs)
    if method == "montecarlo":
        if tolerance is not None:
            raise ValueError("tolerance applies to method='quadrature' or 'quantum' only")
        trials, seed = check_trials(trials), check_seed(seed)
        check_trajectories(trials, temps.size, "per grid point")
        options = {"trials": trials, "seed": seed}
    elif method == "quantum":  # validated before any work, as quadrature is
        for e in experiments:
            check_quantum_experiment(e)
        options = {"tolerance": check_tolerance(QUANTUM_TOLERANCE if tolerance is None else tolerance, "quantum")}
    else:
        tolerance = check_tolerance(QUADRATURE_TOLERANCE if tolerance is None else tolerance, "quadrature")
        if integ.name != "adaptive":
            raise ValueError("integrator must be 'adaptive' for method='quadrature'")
        for e, s, M, u0, lm in points:  # refuse too high temperatures before any work
            if e in ("thermal", "joint"):
                level_cutoff(e, Model(M=M, s=s, U0=u0, lam=lm), float(temps.max()), tolerance)
        options = {"tolerance": tolerance}
    if scheduler is _UNSET:
        scheduler = parallel.scheduler_address()
    with parallel.use_scheduler(scheduler):
        if method == "montecarlo":
            results = _montecarlo(points, temps, trials, seed, integ, n_jobs, progress, use_cache)
        elif method == "quantum":
            results = _quantum(points, temps, options["tolerance"], n_jobs, progress, use_cache)
        else:
            results = _quadrature(points, temps, tolerance, integ, n_jobs, progress, use_cache)
    return transmission_dataset(results, axes, temps, method=method,
                                integrator="log-derivative" if method == "quantum" else integ.label, **options)


def _models(points):
    return [(e, Model(M=M, s=s, U0=u0, lam=lm)) for e, s, M, u0, lm in points]


def _montecarlo(points, temps, trials, seed, integ, n_jobs, progress, use_cache):
    memorized = cache.cached(_compute, ignore=("n_jobs", "progress")) if use_cache else None
    if memorized is not None and cache.cache_dir() is None:
        memorized = None
    results = [None] * len(points)
    pending = []  # (point index, units, spans, first task index)
    tasks = []
    for p, (e, model) in enumerate(_models(points)):
        args = (e, model, temps, trials, seed, integ, cache.ENGINE_VERSION)
        if memorized is not None and memorized.check_call_in_cache(*args):
            results[p] = memorized(*args)
            continue
        units, point_tasks, spans = batch_tasks(e, model, temps, trials, seed, integ)
        pending.append((p, units, spans, len(tasks)))
        tasks += point_tasks
    total = len(points) * temps.size * trials
    owner = np.empty(len(tasks), dtype=np.int64)  # task -> entry of pending
    for j, (_, _, spans, start) in enumerate(pending):
        owner[start: start + len(spans) - 1] = j
    left = [len(spans) - 1 for _, _, spans, _ in pending]
    blocks = [None] * len(pending)
    with parallel.progress_bar(progress, total, unit="traj", desc="sweep", unit_scale=True,
                               initial=(len(points) - len(pending)) * temps.size * trials, smoothing=0.05) as bar:
        for k, out in parallel.run(run_chunks, tasks, n_jobs=n_jobs, ordered=False):
            j = int(owner[k])
            p, units, spans, start = pending[j]
            if blocks[j] is None:
                blocks[j] = [None] * (len(spans) - 1)
            blocks[j][k - start] = out
            bar.update(sum(u[2] for u in units[spans[k - start]: spans[k - start + 1]]))
            left[j] -= 1
            if left[j] == 0:  # the point is complete: assemble it and store it at once
                e, model = _models([points[p]])[0]
                results[p] = assemble(e, model, temps, trials, seed, integ, units, join_columns(blocks[j]))
                blocks[j] = None
                if memorized is not None:
                    memorized.store(results[p], e, model, temps, trials, seed, integ, cache.ENGINE_VERSION)
    return results


def _quadrature(points, temps, tolerance, integ, n_jobs, progress, use_cache):
    tasks = [(e, model, temps, tolerance, integ, cache.ENGINE_VERSION) for e, model in _models(points)]
    return _warn_missed("quadrature", tolerance, _run_points(_quadrature_point, tasks, n_jobs, progress, use_cache))


def _quantum(points, temps, tolerance, n_jobs, progress, use_cache):
    tasks = [(e, model, temps, tolerance, QUANTUM_VERSION) for e, model in _models(points)]
    return _warn_missed("quantum", tolerance, _run_points(_quantum_point, tasks, n_jobs, progress, use_cache))


def _run_points(func, tasks, n_jobs, progress, use_cache):
    """``func(*task)`` for every grid point (each cached whole), with one progress bar over the points."""
    # points are long: shown like a long ensemble
    with parallel.progress_bar(progress, len(tasks), unit="point", desc="sweep",
                               work=parallel.PROGRESS_MIN_TRIALS) as bar:
        return parallel.cached_run(func, tasks, n_jobs=n_jobs, use_cache=use_cache,
                                   ordered=False, on_result=lambda k, r: bar.update())


def _warn_missed(method, tolerance, results):
    """One warning for the sweep when the tolerance was not met at some grid points; ``results`` unchanged."""
    missed = [r for r in results if not r.tolerance_met]
    if missed:
        with np.errstate(divide="ignore", invalid="ignore"):
            worst = max(float(np.nanmax(r.relative_error)) for r in missed)
        warnings.warn(f"{method} tolerance {tolerance:g} not met at {len(missed)} of {len(results)} grid points "
                      f"(estimated relative error of P up to {worst:.2g}; the refinement reached its limits); "
                      "see the variable tolerance_met", ToleranceWarning, stacklevel=4)
    return results


def transmission_dataset(results, axes: dict, omega_T, *, method: str, integrator: str, **attrs):
    """An :class:`xarray.Dataset` from one result per grid point.

    ``results`` lists a :class:`~lib.ensemble.Transmission` (Monte Carlo) or
    :class:`~lib.quadrature.Quadrature` per point of the product of
    ``axes`` (a dict of the five :data:`DIMS`, in order). Variables, with
    dimensions ``experiment, impact, mass, U0, lam`` and ``omega_T``:

    Monte Carlo
        ``probability``, ``stderr``, ``ci95_low``, ``ci95_high``,
        ``transmitted``, ``undecided``, ``trials`` (per temperature, all
        equal), ``activation_energy``, ``activation_stderr`` (Tolman's
        estimate), ``energy_sums`` (the sums behind it, over a further
        dimension ``moment``: :data:`ENERGY_MOMENTS`), ``undecided_reasons``
        (over a further dimension ``reason``: :data:`lib.kernels.REASONS`), and
        ``evaluations``, ``steps`` and ``rejected`` (accepted and rejected steps) per
        point. :func:`transmissions` restores the results from these.
    Quadrature
        ``probability``, ``error``, ``activation_energy``,
        ``activation_error``, and per point ``lowest_energy`` (the lowest
        energy of the transmitting set), ``n_max`` and ``tolerance_met``
        (whether the error estimate is within the tolerance everywhere).

    Attributes: ``method``, ``integrator`` (the results' integrator label when they carry one, else
    the one given), ``integrator_settings`` (the JSON of
    :meth:`lib.integrate.Integrator.describe`, when the results carry it), ``engine_version``,
    ``lib_version``, ``x0`` and the given ``attrs`` (seed and trials, or
    tolerance).
    """
    import xarray as xr

    shape = tuple(len(v) for v in axes.values())
    temps = np.asarray(omega_T, dtype=float)
    grid_dims = tuple(axes)
    full = (*grid_dims, "omega_T")

    def per_temperature(get, dtype=float):
        return np.stack([np.asarray(get(r), dtype=dtype) for r in results]).reshape(*shape, temps.size)

    def per_point(get, dtype=float):
        return np.array([get(r) for r in results], dtype=dtype).reshape(shape)

    if check_method(method) == "montecarlo":
        data = {
            "probability": (full, per_temperature(lambda r: r.probability)),
            "stderr": (full, per_temperature(lambda r: r.stderr)),
            "ci95_low": (full, per_temperature(lambda r: r.ci95[0])),
            "ci95_high": (full, per_temperature(lambda r: r.ci95[1])),
            "transmitted": (full, per_temperature(lambda r: r.transmitted, np.int64)),
            "undecided": (full, per_temperature(lambda r: r.undecided, np.int64)),
            "trials": (full, per_temperature(lambda r: np.full(temps.size, r.trials), np.int64)),
            "activation_energy": (full, per_temperature(lambda r: r.activation_energy)),
            "activation_stderr": (full, per_temperature(lambda r: r.activation_stderr)),
            "evaluations": (grid_dims, per_point(lambda r: r.evaluations, np.int64)),
        }
        if all(r.energy_sums is not None for r in results):
            sums = np.stack([r.energy_sums for r in results]).reshape(*shape, temps.size, len(ENERGY_MOMENTS))
            data["energy_sums"] = ((*full, "moment"), sums)
        if all(r.steps is not None and r.undecided_reasons is not None for r in results):
            data["steps"] = (grid_dims, per_point(lambda r: r.steps, np.int64))
            data["rejected"] = (grid_dims, per_point(lambda r: r.rejected, np.int64))
            why = np.stack([r.undecided_reasons for r in results]).reshape(*shape, temps.size, len(REASONS))
            data["undecided_reasons"] = ((*full, "reason"), why)
    elif method == "quadrature":
        data = {
            "probability": (full, per_temperature(lambda r: r.probability)),
            "error": (full, per_temperature(lambda r: r.error)),
            "activation_energy": (full, per_temperature(lambda r: r.activation_energy)),
            "activation_error": (full, per_temperature(lambda r: r.activation_error)),
            "lowest_energy": (grid_dims, per_point(lambda r: r.lowest_energy)),
            "n_max": (grid_dims, per_point(lambda r: r.n_max, np.int64)),
            "tolerance_met": (grid_dims, per_point(lambda r: r.tolerance_met, bool)),
        }
    else:  # quantum
        data = {
            "probability": (full, per_temperature(lambda r: r.probability)),
            "error": (full, per_temperature(lambda r: r.error)),
            "activation_energy": (full, per_temperature(lambda r: r.activation_energy)),
            "activation_error": (full, per_temperature(lambda r: r.activation_error)),
            "tolerance_met": (grid_dims, per_point(lambda r: r.tolerance_met, bool)),
        }
    coords = {name: (name, np.array(values, dtype=str if name == "experiment" else float))
              for name, values in axes.items()}
    coords["omega_T"] = ("omega_T", temps)
    if "energy_sums" in data:
        coords["moment"] = ("moment", np.array(ENERGY_MOMENTS))
    if "undecided_reasons" in data:
        coords["reason"] = ("reason", np.array(REASONS))
    ds = xr.Dataset(data, coords=coords)
    descriptions = {
        "experiment": "experiment (lib.experiments)", "impact": "impact parameter s",
        "mass": "particle mass M (oscillator masses)", "U0": "height of the Gaussian repulsion",
        "lam": "width lambda of the Gaussian", "omega_T": "temperature k_B T / (hbar Omega)",
        "probability": "transmission probability P", "stderr": "binomial standard error of P",
        "ci95_low": "Wilson 95% interval, low", "ci95_high": "Wilson 95% interval, high",
        "transmitted": "transmitted trials", "undecided": "trials without an outcome (excluded)",
        "trials": "trials per temperature", "error": "estimated absolute error of P",
        "activation_energy": "E_a = -d ln P / d(1/omega_T)",
        "activation_stderr": "standard error of E_a (Tolman's estimate)",
        "activation_error": "estimated absolute error of E_a",
        "evaluations": "derivative evaluations spent",
        "lowest_energy": "lowest total energy of the transmitting set",
        "n_max": "highest gate level of the quadrature",
        "tolerance_met": "whether the error estimate is within the tolerance at every temperature",
        "energy_sums": "sums over the decided trials of E and E^2, all and transmitted (Tolman's estimate)",
        "steps": "accepted steps", "rejected": "rejected steps",
        "undecided_reasons": "undecided trials by why they stopped (lib.kernels.REASONS)",
    }
    for name, text in descriptions.items():
        if name in ds.variables:
            ds[name].attrs["long_name"] = text
    x0 = {r.model.x0 for r in results}
    labels = {getattr(r, "integrator", None) for r in results}
    if len(labels) == 1 and None not in labels:
        integrator = labels.pop()
    settings = [getattr(r, "integrator_settings", None) for r in results]
    if settings and settings[0] is not None and all(x == settings[0] for x in settings):
        ds.attrs["integrator_settings"] = json.dumps(settings[0], sort_keys=True)
    ds.attrs.update({"title": "transmission probability and activation energy (lib.sweep)",
                     "method": method, "integrator": integrator, "engine_version": cache.ENGINE_VERSION,
                     "lib_version": __version__, "x0": float(x0.pop()) if len(x0) == 1 else "varies"})
    ds.attrs.update({k: v for k, v in attrs.items() if v is not None})
    return ds


AXIS_RANGES = {"impact": IMPACT_RANGE, "mass": MASS_RANGE, "U0": U0_RANGE, "lam": LAMBDA_RANGE}
"""Allowed values of the numeric grid dimensions (:mod:`lib.inputs`)."""

DERIVED = ("probability", "stderr", "ci95_low", "ci95_high", "activation_energy", "activation_stderr")
"""Monte Carlo variables that follow from the counts and sums; a dataset's must equal them."""


def transmissions(ds, key=("experiment", "impact", "mass")) -> dict:
    """The Monte Carlo results held by ``ds`` (a Dataset, or the path of a ``.nc`` or ``.zarr`` file),
    as :class:`~lib.ensemble.Transmission`.

    The inverse of :func:`transmission_dataset`: every field (counts,
    energy sums, evaluations, seed, integrator, model) comes from the
    dataset, so the results equal the ones it was made from, bitwise, and
    so do a file's written by :func:`write_dataset` and opened again. Keys
    are the tuples of the coordinates named in ``key``, in order (the book's
    ``(experiment, s, M)`` by default); the other grid dimensions must then
    have length one.

    What is read is checked as strictly as what is computed: registered
    experiments, parameters and temperatures within their ranges, the seed
    and ``x0`` attributes, whole non-negative counts with at least one
    trial and no more transmitted and undecided than trials, finite energy
    sums, and every stored probability, error and interval equal to what
    the counts give. Anything else (an edited or damaged file, a Fig. 3 or
    quadrature dataset) is a one-line ``ValueError`` naming the variable.
    """
    ds, label = files.open_dataset(ds)
    if "phase" in ds.dims and "particle_energy" in ds.dims:
        raise ValueError(f"{label} holds the maps of Fig. 3, not a sweep: read it with lib.reproduce.phase_maps")
    method = files.attribute(ds, "method", lambda n, v: v, label)
    if method != "montecarlo":
        raise ValueError(f"transmissions needs a Monte Carlo dataset, got method {method!r} in {label}")
    key = tuple(key)
    unknown = [k for k in key if k not in DIMS]
    if unknown:
        raise ValueError(f"key must name dimensions among {DIMS}, got {unknown}")
    for dim in (*DIMS, "omega_T"):
        if dim not in ds.dims:
            raise ValueError(f"{label}: dimension {dim!r} is missing: not a sweep dataset")
    spread = [d for d in DIMS if d not in key and ds.sizes.get(d, 1) != 1]
    if spread:
        raise ValueError(f"dimensions {spread} have more than one value: add them to key")

    def coordinate(name, check, distinct=True):
        values = files.variable(ds, name, label)
        try:
            out = [check(v) for v in values]
        except ValueError as exc:
            raise ValueError(f"{label}: variable {name!r}: {exc}") from None
        if distinct and len(set(out)) != len(out):
            raise ValueError(f"{label}: variable {name!r} must hold distinct values")
        return out

    experiments = coordinate("experiment", lambda v: check_experiment(str(v)) if isinstance(v, str) else
                             check_experiment(v))
    grid = {d: coordinate(d, lambda v, d=d: check_range(d, v, AXIS_RANGES[d])) for d in AXIS_RANGES}
    try:
        omega_T = check_temperatures(files.variable(ds, "omega_T", label))
    except ValueError as exc:
        raise ValueError(f"{label}: variable 'omega_T': {exc}") from None
    seed = files.attribute(ds, "seed", lambda n, v: check_seed(v), label)
    x0 = files.attribute(ds, "x0", lambda n, v: check_range(n, v, X0_RANGE, exclude_high=True), label)

    def name_check(n, v):
        if not isinstance(v, str) or not v:
            raise ValueError(f"must be the integrator's name, got {v!r}")
        return v

    integrator = files.attribute(ds, "integrator", name_check, label)
    settings = None  # a dataset written before the settings were recorded has the label alone
    if "integrator_settings" in ds.attrs:
        def settings_check(n, v):
            try:
                out = json.loads(v) if isinstance(v, str) else None
            except ValueError:
                out = None
            if not isinstance(out, dict) or out.get("label") != integrator:
                raise ValueError(f"must be the JSON of the integrator {integrator!r}'s settings")
            return out

        settings = files.attribute(ds, "integrator_settings", settings_check, label)
    full = (*DIMS, "omega_T")

    def counted(name, minimum=0, dims=full):
        files.variable(ds, name, label)
        return files.counts(ds[name].transpose(*dims).values, name, label, minimum=minimum)

    transmitted, undecided = counted("transmitted"), counted("undecided")
    trials = counted("trials", minimum=1)
    evaluations = counted("evaluations", dims=DIMS)
    if np.any(trials != trials[..., :1]):
        raise ValueError(f"{label}: variable 'trials' must be the same at every temperature of a point")
    over = transmitted + undecided > trials
    if over.any():
        name = "transmitted" if np.any(transmitted > trials) else "undecided"
        raise ValueError(f"{label}: variable {name!r}: transmitted and undecided trials exceed 'trials' "
                         f"({int(transmitted[over][0])} + {int(undecided[over][0])} > {int(trials[over][0])})")
    steps = rejected = reasons = None
    if "undecided_reasons" in ds.variables:
        steps, rejected = counted("steps", dims=DIMS), counted("rejected", dims=DIMS)
        files.variable(ds, "reason", label)
        if tuple(str(r) for r in ds["reason"].values) != REASONS:
            raise ValueError(f"{label}: variable 'reason' must list {', '.join(REASONS)}")
        reasons = counted("undecided_reasons", dims=(*full, "reason"))
        if np.any(reasons.sum(axis=-1) != undecided):
            raise ValueError(f"{label}: variable 'undecided_reasons' must add up to 'undecided' at every temperature")
    sums = None
    if "energy_sums" in ds.variables:
        sums = np.asarray(ds["energy_sums"].transpose(*full, "moment").values, dtype=float)
        if sums.shape[-1] != len(ENERGY_MOMENTS) or not np.all(np.isfinite(sums)) or np.any(sums[..., [1, 3]] < 0):
            raise ValueError(f"{label}: variable 'energy_sums' must hold {len(ENERGY_MOMENTS)} finite sums per "
                             "temperature, those of E^2 non-negative")
    stored = {}
    for name in DERIVED:
        if name in ds.variables:
            stored[name] = np.asarray(ds[name].transpose(*full).values, dtype=float)
    for name in ("probability", "ci95_low", "ci95_high"):
        if name in stored:
            values = stored[name][np.isfinite(stored[name])]
            if values.size and (values.min() < 0 or values.max() > 1):
                bad = values[(values < 0) | (values > 1)][0]
                raise ValueError(f"{label}: variable {name!r} must be between 0 and 1, got {bad!r}")
    out = {}
    for index in itertools.product(*(range(ds.sizes[d]) for d in DIMS)):
        experiment = experiments[index[0]]
        s, M, U0, lam = (grid[d][i] for d, i in zip(AXIS_RANGES, index[1:]))
        result = Transmission(experiment, Model(M=M, s=s, U0=U0, lam=lam, x0=x0), integrator, omega_T.copy(),
                              int(trials[index][0]), seed, transmitted[index].copy(), undecided[index].copy(),
                              int(evaluations[index]), None if sums is None else sums[index].copy(),
                              settings, None if steps is None else int(steps[index]),
                              None if rejected is None else int(rejected[index]),
                              None if reasons is None else reasons[index].copy())
        recomputed = {"probability": result.probability, "stderr": result.stderr,
                      "ci95_low": result.ci95[0], "ci95_high": result.ci95[1]}
        if sums is not None:
            recomputed.update(activation_energy=result.activation_energy, activation_stderr=result.activation_stderr)
        for name, values in recomputed.items():
            if name in stored and not np.array_equal(stored[name][index], values, equal_nan=True):
                raise ValueError(f"{label}: variable {name!r} does not match the counts it is computed from "
                                 "(the dataset was edited or damaged)")
        values = dict(zip(DIMS, (experiment, s, M, U0, lam)))
        out[tuple(values[k] for k in key)] = result
    return out


FORMATS = (".nc", ".zarr")


def _is_zarr_store(path) -> bool:
    from pathlib import Path

    return any((Path(path) / name).exists() for name in (".zgroup", ".zattrs", ".zmetadata", "zarr.json"))


def check_output(path, name: str = "out"):
    """The output format of ``path`` from its suffix: ``'netcdf'`` or ``'zarr'``.

    Everything writing it will need is checked here, before any work: the
    suffix, the zarr package for ``.zarr``, and that an existing ``.zarr``
    folder is a Zarr store (any other folder is never replaced). A
    ``ValueError`` names ``name`` otherwise.
    """
    from pathlib import Path

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".nc":
        return "netcdf"
    if suffix != ".zarr":
        raise ValueError(f"{name} must end in .nc (NetCDF) or .zarr, got {str(path)!r}")
    try:
        import zarr  # noqa: F401
    except ImportError:
        raise ValueError(f"{name} {str(path)!r}: writing .zarr needs the zarr package (pip install zarr); "
                         "use .nc") from None
    if path.exists() and not (path.is_dir() and (_is_zarr_store(path) or not any(path.iterdir()))):
        raise ValueError(f"{name} {str(path)!r} exists and is not a Zarr store: refusing to replace it")
    return "zarr"


def _write_netcdf(ds, path) -> None:
    """NetCDF with the h5netcdf engine, at ``path`` as given (callers make it a temporary file)."""
    ds.to_netcdf(path, engine="h5netcdf")


def write_dataset(ds, path, *, since=files.MISSING):
    """Write ``ds`` to ``path``: NetCDF with the h5netcdf engine (``.nc``) or Zarr (``.zarr``).

    Either opens again with ``xarray.open_dataset(path)`` (Zarr with
    ``engine='zarr'``). The file (or Zarr folder) is written whole or not
    at all: to a temporary name of this writer's own, then renamed over
    ``path`` (:mod:`lib.files`), so a reader, or another writer of the same
    path, never sees a part of it. ``since`` (a :func:`lib.files.snapshot`
    of ``path`` taken before a long computation): if another process wrote
    ``path`` meanwhile with other content, one warning says so. Returns the
    path.
    """
    from pathlib import Path

    fmt = check_output(path)
    path = Path(path)
    with files.replacing(path, since=since) as tmp:
        if fmt == "netcdf":
            _write_netcdf(ds, tmp)
        else:
            import zarr

            # Zarr format 2 stores the experiment names (fixed-width text), which format 3 does not yet specify
            version = int(zarr.__version__.split(".")[0])
            ds.to_zarr(tmp, mode="w", **({"zarr_format": 2} if version >= 3 else {}))
    return path


__all__ = ["sweep", "transmission_dataset", "write_dataset", "DIMS"]
