"""Phase-space maps (Fig. 3) and the two oscillator conventions."""
import math

import numpy as np
import pytest

from lib.barriers import frozen_barrier
from lib.model import Model
from lib.phase_space import PAPER_PHASES, SCRIPT_PHASES, grid_states, oscillator_initial, phase_space_map


@pytest.mark.parametrize("phase", PAPER_PHASES)
def test_paper_text_convention_gives_the_labelled_energy(phase):
    energies = np.linspace(0, 20, 11)
    y0, vy0 = oscillator_initial(energies, phase, "paper-text")
    assert np.allclose(Model().oscillator_energy(y0, vy0), energies)


def test_published_script_convention_drops_the_amplitude_from_the_speed():
    energies = np.array([0.0, 2.0, 8.0])
    for phase in SCRIPT_PHASES:
        y0, vy0 = oscillator_initial(energies, phase, "published-script")
        assert np.allclose(y0, np.sqrt(2 * energies) * np.sin(phase))
        assert np.allclose(vy0, 2 * math.pi * np.cos(phase))
        e = Model().oscillator_energy(y0, vy0)
        if math.isclose(abs(math.cos(phase)), 0, abs_tol=1e-12):
            assert np.allclose(e, energies)
        else:
            assert not np.allclose(e, energies)
    assert len(SCRIPT_PHASES) == 9 and SCRIPT_PHASES[8] == pytest.approx(2 * math.pi)


def test_head_on_quiet_oscillator_row_is_the_frozen_threshold():
    # E_osc = 0 leaves the oscillator at rest at y = 0; for s = 0 it is never
    # pushed, so the bottom row transmits exactly above U(0) = 10.
    m = phase_space_map(Model(M=1.0, s=0.0), 0.0, grid=41)
    assert np.array_equal(m.transmitted[0], m.particle_energy > frozen_barrier(Model(s=0.0)))


def test_mirror_symmetry_of_maps():
    # (s, phi) -> (-s, phi + pi) flips y0 and vy0: identical outcomes
    a = phase_space_map(Model(s=2.0), math.pi / 4, grid=30)
    b = phase_space_map(Model(s=-2.0), math.pi / 4 + math.pi, grid=30)
    assert np.array_equal(a.transmitted, b.transmitted)


def test_map_layout_serial_equals_parallel_and_json():
    kw = dict(grid=60, use_cache=False)
    a = phase_space_map(Model(s=2.0), math.pi / 2, n_jobs=1, **kw)
    b = phase_space_map(Model(s=2.0), math.pi / 2, n_jobs=2, **kw)
    assert a.transmitted.shape == (60, 60) and np.array_equal(a.transmitted, b.transmitted)
    assert 0 < a.transmitted_fraction < 1
    # each row is one oscillator energy: row i, column j -> (E_osc[i], E_particle[j])
    states = grid_states(Model(s=2.0), math.pi / 2, a.particle_energy, a.oscillator_energy)
    e_osc = Model().oscillator_energy(states[:, 2], states[:, 3]).reshape(60, 60)
    assert np.allclose(e_osc[:, 0], a.oscillator_energy)
    d = a.to_dict()
    assert d["transmitted_fraction"] == a.transmitted_fraction and len(d["transmitted"]) == 60


def test_adaptive_and_paper_maps_agree():
    kw = dict(grid=24, particle_energy=(0.5, 12.0), oscillator_energy=(0.0, 20.0), use_cache=False)
    a = phase_space_map(Model(s=2.0), 3 * math.pi / 4, **kw)
    b = phase_space_map(Model(s=2.0), 3 * math.pi / 4, integrator="paper", **kw)
    assert np.array_equal(a.transmitted, b.transmitted)


@pytest.mark.parametrize("kwargs, message", [
    (dict(grid=1), "grid"), (dict(convention="script"), "convention"), (dict(phase=float("nan")), "phase"),
    (dict(particle_energy=(0.0, 1.0)), "positive"), (dict(oscillator_energy=(5.0, 1.0)), "increasing"),
])
def test_bad_input_is_rejected(kwargs, message):
    args = dict(phase=0.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        phase_space_map(Model(), args.pop("phase"), **args)
