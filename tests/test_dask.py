"""Dask cluster backend, sweeps and labelled results.

The cluster tests start a ``distributed.LocalCluster`` with two worker
processes (one thread each) once for the module (the worker-killing test,
about 15 s, is marked slow), and check that ensembles,
phase maps, transmitting sets and sweeps come back bitwise identical to
serial runs, that a worker killed in the middle of a sweep changes nothing,
and that only the client writes the cache. Scheduler addresses that do not
answer must give a one-line error and exit status 1 (the subprocess timeout
below only guards against a hang; it asserts no speed).
"""
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import lib
from lib import cache, parallel
from lib.sweeps import check_output, sweep, write_dataset

ROOT = Path(__file__).resolve().parents[1]
xr = pytest.importorskip("xarray")
distributed = pytest.importorskip("distributed")

MODEL = lib.Model(M=1, s=2)
GRID = dict(experiment=["thermal", "deflected"], impact=[0.0, 2.0], mass=[0.2, 1.0], omega_T=[1.0, 3.0],
            trials=5000, seed=11)


def _equal(a, b):
    """Two datasets with bitwise equal values, coordinates and attributes."""
    xr.testing.assert_identical(a, b)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as c:
        yield c


@pytest.fixture
def on_cluster(cluster):
    with parallel.use_scheduler(cluster.scheduler_address):
        yield cluster


# -- dispatch, without a cluster -------------------------------------------------------------------

def test_scheduler_setting_and_backend_choice(monkeypatch):
    monkeypatch.delenv(parallel.ENV_VAR, raising=False)
    assert parallel.scheduler_address() is None
    assert parallel.backend(1, 10) == "serial" and parallel.backend(2, 1) == "serial"
    assert parallel.backend(2, 10) == "loky"
    monkeypatch.setenv(parallel.ENV_VAR, "tcp://10.0.0.1:8786")
    assert parallel.scheduler_address() == "tcp://10.0.0.1:8786" and parallel.backend(1, 1) == "dask"
    with parallel.use_scheduler(None):  # an explicit choice wins over the environment
        assert parallel.backend(2, 10) == "loky"
    for local in ("", "local", "off"):
        monkeypatch.setenv(parallel.ENV_VAR, local)
        assert parallel.scheduler_address() is None
    for bad in ("tcp://a b", 8786):
        with pytest.raises(ValueError, match="scheduler"):
            parallel.check_scheduler(bad)


def test_cached_run_stores_on_the_client_and_reads_back(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTIVATION_CACHE", str(tmp_path))
    calls = []

    def square(x):
        calls.append(x)
        return x * x

    assert parallel.cached_run(square, [(2,), (3,)]) == [4, 9] and calls == [2, 3]
    assert parallel.cached_run(square, [(3,), (4,), (2,)]) == [9, 16, 4] and calls == [2, 3, 4]


# -- sweeps, locally --------------------------------------------------------------------------------

def test_sweep_is_labelled_and_agrees_with_single_queries():
    ds = sweep(**GRID, n_jobs=1)
    assert ds.probability.dims == ("experiment", "impact", "mass", "U0", "lam", "omega_T")
    assert ds.probability.shape == (2, 2, 2, 1, 1, 2)
    assert ds.attrs["seed"] == 11 and ds.attrs["trials"] == 5000 and ds.attrs["method"] == "montecarlo"
    assert ds.attrs["engine_version"] == cache.ENGINE_VERSION and ds.attrs["integrator"] == "adaptive"
    point = ds.sel(experiment="deflected", impact=2.0, mass=0.2).squeeze()
    r = lib.transmission_probability("deflected", lib.Model(M=0.2, s=2), [1.0, 3.0], trials=5000, seed=11)
    np.testing.assert_array_equal(point.transmitted.values, r.transmitted)
    np.testing.assert_array_equal(point.activation_energy.values, r.activation_energy)
    # physics: P rises with temperature, and the wider barrier at s = 0 lets fewer through
    p = ds.probability.sel(experiment="deflected", mass=1.0).squeeze()
    assert np.all(np.diff(p.values, axis=-1) > 0)
    assert np.all(p.sel(impact=0.0).values < p.sel(impact=2.0).values)
    # the same sweep on two local processes is bitwise the same
    _equal(sweep(**GRID, n_jobs=2, use_cache=False), ds)


def test_interrupted_sweep_resumes_from_finished_points(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTIVATION_CACHE", str(tmp_path))
    args = dict(experiment="thermal", impact=[0.0, 1.0, 2.0], mass=1.0, omega_T=[2.0], trials=2500, seed=3)
    reference = sweep(**args, use_cache=False)
    import lib.sweeps as sweeps

    real, finished = sweeps.assemble, []

    def assemble_then_stop(*a):
        if len(finished) == 2:
            raise KeyboardInterrupt  # as if Ctrl-C came while the third point was running
        finished.append(a[1])
        return real(*a)

    monkeypatch.setattr(sweeps, "assemble", assemble_then_stop)
    with pytest.raises(KeyboardInterrupt):
        sweep(**args)
    monkeypatch.setattr(sweeps, "assemble", real)
    dispatched = []
    real_run = parallel.run

    def counting_run(func, tasks, **kw):
        tasks = list(tasks)
        dispatched.extend(tasks)
        return real_run(func, tasks, **kw)

    monkeypatch.setattr(parallel, "run", counting_run)
    resumed = sweep(**args)
    assert len(dispatched) == 1  # only the unfinished point's one chunk ran again
    _equal(resumed, reference)


def test_sweep_validates_its_input():
    ok = dict(omega_T=[1.0], trials=100)
    for kw, name in [({"mass": [1, -1]}, "mass"), ({"impact": [0, 0]}, "impact"), ({"lam": 0}, "lam"),
                     ({"U0": float("nan")}, "U0"), ({"experiment": "warm"}, "experiment"),
                     ({"omega_T": [-1]}, "temperature"), ({"trials": 0}, "trials"),
                     ({"method": "exact"}, "method"), ({"tolerance": 1e-3}, "tolerance")]:
        with pytest.raises(ValueError, match=name):
            sweep(**{**ok, **kw})
    with pytest.raises(ValueError, match="integrator"):
        sweep(omega_T=[1.0], method="quadrature", integrator="paper")
    with pytest.raises(ValueError, match="out must end in .nc"):
        check_output("x.csv")


def _cli(*args, env=None, timeout=120):
    env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "lib", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args, option", [
    (["-T", 1, "--mass", -1], "mass"),
    (["-T", 1, "--mass", "1:2:x"], "--mass"),
    (["-T", 1, "--impact", 1, 1], "impact"),
    (["-T", 1, "--out", "x.csv"], "--out"),
    (["-T", 1, "-m", "quadrature", "--trials", 5], "--trials"),
    (["-T", 1, "--scheduler", "a b"], "scheduler"),
])
def test_cli_sweep_rejects_bad_input_naming_the_option(args, option):
    r = _cli("sweep", *args)
    assert r.returncode == 2 and option in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_files_round_trip(tmp_path):
    mc = sweep("deflected", impact=[0.0, 2.0], mass=[0.2, 1.0], omega_T=[1.0, 2.0], trials=2500)
    quad = sweep("deflected", impact=[0.0, 2.0], mass=1.0, omega_T=[0.5, 1.0], method="quadrature",
                 tolerance=1e-2)
    assert quad.attrs["tolerance"] == 1e-2 and "error" in quad and "trials" not in quad
    for ds, name in ((mc, "mc.nc"), (quad, "quad.nc")):
        path = write_dataset(ds, tmp_path / name)
        with xr.open_dataset(path) as back:
            _equal(back.load(), ds)
    if _has("zarr"):  # optional (requirements-dev.txt)
        path = write_dataset(mc, tmp_path / "mc.zarr")
        with xr.open_dataset(path, engine="zarr") as back:
            _equal(back.load(), mc)


def _has(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


def test_cli_sweep_and_reproduce_write_datasets(tmp_path):
    r = _cli("sweep", "-e", "frozen", "deflected", "-s", "0:2:3", "-M", 1, "-T", 1, 2, "-n", 2500, "-q",
             "-o", tmp_path / "s.nc", env={"ACTIVATION_CACHE": str(tmp_path / "c")})
    assert r.returncode == 0, r.stderr
    with xr.open_dataset(tmp_path / "s.nc") as ds:
        assert list(ds.impact.values) == [0.0, 1.0, 2.0] and ds.transmitted.shape == (2, 3, 1, 1, 1, 2)
        r1 = lib.transmission_probability("deflected", lib.Model(M=1, s=1), [1.0, 2.0], trials=2500)
        np.testing.assert_array_equal(ds.transmitted.sel(experiment="deflected", impact=1.0).squeeze(),
                                      r1.transmitted)


def test_reproduce_datasets_match_its_arrays(tmp_path):
    from lib import reproduce

    data = reproduce.ensemble_data("5", trials=40, omega_T=[1.0, 2.0], progress=False)
    ds = reproduce.ensemble_dataset("5", data, trials=40, seed=reproduce.PAPER_SEED, integrator="adaptive")
    assert ds.transmitted.dims == ("experiment", "impact", "mass", "U0", "lam", "omega_T")
    assert ds.transmitted.shape == (2, 2, 3, 1, 1, 2) and ds.attrs["seed"] == reproduce.PAPER_SEED
    for (e, s, M), r in data.items():
        np.testing.assert_array_equal(ds.transmitted.sel(experiment=e, impact=s, mass=M).squeeze(), r.transmitted)
    maps = reproduce.phase_space_data(grid=12, progress=False)
    fig3 = reproduce.phase_space_dataset(maps, integrator="adaptive")
    assert fig3.transmitted.shape == (2, 8, 12, 12)
    np.testing.assert_array_equal(fig3.transmitted.sel(impact=2.0).isel(phase=3), maps[(2.0, reproduce.PAPER_PHASES[3])].transmitted)
    for dataset, name in ((ds, "f5.nc"), (fig3, "f3.nc")):
        with xr.open_dataset(write_dataset(dataset, tmp_path / name)) as back:
            _equal(back.load(), dataset)


def _same_record(a, b):
    import dataclasses

    assert type(a) is type(b)
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y), f.name
        else:
            assert x == y, (f.name, x, y)


def test_book_data_restores_from_the_files_bitwise(tmp_path):
    """The chapters read their data from the datasets (lib.reproduce.figure_dataset): every field
    of every result, and the energy sums behind Tolman's E_a, survive a NetCDF file."""
    from lib import reproduce
    from lib.sweeps import transmissions

    data = reproduce.ensemble_data("5", trials=40, omega_T=[1.0, 2.0, 4.0], progress=False)
    ds = reproduce.ensemble_dataset("5", data, trials=40, seed=reproduce.PAPER_SEED, integrator="adaptive")
    with xr.open_dataset(write_dataset(ds, tmp_path / "f5.nc")) as opened:
        back = transmissions(opened.load())
    assert list(back) == list(data)
    for key, r in data.items():
        _same_record(r, back[key])
        np.testing.assert_array_equal(back[key].activation_energy, r.activation_energy)
    maps = reproduce.phase_space_data(grid=10, progress=False)
    fig3 = reproduce.phase_space_dataset(maps, integrator="adaptive")
    with xr.open_dataset(write_dataset(fig3, tmp_path / "f3.nc")) as opened:
        restored = reproduce.phase_maps(opened.load())
    assert list(restored) == list(maps)
    for key, m in maps.items():
        _same_record(m, restored[key])
    with pytest.raises(ValueError, match="more than one value"):
        transmissions(ds, key=("experiment", "impact"))
    quad = sweep("deflected", impact=2.0, mass=1.0, omega_T=[1.0], method="quadrature", tolerance=1e-2)
    with pytest.raises(ValueError, match="Monte Carlo"):
        transmissions(quad)


@pytest.mark.slow
def test_cli_reproduce_writes_netcdf(tmp_path):
    r = _cli("reproduce", "--figure", 4, "--trials", 8, "--out", tmp_path, "--quiet",
             env={"ACTIVATION_CACHE": str(tmp_path / "c")})
    assert r.returncode == 0, r.stderr
    assert str(tmp_path / "figure4.nc") in r.stdout
    npz = np.load(tmp_path / "figure4.npz")
    with xr.open_dataset(tmp_path / "figure4.nc") as ds:
        assert ds.omega_T.size == 250
        np.testing.assert_array_equal(ds.transmitted.sel(experiment="frozen", impact=2.0, mass=5.0).squeeze(),
                                      npz["frozen_s2_M5_transmitted"])


# -- schedulers that do not answer ------------------------------------------------------------------

def test_silent_scheduler_gives_one_line_error_and_exit_1():
    with socket.socket() as silent:  # accepts connections, never speaks: distributed alone would wait for ever
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        r = _cli("probability", "-e", "thermal", "-T", 1, "-n", 100, "--scheduler", address,
                 env={parallel.TIMEOUT_ENV_VAR: "2"}, timeout=90)
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip().splitlines() == [f"python -m lib probability: error: scheduler {address} did not "
                                             "answer within 2 s (TimeoutError)"]


def test_closed_port_from_the_environment_gives_one_line_error_and_exit_1():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    r = _cli("sweep", "-T", 1, "-n", 100, env={parallel.ENV_VAR: f"tcp://127.0.0.1:{port}",
                                               parallel.TIMEOUT_ENV_VAR: "2"}, timeout=90)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "did not answer within 2 s" in r.stderr


# -- on a two-worker LocalCluster ------------------------------------------------------------------

def test_ensemble_phase_map_and_transmitting_set_are_bitwise_serial(on_cluster):
    ref = lib.transmission_probability("thermal", MODEL, [1.0, 3.0], trials=7500, seed=5, n_jobs=1,
                                       use_cache=False)
    got = lib.transmission_probability("thermal", MODEL, [1.0, 3.0], trials=7500, seed=5, use_cache=False)
    for field in ("transmitted", "undecided", "energy_sums"):
        np.testing.assert_array_equal(getattr(got, field), getattr(ref, field))
    assert got.evaluations == ref.evaluations
    pm = lib.phase_space_map(MODEL, 0.785, grid=80, use_cache=False)
    with parallel.use_scheduler(None):
        pm_ref = lib.phase_space_map(MODEL, 0.785, grid=80, use_cache=False, n_jobs=1)
        ts_ref = lib.transmitting_set(MODEL, "levels", n_max=2, phases=8, refine=1, use_cache=False, n_jobs=1)
    np.testing.assert_array_equal(pm.transmitted, pm_ref.transmitted)
    ts = lib.transmitting_set(MODEL, "levels", n_max=2, phases=8, refine=1, use_cache=False)
    np.testing.assert_array_equal(ts.lower, ts_ref.lower)
    np.testing.assert_array_equal(ts.upper, ts_ref.upper)


def test_sweeps_on_the_cluster_are_bitwise_serial(on_cluster):
    with parallel.use_scheduler(None):
        ref = sweep(**GRID, n_jobs=1, use_cache=False)
        qref = sweep("deflected", impact=[0.0, 2.0], mass=[1.0, 5.0], omega_T=[0.5, 1.0], method="quadrature",
                     tolerance=1e-2, n_jobs=1, use_cache=False)
    _equal(sweep(**GRID, use_cache=False), ref)
    _equal(sweep("deflected", impact=[0.0, 2.0], mass=[1.0, 5.0], omega_T=[0.5, 1.0], method="quadrature",
                 tolerance=1e-2, use_cache=False), qref)


def test_only_the_client_writes_the_cache(on_cluster, tmp_path, monkeypatch):
    client_dir, worker_dir = tmp_path / "client", tmp_path / "workers"
    worker_dir.mkdir()
    monkeypatch.setenv("ACTIVATION_CACHE", str(client_dir))
    with distributed.Client(on_cluster.scheduler_address) as c:
        before = c.run(os.environ.get, "ACTIVATION_CACHE")
        c.run(os.environ.__setitem__, "ACTIVATION_CACHE", str(worker_dir))
        try:
            ts = lib.transmitting_set(MODEL, "rest")
            sweep("deflected", impact=[0.0, 2.0], omega_T=[1.0], trials=2500)
        finally:
            for addr, value in before.items():
                c.run(os.environ.__setitem__, "ACTIVATION_CACHE", value or "off", workers=[addr])
    assert list(worker_dir.iterdir()) == []
    assert any(client_dir.rglob("output.pkl"))
    with parallel.use_scheduler(None):
        again = lib.transmitting_set(MODEL, "rest", n_jobs=1)  # read from the client's cache
    np.testing.assert_array_equal(again.lower, ts.lower)


@pytest.mark.slow
def test_a_worker_killed_in_the_middle_of_a_sweep_changes_nothing(on_cluster):
    grid = dict(experiment="thermal", impact=[0.0, 1.0, 2.0], mass=[1.0, 5.0], omega_T=[0.7, 1.5, 3.0],
                trials=10_000, seed=9)
    with parallel.use_scheduler(None):
        ref = sweep(**grid, n_jobs=1, use_cache=False)
    killed = []
    with distributed.Client(on_cluster.scheduler_address) as watcher:
        pids = watcher.run(os.getpid)

        def kill_a_busy_worker():
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                busy = [w for w, keys in watcher.processing().items() if keys and w in pids]
                done = sum(1 for t in watcher.run_on_scheduler(_finished_tasks))
                if busy and done >= 2:  # some chunks are back, others are running: the middle
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed.append(busy[0])
                    return
                time.sleep(0.02)

        thread = threading.Thread(target=kill_a_busy_worker, daemon=True)
        thread.start()
        got = sweep(**grid, use_cache=False)
        thread.join(timeout=5)
        assert killed, "the sweep ended before a worker could be killed"
        watcher.wait_for_workers(2, timeout=60)
        assert set(watcher.run(os.getpid).values()) != set(pids.values())  # a new worker took its place
    _equal(got, ref)


def _finished_tasks(dask_scheduler):
    return [k for k, t in dask_scheduler.tasks.items() if t.state == "memory"]
