"""Edge-case input, as a hostile but fair user would try it: every run ends, with a clear message.

Part of the hardening issue: integers parsed exactly, bounded work, output
paths checked before any computation (exit 1, one line), a closed pipe ends
quietly, and a temperature with no decided trial reports NaN rather than
raising. Each subprocess has a timeout, so a regression fails instead of hanging.
"""
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import lib
from lib.inputs import MAX_TRAJECTORIES, check_jobs
from lib.integrate import ADAPTIVE
from lib.validation import agreement


def cli(*args, timeout=120, env=None, **kw):
    env = dict(os.environ, ACTIVATION_CACHE="off") if env is None else env
    return subprocess.run([sys.executable, "-m", "lib", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout, **kw)


def test_seed_is_parsed_exactly():
    seed = 9007199254740993  # 2**53 + 1: a float would make it 2**53
    r = cli("probability", "-e", "thermal", "-T", 2, "-n", 300, "--seed", seed, "--json", "-j", 1)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["seed"] == seed
    api = lib.transmission_probability("thermal", lib.Model(), [2.0], trials=300, seed=seed, use_cache=False)
    assert data["transmitted"] == api.transmitted.tolist()


@pytest.mark.parametrize("args, message", [
    (["probability", "-e", "thermal", "-T", 1, "--trials", 1.5], "--trials/-n: must be an integer"),
    (["probability", "-e", "thermal", "-T", 1, "--seed", "1e30"], "--seed: must be an integer"),
    (["probability", "-e", "thermal", "-T", 1, 2, "--trials", "1e12"], "trials x temperatures must be at most"),
    (["phase-space", "--grid", 100000], "grid must be an integer from 2 to 2000"),
    (["phase-space", "--grid", "1e12"], "grid must be an integer from 2 to 2000"),
    (["probability", "-e", "thermal", "-T", "1e6", "-m", "quadrature"], "too high for quadrature"),
    (["probability", "-e", "joint", "-T", 1, "-m", "quadrature", "--tolerance", "1e-300"],
     "tolerance must be at least"),
    (["transmitting-set", "--gate", "levels", "--levels", "1e12"], "level cutoff must be an integer from 0 to 100000"),
    (["transmitting-set", "--gate", "levels", "--scan", "1e9"], "scan must be at most"),
    (["transmitting-set", "--gate", "levels", "--phases", "1e9"], "phases must be at most"),
    (["transmitting-set", "--energy-tol", "nan"], "energy tolerance must be finite"),
])
def test_unbounded_or_inexact_input_is_a_usage_error(args, message):
    r = cli(*args, timeout=60)
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (["phase-space", "--grid", 2000, "--out", "/proc/nowhere/map.png"], "does not exist"),
    (["transmitting-set", "--out", "/proc/nowhere/set.json"], "does not exist"),
    (["reproduce", "--out", "/etc/hostname"], "is a file, not a folder"),
    (["phase-space", "--grid", 2000, "--out", "/etc/hostname/map.png"], "'/etc/hostname' is a file, not a folder"),
])
def test_bad_output_path_fails_before_any_work(args, message, tmp_path):
    # a 2000 x 2000 map takes minutes: the check must come first
    r = cli(*args, timeout=60)
    assert r.returncode == 1
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_output_folder_instead_of_file(tmp_path):
    r = cli("transmitting-set", "--out", tmp_path / "x.json", timeout=60)
    assert r.returncode == 0
    (tmp_path / "d.json").mkdir()
    r = cli("transmitting-set", "--out", tmp_path / "d.json", timeout=60)
    assert r.returncode == 1 and "is a folder, not a file" in r.stderr


def test_closed_pipe_ends_quietly():
    args = ["transmitting-set", "--gate", "levels", "--levels", 300, "--phases", 64, "--refine", 0,
            "--scan", 4, "--energy-tol", 0.1, "-j", 1]
    env = dict(os.environ, ACTIVATION_CACHE="off")
    proc = subprocess.Popen([sys.executable, "-m", "lib", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    proc.stdout.read(50)
    proc.stdout.close()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 141
    assert err == b""


def test_bisection_ends_below_floating_resolution():
    """An energy tolerance finer than the doubles near U0 still ends, at that resolution."""
    model = lib.Model(s=2.0)
    ts = lib.transmitting_set(model, "frozen", energy_tol=1e-300, use_cache=False, n_jobs=1)
    # the integrator (rtol 1e-8) decides the outcome this close to the barrier top, not the bisection
    assert ts.intervals()[0][0] == pytest.approx(lib.frozen_barrier(model), abs=1e-6)


def test_workers_are_capped_at_the_cores():
    cores = os.cpu_count() or 1
    assert check_jobs(40) == cores
    assert check_jobs(-1) == cores
    assert check_jobs(1) == 1
    with pytest.raises(ValueError, match="trials x temperatures"):
        lib.transmission_probability("thermal", lib.Model(), np.linspace(1, 2, 11), trials=MAX_TRAJECTORIES // 10)


def test_a_temperature_without_decided_trials_reports_nan():
    budget = ADAPTIVE.with_options(max_steps=1)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        r = lib.transmission_probability("thermal", lib.Model(), [2.0], trials=40, integrator=budget,
                                         use_cache=False, n_jobs=1)
    assert any("left out of the statistics" in str(w.message) for w in seen)
    data = r.to_dict()
    assert data["undecided"] == [40]
    assert data["probability"] == [None] and data["ci95_low"] == [None] and data["stderr"] == [None]
    json.dumps(data)


# -- second part: physical ranges, API types, messages naming the parameter -----------------------

@pytest.mark.parametrize("args, message", [
    (["probability", "-e", "thermal", "-T", 2, "--mass", "1e12"], "mass M must be"),
    (["probability", "-e", "deflected", "-T", 2, "--mass", "1e-308"], "mass M must be"),
    (["probability", "-e", "thermal", "-T", "1e-100", "-n", 200], "temperature must be between 0.01 and 1e+06"),
    (["probability", "-e", "thermal", "-T", "1e308", "-n", 100], "temperature must be between 0.01 and 1e+06"),
    (["probability", "-e", "joint", "-T", "1e308", "-n", 100], "temperature must be between 0.01 and 1e+06"),
    (["probability", "-e", "deflected", "-T", "1e308", "-n", 100], "temperature must be between 0.01 and 1e+06"),
    (["probability", "-e", "thermal", "-T", "1e400"], "temperature must be finite"),
    (["probability", "-e", "thermal", "-T", 2, "--lam", "1e-308"], "lambda must be between 0.01 and 100"),
    (["probability", "-e", "thermal", "-T", 2, "--lam", "1e308"], "lambda must be between 0.01 and 100"),
    (["probability", "-e", "thermal", "-T", 2, "--impact", "1e308"], "impact parameter s must be between -1000 and 1000"),
    (["probability", "-e", "thermal", "-T", 2, "--u0", "1e308"], "U0 must be between 0 and 10000"),
    (["barrier", "--u0", "1e5"], "U0 must be between 0 and 10000"),
    (["barrier", "--lam", "1e-3"], "lambda must be between 0.01 and 100"),
    (["probability", "-e", "thermal", "-T", 2, "--jobs", "1.5"], "--jobs/-j: must be an integer"),
    (["probability", "-e", "thermal", "-T", 2, "--jobs", 0], "jobs must be a positive integer or negative"),
    (["phase-space", "--phase", "1e400"], "phase must be finite"),
    (["transmitting-set", "--gate", "levels", "--refine", "1e9"], "refine must be an integer from 0 to 20"),
    (["probability", "-e", "thermal", "-T", 2, "-m", "quadrature", "--u0", "-1"], "U0 must be between 0 and 10000"),
])
def test_meaningless_values_are_usage_errors_naming_the_parameter(args, message):
    r = cli(*args, timeout=60)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.stderr  # no RuntimeWarning either


def test_bad_worker_count_from_the_environment_names_the_variable():
    env = dict(os.environ, ACTIVATION_CACHE="off", ACTIVATION_JOBS="many")
    r = cli("probability", "-e", "thermal", "-T", 2, "-n", 10, timeout=60, env=env)
    assert r.returncode == 2 and "ACTIVATION_JOBS must be an integer" in r.stderr


def _brute_force_relaxed_barrier(model):
    """Lowest f(y) = U(y - s) + y^2/2 on a grid finer than lambda everywhere a minimum can be."""
    bound = model.U0 / (model.lam * np.sqrt(np.e)) + abs(model.s) + 1.0
    ys = np.union1d(np.linspace(-bound, bound, 2_000_001),
                    model.s + model.lam * np.linspace(-12, 12, 2_000_001))
    return float(np.min(lib.barriers.relaxed_energy(model, ys)))


@pytest.mark.parametrize("option, value, field", [("--lam", 0.01, "lam"), ("--u0", 1e4, "U0"), ("--lam", 100, "lam")])
def test_barrier_at_the_edges_of_the_ranges(option, value, field):
    """`barrier --lam 0.01` and a strong repulsion used to find no minimum; now they agree with brute force."""
    r = cli("barrier", option, value, "--json", timeout=60)
    assert r.returncode == 0 and r.stderr == ""
    data = json.loads(r.stdout)
    model = lib.Model(**{field: value})
    brute = _brute_force_relaxed_barrier(model)
    assert data["relaxed"] <= brute + 1e-9 * max(1.0, abs(brute))
    assert data["relaxed"] == pytest.approx(brute, rel=1e-6, abs=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("args", [
    ["probability", "-e", "thermal", "-T", "0.01", "--mass", "1e4", "-n", 200, "-j", 1],  # slowest corner
    ["probability", "-e", "joint", "-T", "1e6", "--mass", "1e-4", "-n", 200, "-j", 1],
    ["probability", "-e", "thermal", "-T", "1e6", "-n", 200, "-j", 1],
    ["probability", "-e", "deflected", "-T", "0.01", "--lam", "0.01", "--u0", "1e4", "-n", 200, "-j", 1],
])
def test_the_corners_of_the_ranges_end_in_bounded_time(args):
    r = cli(*args, timeout=300)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert "omega_T" in r.stdout


@pytest.mark.parametrize("call, message", [
    (lambda: lib.Model(M=10**400), "mass M must be finite"),
    (lambda: lib.Model(lam=1e-308), "lambda must be between"),
    (lambda: lib.Model(U0=1 + 2j), "U0 must be a real number"),
    (lambda: lib.Model(s=None), "impact parameter s must be a number"),
    (lambda: lib.transmission_probability("thermal", lib.Model(), [2.0], trials=None), "trials must be"),
    (lambda: lib.transmission_probability("thermal", lib.Model(), [2.0], trials=10**400),
     "trials x temperatures must be at most 1e.09 per call, got about 1e400 x 1"),
    (lambda: lib.transmission_probability("thermal", lib.Model(), [2.0], trials=100, seed=None), "seed must be"),
    (lambda: lib.transmission_probability("thermal", lib.Model(), [2.0], trials=100, seed=2.5), "seed must be"),
    (lambda: lib.transmission_probability("thermal", lib.Model(), [1 + 2j], trials=100), "temperature must be real"),
    (lambda: lib.transmission_probability("thermal", lib.Model(), np.array([2.0 + 0j]), trials=100),
     "temperature must be real"),
    (lambda: lib.transmission_probability("thermal", lib.Model(), ["hot"], trials=100), "temperature must be"),
    (lambda: lib.transmission_probability("thermal", lib.Model(), None, trials=100), "temperature must be"),
    (lambda: lib.transmission_probability("thermal", lib.Model(), [[1.0, 2.0]], trials=100), "temperature must be"),
    (lambda: lib.transmission_probability("thermal", lib.Model(), [2.0], trials=100, n_jobs=1.5), "jobs must be"),
    (lambda: lib.transmission_probability("thermal", lib.Model(), [2.0], trials=100, n_jobs="2"), "jobs must be"),
    (lambda: lib.phase_space_map(lib.Model(), 0.0, grid=float("inf")), "grid must be an integer from 2 to 2000"),
    (lambda: lib.phase_space_map(lib.Model(), 0.0, grid=None), "grid must be an integer"),
    (lambda: lib.phase_space_map(lib.Model(), 0.0, grid=10, particle_energy=(1e-100, 1.0)),
     "particle energy lower bound must be between 0.001 and 1e.06"),
    (lambda: lib.phase_space_map(lib.Model(), 0.0, grid=10, oscillator_energy=(0.0, 1e300)),
     "oscillator energy upper bound must be between 0 and 1e.06"),
    (lambda: lib.phase_space_map(lib.Model(), 0.0, grid=10, n_jobs=1.5), "jobs must be"),
    (lambda: lib.transmitting_set(lib.Model(), "levels", n_max=float("inf")), "level cutoff must be"),
    (lambda: lib.transmitting_set(lib.Model(), "levels", refine=10**9), "refine must be"),
    (lambda: lib.relaxed_barrier(lib.Model(), grid=float("nan")), "grid must be"),
    (lambda: lib.threshold_energy(lib.Model(), tol=1e-300), "tol must be between 1e-15 and 0.1"),
    (lambda: lib.threshold_energy(lib.Model(), grid=1e9), "grid must be an integer from 4 to 4096"),
    (lambda: ADAPTIVE.with_options(max_steps=float("inf")), "max_steps must be an integer"),
    (lambda: ADAPTIVE.with_options(rtol=1j), "rtol must be a real number"),
    (lambda: agreement("thermal", lib.Model(), [2.0], trials=None), "trials must be"),
    (lambda: agreement("thermal", lib.Model(), [2.0], seed=None), "seed must be"),
])
def test_api_raises_value_error_naming_the_parameter(call, message):
    with pytest.raises(ValueError, match=message) as info:
        call()
    assert "\n" not in str(info.value)
