"""The statistics the chapters quote (lib.validation): deviations from exact references, the Poisson
test of points beyond three standard errors, the seed studies, drift shares, extrapolation factors and
the split of Tolman's activation energy between particle and gate."""
import math
from types import SimpleNamespace

import numpy as np
import pytest

import lib
from lib import validation as v
from lib.arrhenius import arrhenius
from lib.barriers import frozen_barrier


def fake_result(omega_T, transmitted, trials, model=None):
    """A lib.Transmission holding given counts (no energy sums)."""
    omega_T = np.asarray(omega_T, dtype=float)
    return lib.Transmission("frozen", model or lib.Model(), "adaptive", omega_T, int(trials), 0,
                            np.asarray(transmitted, dtype=np.int64), np.zeros(omega_T.size, dtype=np.int64), 0)


def fake_quad(omega_T, probability, error=0.0, activation=None, activation_error=0.0):
    omega_T = np.asarray(omega_T, dtype=float)
    p = np.asarray(probability, dtype=float)
    return SimpleNamespace(omega_T=omega_T, probability=p, error=np.broadcast_to(error, p.shape).astype(float),
                           activation_energy=np.zeros_like(p) if activation is None else activation,
                           activation_error=np.broadcast_to(activation_error, p.shape).astype(float))


def test_standard_normal_deviations_look_standard(rng):
    d = v.Deviations(rng.standard_normal(200_000))
    assert abs(d.msd - 1) < 4 * d.spread
    assert d.spread == pytest.approx(math.sqrt(2 / 200_000))
    assert d.expected_beyond() == pytest.approx(200_000 * 0.0026998, rel=1e-4)
    assert abs(d.beyond() - d.expected_beyond()) < 4 * math.sqrt(d.expected_beyond())
    assert d.chance()


def test_inflated_deviations_fail_the_poisson_test(rng):
    d = v.Deviations(1.3 * rng.standard_normal(20_000))  # errors underestimated by 30 %
    assert d.excess_sigma > 10
    assert not d.chance()
    assert v.pooled([d, d]).n == 40_000


def test_binomial_deviations_of_exact_binomial_counts(rng):
    omega = np.linspace(1.0, 20.0, 400)
    p = arrhenius(omega, 3.0)
    n = 5000
    d = v.binomial_deviations(fake_result(omega, rng.binomial(n, p), n), p)
    assert d.n == 400
    assert abs(d.msd - 1) < 4 * d.spread
    # a wrong reference is seen
    assert v.binomial_deviations(fake_result(omega, rng.binomial(n, p), n), 0.97 * p).msd > 2


def test_quadrature_deviations_combine_both_errors_and_need_counts(rng):
    omega = np.linspace(1.0, 20.0, 50)
    p = arrhenius(omega, 3.0)
    n = 2000
    k = rng.binomial(n, p)
    r = fake_result(omega, k, n)
    grid = np.concatenate([[0.5, 0.7], omega])  # the quadrature's grid holds the Monte Carlo temperatures
    pq = arrhenius(grid, 3.0)
    exact = v.quadrature_deviations(r, fake_quad(grid, pq))
    assert exact.n == int(np.count_nonzero(k >= 10))
    z0 = (r.probability - p) / r.stderr
    assert np.allclose(exact.z, z0[k >= 10])
    loose = v.quadrature_deviations(r, fake_quad(grid, pq, error=1.0))  # a huge quadrature error: tiny z
    assert loose.max_abs < 0.05
    with pytest.raises(ValueError, match="contain every Monte Carlo temperature"):
        v.quadrature_deviations(r, fake_quad(grid[:-1], pq[:-1]))


def test_matching_indices():
    grid = np.array([0.1, 0.5, 1.0, 2.0, 4.0])
    assert list(v.matching_indices(grid, [1.0, 4.0, 0.1])) == [2, 4, 0]
    with pytest.raises(ValueError):
        v.matching_indices(grid, [3.0])


def test_frozen_seed_study_against_the_exact_law():
    """A frozen gate transmits with exactly exp(-U(s)/omega_T): other seeds scatter as the binomial law says."""
    model = lib.Model(M=1.0, s=2.0)
    omega = np.linspace(1.5, 30.0, 24)
    study = v.frozen_seed_study(model, omega, seeds=(3, 4), trials=800)
    assert set(study) == {3, 4}
    for d in study.values():
        assert d.n > 15
        assert abs(d.msd - 1) < 5 * d.spread


def test_independent_seeds_give_each_block_its_own_draws():
    model = lib.Model(M=1.0, s=2.0)
    omega = np.array([2.0, 5.0, 10.0])
    exact = arrhenius(omega, frozen_barrier(model))
    quad = fake_quad(omega, exact)
    blocks = [("frozen", 2.0, 1.0), ("frozen", 2.0, 5.0)]
    out = v.independent_seed_deviations(blocks, {b: quad for b in blocks}, trials=3000, omega_T=omega)
    assert set(out) == set(blocks)
    # a frozen gate's outcome depends on the energy alone: with one seed both masses would agree exactly
    assert not np.array_equal(out[blocks[0]].z, out[blocks[1]].z)
    for d in out.values():
        assert d.max_abs < 5


def test_drift_share_and_extrapolation_factors():
    omega = np.geomspace(0.3, 150.0, 400)
    straight = fake_quad(omega, 0.5 * np.exp(-3.0 / omega), activation=np.full(omega.size, 3.0))
    assert v.activation_drift(straight) == 0.0
    assert np.allclose(v.extrapolation_factors(straight, (4.0, 12.0), [1.0, 0.5]), 1.0, rtol=1e-9)
    # two channels: hot, the easy and the hard one together; cold, the easy one alone
    p = 0.5 * np.exp(-2.0 / omega) + 0.5 * np.exp(-6.0 / omega)
    ea = (1.0 * np.exp(-2.0 / omega) + 3.0 * np.exp(-6.0 / omega)) / p  # -d ln P / d(1/omega)
    curved = fake_quad(omega, p, activation=ea)
    f = v.extrapolation_factors(curved, (4.0, 12.0), [1.0, 0.5])
    slope, icpt = np.polyfit(1 / omega[(omega >= 4) & (omega <= 12)], np.log(p[(omega >= 4) & (omega <= 12)]), 1)
    direct = np.exp(icpt + slope / np.array([1.0, 0.5])) / (0.5 * np.exp(-2 / np.array([1.0, 0.5]))
                                                             + 0.5 * np.exp(-6 / np.array([1.0, 0.5])))
    assert np.allclose(f, direct, rtol=1e-3)
    assert f[1] < f[0] < 1  # the hot line's slope is too steep: it predicts too little cold transmission
    assert v.drift_share(straight, curved) == 0.0
    assert v.drift_share(curved, curved) == 1.0
    assert v.activation_drift(curved, floor=0.1) < v.activation_drift(curved)
    with pytest.raises(ValueError, match="within"):
        v.extrapolation_factors(curved, (4.0, 12.0), [0.1])


def test_activation_split_adds_up_and_puts_nothing_in_a_resting_gate():
    model = lib.Model(M=1.0, s=2.0)
    omega = [1.0, 3.0]
    frozen = v.activation_split("frozen", model, omega, trials=20_000, seed=5, use_cache=False)
    assert np.all(frozen.gate == 0.0) and np.allclose(frozen.total, frozen.particle)
    # frozen: P = exp(-U(s)/omega_T) exactly, so E_a = U(s) at every temperature
    z = (frozen.particle - frozen_barrier(model)) / frozen.particle_stderr
    assert np.all(np.abs(z) < 4), z
    assert np.allclose(frozen.probability, arrhenius(np.array(omega), frozen_barrier(model)), atol=0.02)
    deflected = v.activation_split("deflected", model, omega, trials=2000, seed=5, use_cache=False)
    assert np.all(deflected.gate == 0.0)


def test_the_joint_samplers_gate_carries_much_of_its_activation_energy():
    """In `joint` the particle's share of a pair's energy is uniform, so transmitted pairs carry extra gate
    energy: E_a rises above U0 although the particle's own share stays below it."""
    model = lib.Model(M=1.0, s=0.0)
    split = v.activation_split("joint", model, [150.0], trials=20_000, seed=1, use_cache=False)
    assert split.total[0] > model.U0
    assert split.particle[0] + 3 * split.particle_stderr[0] < model.U0
    assert split.gate[0] > 10 * split.gate_stderr[0]


def test_activation_split_rejects_bad_input():
    with pytest.raises(ValueError, match="experiment"):
        v.activation_split("nope", lib.Model(), [1.0])
    with pytest.raises(ValueError, match="trials"):
        v.activation_split("thermal", lib.Model(), [1.0], trials=0)
    with pytest.raises(ValueError, match="temperature"):
        v.activation_split("thermal", lib.Model(), [-1.0])
    with pytest.raises(ValueError, match="lib.Model"):
        v.activation_split("thermal", "model", [1.0])


def test_the_integrators_put_the_transmitting_boundaries_in_the_same_place():
    """The paper's fixed-step RK5 and the adaptive Dormand-Prince find the same intervals for a moving gate,
    their ends within a few bisection widths: outcomes can differ only that close to a boundary."""
    ag = v.boundary_agreement(lib.Model(M=1.0, s=2.0), n_max=1, phases=4, scan=16, energy_tol=1e-8)
    assert ag.states == 8 and ag.same_count == ag.states
    assert ag.max_shift < 1e-6
    rest = v.boundary_agreement(lib.Model(M=5.0, s=2.0), gate="rest", scan=32, energy_tol=1e-9)
    assert rest.states == 1 and rest.same_count == 1 and rest.max_shift < 1e-7


def test_activation_span_and_map_difference():
    omega = np.array([0.5, 1.0, 2.0, 4.0])
    q = fake_quad(omega, [1e-13, 1e-3, 1e-2, 0.1], activation=np.array([9.0, 5.0, 4.0, 3.0]))
    assert v.activation_span(q) == (3.0, 9.0)
    assert v.activation_span(q, (1.0, 2.0)) == (4.0, 5.0)
    assert v.activation_span(q, floor=1e-12) == (3.0, 5.0)
    a = SimpleNamespace(transmitted=np.array([[True, False], [False, False]]))
    b = SimpleNamespace(transmitted=np.array([[True, True], [False, False]]))
    assert v.map_difference(a, b) == 0.25 and v.map_difference(a, a) == 0.0
    with pytest.raises(ValueError, match="same grid"):
        v.map_difference(a, SimpleNamespace(transmitted=np.zeros((3, 2), bool)))


def test_agreement_totals_weight_each_study_by_its_trajectories():
    def study(trials, temps, identical, ev_a, ev_b):
        return v.Agreement("thermal", lib.Model(), np.ones(temps), trials, np.array(identical),
                           (np.array(ev_a, float), np.array(ev_b, float)), ("adaptive", "paper"))

    a = study(10, 2, [10, 9], [100, 100], [1000, 3000])
    b = study(30, 1, [30], [200], [2000])
    total, same, ratio = v.agreement_totals([a, b])
    assert (total, same) == (50, 49)
    assert ratio == pytest.approx((10 * 4000 + 30 * 2000) / (10 * 200 + 30 * 200))
