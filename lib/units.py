r"""The engine's units in laboratory units, for a chosen gate phonon and gate mass.

The engine measures energy in :math:`\hbar\Omega`, length in the gate's
quantum oscillator length :math:`l_\mathrm{osc} = \sqrt{\hbar/m\Omega}`, time
in gate periods :math:`t_\mathrm{osc} = 2\pi/\Omega`, mass in gate masses
:math:`m` and temperature as :math:`\omega_T = k_BT/\hbar\Omega` (see
:mod:`lib.model`). Two numbers fix them all: the gate's phonon energy
:math:`\hbar\Omega` and its mass :math:`m`.

:data:`TYPICAL` takes :math:`\hbar\Omega` = 20 meV (a low optical phonon of a
solid electrolyte, :math:`\Omega/2\pi \approx` 4.8 THz) and a sulfur gate,
:math:`m` = 32.06 u, as in the thiophosphate lithium conductors; the
paper's light particle, :math:`M = 1/5`, is then 6.4 u, about a lithium ion.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import constants as _c

MEV = 1e-3 * _c.electron_volt
"""One meV in joules."""


@dataclass(frozen=True)
class Units:
    """Laboratory values of the engine's units for a gate of phonon energy ``phonon_meV`` and mass ``gate_mass_u``.

    Attributes
    ----------
    phonon_meV : float
        :math:`\\hbar\\Omega` in meV (positive, finite).
    gate_mass_u : float
        The gate's mass :math:`m` in atomic mass units (positive, finite).
    """

    phonon_meV: float = 20.0
    gate_mass_u: float = 32.06

    def __post_init__(self):
        for name, value in (("phonon energy (meV)", self.phonon_meV), ("gate mass (u)", self.gate_mass_u)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value <= 0:
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")

    @property
    def omega(self) -> float:
        """The gate's angular frequency :math:`\\Omega` in rad/s."""
        return self.phonon_meV * MEV / _c.hbar

    @property
    def kelvin(self) -> float:
        """:math:`\\hbar\\Omega/k_B` in kelvin: the temperature of :math:`\\omega_T = 1`."""
        return self.phonon_meV * MEV / _c.k

    @property
    def period_fs(self) -> float:
        """:math:`t_\\mathrm{osc} = 2\\pi/\\Omega` in femtoseconds."""
        return 2.0 * math.pi / self.omega * 1e15

    @property
    def length_angstrom(self) -> float:
        """:math:`l_\\mathrm{osc} = \\sqrt{\\hbar/m\\Omega}` in ångström."""
        return math.sqrt(_c.hbar / (self.gate_mass_u * _c.atomic_mass * self.omega)) * 1e10

    @property
    def wavenumber(self) -> float:
        """:math:`\\hbar\\Omega` as a wavenumber in cm⁻¹."""
        return self.phonon_meV * MEV / (_c.h * _c.c) / 100.0

    @property
    def frequency_THz(self) -> float:
        """:math:`\\Omega/2\\pi` in THz."""
        return self.omega / (2.0 * math.pi) * 1e-12

    def energy_meV(self, energy):
        """An energy in :math:`\\hbar\\Omega` (number or array) in meV."""
        return energy * self.phonon_meV

    def temperature_K(self, omega_T):
        """A temperature :math:`\\omega_T` (number or array) in kelvin."""
        return omega_T * self.kelvin

    def omega_T(self, kelvin):
        """The :math:`\\omega_T` of a temperature in kelvin."""
        return kelvin / self.kelvin

    def mass_u(self, M):
        """A particle mass in gate masses in atomic mass units."""
        return M * self.gate_mass_u


TYPICAL = Units()
"""20 meV phonon, sulfur gate (32.06 u): the book's translation to laboratory units."""
