"""Simulation library for "On activation in solid ionic electrolytes"
(K. Noori, B. A. Olsen, A. Rodin).

A particle of mass ``M`` is launched along ``x`` past a harmonic gate
oscillator moving along ``y``; they repel through a Gaussian ``U``. This
package integrates the model (paper Eq. 3-5), runs the paper's four
experiments, maps the transmission phase space, computes the frozen and
relaxed barriers and analyses the temperature dependence of the
transmission probability; it also solves the model exactly in quantum
mechanics (coupled-channel scattering, :mod:`lib.scattering`, :mod:`lib.quantum`).

Quick start::

    import lib
    model = lib.Model(M=1, s=2)
    result = lib.transmission_probability("deflected", model, [2, 5, 20], trials=2000)
    result.probability, result.stderr
"""
import sys as _sys

__version__ = "1.0.0"  # first: the modules that record it (lib.sweeps, lib.reproduce) import it from here

if _sys.argv[:1] == ["-m"]:  # being imported by `python -m lib` (argv[0] is "-m" only then)
    def _stop_while_starting(signum, frame):
        """Ctrl-C or SIGTERM before the command has started: one line, no traceback, nothing to clean up."""
        import os
        import signal

        os.write(2, f"python -m lib: interrupted ({signal.Signals(signum).name})\n".encode())
        os._exit(128 + signum)

    def _catch_signals_while_starting():
        import signal

        for signum in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(signum) is not signal.SIG_IGN:  # a background job keeps ignoring them
                signal.signal(signum, _stop_while_starting)

    _catch_signals_while_starting()
from .model import Model
from .tableaus import BUTCHER_RK5, DORMAND_PRINCE_54, Tableau
from .integrate import ADAPTIVE, PAPER, Integrator, Outcomes, Trajectory, run, trajectory
from .experiments import EXPERIMENTS, paper_temperatures, sample
from .ensemble import Transmission
from .phase_space import PhaseSpaceMap, phase_space_map
from .barriers import (barrier_frequency, crossover_temperature, frozen_barrier, relaxed_barrier,
                       vibrationally_adiabatic_barrier, wigner_correction)
from .arrhenius import fit_arrhenius, fit_power_law, local_activation_energy
from .transmitting import TransmittingSet, threshold_energy, transmitting_set
from .quadrature import Quadrature, low_temperature_limit
from .sweeps import sweep, write_dataset
from .scattering import Scattering, scatter
from .quantum import QuantumTransmission, quantum_transmission
from .transmission import activation_energy, transmission_probability

__all__ = [
    "Model", "Tableau", "BUTCHER_RK5", "DORMAND_PRINCE_54",
    "Integrator", "ADAPTIVE", "PAPER", "Outcomes", "Trajectory", "run", "trajectory",
    "EXPERIMENTS", "paper_temperatures", "sample",
    "Transmission", "transmission_probability", "PhaseSpaceMap", "phase_space_map",
    "frozen_barrier", "relaxed_barrier", "threshold_energy", "barrier_frequency", "crossover_temperature",
    "wigner_correction", "vibrationally_adiabatic_barrier",
    "fit_arrhenius", "fit_power_law", "local_activation_energy",
    "TransmittingSet", "transmitting_set", "Quadrature", "activation_energy", "low_temperature_limit",
    "sweep", "write_dataset", "Scattering", "scatter", "QuantumTransmission", "quantum_transmission",
]
