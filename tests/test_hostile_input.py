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
from lib.ensemble import MAX_TRAJECTORIES, check_jobs
from lib.integrate import ADAPTIVE


def cli(*args, timeout=120, **kw):
    env = dict(os.environ, ACTIVATION_CACHE="off")
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
    (["phase-space", "--grid", 100000], "grid must be at most"),
    (["phase-space", "--grid", "1e12"], "grid must be at most"),
    (["probability", "-e", "thermal", "-T", "1e6", "-m", "quadrature"], "too high for quadrature"),
    (["probability", "-e", "joint", "-T", 1, "-m", "quadrature", "--tolerance", "1e-300"],
     "tolerance must be at least"),
    (["transmitting-set", "--gate", "levels", "--levels", "1e12"], "level cutoff must be at most"),
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
