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
    frozen = lib.experiments.is_frozen(experiment)
    a = run(model, states, integrator, frozen=frozen, keep_final=True, lanes=True)
    b = run(model, states, integrator, frozen=frozen, keep_final=True, lanes=False)
    assert a.outcome[3] == 0 and a.evaluations[3] == 0
    assert np.array_equal(a.outcome, b.outcome)
    assert np.array_equal(a.final_state, b.final_state)
    assert np.array_equal(a.final_time, b.final_time)
    assert np.array_equal(a.evaluations, b.evaluations)
    for field in ("steps", "rejected", "reason"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert not np.any(a.reason)  # every trajectory decided
    # every attempt is an evaluation (FSAL: all stages but the first after the first step)
    new = integrator.tableau.evaluations_per_step
    first = integrator.tableau.stages - new
    started = a.evaluations > 0
    assert np.array_equal(a.evaluations[started], first + new * (a.steps + a.rejected)[started])
    if integrator is PAPER:
        assert not np.any(a.rejected)
    else:
        assert a.rejected.sum() > 0


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


def _both_drivers(model, states, integrator):
    a = run(model, states, integrator, keep_final=True, lanes=True)
    b = run(model, states, integrator, keep_final=True, lanes=False)
    for field in ("outcome", "evaluations", "final_state", "final_time", "steps", "rejected", "reason"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert np.array_equal(a.outcome == kernels.UNDECIDED, a.reason != kernels.DECIDED)
    return a


def test_a_trajectory_whose_state_overflows_stops_undecided():
    # vx = 1e308 used to make the adaptive integrator reject steps forever (NaN error
    # norm); vy = 1e308 overflows the paper's lab-frame oscillator. Both must stop at
    # once, undecided, in the last finite state, while a sound neighbour is unaffected.
    model = Model(M=1.0, s=2.0)
    states = np.array([[-20.0, 1e308, 0.0, 0.0], [-20.0, 1.0, 0.0, 1e308], [-20.0, 5.0, 0.3, 1.0]])
    adaptive = _both_drivers(model, states, ADAPTIVE)
    paper = _both_drivers(model, states, PAPER)
    assert adaptive.outcome[0] == kernels.UNDECIDED and adaptive.evaluations[0] < 100
    assert paper.outcome[1] == kernels.UNDECIDED and paper.evaluations[1] < 1000
    assert np.all(np.isfinite(adaptive.final_state)) and np.all(np.isfinite(paper.final_state))
    assert adaptive.outcome[2] != kernels.UNDECIDED and paper.outcome[2] == adaptive.outcome[2]
    assert lib.trajectory(model, states[0]).outcome == kernels.UNDECIDED
    assert adaptive.reason[0] == paper.reason[1] == kernels.NOT_FINITE
    assert lib.trajectory(model, states[0]).reason == kernels.NOT_FINITE


def test_rejected_steps_are_bounded():
    model = Model(M=1.0, s=2.0)
    states = lib.sample("thermal", model, 3.0, 70, np.random.default_rng(1))
    coarse = ADAPTIVE.with_options(h=0.25, name="coarse")  # the first steps are rejected
    none_allowed = _both_drivers(model, states, coarse.with_options(max_rejected=0))
    assert np.all(none_allowed.outcome == kernels.UNDECIDED)
    assert np.all(none_allowed.evaluations < 100)  # the first rejection ends each trajectory
    few = _both_drivers(model, states, coarse.with_options(max_rejected=3))
    assert np.all(few.evaluations > none_allowed.evaluations)
    enough = _both_drivers(model, states, coarse)
    assert not np.any(enough.outcome == kernels.UNDECIDED)
    assert lib.trajectory(model, states[0], coarse.with_options(max_rejected=0)).outcome == kernels.UNDECIDED
    assert lib.trajectory(model, states[0], coarse).outcome == enough.outcome[0]
    assert np.all(none_allowed.reason == kernels.REJECTION_BUDGET) and np.all(none_allowed.rejected == 1)
    assert none_allowed.undecided_reasons() == {"step_budget": 0, "rejection_budget": 70, "minimum_step": 0,
                                                "not_finite": 0}
    with pytest.raises(ValueError, match="max_rejected"):
        coarse.with_options(max_rejected=-1)


def test_one_stop_rule():
    # classify is the stop rule has_ended plus the side of the gate
    for x, vx in [(1.0, 2.0), (-1.0, -2.0), (0.0, 1.0), (-1.0, 0.0), (-1.0, 2.0), (1.0, -2.0)]:
        ended = kernels.has_ended(x, vx)
        assert ended == (x * vx >= 0.0)
        assert kernels.classify(x, vx) == (kernels.RUNNING if not ended else
                                           kernels.TRANSMITTED if x > 0 else kernels.REFLECTED)


def test_a_step_shorter_than_the_minimum_ends_the_trajectory_undecided():
    """h_min: a rejected step whose successor would be shorter stops the trajectory; the default changes nothing."""
    model = Model(M=1.0, s=2.0)
    states = lib.sample("thermal", model, 3.0, 70, np.random.default_rng(1))
    coarse = ADAPTIVE.with_options(h=0.25, name="coarse")  # early attempts are rejected, shrinking at most 5x
    default = _both_drivers(model, states, coarse)
    unbounded = _both_drivers(model, states, coarse.with_options(h_min=0.0))
    assert default == unbounded and not np.any(default.reason)
    floor = 0.999 * coarse.with_options(h_min=0.0).kernel_control(model).h0  # above every successor of 0.25
    stopped = _both_drivers(model, states, coarse.with_options(h_min=floor))
    assert np.all(stopped.reason == kernels.MINIMUM_STEP) and np.all(stopped.rejected == 1)  # the first rejection
    assert lib.trajectory(model, states[0], coarse.with_options(h_min=floor)).reason == kernels.MINIMUM_STEP
    budget = _both_drivers(model, states, ADAPTIVE.with_options(max_steps=3))
    assert np.all(budget.reason[budget.outcome == kernels.UNDECIDED] == kernels.STEP_BUDGET)
    assert np.all(budget.steps == np.where(budget.outcome == kernels.UNDECIDED, 3, budget.steps))
    for bad in (-1e-3, float("nan"), 0.25, 1.0):
        with pytest.raises(ValueError, match="h_min"):
            ADAPTIVE.with_options(h_min=bad)


def test_the_default_minimum_step_changes_nothing_in_the_hardest_corner():
    """Light particle, steep narrow Gaussian, hottest gate: shortest steps and many rejections, no h_min stop."""
    model = Model(M=1e-4, s=0.0, U0=1e4, lam=0.01)
    states = lib.sample("frozen", model, 1e6, 1000, np.random.default_rng(7))
    a = run(model, states, frozen=True, keep_final=True)
    b = run(model, states, ADAPTIVE.with_options(h_min=0.0), frozen=True, keep_final=True)
    assert a == b and a.rejected.sum() > 100 and not np.any(a.reason)
