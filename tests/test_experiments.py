"""Initial-condition samplers follow the paper and the authors' scripts."""
import math

import numpy as np
import pytest

from lib.experiments import paper_temperatures, sample
from lib.model import EIGHT_PI2, Model

N = 40_000


def particle_energy(model, states):
    return model.particle_energy(states[:, 1])


def test_paper_temperatures():
    t = paper_temperatures()
    assert t.size == 250 and t[0] == 1 and t[-1] == 150
    assert np.count_nonzero(t == 4.0) == 2
    assert np.allclose(np.diff(t[:50]), 3 / 49) and np.allclose(np.diff(t[50:]), 146 / 199)


@pytest.mark.parametrize("experiment", ["frozen", "deflected"])
def test_stationary_oscillator_samples(experiment, rng):
    model, omega = Model(M=5.0, s=2.0), 3.0
    u = sample(experiment, model, omega, N, rng)
    assert np.all(u[:, 0] == -20.0) and np.all(u[:, 1] > 0) and np.all(u[:, 2:] == 0)
    e = particle_energy(model, u)
    # exponential with mean omega: mean and variance within 4 standard errors
    assert abs(e.mean() - omega) < 4 * omega / math.sqrt(N)
    assert abs(np.mean(e > 2 * omega) - math.exp(-2)) < 4 * math.sqrt(math.exp(-2) / N)


def test_thermal_oscillator_levels_phases_and_amplitudes(rng):
    model, omega = Model(M=1.0, s=0.0), 2.5
    u = sample("thermal", model, omega, N, rng)
    e_osc = model.oscillator_energy(u[:, 2], u[:, 3])
    n = e_osc - 0.5
    assert np.allclose(n, np.round(n), atol=1e-9)  # E_osc = n + 1/2 exactly
    n = np.round(n)
    q = math.exp(-1 / omega)
    mean_n, sd_n = q / (1 - q), math.sqrt(q) / (1 - q)
    assert abs(n.mean() - mean_n) < 4 * sd_n / math.sqrt(N)
    assert abs(np.mean(n == 0) - (1 - q)) < 4 * math.sqrt(q * (1 - q) / N)
    phase = np.arctan2(u[:, 2], u[:, 3] / (2 * math.pi)) % (2 * math.pi)
    assert abs(phase.mean() - math.pi) < 4 * (2 * math.pi / math.sqrt(12)) / math.sqrt(N)
    e = particle_energy(model, u)
    assert abs(e.mean() - omega) < 4 * omega / math.sqrt(N)


def test_joint_total_energy_is_boltzmann_and_split_uniformly(rng):
    model, omega = Model(M=0.2, s=2.0), 4.0
    u = sample("joint", model, omega, N, rng)
    n = np.round(model.oscillator_energy(u[:, 2], u[:, 3]) - 0.5)
    e_p = particle_energy(model, u)
    total = e_p + n
    assert np.all(e_p >= 0) and np.all(n <= np.floor(total) + 1e-9)
    assert abs(total.mean() - omega) < 4 * omega / math.sqrt(N)
    # given the total E, n is uniform on 0..floor(E): for 4 <= E < 5, P(n = 0) = 1/5
    sel = (total >= 4) & (total < 5)
    assert abs(np.mean(n[sel] == 0) - 0.2) < 4 * math.sqrt(0.16 / sel.sum())


def test_first_draw_is_shared_across_experiments():
    model = Model(M=1.0, s=2.0)
    draws = {e: sample(e, model, 2.0, 100, np.random.default_rng(5)) for e in ("frozen", "deflected", "thermal")}
    assert np.array_equal(draws["frozen"], draws["deflected"])
    assert np.array_equal(draws["frozen"][:, 1], draws["thermal"][:, 1])


def test_speed_and_start_follow_the_model():
    model = Model(M=5.0, x0=-15.0)
    u = sample("frozen", model, 1.0, 10, np.random.default_rng(0))
    e = np.random.default_rng(0).exponential(1.0, 10)
    assert np.allclose(u[:, 1], np.sqrt(EIGHT_PI2 * e / 5.0)) and np.all(u[:, 0] == -15.0)


@pytest.mark.parametrize("args, message", [
    (("thermo", 1.0), "experiment"), (("thermal", 0.0), "temperature"),
    (("thermal", -1.0), "temperature"), (("joint", float("nan")), "temperature"),
])
def test_sampler_rejects_bad_input(args, message, rng):
    with pytest.raises(ValueError, match=message):
        sample(args[0], Model(), args[1], 10, rng)


def test_experiments_are_one_registry():
    from lib import experiments, reproduce
    from lib.cli import build_parser

    reg = experiments.EXPERIMENT_REGISTRY
    assert experiments.EXPERIMENTS == tuple(reg) == ("frozen", "deflected", "thermal", "joint", "classical")
    assert [n for n in reg if experiments.is_frozen(n)] == ["frozen"]
    assert experiments.DESCRIPTIONS["thermal"].endswith("(Fig. 5a)")
    assert reproduce.FIGURE_EXPERIMENTS == {"4": ("frozen", "deflected"), "5": ("thermal", "joint")}
    assert build_parser().parse_args(["probability", "-e", "joint", "-T", "1"]).experiment == "joint"


def test_a_new_ensemble_is_one_entry(monkeypatch, rng):
    from lib import experiments

    def hot_particle(model, omega_T, n, rng):
        return experiments.initial_states(np.full(n, 10 * omega_T), 0.0, 0.0, model)

    entry = experiments.Experiment("hot", "particle at ten times the temperature", True, hot_particle)
    monkeypatch.setitem(experiments.EXPERIMENT_REGISTRY, "hot", entry)
    u = sample("hot", Model(), 2.0, 3, rng)
    assert u.shape == (3, 4) and np.allclose(Model().particle_energy(u[:, 1]), 20.0)
    assert experiments.is_frozen("hot") and "hot" not in experiments.figure_experiments().get("4", ())


def test_classical_gate_energy_is_boltzmann_without_zero_point(rng):
    """Gate energies of the classical gate against Exponential(omega_T) (KS test at the 0.1% level),
    phases uniform, and no zero-point energy (the smallest energies reach 0)."""
    from scipy import stats

    omega = 2.5
    u = sample("classical", Model(), omega, 40_000, rng)
    m = Model()
    e_gate = m.oscillator_energy(u[:, 2], u[:, 3])
    e_particle = m.particle_energy(u[:, 1])
    for e in (e_gate, e_particle):
        assert stats.kstest(e, "expon", args=(0, omega)).pvalue > 1e-3
    assert e_gate.min() < 1e-3 * omega  # a quantum gate never goes below 1/2
    phase = np.arctan2(u[:, 2], u[:, 3] / (2 * math.pi)) % (2 * math.pi)
    assert stats.kstest(phase / (2 * math.pi), "uniform").pvalue > 1e-3
    # gate and particle independent: correlation within 4 standard errors of 0
    assert abs(np.corrcoef(e_gate, e_particle)[0, 1]) < 4 / math.sqrt(e_gate.size)


@pytest.mark.parametrize("experiment", ["thermal", "joint", "classical", "deflected"])
@pytest.mark.parametrize("omega", [0.4, 1.5, 20.0])
def test_mean_energies_match_their_closed_forms(experiment, omega, rng):
    """Sample means of particle and gate energy (gate above its ground state) within 4 standard errors
    of :func:`lib.experiments.mean_energies`. The joint sampler's total is omega_T, the canonical
    pair's (thermal) omega_T + 1/(e^(1/omega_T) - 1), about twice as much when hot."""
    from lib.experiments import mean_energies

    n = 200_000
    u = sample(experiment, Model(), omega, n, rng)
    m = Model()
    e_particle = m.particle_energy(u[:, 1])
    e_gate = m.oscillator_energy(u[:, 2], u[:, 3])
    if experiment in ("thermal", "joint"):
        e_gate = e_gate - 0.5  # level n
    expected = mean_energies(experiment, omega)
    for name, e in (("particle", e_particle), ("gate", e_gate), ("total", e_particle + e_gate)):
        se = e.std() / math.sqrt(n) + 1e-12
        assert abs(e.mean() - expected[name]) < 4 * se, (name, e.mean(), expected[name], se)
    if experiment == "joint":
        assert math.isclose(float(expected["total"]), omega)
    if experiment == "thermal" and omega == 20.0:
        assert float(expected["total"]) > 1.9 * omega


def test_mean_energies_reject_bad_input():
    from lib.experiments import mean_energies

    with pytest.raises(ValueError, match="temperature"):
        mean_energies("thermal", -1.0)
    with pytest.raises(ValueError, match="experiment"):
        mean_energies("nope", 1.0)


def test_the_moving_gate_ensembles_mean_energies_as_the_book_once_tabulated():
    """The check beyond.ipynb printed as a table (now here): 400,000 draws per row of `thermal` and `joint` at
    omega_T = 0.5, 2, 10, 50 (seed 7), mean particle, gate and total energy each within 4 standard errors of
    the closed forms; `joint` carries about half the canonical pair's energy when hot."""
    from lib.experiments import mean_energies

    rng = np.random.default_rng(7)
    model = Model()
    worst = 0.0
    for omega in (0.5, 2.0, 10.0, 50.0):
        for experiment in ("thermal", "joint"):
            u = sample(experiment, model, omega, 400_000, rng)
            e_p = model.particle_energy(u[:, 1])
            e_g = model.oscillator_energy(u[:, 2], u[:, 3]) - 0.5
            theory = mean_energies(experiment, omega)
            for name, e in (("particle", e_p), ("gate", e_g), ("total", e_p + e_g)):
                worst = max(worst, abs(e.mean() - theory[name]) / (e.std() / math.sqrt(e.size)))
        hot = {e: float(mean_energies(e, omega)["total"]) for e in ("thermal", "joint")}
        if omega >= 10:
            assert 0.45 < hot["joint"] / hot["thermal"] < 0.55
    assert worst < 4.0, worst
