"""The command line: JSON output, help on every subcommand, one-line errors."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

COMMANDS = ["probability", "barrier", "phase-space", "reproduce"]


def cli(*args, cache_dir=None):
    env = dict(os.environ)
    if cache_dir is not None:
        env["ACTIVATION_CACHE"] = str(cache_dir)
    return subprocess.run([sys.executable, "-m", "lib", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.mark.parametrize("command", [None] + COMMANDS)
def test_help(command):
    r = cli(*([command] if command else []), "--help")
    assert r.returncode == 0 and "usage:" in r.stdout


def test_probability_json():
    r = cli("probability", "--experiment", "deflected", "--impact", 2, "--mass", 5, "--temperature", 2, 10,
            "--trials", 600, "--seed", 3, "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    for key in ("experiment", "impact", "mass", "temperature", "trials", "seed", "probability", "stderr"):
        assert key in d
    assert d["experiment"] == "deflected" and d["impact"] == 2 and d["mass"] == 5 and d["trials"] == 600
    assert len(d["probability"]) == len(d["stderr"]) == len(d["temperature"]) == 2
    assert 0 < d["probability"][0] < d["probability"][1] < 1
    # what produced it: the whole integrator, and the steps it took
    assert d["integrator"] == "adaptive" and d["integrator_settings"]["tableau"] == "Dormand-Prince 5(4)"
    assert d["integrator_settings"]["rtol"] == 1e-8 and d["integrator_settings"]["h_min"] > 0
    assert d["steps"] > 0 and d["undecided_reasons"]["step_budget"] == [0, 0]


def test_probability_matches_python_api():
    import lib

    r = cli("probability", "-e", "thermal", "-s", 0, "-M", 1, "-T", 3, "-n", 500, "--seed", 7, "--json", "-j", 2)
    api = lib.transmission_probability("thermal", lib.Model(M=1, s=0), [3.0], trials=500, seed=7)
    assert json.loads(r.stdout)["probability"] == api.probability.tolist()


def test_barrier_json():
    d = json.loads(cli("barrier", "--impact", 2, "--json").stdout)
    assert d["frozen"] == pytest.approx(6.0653, abs=1e-4) and d["relaxed"] == pytest.approx(3.2512, abs=1e-4)
    d = json.loads(cli("barrier", "--impact", 0, "--u0", 10, "--lam", 2, "--json").stdout)
    assert d["frozen"] == 10 and d["relaxed"] == pytest.approx(7.6652, abs=1e-4)


def test_phase_space_json_and_files(tmp_path):
    r = cli("phase-space", "--impact", 2, "--mass", 1, "--phase", 0.7853981633974483, "--grid", 40, "--json",
            "--out", tmp_path / "map.png")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    grid = np.array(d["transmitted"])
    assert grid.shape == (40, 40) and d["transmitted_fraction"] == pytest.approx(grid.mean())
    assert d["undecided"] == 0 and d["integrator_settings"]["label"] == d["integrator"] == "adaptive"
    assert (tmp_path / "map.png").stat().st_size > 5000
    r = cli("phase-space", "-s", 0, "-g", 20, "--convention", "published-script", "--out", tmp_path / "m.npz")
    assert r.returncode == 0 and np.load(tmp_path / "m.npz")["transmitted"].shape == (20, 20)


def test_reproduce_writes_data_with_parameters(tmp_path):
    r = cli("reproduce", "--figure", 4, "--trials", 8, "--out", tmp_path, "--quiet", cache_dir=tmp_path / "c")
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path / "figure4.json").read_text())
    assert meta["protocol"]["trials"] == 8 and len(meta["protocol"]["temperatures"]) == 250
    assert len(meta["panels"]) == 12  # {frozen, deflected} x {0, 2} x 3 masses
    data = np.load(tmp_path / "figure4.npz")
    assert data["temperature"].size == 250 and data["frozen_s2_M5_transmitted"].size == 250


@pytest.mark.parametrize("args, names", [
    (["probability", "-e", "thermal", "-T", 1, "--mass", -1], "mass"),
    (["probability", "-e", "thermal", "-T", 1, "--mass", "nan"], "mass"),
    (["probability", "-e", "thermal", "-T", 1, "--lam", 0], "lambda"),
    (["probability", "-e", "thermal", "-T", 0], "temperature"),
    (["probability", "-e", "thermal", "-T", 1, "-T", "nan"], "temperature"),
    (["probability", "-e", "thermal", "-T", 1, "--trials", 0], "trials"),
    (["probability", "-e", "thermal", "-T", 1, "--trials", -5], "trials"),
    (["probability", "-e", "thermo", "-T", 1], "experiment"),
    (["probability", "-e", "thermal", "-T", "warm"], "temperature"),
    (["probability", "-e", "thermal", "-T", 1, "--seed", -1], "seed"),
    (["probability", "-T", 1], "experiment"),
    (["barrier", "--lam", -2], "lambda"),
    (["barrier", "--u0", "inf"], "U0"),
    (["phase-space", "--grid", 1], "grid"),
    (["phase-space", "--mass", 0], "mass"),
    (["phase-space", "--out", "map.txt", "--grid", 4], "--out"),
    (["reproduce", "--figure", 6], "figure"),
    (["reproduce", "--trials", 0], "trials"),
])
def test_bad_input_is_one_line_naming_the_parameter_with_status_2(args, names):
    r = cli(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert names in lines[0]
