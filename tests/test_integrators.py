"""Integrators: convergence order, energy conservation, analytic limits, symmetry,
and agreement of the adaptive engine with the paper's protocol."""
import math

import numpy as np
import pytest

import lib
from lib.barriers import frozen_barrier
from lib.integrate import ADAPTIVE, PAPER, Integrator, run, trajectory
from lib.model import Model
from lib.tableaus import BUTCHER_RK5, DORMAND_PRINCE_54, Tableau
from lib.validation import convergence_study

DP4 = Tableau("DP embedded 4th order", DORMAND_PRINCE_54.A, DORMAND_PRINCE_54.b - DORMAND_PRINCE_54.e,
              DORMAND_PRINCE_54.c, order=4)


def fixed(tab, h, rotating=False):
    return Integrator(f"{tab.name} h={h}", tab, h=h, rotating=rotating)


def loglog_slope(hs, errs):
    return np.polyfit(np.log(hs), np.log(errs), 1)[0]


@pytest.mark.parametrize("tab", [BUTCHER_RK5, DORMAND_PRINCE_54, DP4], ids=lambda t: t.name)
def test_convergence_order_against_exact_harmonic_solution(tab):
    # With U0 = 0 the particle flies freely and the oscillator is harmonic:
    # y(t) = y0 cos(2 pi t) + vy0 / (2 pi) sin(2 pi t).
    model = Model(U0=0.0)
    y0, vy0, t_end = 0.7, 3.0, 1.0
    w = 2 * math.pi
    exact = np.array([y0 * math.cos(w * t_end) + vy0 / w * math.sin(w * t_end),
                      -w * y0 * math.sin(w * t_end) + vy0 * math.cos(w * t_end)])
    hs = np.array([1 / 40, 1 / 80, 1 / 160, 1 / 320])
    errs = []
    for h in hs:
        tr = trajectory(model, [-20.0, 1.0, y0, vy0], fixed(tab, h), t_end=t_end)
        assert tr.t[-1] == pytest.approx(t_end, abs=1e-12)
        errs.append(np.abs(tr.states[-1, 2:] - exact).max())
    assert loglog_slope(hs, errs) == pytest.approx(tab.order, abs=0.2)


@pytest.mark.parametrize("tab", [BUTCHER_RK5, DORMAND_PRINCE_54, DP4], ids=lambda t: t.name)
@pytest.mark.parametrize("rotating", [False, True], ids=["lab", "rotating"])
def test_convergence_order_through_the_interaction(tab, rotating):
    # Nonlinear problem: a heavy particle crosses the Gaussian while the
    # oscillator is kicked; error against a 32x finer paper-method reference.
    study = convergence_study(tab, rotating=rotating)
    assert study.slope == pytest.approx(tab.order, abs=0.3)
    assert study.error[-1] < 1e-7  # and the error is small in absolute terms


@pytest.mark.parametrize("integrator, tol", [("paper", 1e-10), ("adaptive", 2e-7)])
@pytest.mark.parametrize("s", [0.0, 2.0])
def test_energy_is_conserved_along_trajectories(integrator, tol, s, rng):
    model = Model(M=1.0, s=s)
    states = lib.sample("thermal", model, 4.0, 40, rng)
    for state in states:
        tr = trajectory(model, state, integrator)
        e = tr.total_energy
        assert np.abs(e - e[0]).max() <= tol * max(e[0], 1.0)
        # energy flows between particle and oscillator, but the sum is constant
        assert tr.outcome in (0, 1)


def test_energy_exchange_is_real_in_the_deflected_case():
    model = Model(M=5.0, s=2.0)
    tr = trajectory(model, [-20.0, float(model.speed(8.0)), 0.0, 0.0], "adaptive")
    assert tr.oscillator_energy.max() > 0.1  # the gate is pushed aside
    assert np.abs(tr.total_energy - 8.0).max() < 1e-6


@pytest.mark.parametrize("integrator", ["adaptive", "paper"])
@pytest.mark.parametrize("s", [0.0, 2.0])
def test_frozen_oscillator_transmits_exactly_above_the_barrier(integrator, s):
    model = Model(M=1.0, s=s)
    barrier = frozen_barrier(model)
    ratios = np.array([0.3, 0.9, 0.99, 0.999, 1.001, 1.01, 1.1, 3.0])
    states = lib.experiments.initial_states(ratios * barrier, 0.0, 0.0, model)
    out = run(model, states, integrator, frozen=True).outcome
    assert np.array_equal(out, (ratios > 1).astype(np.int8))


def test_frozen_threshold_is_mass_independent():
    energies = np.array([5.9, 6.0, 6.1, 6.2])
    outs = [run(Model(M=M, s=2.0), lib.experiments.initial_states(energies, 0, 0, Model(M=M, s=2.0)),
                frozen=True).outcome for M in (0.2, 1.0, 5.0)]
    assert all(np.array_equal(outs[0], o) for o in outs[1:])
    assert np.array_equal(outs[0], [0, 0, 1, 1])


@pytest.mark.parametrize("integrator", ["adaptive", "paper"])
def test_head_on_collision_leaves_oscillator_at_rest(integrator, rng):
    model = Model(M=1.0, s=0.0)
    states = lib.sample("deflected", model, 6.0, 200 if integrator == "adaptive" else 30, rng)
    free = run(model, states, integrator, keep_final=True)
    held = run(model, states, integrator, frozen=True, keep_final=True)
    assert np.array_equal(free.final_state[:, 2:], np.zeros((len(states), 2)))
    assert np.array_equal(free.outcome, held.outcome)
    assert np.array_equal(free.final_state, held.final_state)


@pytest.mark.parametrize("integrator", ["adaptive", "paper"])
def test_mirror_symmetry(integrator, rng):
    # (s, y, vy) -> (-s, -y, -vy) maps trajectories onto mirrored trajectories
    n = 200 if integrator == "adaptive" else 30
    model, mirror = Model(M=1.0, s=2.0), Model(M=1.0, s=-2.0)
    states = lib.sample("thermal", model, 5.0, n, rng)
    flipped = states * np.array([1, 1, -1, -1])
    a = run(model, states, integrator, keep_final=True)
    b = run(mirror, flipped, integrator, keep_final=True)
    assert np.array_equal(a.outcome, b.outcome)
    assert np.array_equal(a.final_state, b.final_state * np.array([1, 1, -1, -1]))


@pytest.mark.parametrize("experiment", lib.EXPERIMENTS)
@pytest.mark.parametrize("s, M", [(0.0, 1.0), (2.0, 0.2), (2.0, 5.0)])
def test_adaptive_agrees_with_paper_trial_by_trial(experiment, s, M):
    model = Model(M=M, s=s)
    rng = np.random.default_rng(7)
    states = np.concatenate([lib.sample(experiment, model, T, 12, rng) for T in (1.5, 4.0, 12.0, 60.0)])
    frozen = lib.experiments.is_frozen(experiment)
    paper = run(model, states, "paper", frozen=frozen).outcome
    adaptive = run(model, states, "adaptive", frozen=frozen).outcome
    assert np.array_equal(paper, adaptive)
    assert set(np.unique(paper)) <= {0, 1}


def test_free_flight_and_rotating_frame_do_not_change_outcomes(rng):
    model = Model(M=5.0, s=2.0)
    states = np.concatenate([lib.sample("thermal", model, T, 150, rng) for T in (1.0, 3.0, 20.0)])
    plain = ADAPTIVE.with_options(free_flight_tol=None, rotating=False, name="plain")
    a = run(model, states, ADAPTIVE)
    b = run(model, states, plain)
    assert np.array_equal(a.outcome, b.outcome)
    # ... and they are what make the engine cheap
    assert a.evaluations.sum() < 0.5 * b.evaluations.sum()


def test_final_state_obeys_the_outcome_rule(rng):
    model = Model(M=1.0, s=2.0)
    states = lib.sample("joint", model, 5.0, 300, rng)
    r = run(model, states, keep_final=True)
    x, vx = r.final_state[:, 0], r.final_state[:, 1]
    assert np.all(x * vx >= 0)
    assert np.array_equal(r.outcome == 1, x > 0)


def test_trajectory_records_whole_path_and_stops_at_outcome():
    model = Model(M=1.0, s=2.0)
    tr = trajectory(model, [-20.0, float(model.speed(2.0)), 0.0, 0.0])
    assert tr.x[0] == -20.0 and tr.t[0] == 0.0
    assert np.all(np.diff(tr.t) > 0)
    assert tr.outcome == 0 and tr.vx[-1] <= 0 < tr.vx[-2]


def test_paper_step_count_matches_protocol():
    model = Model(U0=0.0)
    tr = trajectory(model, [-20.0, 1.0, 0.0, 0.0], "paper", t_end=0.05)
    assert len(tr.t) == 101 and np.allclose(np.diff(tr.t), PAPER.h)


def test_undecided_when_step_budget_is_exhausted():
    model = Model(M=1.0, s=0.0)
    tiny = PAPER.with_options(max_steps=10, name="tiny")
    out = run(model, [[-20.0, 1.0, 0.0, 0.0]], tiny).outcome
    assert out[0] == lib.integrate.UNDECIDED


@pytest.mark.parametrize("bad, message", [
    (dict(M=0.0), "mass"), (dict(M=float("nan")), "mass"), (dict(lam=-1.0), "lambda"),
    (dict(U0=-1.0), "U0"), (dict(x0=1.0), "x0"), (dict(s=float("inf")), "impact"),
])
def test_model_validates_parameters(bad, message):
    with pytest.raises(ValueError, match=message):
        Model(**bad)


def test_bad_states_and_integrators_are_rejected():
    model = Model()
    with pytest.raises(ValueError, match="shape"):
        run(model, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="finite"):
        run(model, [[-20.0, np.nan, 0.0, 0.0]])
    with pytest.raises(ValueError, match="integrator"):
        run(model, [[-20.0, 1.0, 0.0, 0.0]], "euler")


@pytest.mark.parametrize("frozen", [False, True])
def test_model_equations_match_the_compiled_kernel(frozen, rng):
    # Model.rhs is the readable NumPy form of Eq. 5; the kernels must compute the same
    # derivative, and the forces must be minus the gradient of the potential energy.
    from lib import kernels

    model = Model(M=0.7, s=1.3, U0=8.0, lam=1.7)
    states = rng.normal(0, 2, (50, 4))
    frame = kernels.FROZEN if frozen else kernels.LAB
    p = lib.integrate.kernel_parameters(model, frozen=frozen)
    compiled = np.array([kernels.derivative(frame, 0.0, *u, p[0], p[1], p[2], p[3]) for u in states])
    assert np.allclose(model.rhs(states, frozen=frozen), compiled, rtol=1e-13, atol=1e-13)
    x, y, d = states[:, 0], states[:, 2], 1e-6
    fx, fy = model.forces(x, y)
    assert np.allclose(fx, -(model.landscape(x + d, y) - model.landscape(x - d, y)) / (2 * d), atol=1e-7)
    assert np.allclose(fy, -(model.landscape(x, y + d) - model.landscape(x, y - d)) / (2 * d), atol=1e-7)


def test_an_integrator_is_labelled_and_described_by_all_its_settings():
    """A run with other settings is not recorded under the registered name alone."""
    import json

    assert ADAPTIVE.label == "adaptive" and PAPER.label == "paper"
    smooth = ADAPTIVE.with_options(h_max=0.005)
    assert smooth.label == "adaptive(h_max=0.005)"
    assert ADAPTIVE.with_options(h_max=0.25).label == "adaptive"  # the registered settings: the name
    assert ADAPTIVE.with_options(rtol=1e-9, max_steps=10).label == "adaptive(rtol=1e-09, max_steps=10)"
    assert Integrator("paper", DORMAND_PRINCE_54, h=5e-4).label == "paper(tableau='Dormand-Prince 5(4)')"
    assert ADAPTIVE.with_options(name="mine").label == "mine"  # not registered: its settings are in describe()
    d = smooth.describe()
    assert d["label"] == smooth.label and d["name"] == "adaptive"
    assert (d["tableau"], d["order"], d["error_order"], d["stages"]) == ("Dormand-Prince 5(4)", 5, 4, 7)
    assert (d["h"], d["rtol"], d["atol"], d["h_max"], d["h_min"], d["max_steps"]) == (
        1e-2, 1e-8, 1e-8, 0.005, ADAPTIVE.h_min, 10**8)
    assert d["rotating"] is True and d["free_flight_tol"] == 1e-12
    assert json.loads(json.dumps(d)) == d != ADAPTIVE.describe()
    assert PAPER.describe()["rtol"] is None and PAPER.describe()["tableau_sha256"] != d["tableau_sha256"]
    # a tableau with the same name and other coefficients is told apart
    other = Tableau(DORMAND_PRINCE_54.name, DORMAND_PRINCE_54.A, DORMAND_PRINCE_54.b, DORMAND_PRINCE_54.c, 5,
                    DORMAND_PRINCE_54.e * 0.5, 4)
    assert ADAPTIVE.with_options(tableau=other).label == "adaptive(tableau='Dormand-Prince 5(4)')"
