"""Frozen and relaxed barriers."""
import math

import numpy as np
import pytest

from lib.barriers import _slope, frozen_barrier, relaxed_barrier, relaxed_energy
from lib.model import Model


@pytest.mark.parametrize("s, energy, y", [(0.0, 7.6652, 2.7075), (2.0, 3.2512, -1.686)])
def test_relaxed_barriers_match_protocol(s, energy, y):
    rb = relaxed_barrier(Model(s=s))
    assert rb.energy == pytest.approx(energy, abs=5e-5)
    assert abs(rb.y) == pytest.approx(abs(y), abs=5e-4)
    if s != 0:  # for s = 0 the two sides are equally good
        assert rb.y == pytest.approx(y, abs=5e-4)


def test_head_on_has_two_symmetric_minima_and_offset_has_one():
    rb0 = relaxed_barrier(Model(s=0.0))
    assert len(rb0.minima) == 2
    assert rb0.minima[0][0] == pytest.approx(-rb0.minima[1][0], abs=1e-9)
    assert rb0.minima[0][1] == pytest.approx(rb0.minima[1][1], abs=1e-12)
    assert len(relaxed_barrier(Model(s=2.0)).minima) == 1


@pytest.mark.parametrize("s", [0.0, 0.5, 2.0, -2.0, 4.0])
def test_relaxed_barrier_is_the_global_minimum_and_below_frozen(s):
    model = Model(s=s)
    rb = relaxed_barrier(model)
    ys = np.linspace(-30, 30, 200001)
    assert rb.energy == pytest.approx(relaxed_energy(model, ys).min(), abs=1e-7)
    assert abs(float(_slope(model, rb.y))) < 1e-10
    assert rb.energy <= frozen_barrier(model) + 1e-12


def test_mirror_symmetry_of_barriers():
    a, b = relaxed_barrier(Model(s=2.0)), relaxed_barrier(Model(s=-2.0))
    assert a.energy == pytest.approx(b.energy, abs=1e-12) and a.y == pytest.approx(-b.y, abs=1e-9)


def test_frozen_barrier_values_and_limits():
    assert frozen_barrier(Model(s=0.0)) == 10.0
    assert frozen_barrier(Model(s=2.0)) == pytest.approx(10 * math.exp(-0.5), rel=1e-15)
    weak = relaxed_barrier(Model(s=0.0, U0=0.5))  # weak repulsion: the gate stays put
    assert weak.y == pytest.approx(0.0, abs=1e-12) and weak.energy == pytest.approx(0.5)
    assert relaxed_barrier(Model(U0=0.0)).energy == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("s", [0.0, 2.0])
def test_frozen_threshold_is_the_frozen_barrier(s):
    from lib.transmitting import threshold_energy

    th = threshold_energy(Model(M=1.0, s=s), frozen=True)
    assert th.monotonic and th.energy == pytest.approx(frozen_barrier(Model(s=s)), rel=1e-8)


def test_deflected_threshold_lies_between_relaxed_and_frozen_and_depends_on_mass():
    from lib.transmitting import threshold_energy

    energies = []
    for M in (0.2, 1.0, 5.0):
        th = threshold_energy(Model(M=M, s=2.0))
        assert th.monotonic
        assert relaxed_barrier(Model(s=2.0)).energy < th.energy < frozen_barrier(Model(s=2.0))
        energies.append(th.energy)
    # heavier particles are slower, the gate has time to give way: lower threshold
    assert energies[0] > energies[1] > energies[2]
    # head on, the gate is never pushed aside: the frozen barrier
    assert threshold_energy(Model(M=5.0, s=0.0)).energy == pytest.approx(10.0, rel=1e-8)


def test_effective_barrier_reaches_its_limits_with_mass():
    """Gate starting at rest, s = 2: a very light particle sees (almost) the frozen barrier U(s), within
    0.03 at M = 0.01; a very heavy one the relaxed barrier E*, within 1e-3 at M = 100; in between the
    barrier falls monotonically. Head-on (s = 0) the gate never moves: U(0) for every mass (1e-8)."""
    from lib.reproduce import mass_dependence

    md = mass_dependence(masses=[0.01, 0.1, 1.0, 10.0, 100.0])
    e = md[2.0]["energy"]
    assert md[2.0]["single"].all() and md[0.0]["single"].all()
    assert 0 < frozen_barrier(Model(s=2.0)) - e[0] < 0.03
    assert abs(e[-1] - relaxed_barrier(Model(s=2.0)).energy) < 1e-3
    assert np.all(np.diff(e) < 0)
    assert np.allclose(md[0.0]["energy"], frozen_barrier(Model(s=0.0)), rtol=1e-8)


def test_low_temperature_limits_respect_energy_conservation():
    """At the crossing x = 0 the total energy is at least min_y U(0, y) + y^2/2 = E*. So a classical gate's
    lowest transmitting total energy is >= E*, and a quantum gate's (counted from its zero point 1/2) is
    >= E* - 1/2; both below U(s) when the gate may move (tolerance: the bisection width, 1e-4)."""
    from lib.transmitting import transmitting_set

    for s in (0.0, 2.0):
        model = Model(M=1.0, s=s)
        e_star = relaxed_barrier(model).energy
        quantum = transmitting_set(model, "levels", n_max=3, phases=32, scan=64, energy_tol=1e-5)
        classical = transmitting_set(model, "energies", n_max=3.0, phases=32, scan=64, energy_tol=1e-5)
        # the grid minimum, without interpolation between phases (which can undershoot)
        e_q = np.min(quantum.lower[:, 0] + quantum.level_of_state)
        e_c = np.min(classical.lower[:, 0] + classical.level_of_state)
        assert e_q >= e_star - 0.5 - 1e-4, (s, e_q, e_star)
        assert e_c >= e_star - 1e-4, (s, e_c, e_star)
        assert e_c < frozen_barrier(model) and e_q < frozen_barrier(model)
