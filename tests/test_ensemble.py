"""Ensembles: Monte Carlo against closed forms, seeding, parallelism, caching."""
import math

import numpy as np
import pytest

from lib import cache, ensemble
from lib.barriers import frozen_barrier
from lib.transmission import transmission_probability
from lib.model import Model


@pytest.mark.parametrize("s", [0.0, 2.0])
def test_frozen_monte_carlo_matches_arrhenius_within_four_standard_errors(s):
    # Frozen oscillator: transmitted iff E > U(s), and E ~ Exp(omega), so
    # P = exp(-U(s) / omega) exactly.
    model = Model(M=1.0, s=s)
    omegas = np.array([1.5, 3.0, 6.0, 12.0, 40.0])
    r = transmission_probability("frozen", model, omegas, trials=4000, seed=11)
    exact = np.exp(-frozen_barrier(model) / omegas)
    sigma = np.sqrt(exact * (1 - exact) / 4000)
    assert np.all(np.abs(r.probability - exact) < 4 * sigma)
    # and the 95% intervals cover the exact value at most temperatures
    low, high = r.ci95
    assert np.count_nonzero((low <= exact) & (exact <= high)) >= 4


def test_frozen_results_are_identical_for_the_three_masses():
    # The paper: same seed, identical frozen results for every mass.
    omegas = [2.0, 8.0]
    counts = [transmission_probability("frozen", Model(M=M, s=2.0), omegas, trials=1500, seed=3).transmitted
              for M in (0.2, 1.0, 5.0)]
    assert all(np.array_equal(counts[0], c) for c in counts[1:])


def test_deflected_equals_frozen_at_zero_impact_parameter():
    omegas = [3.0, 10.0]
    a = transmission_probability("frozen", Model(M=5.0, s=0.0), omegas, trials=1500, seed=8)
    b = transmission_probability("deflected", Model(M=5.0, s=0.0), omegas, trials=1500, seed=8)
    assert np.array_equal(a.transmitted, b.transmitted)


def test_deflection_lowers_the_barrier_between_relaxed_and_frozen():
    # s = 2: the free oscillator makes way, so P lies between the Arrhenius
    # lines of the frozen (6.07) and relaxed (3.25) barriers.
    from lib.barriers import relaxed_barrier

    model = Model(M=5.0, s=2.0)
    omegas = np.array([1.5, 3.0])
    r = transmission_probability("deflected", model, omegas, trials=4000, seed=2)
    lo = np.exp(-frozen_barrier(model) / omegas)
    hi = np.exp(-relaxed_barrier(model).energy / omegas)
    assert np.all(r.probability > lo + 4 * np.sqrt(lo / 4000)) and np.all(r.probability < hi)


@pytest.mark.parametrize("experiment", ["thermal", "joint"])
def test_serial_equals_parallel_for_one_seed(experiment):
    model = Model(M=1.0, s=2.0)
    kw = dict(trials=3100, seed=99, use_cache=False)  # 2 chunks of 2500 + 600
    serial = transmission_probability(experiment, model, [1.5, 6.0, 30.0], n_jobs=1, **kw)
    parallel = transmission_probability(experiment, model, [1.5, 6.0, 30.0], n_jobs=2, **kw)
    assert np.array_equal(serial.transmitted, parallel.transmitted)
    assert serial.evaluations == parallel.evaluations
    assert np.array_equal(serial.energy_sums, parallel.energy_sums)  # Tolman's E_a, bitwise


def test_tolman_estimate_is_exact_for_the_frozen_gate():
    """Frozen: P = exp(-U(s)/w), so E_a = U(s) at every temperature; the sample estimate agrees."""
    from lib.barriers import frozen_barrier

    model = Model(s=2.0)
    r = transmission_probability("frozen", model, [2.0, 6.0, 30.0], trials=20_000, seed=4, use_cache=False)
    z = (r.activation_energy - frozen_barrier(model)) / r.activation_stderr
    assert np.all(np.abs(z) < 4), z


def test_seed_changes_results_and_probabilities_are_consistent():
    model = Model(M=1.0, s=2.0)
    a = transmission_probability("thermal", model, [5.0], trials=2000, seed=1)
    b = transmission_probability("thermal", model, [5.0], trials=2000, seed=2)
    assert a.transmitted[0] != b.transmitted[0]
    z = (a.probability - b.probability) / np.hypot(a.stderr, b.stderr)
    assert abs(z[0]) < 4


def test_result_record_and_json_keys():
    r = transmission_probability("joint", Model(M=0.2, s=0.0), [2.0, 20.0], trials=500, seed=4)
    d = r.to_dict()
    for key in ("experiment", "impact", "mass", "temperature", "trials", "seed", "probability", "stderr",
                "ci95_low", "ci95_high"):
        assert key in d
    assert len(d["probability"]) == len(d["temperature"]) == 2
    assert np.allclose(r.stderr, np.sqrt(r.probability * (1 - r.probability) / 500))
    low, high = r.ci95
    assert np.all(low <= r.probability) and np.all(r.probability <= high)


def test_wilson_interval_matches_closed_form():
    from lib.stats import confidence_interval

    k, n, z = 37, 400, 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low, high = confidence_interval(k, n)
    assert low == pytest.approx(centre - half, rel=1e-9) and high == pytest.approx(centre + half, rel=1e-9)
    low0, high0 = confidence_interval(0, 100)
    assert low0 == 0 and 0 < high0 < 0.05


def test_wilson_interval_on_arrays_equals_scipys_point_by_point():
    """The closed form on whole arrays against scipy.stats.binomtest, ends k = 0 and k = n included."""
    from scipy.stats import binomtest

    from lib.stats import confidence_interval

    rng = np.random.default_rng(3)
    n = rng.integers(1, 20_000, 400)
    k = rng.integers(0, n + 1)
    k[:5], k[5:10] = 0, n[5:10]
    for level in (0.95, 0.68):
        low, high = confidence_interval(k.reshape(20, 20), n.reshape(20, 20), level)
        ref = np.array([binomtest(int(a), int(b)).proportion_ci(confidence_level=level, method="wilson")
                        for a, b in zip(k, n)])
        np.testing.assert_allclose(low.ravel(), ref[:, 0], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(high.ravel(), ref[:, 1], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kwargs, message", [
    (dict(experiment="thermo"), "experiment"), (dict(omega_T=[1.0, 0.0]), "temperature"),
    (dict(omega_T=[float("nan")]), "temperature"), (dict(trials=0), "trials"),
    (dict(trials=2.5), "trials"), (dict(seed=-1), "seed"), (dict(integrator="rk4"), "integrator"),
    (dict(n_jobs=0), "jobs"),
])
def test_bad_input_raises_value_error_naming_the_parameter(kwargs, message):
    args = dict(experiment="thermal", model=Model(), omega_T=[1.0], trials=10, seed=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        transmission_probability(args.pop("experiment"), args.pop("model"), args.pop("omega_T"), **args)


def _cache_entries():
    root = cache.cache_dir()
    return sorted(str(p) for p in root.rglob("output.pkl")) if root.exists() else []


def test_cache_returns_stored_result_keyed_by_parameters(monkeypatch, tmp_path):
    monkeypatch.setenv("ACTIVATION_CACHE", str(tmp_path / "c"))
    model = Model(M=1.0, s=2.0)
    first = transmission_probability("deflected", model, [2.0, 9.0], trials=800, seed=5)
    assert len(_cache_entries()) == 1
    calls = []
    zeros = lambda *a, **k: calls.append(a) or ensemble.tally_columns([(0, 0, 0, np.zeros(4), 0, 0, np.zeros(4, int)) for _ in a[4]])  # noqa: E731
    monkeypatch.setattr(ensemble, "run_chunks", zeros)
    again = transmission_probability("deflected", model, [2.0, 9.0], trials=800, seed=5, n_jobs=1)
    assert not calls and np.array_equal(first.transmitted, again.transmitted)
    # any changed parameter is a new entry
    transmission_probability("deflected", model, [2.0, 9.0], trials=800, seed=6)
    transmission_probability("deflected", Model(M=1.0, s=2.0, lam=2.1), [2.0, 9.0], trials=800, seed=5)
    assert len(calls) > 0 and len(_cache_entries()) == 3
    # as is a new engine version
    monkeypatch.setattr(cache, "ENGINE_VERSION", "test-bump")
    transmission_probability("deflected", model, [2.0, 9.0], trials=800, seed=5)
    assert len(_cache_entries()) == 4


def test_cache_location_can_be_disabled(monkeypatch):
    monkeypatch.setenv("ACTIVATION_CACHE", "off")
    assert cache.cache_dir() is None
    r = transmission_probability("frozen", Model(), [5.0], trials=100, seed=0)
    assert r.trials == 100


def test_interrupted_run_leaves_nothing_in_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("ACTIVATION_CACHE", str(tmp_path / "c"))
    real = ensemble.run_chunks
    state = {"n": 0}

    def flaky(*args):
        state["n"] += 1
        if state["n"] == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(ensemble, "run_chunks", flaky)
    with pytest.raises(KeyboardInterrupt):
        transmission_probability("thermal", Model(), [2.0, 4.0, 8.0], trials=3000, seed=1, n_jobs=1)
    assert _cache_entries() == []
    monkeypatch.setattr(ensemble, "run_chunks", real)
    r = transmission_probability("thermal", Model(), [2.0, 4.0, 8.0], trials=3000, seed=1, n_jobs=1)
    fresh = transmission_probability("thermal", Model(), [2.0, 4.0, 8.0], trials=3000, seed=1, use_cache=False)
    assert len(_cache_entries()) == 1 and np.array_equal(r.transmitted, fresh.transmitted)


def test_engine_version_is_a_hash_of_the_engine_source(tmp_path):
    import shutil
    from pathlib import Path

    for path in Path(cache.__file__).parent.glob("*.py"):
        shutil.copy(path, tmp_path)
    key = cache.engine_version(tmp_path)
    assert key == cache.engine_version() == cache.ENGINE_VERSION
    assert len(key) == 16 and int(key, 16) >= 0
    kernels = tmp_path / "kernels.py"
    source = kernels.read_text()
    kernels.write_text(source.replace("SAFETY = 0.9", "SAFETY = 0.8"))
    assert cache.engine_version(tmp_path) != key  # an edit to a hashed module is a new engine
    kernels.write_text(source)
    assert cache.engine_version(tmp_path) == key
    (tmp_path / "plotting.py").write_text("# not part of the engine\n")
    assert cache.engine_version(tmp_path) == key
    (tmp_path / "transmitting.py").write_text("# a new engine module\n")
    assert cache.engine_version(tmp_path) != key


def test_results_of_another_engine_version_are_not_served(monkeypatch, tmp_path):
    monkeypatch.setenv("ACTIVATION_CACHE", str(tmp_path / "c"))
    args = ("frozen", Model(M=1.0, s=2.0), [3.0])
    monkeypatch.setattr(cache, "ENGINE_VERSION", "0123456789abcdef")
    old = transmission_probability(*args, trials=300, seed=2)
    assert old.transmitted.sum() > 0
    calls = []
    zeros = lambda *a, **k: calls.append(a) or ensemble.tally_columns([(0, 0, 0, np.zeros(4), 0, 0, np.zeros(4, int)) for _ in a[4]])  # noqa: E731
    monkeypatch.setattr(ensemble, "run_chunks", zeros)
    monkeypatch.setattr(cache, "ENGINE_VERSION", cache.engine_version())
    new = transmission_probability(*args, trials=300, seed=2)
    assert calls and new.transmitted.sum() == 0  # computed afresh, not the old entry
    calls.clear()
    monkeypatch.setattr(cache, "ENGINE_VERSION", "0123456789abcdef")
    again = transmission_probability(*args, trials=300, seed=2)
    assert not calls and np.array_equal(again.transmitted, old.transmitted)


def test_a_result_keeps_its_integrator_and_step_counts(tmp_path):
    """The whole integrator (label and settings) and the step counts travel with the result, through a dataset."""
    import json

    import lib
    from lib.integrate import ADAPTIVE
    from lib.sweeps import transmissions

    model = Model(M=1.0, s=2.0)
    smooth = ADAPTIVE.with_options(h_max=0.005)
    r = transmission_probability("thermal", model, [2.0, 5.0], trials=300, seed=3, integrator=smooth,
                                 use_cache=False, n_jobs=1)
    assert r.integrator == "adaptive(h_max=0.005)" and r.integrator_settings == smooth.describe()
    plain = transmission_probability("thermal", model, [2.0, 5.0], trials=300, seed=3, use_cache=False, n_jobs=1)
    assert plain.integrator == "adaptive" and plain.integrator_settings["h_max"] == 0.25
    for res in (r, plain):  # FSAL: one evaluation to start, six per attempted step
        assert res.evaluations == 600 + 6 * (res.steps + res.rejected)
        assert res.undecided_reasons.shape == (2, 4) and not res.undecided_reasons.any()
    assert r.steps > 2 * plain.steps and plain.rejected > r.rejected == 0  # steps of at most 0.005 periods
    d = json.loads(json.dumps(r.to_dict()))
    assert d["integrator"] == r.integrator and d["integrator_settings"]["h_max"] == 0.005
    assert d["steps"] == r.steps and d["undecided_reasons"]["minimum_step"] == [0, 0]
    ds = lib.sweep("thermal", 2.0, 1.0, omega_T=[2.0, 5.0], trials=300, seed=3, integrator=smooth,
                   use_cache=False, n_jobs=1)
    assert ds.attrs["integrator"] == r.integrator and json.loads(ds.attrs["integrator_settings"]) == r.integrator_settings
    assert transmissions(ds)[("thermal", 2.0, 1.0)] == r
    path = tmp_path / "sweep.nc"
    lib.write_dataset(ds, path)
    assert transmissions(path)[("thermal", 2.0, 1.0)] == r
    # a dataset written before the settings and step counts were recorded still reads, with None for them
    old = ds.drop_vars(["steps", "rejected", "undecided_reasons", "reason"])
    del old.attrs["integrator_settings"]
    back = transmissions(old)[("thermal", 2.0, 1.0)]
    assert back.integrator == r.integrator and back.integrator_settings is None and back.steps is None
    assert np.array_equal(back.transmitted, r.transmitted) and back.evaluations == r.evaluations
    edited = ds.copy()
    edited.attrs["integrator_settings"] = json.dumps(ADAPTIVE.describe())
    with pytest.raises(ValueError, match="integrator_settings"):
        transmissions(edited)
    edited = ds.copy(deep=True)
    edited["undecided_reasons"][0, 0, 0, 0, 0, 0, 1] = 1
    with pytest.raises(ValueError, match="undecided_reasons"):
        transmissions(edited)


def test_undecided_trials_are_tallied_by_reason():
    from lib.integrate import ADAPTIVE

    model = Model(M=1.0, s=2.0)
    with pytest.warns(RuntimeWarning, match="left out"):
        r = transmission_probability("thermal", model, [2.0, 5.0], trials=200, seed=1, use_cache=False, n_jobs=1,
                                     integrator=ADAPTIVE.with_options(max_steps=20))
    assert r.undecided.sum() > 0
    assert np.array_equal(r.undecided_reasons[:, 0], r.undecided) and not r.undecided_reasons[:, 1:].any()
    assert r.integrator == "adaptive(max_steps=20)"


def test_undecided_trajectories_are_reported_with_their_reason():
    """A step budget too small to finish any trajectory: every trial undecided, the warning names the
    reason and the record counts it per temperature."""
    from lib.integrate import ADAPTIVE

    tight = ADAPTIVE.with_options(max_steps=5)
    with pytest.warns(RuntimeWarning, match=r"200 trajectories were undecided \(step budget 200\)"):
        r = transmission_probability("thermal", Model(M=1.0, s=2.0), [1.0, 2.0], trials=100, seed=3,
                                     integrator=tight, use_cache=False, n_jobs=1)
    assert r.undecided.tolist() == [100, 100]
    assert r.undecided_reasons[:, 0].tolist() == [100, 100] and not r.undecided_reasons[:, 1:].any()
    assert r.integrator == "adaptive(max_steps=5)"
