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
    from lib.barriers import threshold_energy

    th = threshold_energy(Model(M=1.0, s=s), frozen=True)
    assert th.monotonic and th.energy == pytest.approx(frozen_barrier(Model(s=s)), rel=1e-8)


def test_deflected_threshold_lies_between_relaxed_and_frozen_and_depends_on_mass():
    from lib.barriers import threshold_energy

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
