"""The data behind the paper's Figs. 3-5, at the paper's resolution.

* Fig. 3: M = 1, s in {0, 2}, phases k pi/4 (k = 0..7), a 200 x 200 grid
  of particle energies [0.1, 12] and oscillator energies [0, 20].
* Fig. 4 (frozen, deflected) and Fig. 5 (thermal, joint): s in {0, 2},
  M in {1/5, 1, 5}, the 250 temperatures of :func:`lib.experiments.paper_temperatures`,
  10,000 trials per temperature.

One seed, :data:`PAPER_SEED`, serves every panel: as in the paper, the three
masses see the same random draws (so the frozen results coincide across
masses), and frozen and deflected runs launch the same particles (so they
coincide at s = 0). Every block goes through the on-disk cache, so an
interrupted run resumes from the last finished block, and the book reuses
what this computed.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import __version__, cache, files, parallel
from .ensemble import DEFAULT_TRIALS
from .experiments import EXPERIMENT_REGISTRY, figure_experiments, paper_temperatures
from .inputs import (IMPACT_RANGE, LAMBDA_RANGE, MASS_RANGE, U0_RANGE, X0_RANGE, check_finite, check_integer,
                     check_jobs, check_range)
from .model import Model
from .phase_space import (CONVENTIONS, ENERGY_RANGE, MIN_PARTICLE_ENERGY, OSCILLATOR_RANGE, PAPER_GRID, PAPER_PHASES,
                          PARTICLE_RANGE, SCRIPT_PHASES, PhaseSpaceMap, phase_space_map)
from .quadrature import low_temperature_limit, transmission_quadrature
from .sweeps import _write_netcdf, transmission_dataset, transmissions
from .transmission import transmission_probability
from .transmitting import threshold_energy, transmitting_set

PAPER_SEED = 20240521
"""The one seed used for every ensemble of the reproduction."""

MASSES = (0.2, 1.0, 5.0)
IMPACTS = (0.0, 2.0)
FIGURE_EXPERIMENTS = figure_experiments()
"""Experiments of each ensemble figure, from :data:`lib.experiments.EXPERIMENT_REGISTRY`."""
FIGURES = ("3", *FIGURE_EXPERIMENTS)
"""Fig. 3 (phase-space maps) and the ensemble figures."""


def ensemble_blocks(figure: str):
    """The ``(experiment, s, M)`` blocks of Fig. 4 or 5."""
    return [(e, s, M) for e in FIGURE_EXPERIMENTS[figure] for s in IMPACTS for M in MASSES]


def ensemble_data(figure: str, *, trials: int = DEFAULT_TRIALS, seed: int = PAPER_SEED,
                  omega_T=None, integrator="adaptive", n_jobs=None, progress=None,
                  use_cache: bool = True) -> dict:
    """Transmission results of Fig. 4 or 5, keyed by ``(experiment, s, M)``."""
    if figure not in FIGURE_EXPERIMENTS:
        raise ValueError(f"figure must be 4 or 5 for ensembles, got {figure!r}")
    temps = paper_temperatures() if omega_T is None else np.asarray(omega_T, dtype=float)
    blocks = ensemble_blocks(figure)
    total = len(blocks) * temps.size * trials
    show = parallel.show_progress(progress, total)
    out = {}
    with parallel.progress_bar(show, total, unit="traj", desc=f"Fig. {figure}", unit_scale=True) as bar:
        for experiment, s, M in blocks:
            out[(experiment, s, M)] = transmission_probability(
                experiment, Model(M=M, s=s), temps, trials=trials, seed=seed, integrator=integrator,
                n_jobs=n_jobs, progress=show, use_cache=use_cache)
            bar.update(temps.size * trials)
    return out


EXACT_TOLERANCE = 1e-3
"""Relative accuracy of the book's quadrature curves (:func:`exact_data`)."""

EXACT_FLOOR = 1e-12
r"""Lowest :math:`\mathcal{P}` the book's quadrature curves reach."""

EXACT_POINTS = 60
"""Temperatures below the paper's range in the book's quadrature curves."""


def exact_temperatures(lowest_energy: float, *, floor: float = EXACT_FLOOR, points: int = EXACT_POINTS
                       ) -> np.ndarray:
    r"""The paper's temperatures and, below them, ``points`` log-spaced ones.

    They reach down to where :math:`e^{-E_\mathrm{min}/\omega_T}` is
    ``floor``; sorted, each once.
    """
    lowest_energy = check_finite("lowest energy", lowest_energy, nonnegative=True)
    floor = check_finite("floor", floor, positive=True, high=0.5)
    points = check_integer("points", points, minimum=1, maximum=10_000)
    paper = np.unique(paper_temperatures())
    lowest = min(max(0.9 * lowest_energy / np.log(1.0 / floor), 0.05), 0.5 * paper[0])
    below = np.geomspace(lowest, paper[0], points + 1)[:-1]
    return np.concatenate([below, paper])


def lowest_energy(experiment: str, model: Model) -> float:
    r""":math:`E_\mathrm{min}` of ``experiment`` from a coarse transmitting set (levels or energies up to 4)."""
    gate = EXPERIMENT_REGISTRY[experiment].gate
    ts = transmitting_set(model, gate, n_max=4, phases=16, scan=32, energy_tol=1e-3, refine=1, n_jobs=1)
    return low_temperature_limit(ts, experiment)["lowest_energy"]


_PANEL_ORDER = ("classical", "joint", "thermal", "deflected", "frozen")
"""Experiments from the slowest quadrature to the quickest (longest tasks first)."""


def _exact_panel(experiment, s, M, tolerance, floor, n_jobs, use_cache):
    """One panel of :func:`exact_data`."""
    model = Model(M=M, s=s)
    temps = exact_temperatures(lowest_energy(experiment, model), floor=floor)
    return transmission_quadrature(experiment, model, temps, tolerance=tolerance, p_floor=0.1 * floor,
                                   n_jobs=n_jobs, progress=False, use_cache=use_cache)


def exact_data(figure: str, *, experiments=None, impacts=IMPACTS, masses=MASSES,
               tolerance: float = EXACT_TOLERANCE, floor: float = EXACT_FLOOR, n_jobs=None, progress=None,
               use_cache: bool = True) -> dict:
    r"""Quadrature :math:`\mathcal{P}(\omega_T)` and :math:`E_a` for the panels of Fig. 4 or 5.

    Keyed by ``(experiment, s, M)``; each a :class:`lib.quadrature.Quadrature`
    on :func:`exact_temperatures` (the paper's temperatures and more below,
    down to where :math:`\mathcal{P}` reaches ``floor``), accurate to ``tolerance``
    wherever :math:`\mathcal{P} \ge` ``floor``. ``experiments`` defaults to
    the figure's; any registered experiment may be given (e.g. ``classical``).
    Computed by :func:`exact_panels`.
    """
    if figure not in FIGURE_EXPERIMENTS:
        raise ValueError(f"figure must be 4 or 5 for ensembles, got {figure!r}")
    experiments = FIGURE_EXPERIMENTS[figure] if experiments is None else tuple(experiments)
    panels = [(e, s, M, tolerance) for e in experiments for s in impacts for M in masses]
    return exact_panels(panels, floor=floor, n_jobs=n_jobs, progress=progress, use_cache=use_cache,
                        desc=f"Fig. {figure} quadrature")


def exact_panels(panels, *, floor: float = EXACT_FLOOR, n_jobs=None, progress=None, use_cache: bool = True,
                 desc: str = "quadrature") -> dict:
    """The quadrature of :func:`exact_data` for any list of ``(experiment, s, M, tolerance)`` panels.

    Keyed by ``(experiment, s, M)``. On local workers (``n_jobs`` > 1, no Dask
    scheduler) the panels run side by side, each in one worker, slowest
    first, so that the serial parts of the quadrature overlap; a single
    panel, or a cluster, parallelises inside the panel. The results are the
    same either way.
    """
    panels = [(str(e), float(s), float(M), float(tol)) for e, s, M, tol in panels]
    keys = [p[:3] for p in panels]
    if len(set(keys)) != len(keys):
        raise ValueError("each (experiment, s, M) panel may appear once")
    jobs = check_jobs(n_jobs)
    side_by_side = parallel.backend(jobs, len(keys)) == "loky"
    rank = {e: i for i, e in enumerate(_PANEL_ORDER)}
    order = sorted(range(len(keys)), key=lambda k: (rank.get(keys[k][0], -1), -keys[k][2], -keys[k][1]))
    tasks = [(*panels[k], floor, 1 if side_by_side else jobs, use_cache) for k in order]
    found = {}
    # panels are long: shown like long ensembles
    with parallel.progress_bar(progress, len(keys), unit="panel", desc=desc,
                               work=len(keys) * parallel.PROGRESS_MIN_TRIALS) as bar:
        for j, q in parallel.run(_exact_panel, tasks, n_jobs=jobs if side_by_side else 1, ordered=False):
            found[keys[order[j]]] = q
            bar.update()
    return {key: found[key] for key in keys}


def mass_dependence(masses=None, impacts=IMPACTS) -> dict:
    r"""The deflected experiment's effective barrier against particle mass.

    For each ``s`` in ``impacts``: ``{"mass", "energy", "intervals"}``, the
    lowest transmitting energy :math:`\mathcal{E}_\mathrm{min}` of a gate
    starting at rest (:func:`lib.transmitting.threshold_energy`) and the number
    of transmitting intervals (1: :math:`\mathcal{P} = e^{-\mathcal{E}_\mathrm{min}/\omega_T}`
    exactly). Masses default to 41 log-spaced from 0.01 to 100.
    """
    masses = np.geomspace(0.01, 100.0, 41) if masses is None else np.asarray(masses, dtype=float)
    out = {}
    for s in impacts:
        th = [threshold_energy(Model(M=float(M), s=s), tol=1e-9) for M in masses]
        out[s] = {"mass": masses, "energy": np.array([t.energy for t in th]),
                  "intervals": np.array([(len(t.transitions) + 1) // 2 for t in th]),
                  "single": np.array([t.monotonic for t in th])}
    return out


def phase_space_data(*, grid: int = PAPER_GRID, convention: str = "paper-text", M: float = 1.0,
                     integrator="adaptive", n_jobs=None, progress=None, use_cache: bool = True) -> dict:
    """Fig. 3 maps keyed by ``(s, phase)``.

    The ``published-script`` convention runs the script's nine phases.
    """
    phases = PAPER_PHASES if convention == "paper-text" else SCRIPT_PHASES
    keys = [(s, phi) for s in IMPACTS for phi in phases]
    out = {}
    with parallel.progress_bar(progress, len(keys), unit="map", desc="Fig. 3", work=len(keys) * grid * grid) as bar:
        for s, phi in keys:
            out[(s, phi)] = phase_space_map(Model(M=M, s=s), phi, grid=grid, convention=convention,
                                            integrator=integrator, n_jobs=n_jobs, use_cache=use_cache)
            bar.update()
    return out


def _protocol(figure: str, trials: int, seed: int, integrator: str) -> dict:
    model = Model()  # the paper's U0, lambda, x0 are the defaults
    common = {"impacts": list(IMPACTS), "U0": model.U0, "lam": model.lam, "x0": model.x0,
              "integrator": integrator}
    if figure == "3":
        return {"M": 1.0, "phases": list(PAPER_PHASES), "grid": PAPER_GRID,
                "particle_energy": list(PARTICLE_RANGE), "oscillator_energy": list(OSCILLATOR_RANGE),
                "convention": "paper-text", **common}
    return {"experiments": list(FIGURE_EXPERIMENTS[figure]), "masses": list(MASSES),
            "temperatures": paper_temperatures().tolist(), "trials": trials, "seed": seed, **common}


def ensemble_dataset(figure: str, data: dict, *, trials: int, seed: int, integrator: str):
    """Fig. 4 or 5 as an :class:`xarray.Dataset` (:func:`lib.sweeps.transmission_dataset`).

    Dimensions ``experiment, impact, mass, U0, lam, omega_T`` (U0 and lambda
    of length one); ``data`` as returned by :func:`ensemble_data`.
    """
    model = Model()
    axes = {"experiment": FIGURE_EXPERIMENTS[figure], "impact": IMPACTS, "mass": MASSES,
            "U0": (model.U0,), "lam": (model.lam,)}
    results = [data[(e, s, M)] for e in axes["experiment"] for s in IMPACTS for M in MASSES]
    ds = transmission_dataset(results, axes, results[0].omega_T, method="montecarlo", integrator=integrator,
                              trials=trials, seed=seed)
    ds.attrs["title"] = f"Fig. {figure} of Noori, Olsen, Rodin (lib.reproduce)"
    return ds


def phase_space_dataset(maps: dict, *, integrator: str):
    """Fig. 3 as an :class:`xarray.Dataset`: ``transmitted`` (1 or 0) over
    ``impact, phase, oscillator_energy, particle_energy``; ``maps`` as
    returned by :func:`phase_space_data`."""
    import xarray as xr

    impacts = sorted({s for s, _ in maps})
    phases = sorted({phi for _, phi in maps})
    first = next(iter(maps.values()))
    cube = np.stack([np.stack([maps[(s, phi)].transmitted for phi in phases]) for s in impacts])
    ds = xr.Dataset({"transmitted": (("impact", "phase", "oscillator_energy", "particle_energy"),
                                     cube.astype(np.int8))},
                    coords={"impact": np.array(impacts, dtype=float), "phase": np.array(phases, dtype=float),
                            "oscillator_energy": first.oscillator_energy,
                            "particle_energy": first.particle_energy})
    ds["transmitted"].attrs["long_name"] = "1 where the particle is transmitted"
    if all(m.undecided is not None for m in maps.values()):
        ds["undecided"] = (("impact", "phase"), np.array([[maps[(s, phi)].undecided for phi in phases]
                                                          for s in impacts], dtype=np.int64))
        ds["undecided"].attrs["long_name"] = "grid points whose trajectory ended undecided (shown as not transmitted)"
    if first.integrator_settings is not None:
        ds.attrs["integrator_settings"] = json.dumps(first.integrator_settings, sort_keys=True)
    ds.attrs.update({"title": "Fig. 3 of Noori, Olsen, Rodin (lib.reproduce)", "mass": first.model.M,
                     "U0": first.model.U0, "lam": first.model.lam, "x0": first.model.x0,
                     "convention": first.convention, "integrator": first.integrator,
                     "engine_version": cache.ENGINE_VERSION, "lib_version": __version__})
    return ds


FIG3_DIMS = ("impact", "phase", "oscillator_energy", "particle_energy")
"""Dimensions of ``transmitted`` in a Fig. 3 dataset, in order."""


def phase_maps(ds) -> dict:
    """The maps held by a Fig. 3 dataset (:func:`phase_space_dataset`), or the path of its file, keyed
    by ``(s, phase)``; the inverse of :func:`phase_space_dataset`, bitwise.

    What is read is checked as strictly as what is computed: the model's
    attributes within their ranges, a known convention, finite phases,
    energies within the phase map's ranges, outcomes 0 or 1. Anything else
    (an edited or damaged file, or a sweep read as a map) is a one-line
    ``ValueError`` naming the variable.
    """
    ds, label = files.open_dataset(ds)
    if "experiment" in ds.dims or "omega_T" in ds.dims:
        raise ValueError(f"{label} is a sweep (P against temperature), not the maps of Fig. 3: read it with "
                         "lib.sweeps.transmissions")
    if "transmitted" not in ds.variables or tuple(ds["transmitted"].dims) != FIG3_DIMS:
        raise ValueError(f"{label}: variable 'transmitted' over {', '.join(FIG3_DIMS)} is missing: not a Fig. 3 dataset")

    def number(bounds, **kw):
        return lambda name, v: check_range(name, v, bounds, **kw)

    def text(allowed=None):
        def check(name, v):
            if not isinstance(v, str) or not v or (allowed is not None and v not in allowed):
                shown = f"one of {', '.join(allowed)}" if allowed else "a name"
                raise ValueError(f"must be {shown}, got {v!r}")
            return v
        return check

    mass = files.attribute(ds, "mass", number(MASS_RANGE), label)
    params = {k: files.attribute(ds, k, number(b, exclude_high=(k == "x0")), label)
              for k, b in (("U0", U0_RANGE), ("lam", LAMBDA_RANGE), ("x0", X0_RANGE))}
    convention = files.attribute(ds, "convention", text(CONVENTIONS), label)
    integrator = files.attribute(ds, "integrator", text(), label)
    settings = None  # written before the settings were recorded: the label alone
    if "integrator_settings" in ds.attrs:
        def settings_check(n, v):
            out = json.loads(v) if isinstance(v, str) and v.startswith("{") else None
            if not isinstance(out, dict) or out.get("label") != integrator:
                raise ValueError(f"must be the JSON of the integrator {integrator!r}'s settings")
            return out

        settings = files.attribute(ds, "integrator_settings", settings_check, label)

    def coordinate(name, check):
        values = files.variable(ds, name, label)
        try:
            return np.array([check(name, v) for v in values], dtype=float)
        except ValueError as exc:
            raise ValueError(f"{label}: variable {name!r}: {exc}") from None

    impacts = coordinate("impact", lambda n, v: check_range(n, v, IMPACT_RANGE))
    phases = coordinate("phase", lambda n, v: check_finite(n, v))
    particle = coordinate("particle_energy",
                          lambda n, v: check_finite(n, v, low=MIN_PARTICLE_ENERGY, high=ENERGY_RANGE[1]))
    oscillator = coordinate("oscillator_energy", lambda n, v: check_finite(n, v, low=0.0, high=ENERGY_RANGE[1]))
    for name, values in (("impact", impacts), ("phase", phases), ("particle_energy", particle),
                         ("oscillator_energy", oscillator)):
        if np.unique(values).size != values.size:
            raise ValueError(f"{label}: variable {name!r} must hold distinct values")
    cube = files.counts(ds["transmitted"].values, "transmitted", label)
    if cube.size and cube.max() > 1:
        raise ValueError(f"{label}: variable 'transmitted' must hold 0 or 1, got {int(cube.max())}")
    undecided = None  # written before it was recorded
    if "undecided" in ds.variables:
        undecided = files.counts(ds["undecided"].transpose("impact", "phase").values, "undecided", label)
        if np.any(undecided > cube.shape[-1] * cube.shape[-2]):
            raise ValueError(f"{label}: variable 'undecided' exceeds the grid points of a map")
    out = {}
    for i, s in enumerate(impacts):
        for j, phi in enumerate(phases):
            out[(float(s), float(phi))] = PhaseSpaceMap(
                Model(M=mass, s=float(s), **params), float(phi), convention, particle.copy(), oscillator.copy(),
                cube[i, j].astype(bool), integrator, settings, None if undecided is None else int(undecided[i, j]))
    return out


def figure_dataset(figure: str, *, trials: int = DEFAULT_TRIALS, seed: int = PAPER_SEED,
                   integrator: str = "adaptive", n_jobs=None, progress=None, use_cache: bool = True):
    """The data of Fig. 3, 4 or 5 as an :class:`xarray.Dataset`, computed through the cache.

    The very dataset :func:`reproduce` writes to ``figureN.nc``: Fig. 3 by
    :func:`phase_space_dataset` (:func:`phase_maps` restores the maps), Figs.
    4 and 5 by :func:`ensemble_dataset` (:func:`lib.sweeps.transmissions`
    restores the results). The book's chapters read their data this way.
    """
    if figure == "3":
        maps = phase_space_data(integrator=integrator, n_jobs=n_jobs, progress=progress, use_cache=use_cache)
        return phase_space_dataset(maps, integrator=integrator)
    if figure not in FIGURE_EXPERIMENTS:
        raise ValueError(f"figure must be one of {', '.join(FIGURES)}; got {figure!r}")
    data = ensemble_data(figure, trials=trials, seed=seed, integrator=integrator, n_jobs=n_jobs,
                         progress=progress, use_cache=use_cache)
    return ensemble_dataset(figure, data, trials=trials, seed=seed, integrator=integrator)


def reproduce(figures=FIGURES, out_dir="results", *, trials: int = DEFAULT_TRIALS, seed: int = PAPER_SEED,
              integrator: str = "adaptive", n_jobs=None, progress=None,
              use_cache: bool = True) -> list[Path]:
    """Compute the data of ``figures`` and write it, with its parameters, to ``out_dir``.

    For each figure ``N`` writes ``figureN.json`` (parameters, and every
    number plotted), ``figureN.npz`` (the same as arrays) and ``figureN.nc``
    (a labelled xarray Dataset, NetCDF with the h5netcdf engine; open it
    with ``xarray.open_dataset``). Returns the paths written. The files
    depend only on the data: a rerun, or a run resumed from the cache after
    an interruption, writes bitwise the same files (no time stamps).

    A figure's three files are one set (:func:`lib.files.replace_set`):
    written to temporary files first and renamed into place together, the
    JSON last, with the SHA-256 of the other two under ``"files"``; a
    failure while writing replaces none of them, and two runs writing to one
    folder leave the set of one of them (:func:`read_figure` checks a set).
    A run whose files were replaced meanwhile by another run's different
    ones says so in one warning.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for fig in figures:
        if fig not in FIGURES:
            raise ValueError(f"figure must be one of 3, 4, 5 or all; got {fig!r}")
    names = {fig: figure_files(fig) for fig in figures}
    before = {fig: {name: files.snapshot(out / name) for name in names[fig]} for fig in figures}
    written = []
    for fig in figures:
        meta = {"figure": fig, "lib_version": __version__, "engine_version": cache.ENGINE_VERSION,
                "protocol": _protocol(fig, trials, seed, integrator)}
        arrays = {}
        dataset = figure_dataset(fig, trials=trials, seed=seed, integrator=integrator, n_jobs=n_jobs,
                                 progress=progress, use_cache=use_cache)
        if fig == "3":
            maps = phase_maps(dataset)
            panels = []
            for (s, phi), m in maps.items():
                key = f"s{s:g}_phi{round(phi / (np.pi / 4))}"
                arrays[key] = m.transmitted
                panels.append({"key": key, "impact": s, "phase": phi,
                               "transmitted_fraction": m.transmitted_fraction})
            arrays["particle_energy"] = next(iter(maps.values())).particle_energy
            arrays["oscillator_energy"] = next(iter(maps.values())).oscillator_energy
        else:
            data = transmissions(dataset)
            panels = []
            for (e, s, M), r in data.items():
                key = f"{e}_s{s:g}_M{M:g}"
                arrays[key + "_transmitted"] = r.transmitted
                panels.append({"key": key, **r.to_dict()})
            arrays["temperature"] = paper_temperatures()
        meta["panels"] = panels
        jname, npzname, ncname = names[fig]

        def manifest(hashes, meta=meta):
            return json.dumps({**meta, "files": hashes}, indent=1).encode()

        # the set is replaced whole or not at all, the JSON (naming the others' SHA-256) last
        files.replace_set(out, {npzname: _npz_bytes(arrays), ncname: lambda path, ds=dataset: _write_netcdf(ds, path)},
                          (jname, manifest), since=before[fig])
        written += [out / jname, out / npzname, out / ncname]
    return written


def figure_files(figure: str) -> tuple[str, str, str]:
    """The names of Fig. ``figure``'s files: ``figureN.json`` (the manifest), ``.npz``, ``.nc``."""
    return f"figure{figure}.json", f"figure{figure}.npz", f"figure{figure}.nc"


def read_figure(folder, figure: str) -> dict:
    """The files :func:`reproduce` wrote for Fig. ``figure`` in ``folder``, checked as one set.

    Returns ``{"meta", "arrays", "dataset"}``: the JSON, the NPZ arrays and
    the Dataset (checked by :func:`phase_maps` or
    :func:`lib.sweeps.transmissions`). The files are read under a shared lock
    (a concurrent :func:`reproduce` renames its set under an exclusive one)
    and each must match the SHA-256 the JSON records, so a set mixed from two
    runs, or a damaged file, is a one-line ``ValueError``.
    """
    import io

    import xarray as xr

    if figure not in FIGURES:
        raise ValueError(f"figure must be one of {', '.join(FIGURES)}; got {figure!r}")
    jname, npzname, ncname = figure_files(figure)

    def recorded(data):
        try:
            hashes = json.loads(data)["files"]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{jname} in {str(folder)!r} does not list its files (written by an older "
                             "version, or damaged): write the figure again") from None
        if not isinstance(hashes, dict) or set(hashes) != {npzname, ncname}:
            raise ValueError(f"{jname}: 'files' must list {npzname} and {ncname}")
        return hashes

    data = files.read_set(folder, jname, recorded)
    with np.load(io.BytesIO(data[npzname]), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    with xr.open_dataset(io.BytesIO(data[ncname]), engine="h5netcdf") as ds:
        dataset = ds.load()
    if figure == "3":
        phase_maps(dataset)
    else:
        transmissions(dataset)
    return {"meta": json.loads(data[jname]), "arrays": arrays, "dataset": dataset}


def _npz_bytes(arrays: dict) -> bytes:
    """``arrays`` as the bytes of a compressed ``.npz`` (as :func:`numpy.savez_compressed`), with
    fixed time stamps, so the same data give bitwise the same file."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)
    return buffer.getvalue()
