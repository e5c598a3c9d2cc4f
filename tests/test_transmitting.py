"""The transmitting set and the quadrature over it: exact limits, Monte Carlo, honest errors."""
import math
import subprocess
import sys

import numpy as np
import pytest

import lib
from lib.barriers import frozen_barrier
from lib.transmitting import threshold_energy
from lib.experiments import initial_states, oscillator_state
from lib.model import Model
from lib.quadrature import level_cutoff, low_temperature_limit, quadrature
from lib.transmitting import level_nodes, reference_position, transmitting_set, upper_energy


def test_frozen_quadrature_is_the_boltzmann_factor_of_the_frozen_barrier():
    T = np.array([0.1, 0.5, 1.0, 4.0, 150.0])
    for s in (0.0, 2.0):
        model = Model(s=s)
        q = lib.transmission_probability("frozen", model, T, method="quadrature", tolerance=1e-4)
        exact = np.exp(-frozen_barrier(model) / T)
        assert np.all(np.abs(q.probability - exact) <= q.error)
        assert np.all(q.error <= 1e-4 * exact)
        assert q.activation_energy == pytest.approx(frozen_barrier(model), abs=1e-4)
        assert q.integrator == "adaptive" and q.integrator_settings == lib.ADAPTIVE.describe()
    smooth = lib.ADAPTIVE.with_options(h_max=0.005)
    q = lib.transmission_probability("frozen", Model(s=2.0), T[:2], method="quadrature", integrator=smooth)
    assert q.integrator == "adaptive(h_max=0.005)" and q.integrator_settings["h_max"] == 0.005


@pytest.mark.parametrize("M", [0.2, 1.0, 5.0])
def test_deflected_is_a_sum_of_exponentials_of_the_intervals_at_rest(M):
    model = Model(M=M, s=2.0)
    ts = transmitting_set(model, "rest", energy_tol=1e-8)
    T = np.array([0.3, 1.0, 3.0, 30.0])
    P = sum(np.exp(-a / T) - (np.exp(-b / T) if np.isfinite(b) else 0.0) for a, b in ts.intervals())
    q = quadrature("deflected", ts, T)
    np.testing.assert_allclose(q.probability, P, rtol=1e-13)
    # the lowest boundary, checked by launching from x0 as the experiments do, just below and above it
    a = ts.intervals()[0][0]
    out = lib.run(model, initial_states([a - 1e-6, a + 1e-6], 0.0, 0.0, model)).outcome
    assert list(out) == [lib.integrate.REFLECTED, lib.integrate.TRANSMITTED]


def test_phase_at_reference_point_is_a_rotation_of_the_phase_at_x0():
    """Outcome with phase phi at x0 equals the outcome with psi = phi + 2 pi dt at x_ref, trial by trial."""
    model = Model(M=1.0, s=2.0)
    rng = np.random.default_rng(7)
    n = 2000
    E = rng.uniform(0.5, 10.0, n)
    level = rng.integers(0, 6, n)
    phi = rng.uniform(0.0, 2.0 * math.pi, n)
    A = np.sqrt(2.0 * level + 1.0)
    start = lib.run(model, initial_states(E, *oscillator_state(A, phi), model)).outcome
    x_ref = reference_position(model)
    dt = (x_ref - model.x0) / model.speed(E)
    u = initial_states(E, *oscillator_state(A, phi + 2.0 * math.pi * dt), model)
    u[:, 0] = x_ref
    moved = lib.run(model, u).outcome
    assert np.mean(start == moved) > 0.999  # rounding in the phase can flip a boundary case
    assert model.potential(x_ref, model.s) <= 1e-12 * model.U0 * (1 + 1e-9)


@pytest.mark.parametrize("s, M", [(0.0, 0.2), (0.0, 5.0), (2.0, 1.0), (1.0, 50.0)])
def test_everything_above_U0_transmits(s, M):
    model = Model(M=M, s=s)
    rng = np.random.default_rng(3)
    n = 3000
    E = upper_energy(model) * (1.0 + rng.uniform(1e-6, 0.05, n))
    level = rng.integers(0, 400, n)
    y, vy = oscillator_state(np.sqrt(2.0 * level + 1.0), rng.uniform(0, 2 * math.pi, n))
    assert np.all(lib.run(model, initial_states(E, y, vy, model)).transmitted)
    assert np.all(lib.run(model, initial_states(E, 0.0, 0.0, model), frozen=True).transmitted)


def test_level_nodes_are_dense_then_sparse():
    nodes = level_nodes(1000)
    dense = lib.transmitting.DENSE_LEVELS
    assert list(nodes[:dense]) == list(range(dense)) and nodes[-1] >= 1000
    assert nodes.size < dense + lib.transmitting.NODES_PER_OCTAVE * math.log2(1000 / dense) + 2
    steps = np.diff(nodes)
    assert np.all(steps[1:] >= steps[:-1])  # never finer again
    assert list(level_nodes(5)) == [0, 1, 2, 3, 4, 5]


def test_level_cutoff_bounds_the_tail():
    model = Model()
    for w in (0.5, 10.0, 150.0):
        N = level_cutoff("thermal", model, w, 1e-3)
        assert (N + 1) * math.exp(-(N + 1) / w) <= 1e-3 * math.exp(-model.U0 / w)


def test_result_does_not_depend_on_the_number_of_workers():
    model = Model(M=1.0, s=2.0)
    kw = dict(n_max=40, phases=8, refine=2, scan=16, energy_tol=1e-4, use_cache=False)
    one = transmitting_set(model, "levels", n_jobs=1, **kw)
    two = transmitting_set(model, "levels", n_jobs=2, **kw)
    np.testing.assert_array_equal(one.lower, two.lower)
    np.testing.assert_array_equal(one.upper, two.upper)


@pytest.mark.parametrize("experiment", ["thermal", "joint"])
def test_quadrature_agrees_with_monte_carlo(experiment):
    model = Model(M=1.0, s=2.0)
    T = np.array([1.0, 2.5, 8.0, 40.0])
    q = lib.transmission_probability(experiment, model, T, method="quadrature", tolerance=1e-3)
    mc = lib.transmission_probability(experiment, model, T, trials=20_000, seed=11)
    z = (q.probability - mc.probability) / np.hypot(mc.stderr, q.error)
    assert np.all(np.abs(z) < 3), z
    # Tolman's estimate from the same samples against the analytic derivative
    zE = (mc.activation_energy - q.activation_energy) / np.hypot(mc.activation_stderr, q.activation_error)
    assert np.all(np.abs(zE) < 3), zE


def test_without_interaction_everything_transmits():
    """With U0 = 0: P = 1 and E_a = 0 exactly, for every experiment's density."""
    model = Model(U0=0.0, s=2.0)
    for experiment in lib.EXPERIMENTS:
        q = lib.transmission_probability(experiment, model, [0.7, 3.0], method="quadrature", tolerance=1e-6)
        assert np.all(np.abs(q.probability - 1.0) <= q.error + 1e-15) and np.all(q.error <= 1e-6)
        assert np.all(np.abs(q.activation_energy) <= q.activation_error + 1e-12)


@pytest.mark.slow
def test_error_estimate_is_honest_against_a_finer_resolution():
    model = Model(M=1.0, s=2.0)
    T = np.array([0.3, 1.0, 3.0, 10.0])
    for experiment in ("thermal", "joint"):
        n_max = level_cutoff(experiment, model, float(T.max()), 1e-3)
        coarse = quadrature(experiment, transmitting_set(model, "levels", n_max=n_max, phases=32, scan=32,
                                                         energy_tol=1e-5), T)
        fine = quadrature(experiment, transmitting_set(model, "levels", n_max=4 * n_max, phases=128,
                                                       scan=128, energy_tol=2.5e-6), T)
        actual = np.abs(coarse.probability - fine.probability)
        assert np.all(actual <= coarse.error), (experiment, actual, coarse.error)
        actual_E = np.abs(coarse.activation_energy - fine.activation_energy)
        assert np.all(actual_E <= coarse.activation_error), (experiment, actual_E, coarse.activation_error)


def test_low_temperature_limit_is_the_lowest_energy_plus_half_the_temperature():
    model = Model(M=1.0, s=2.0)
    ts = transmitting_set(model, "levels", n_max=3, phases=128, energy_tol=1e-8)
    T = np.array([0.01, 0.02, 0.04])
    q = quadrature("thermal", ts, T)
    limit = lib.low_temperature_limit(ts, "thermal")
    assert limit["level"] == 0
    slope = (q.activation_energy - limit["lowest_energy"]) / T
    np.testing.assert_allclose(slope, 0.5, atol=0.03)
    assert q.probability[0] < 1e-100  # far below anything Monte Carlo can reach
    rest = transmitting_set(model, "rest", energy_tol=1e-9)
    qd = quadrature("deflected", rest, T)
    np.testing.assert_allclose(qd.activation_energy, lib.low_temperature_limit(rest, "deflected")["lowest_energy"],
                               atol=1e-8)


@pytest.mark.parametrize("kwargs, message", [
    (dict(method="quadrature", tolerance=0.0), "tolerance must be positive"),
    (dict(method="quadrature", tolerance=float("nan")), "tolerance must be finite"),
    (dict(method="quadrature", tolerance=2.0), "tolerance must be below 1"),
    (dict(method="exact"), "method must be one of montecarlo, quadrature"),
    (dict(method="montecarlo", tolerance=1e-3), "tolerance applies to method='quadrature' or 'quantum' only"),
])
def test_bad_quadrature_input_is_a_one_line_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message) as info:
        lib.transmission_probability("thermal", Model(), [1.0], **kwargs)
    assert "\n" not in str(info.value)


def test_bad_temperatures_and_sets():
    with pytest.raises(ValueError, match="temperature must be positive"):
        lib.transmission_probability("thermal", Model(), [1.0, -2.0], method="quadrature")
    with pytest.raises(ValueError, match="gate must be one of"):
        transmitting_set(Model(), "moving")
    with pytest.raises(ValueError, match="phases must be an integer of at least 2"):
        transmitting_set(Model(), "levels", phases=1)
    with pytest.raises(ValueError, match="one per level node"):
        transmitting_set(Model(), "levels", n_max=3, phases=[8, 8])
    with pytest.raises(ValueError, match="needs a transmitting set with gate 'levels'"):
        quadrature("thermal", transmitting_set(Model(), "rest"), [1.0])


@pytest.mark.parametrize("args, message", [
    (["probability", "-e", "thermal", "-T", "1", "-m", "quadrature", "--tolerance", "0"], "tolerance must be positive"),
    (["probability", "-e", "thermal", "-T", "0", "-m", "quadrature"], "temperature must be positive"),
    (["probability", "-e", "thermal", "-T", "1", "-m", "exact"], "invalid choice"),
    (["transmitting-set", "--gate", "levels", "--phases", "1"], "phases must be an integer of at least 2"),
    (["transmitting-set", "--out", "set.png"], "--out must end in .json or .npz"),
])
def test_cli_rejects_bad_input_with_exit_2(args, message):
    res = subprocess.run([sys.executable, "-m", "lib", *args], capture_output=True, text=True, timeout=300)
    assert res.returncode == 2
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_cli_quadrature_json_has_error_and_activation_energy():
    import json

    res = subprocess.run([sys.executable, "-m", "lib", "probability", "-e", "deflected", "-s", "2", "-T", "1", "3",
                          "-m", "quadrature", "--json"], capture_output=True, text=True, check=True, timeout=300)
    data = json.loads(res.stdout)
    assert data["temperature"] == [1.0, 3.0]
    assert len(data["error"]) == 2 and len(data["activation_energy"]) == 2
    assert data["activation_energy"][0] == pytest.approx(threshold_energy(Model(s=2.0)).energy, abs=1e-4)
    assert data["integrator_settings"]["label"] == data["integrator"] == "adaptive"


@pytest.mark.slow
def test_all_24_panels_agree_with_monte_carlo():
    """Figs. 4-5, every (experiment, s, M): quadrature against 10,000 trials where >= 10 transmit.

    Fixed seed, so the outcome is deterministic; 120 comparisons, so the bound is
    3.5 combined standard errors (about 6% of such runs would show one beyond 3
    by chance alone). The full 250-temperature check is
    ``python benchmarks/quadrature_vs_montecarlo.py check``.
    """
    from lib.reproduce import IMPACTS, MASSES

    T = np.array([1.0, 2.0, 4.0, 10.0, 30.0])
    for experiment in lib.EXPERIMENTS:
        for s in IMPACTS:
            for M in MASSES:
                model = Model(M=M, s=s)
                q = lib.transmission_probability(experiment, model, T, method="quadrature", tolerance=1e-3,
                                                 n_jobs=2)  # the numbers do not depend on n_jobs; the time halves
                mc = lib.transmission_probability(experiment, model, T, trials=10_000, seed=2024, n_jobs=2)
                ok = mc.transmitted >= 10
                z = (q.probability - mc.probability) / np.hypot(mc.stderr, q.error)
                assert np.all(np.abs(z[ok]) < 3.5), (experiment, s, M, z)


def test_reusing_states_gives_the_same_set():
    model = Model(M=1.0, s=2.0)
    kw = dict(n_max=20, refine=1, energy_tol=1e-4, use_cache=False, n_jobs=1)
    small = transmitting_set(model, "levels", phases=8, scan=16, **kw)
    phases = np.where(np.arange(small.levels.size) < 3, 16, 8)
    scans = np.where(np.arange(small.levels.size) == 0, 32, 16)
    fresh = transmitting_set(model, "levels", phases=phases, scan=scans, **kw)
    reused = transmitting_set(model, "levels", phases=phases, scan=scans, reuse=small, **kw)
    for name in ("level_index", "phases", "lower", "upper", "lower_coarse", "upper_coarse"):
        np.testing.assert_array_equal(getattr(fresh, name), getattr(reused, name), err_msg=name)
    assert list(fresh.scan) == list(scans)


def test_energy_weights_integrate_piecewise_linear_functions_exactly():
    """sum_k w_k F(e_k) = int_0^emax F beta e^(-beta e) de for F linear, and dw/dbeta its derivative,
    from very hot (beta h ~ 1e-3, where naive formulas cancel) to cold."""
    from lib.quadrature import energy_weights
    from lib.transmitting import energy_nodes

    nodes = energy_nodes(30.0, 0.125)
    beta = np.array([1 / 150, 0.1, 1.0, 5.0, 40.0])
    w, dw = energy_weights(nodes, beta)
    top = nodes[-1]

    def exact(b):  # F = 2 + 0.3 e
        return 2 * -np.expm1(-b * top) + 0.3 * (-np.expm1(-b * top) - b * top * np.exp(-b * top)) / b

    F = 2 + 0.3 * nodes
    assert np.allclose((w * F[:, None]).sum(0), exact(beta), rtol=1e-12, atol=1e-15)
    h = 1e-6 * beta
    fd = (exact(beta + h) - exact(beta - h)) / (2 * h)
    assert np.allclose((dw * F[:, None]).sum(0), fd, rtol=1e-6, atol=1e-12)
    assert np.all(w >= 0)


def test_energy_nodes_refine_without_moving():
    from lib.transmitting import energy_nodes

    coarse, fine = energy_nodes(40.0, 0.25), energy_nodes(40.0, 0.125)
    assert set(coarse) <= set(fine) and coarse[-1] >= 40.0 and fine[-1] == coarse[-1]
    assert np.all(np.diff(fine[fine <= 16]) == 0.125)
    with pytest.raises(ValueError, match="power of two"):
        energy_nodes(10.0, 0.3)


def test_classical_gate_low_temperature_limit_lies_below_the_gate_at_rest():
    """A classical gate of zero energy is a gate at rest, so the lowest total energy in the classical
    set is at most the deflected threshold; and its approach is linear in omega_T with slope 0."""
    model = Model(M=1.0, s=2.0)
    ts = transmitting_set(model, "energies", n_max=2.0, phases=32, scan=64, energy_tol=1e-5)
    rest = transmitting_set(model, "rest", scan=64, energy_tol=1e-5)
    lim = low_temperature_limit(ts, "classical")
    assert lim["lowest_energy"] <= rest.lower[0, 0] + 1e-5
    assert lim["slope"] == 0.0


def test_many_temperatures_are_refined_on_a_subset_and_checked_on_all():
    """With more temperatures than ADAPT_TEMPERATURES the refinement works on a spread subset; the
    result still meets the tolerance at every temperature and equals the quadrature of its own set there."""
    from lib.quadrature import ADAPT_TEMPERATURES, transmission_quadrature

    T = np.geomspace(0.5, 20.0, 2 * ADAPT_TEMPERATURES + 7)[::-1]  # unsorted input is fine too
    q = transmission_quadrature("thermal", Model(M=1.0, s=2.0), T, tolerance=1e-2)
    assert q.omega_T.size == T.size and np.array_equal(q.omega_T, T)
    assert np.all(q.relative_error <= 1e-2)
    assert np.all(np.diff(q.probability) < 0)  # P rises with temperature (T is decreasing here)


def test_panels_side_by_side_equal_panels_one_by_one():
    """lib.reproduce.exact_panels runs panels in parallel workers; the numbers must not depend on it."""
    from lib.reproduce import exact_panels

    panels = [("deflected", 2.0, 1.0, 1e-2), ("frozen", 0.0, 1.0, 1e-2), ("deflected", 0.0, 5.0, 1e-2)]
    one = exact_panels(panels, floor=1e-6, n_jobs=1, use_cache=False)
    two = exact_panels(panels, floor=1e-6, n_jobs=2, use_cache=False)
    assert list(one) == list(two) == [p[:3] for p in panels]
    for key in one:
        np.testing.assert_array_equal(one[key].probability, two[key].probability)
        np.testing.assert_array_equal(one[key].activation_energy, two[key].activation_energy)
    with pytest.raises(ValueError, match="once"):
        exact_panels([panels[0], panels[0]])
