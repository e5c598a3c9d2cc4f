"""lib.units: the engine's units in meV, kelvin, femtoseconds and angstrom."""
import math

import pytest
from scipy import constants as c

from lib.units import TYPICAL, Units


def test_the_units_obey_their_definitions():
    u = Units(phonon_meV=20.0, gate_mass_u=32.06)
    energy = 20e-3 * c.electron_volt
    assert math.isclose(u.omega * c.hbar, energy, rel_tol=1e-12)  # hbar Omega
    assert math.isclose(u.kelvin * c.k, energy, rel_tol=1e-12)  # omega_T = 1 is k_B T = hbar Omega
    assert math.isclose(u.period_fs * 1e-15 * energy, c.h, rel_tol=1e-12)  # t_osc hbar Omega = 2 pi hbar
    m = 32.06 * c.atomic_mass
    length = u.length_angstrom * 1e-10
    assert math.isclose(m * u.omega * length ** 2, c.hbar, rel_tol=1e-12)  # l_osc^2 = hbar / (m Omega)
    assert math.isclose(0.5 * m * u.omega ** 2 * length ** 2, 0.5 * energy, rel_tol=1e-12)  # k l_osc^2 = hbar Omega


def test_known_values_of_the_typical_gate():
    # 1 meV is 11.6045 K and 8.0655 cm^-1; 20 meV phonons have a period of 206.8 fs
    assert TYPICAL.kelvin == pytest.approx(232.09, abs=0.01)
    assert TYPICAL.wavenumber == pytest.approx(161.31, abs=0.01)
    assert TYPICAL.period_fs == pytest.approx(206.78, abs=0.01)
    assert TYPICAL.frequency_THz == pytest.approx(4.836, abs=1e-3)
    assert TYPICAL.length_angstrom == pytest.approx(0.0807, abs=1e-4)
    assert TYPICAL.mass_u(0.2) == pytest.approx(6.41, abs=0.01)  # about a lithium ion (6.94 u)
    assert TYPICAL.temperature_K(TYPICAL.omega_T(300.0)) == pytest.approx(300.0)
    assert TYPICAL.energy_meV(10.0) == pytest.approx(200.0)


def test_heavier_gates_have_shorter_oscillator_lengths():
    light, heavy = Units(gate_mass_u=7.0), Units(gate_mass_u=28.0)
    assert light.length_angstrom / heavy.length_angstrom == pytest.approx(2.0)  # l ~ m^-1/2
    assert Units(phonon_meV=40.0).period_fs == pytest.approx(TYPICAL.period_fs / 2)


@pytest.mark.parametrize("kwargs", [{"phonon_meV": 0}, {"phonon_meV": -1.0}, {"phonon_meV": float("nan")},
                                    {"gate_mass_u": float("inf")}, {"gate_mass_u": "32"}, {"phonon_meV": True}])
def test_bad_units_are_refused(kwargs):
    with pytest.raises(ValueError, match="phonon energy|gate mass"):
        Units(**kwargs)
