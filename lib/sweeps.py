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

import numpy as np

from . import cache
from .ensemble import (DEFAULT_TRIALS, PROGRESS_MIN_TRIALS, MAX_TRAJECTORIES, Transmission, _compute, assemble, check_jobs,
                       check_method, check_seed, check_temperatures, check_trials, chunk_tasks,
                       run_chunk, show_progress)
from .experiments import check_experiment
from .integrate import get_integrator
from .model import Model, check_finite

DIMS = ("experiment", "impact", "mass", "U0", "lam")
"""Grid dimensions of a sweep, in order; ``omega_T`` follows."""

ENERGY_MOMENTS = ("E", "E2", "E_transmitted", "E2_transmitted")
"""Order of the per-temperature energy sums of a Monte Carlo result (``energy_sums``)."""

MAX_POINTS = 1_000_000
"""Largest number of grid points in one sweep."""

_UNSET = object()


def _axis(name, values, *, positive=False, nonnegative=False):
    """One grid axis as a tuple of distinct floats (a number or a sequence of numbers)."""
    seq = [values] if np.ndim(values) == 0 else list(np.asarray(values, dtype=object).ravel())
    if not seq:
        raise ValueError(f"{name} must be a number or a non-empty list of numbers")
    out = tuple(check_finite(name, v, positive=positive, nonnegative=nonnegative) for v in seq)
    if len(set(out)) != len(out):
        raise ValueError(f"{name} values must be distinct, got {list(out)!r}")
    return out


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
    """One quadrature grid point, computed in this process without the block cache."""
    from .quadrature import transmission_quadrature

    return transmission_quadrature(experiment, model, omega_T, tolerance=tolerance, integrator=integrator,
                                   n_jobs=1, progress=False, use_cache=False)


def _quantum_point(experiment, model, omega_T, tolerance, version):
    """One grid point of the exact quantum model (lib.quantum), computed in this process without its own cache."""
    from .quantum import quantum_transmission

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
    from . import parallel

    experiments = _experiments(experiment)
    axes = {"experiment": experiments,
            "impact": _axis("impact", impact),
            "mass": _axis("mass", mass, positive=True),
            "U0": _axis("U0", U0, nonnegative=True),
            "lam": _axis("lam", lam, positive=True)}
    temps = check_temperatures(omega_T)
    method = check_method(method)
    points = list(itertools.product(*axes.values()))
    if len(points) > MAX_POINTS:
        raise ValueError(f"a sweep must have at most {MAX_POINTS} grid points, got {len(points)}")
    integ = get_integrator(integrator)
    n_jobs = check_jobs(n_jobs)
    if method == "montecarlo":
        if tolerance is not None:
            raise ValueError("tolerance applies to method='quadrature' only")
        trials, seed = check_trials(trials), check_seed(seed)
        if trials * temps.size > MAX_TRAJECTORIES:
            raise ValueError(f"trials x temperatures must be at most {MAX_TRAJECTORIES:.0e} per grid point, "
                             f"got {trials} x {temps.size}")
        options = {"trials": trials, "seed": seed}
    elif method == "quantum":  # validated before any work, as quadrature is
        from .quantum import DEFAULT_TOLERANCE, check_quantum_experiment, check_tolerance

        for e in experiments:
            check_quantum_experiment(e)
        options = {"tolerance": check_tolerance(DEFAULT_TOLERANCE if tolerance is None else tolerance)}
    else:
        from .quadrature import DEFAULT_TOLERANCE, check_tolerance, level_cutoff

        tolerance = check_tolerance(DEFAULT_TOLERANCE if tolerance is None else tolerance)
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
                                integrator="log-derivative" if method == "quantum" else integ.name, **options)


def _models(points):
    return [(e, Model(M=M, s=s, U0=u0, lam=lm)) for e, s, M, u0, lm in points]


def _montecarlo(points, temps, trials, seed, integ, n_jobs, progress, use_cache):
    from tqdm.auto import tqdm

    from . import parallel

    memorized = cache.cached(_compute, ignore=("n_jobs", "progress")) if use_cache else None
    if memorized is not None and cache.cache_dir() is None:
        memorized = None
    results = [None] * len(points)
    pending = []  # (point index, units, first task index)
    tasks = []
    for p, (e, model) in enumerate(_models(points)):
        args = (e, model, temps, trials, seed, integ, cache.ENGINE_VERSION)
        if memorized is not None and memorized.check_call_in_cache(*args):
            results[p] = memorized(*args)
            continue
        units, point_tasks = chunk_tasks(e, model, temps, trials, seed, integ)
        pending.append((p, units, len(tasks)))
        tasks += point_tasks
    total = len(points) * temps.size * trials
    show = show_progress(progress, total)
    owner = np.empty(len(tasks), dtype=np.int64)  # task -> entry of pending
    for j, (_, units, start) in enumerate(pending):
        owner[start: start + len(units)] = j
    left = [len(units) for _, units, _ in pending]
    chunk_results = [None] * len(tasks)
    with tqdm(total=total, initial=(len(points) - len(pending)) * temps.size * trials, unit="traj",
              unit_scale=True, desc="sweep", disable=not show, smoothing=0.05) as bar:
        for k, out in parallel.run(run_chunk, tasks, n_jobs=n_jobs, ordered=False):
            chunk_results[k] = out
            j = int(owner[k])
            p, units, start = pending[j]
            bar.update(units[k - start][2])
            left[j] -= 1
            if left[j] == 0:  # the point is complete: assemble it and store it at once
                e, model = _models([points[p]])[0]
                results[p] = assemble(e, model, temps, trials, seed, integ, units,
                                      chunk_results[start: start + len(units)])
                for i in range(start, start + len(units)):
                    chunk_results[i] = None
                if memorized is not None:
                    memorized.store(results[p], e, model, temps, trials, seed, integ, cache.ENGINE_VERSION)
    return results


def _quadrature(points, temps, tolerance, integ, n_jobs, progress, use_cache):
    from tqdm.auto import tqdm

    from . import parallel

    tasks = [(e, model, temps, tolerance, integ, cache.ENGINE_VERSION) for e, model in _models(points)]
    show = show_progress(progress, PROGRESS_MIN_TRIALS)  # points are long: like a long ensemble
    with tqdm(total=len(tasks), unit="point", desc="sweep", disable=not show) as bar:
        return parallel.cached_run(_quadrature_point, tasks, n_jobs=n_jobs, use_cache=use_cache,
                                   ordered=False, on_result=lambda k, r: bar.update())


def _quantum(points, temps, tolerance, n_jobs, progress, use_cache):
    from tqdm.auto import tqdm

    from . import parallel
    from .quantum import QUANTUM_VERSION

    tasks = [(e, model, temps, tolerance, QUANTUM_VERSION) for e, model in _models(points)]
    show = show_progress(progress, PROGRESS_MIN_TRIALS)
    with tqdm(total=len(tasks), unit="point", desc="sweep", disable=not show) as bar:
        return parallel.cached_run(_quantum_point, tasks, n_jobs=n_jobs, use_cache=use_cache,
                                   ordered=False, on_result=lambda k, r: bar.update())


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
        dimension ``moment``: :data:`ENERGY_MOMENTS`), and ``evaluations``
        per point. :func:`transmissions` restores the results from these.
    Quadrature
        ``probability``, ``error``, ``activation_energy``,
        ``activation_error``, and per point ``lowest_energy`` (the lowest
        energy of the transmitting set) and ``n_max``.

    Attributes: ``method``, ``integrator``, ``engine_version``,
    ``lib_version``, ``x0`` and the given ``attrs`` (seed and trials, or
    tolerance).
    """
    import xarray as xr

    from . import __version__

    shape = tuple(len(v) for v in axes.values())
    temps = np.asarray(omega_T, dtype=float)
    grid_dims = tuple(axes)
    full = (*grid_dims, "omega_T")

    def per_temperature(get, dtype=float):
        return np.stack([np.asarray(get(r), dtype=dtype) for r in results]).reshape(*shape, temps.size)

    def per_point(get, dtype=float):
        return np.array([get(r) for r in results], dtype=dtype).reshape(shape)

    if method == "montecarlo":
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
    elif method == "quadrature":
        data = {
            "probability": (full, per_temperature(lambda r: r.probability)),
            "error": (full, per_temperature(lambda r: r.error)),
            "activation_energy": (full, per_temperature(lambda r: r.activation_energy)),
            "activation_error": (full, per_temperature(lambda r: r.activation_error)),
            "lowest_energy": (grid_dims, per_point(lambda r: r.lowest_energy)),
            "n_max": (grid_dims, per_point(lambda r: r.n_max, np.int64)),
        }
    elif method == "quantum":
        data = {
            "probability": (full, per_temperature(lambda r: r.probability)),
            "error": (full, per_temperature(lambda r: r.error)),
            "activation_energy": (full, per_temperature(lambda r: r.activation_energy)),
            "activation_error": (full, per_temperature(lambda r: r.activation_error)),
            "tolerance_met": (grid_dims, per_point(lambda r: r.tolerance_met, bool)),
        }
    else:
        raise ValueError(f"method must be montecarlo, quadrature or quantum, got {method!r}")
    coords = {name: (name, np.array(values, dtype=str if name == "experiment" else float))
              for name, values in axes.items()}
    coords["omega_T"] = ("omega_T", temps)
    if "energy_sums" in data:
        coords["moment"] = ("moment", np.array(ENERGY_MOMENTS))
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
        "tolerance_met": "whether the error estimate met the tolerance at every temperature",
        "energy_sums": "sums over the decided trials of E and E^2, all and transmitted (Tolman's estimate)",
    }
    for name, text in descriptions.items():
        if name in ds.variables:
            ds[name].attrs["long_name"] = text
    x0 = {r.model.x0 for r in results}
    ds.attrs.update({"title": "transmission probability and activation energy (lib.sweep)",
                     "method": method, "integrator": integrator, "engine_version": cache.ENGINE_VERSION,
                     "lib_version": __version__, "x0": float(x0.pop()) if len(x0) == 1 else "varies"})
    ds.attrs.update({k: v for k, v in attrs.items() if v is not None})
    return ds


def transmissions(ds, key=("experiment", "impact", "mass")) -> dict:
    """The Monte Carlo results held by ``ds``, as :class:`~lib.ensemble.Transmission`.

    The inverse of :func:`transmission_dataset`: every field (counts,
    energy sums, evaluations, seed, integrator, model) comes from the
    dataset, so the results equal the ones it was made from, bitwise, and
    so do a file's written by :func:`write_dataset` and opened again. Keys
    are the tuples of the coordinates named in ``key``, in order (the book's
    ``(experiment, s, M)`` by default); the other grid dimensions must then
    have length one.
    """
    if ds.attrs.get("method") != "montecarlo":
        raise ValueError(f"transmissions needs a Monte Carlo dataset, got method {ds.attrs.get('method')!r}")
    key = tuple(key)
    unknown = [k for k in key if k not in DIMS]
    if unknown:
        raise ValueError(f"key must name dimensions among {DIMS}, got {unknown}")
    spread = [d for d in DIMS if d not in key and ds.sizes.get(d, 1) != 1]
    if spread:
        raise ValueError(f"dimensions {spread} have more than one value: add them to key")
    omega_T = np.asarray(ds["omega_T"].values, dtype=float)
    out = {}
    for point in itertools.product(*(ds[d].values for d in DIMS)):
        sel = ds.sel(dict(zip(DIMS, point)))
        experiment, s, M, U0, lam = (str(point[0]), *(float(v) for v in point[1:]))
        trials = np.unique(sel["trials"].values)
        if trials.size != 1:
            raise ValueError("transmissions needs the same number of trials at every temperature")
        sums = sel["energy_sums"].transpose("omega_T", "moment").values.astype(float) \
            if "energy_sums" in sel else None
        result = Transmission(experiment, Model(M=M, s=s, U0=U0, lam=lam, x0=float(ds.attrs["x0"])),
                              str(ds.attrs["integrator"]), omega_T.copy(), int(trials[0]),
                              int(ds.attrs["seed"]), sel["transmitted"].values.astype(np.int64),
                              sel["undecided"].values.astype(np.int64), int(sel["evaluations"].values), sums)
        values = dict(zip(DIMS, (experiment, s, M, U0, lam)))
        out[tuple(values[k] for k in key)] = result
    return out


FORMATS = (".nc", ".zarr")


def check_output(path, name: str = "out"):
    """The output format of ``path`` from its suffix: ``'netcdf'`` or ``'zarr'``; ValueError naming ``name`` otherwise."""
    from pathlib import Path

    suffix = Path(path).suffix.lower()
    if suffix == ".nc":
        return "netcdf"
    if suffix == ".zarr":
        return "zarr"
    raise ValueError(f"{name} must end in .nc (NetCDF) or .zarr, got {str(path)!r}")


def write_dataset(ds, path):
    """Write ``ds`` to ``path``: NetCDF with the h5netcdf engine (``.nc``) or Zarr (``.zarr``).

    Either opens again with ``xarray.open_dataset(path)`` (Zarr with
    ``engine='zarr'``). Returns the path.
    """
    from pathlib import Path

    fmt = check_output(path)
    path = Path(path)
    if fmt == "netcdf":
        tmp = path.with_name(path.name + ".part")
        ds.to_netcdf(tmp, engine="h5netcdf")
        tmp.replace(path)  # whole or nothing
    else:
        try:
            import zarr
        except ImportError:
            raise ValueError("writing .zarr needs the zarr package (pip install zarr); use .nc") from None
        # Zarr format 2 stores the experiment names (fixed-width text), which format 3 does not yet specify
        version = int(zarr.__version__.split(".")[0])
        ds.to_zarr(path, mode="w", **({"zarr_format": 2} if version >= 3 else {}))
    return path


__all__ = ["sweep", "transmission_dataset", "write_dataset", "DIMS"]
