"""The SIMD lane driver and the vectorisable maths it relies on."""
import math

import numpy as np
import pytest
from numba import njit

import lib
from lib import fastmath, kernels
from lib.integrate import ADAPTIVE, PAPER, run
from lib.model import Model


@njit
def _max_rel_exp(xs):
    worst = 0.0
    for x in xs:
        worst = max(worst, abs(fastmath.exp_neg(x) - math.exp(x)) / math.exp(x))
    return worst


@njit
def _max_abs_sincos(ts):
    worst = 0.0
    for t in ts:
        s, c = fastmath.sincos_2pi(t)
        f = t - math.floor(t)
        worst = max(worst, abs(s - math.sin(2 * math.pi * f)), abs(c - math.cos(2 * math.pi * f)))
    return worst


@njit
def _max_rel_power(xs, a):
    worst = 0.0
    for x in xs:
        worst = max(worst, abs(fastmath.neg_power(x, a) - x ** (-a)) / x ** (-a))
    return worst


def test_exp_is_accurate_to_rounding():
    assert _max_rel_exp(np.linspace(-708.0, 0.0, 400_001)) < 3e-16
    assert _max_rel_exp(-np.logspace(-15, 2.85, 20_001)) < 3e-16
    assert fastmath.exp_neg(0.0) == 1.0


def test_sincos_is_accurate_for_any_argument():
    rng = np.random.default_rng(0)
    assert _max_abs_sincos(np.linspace(-3.0, 3.0, 400_001)) < 1e-15
    assert _max_abs_sincos(rng.uniform(0, 1e5, 100_000)) < 1e-15
    for k in range(8):  # quadrant boundaries
        s, c = fastmath.sincos_2pi(k / 8)
        assert s == pytest.approx(math.sin(k * math.pi / 4), abs=1e-15)
        assert c == pytest.approx(math.cos(k * math.pi / 4), abs=1e-15)


def test_controller_power_is_accurate_enough():
    xs = np.logspace(-30, 30, 20_001)
    assert _max_rel_power(xs, 0.2) < 1e-8 and _max_rel_power(xs, 1 / 6) < 1e-8


@pytest.mark.parametrize("integrator", [ADAPTIVE, PAPER], ids=["adaptive", "paper"])
@pytest.mark.parametrize("experiment", lib.EXPERIMENTS)
def test_lanes_are_bitwise_identical_to_the_scalar_driver(integrator, experiment):
    model = Model(M=1.0, s=2.0)
    rng = np.random.default_rng(17)
    n = 150 if integrator is ADAPTIVE else 20  # not a multiple of the lane count
    states = np.concatenate([lib.sample(experiment, model, T, n, rng) for T in (1.5, 8.0, 80.0)])
    states[3, 1] = -1.0  # a particle moving away: ends before it starts
    frozen = experiment == "frozen"
    a = run(model, states, integrator, frozen=frozen, keep_final=True, lanes=True)
    b = run(model, states, integrator, frozen=frozen, keep_final=True, lanes=False)
    assert a.outcome[3] == 0 and a.evaluations[3] == 0
    assert np.array_equal(a.outcome, b.outcome)
    assert np.array_equal(a.final_state, b.final_state)
    assert np.array_equal(a.final_time, b.final_time)
    assert np.array_equal(a.evaluations, b.evaluations)


def test_result_of_a_trajectory_does_not_depend_on_its_neighbours():
    model = Model(M=5.0, s=2.0)
    states = lib.sample("joint", model, 4.0, 300, np.random.default_rng(3))
    whole = run(model, states, keep_final=True)
    order = np.random.default_rng(4).permutation(len(states))
    shuffled = run(model, states[order], keep_final=True)
    assert np.array_equal(whole.final_state[order], shuffled.final_state)
    single = run(model, states[7:8], keep_final=True)
    assert np.array_equal(single.final_state[0], whole.final_state[7])


def test_lane_count_exceeds_the_vector_width():
    # LLVM's vector loop only runs for at least 24 lanes (see kernels.LANES)
    assert kernels.LANES >= 32
