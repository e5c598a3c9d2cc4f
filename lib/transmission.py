r"""The front door: :math:`\mathcal{P}(\omega_T)` and :math:`E_a` by any of the three methods.

:func:`transmission_probability` checks what all methods share and hands
the work to the method's own module, each of which validates the rest:

``'montecarlo'``
    sampled ensembles of trajectories (:func:`lib.ensemble.montecarlo_transmission`);
``'quadrature'``
    the integral over the transmitting set (:func:`lib.quadrature.transmission_quadrature`);
``'quantum'``
    the exact quantum model by coupled-channel scattering (:func:`lib.quantum.quantum_transmission`).

This module sits above the three (``tests/test_layers.py``): none of them
imports it, so no method depends on another through it.
"""
from __future__ import annotations

from .ensemble import DEFAULT_TRIALS, montecarlo_transmission
from .experiments import check_experiment
from .inputs import METHODS, check_method, check_temperatures  # noqa: F401 (METHODS: re-exported)
from .model import Model, check_model
from .quadrature import DEFAULT_TOLERANCE as QUADRATURE_TOLERANCE, transmission_quadrature
from .quantum import DEFAULT_TOLERANCE as QUANTUM_TOLERANCE, quantum_transmission


def transmission_probability(experiment: str, model: Model, omega_T, *, trials: int = DEFAULT_TRIALS,
                             seed: int = 0, integrator="adaptive", n_jobs=None, progress=None,
                             use_cache: bool = True, method: str = "montecarlo",
                             tolerance: float | None = None):
    """Transmission probability of ``experiment`` at each temperature.

    By default sampled (:func:`lib.ensemble.montecarlo_transmission`). With
    ``method='quadrature'`` the probability is not sampled but integrated
    over the transmitting set (:func:`lib.quadrature.transmission_quadrature`,
    relative accuracy ``tolerance``, default 1e-3); the result is a
    :class:`lib.quadrature.Quadrature` with ``error`` in place of binomial
    errors. With ``method='quantum'`` it is the exact quantum model's, a
    :class:`lib.quantum.QuantumTransmission`. ``trials`` and ``seed`` apply to
    ``'montecarlo'`` only, ``tolerance`` to the other two.

    Parameters
    ----------
    experiment : {'frozen', 'deflected', 'thermal', 'joint', 'classical'}
        See :mod:`lib.experiments`.
    model : Model
        Mass, impact parameter and interaction.
    omega_T : float or sequence of float
        Temperatures :math:`k_B T / \\hbar\\Omega`, each real and in [0.01, 1e6]
        (:data:`lib.inputs.TEMPERATURE_RANGE`).
    trials : int, default 10,000
        Trials per temperature; trials x temperatures at most :data:`lib.inputs.MAX_TRAJECTORIES`.
    seed : int, default 0
        Root of the random streams (see the module docstring); a non-negative
        integer. ``None`` is refused rather than read as fresh entropy, so that
        every result can be reproduced from the seed it reports.
    integrator : {'adaptive', 'paper'} or Integrator, default 'adaptive'
    n_jobs : int, optional
        Worker processes; ``None`` means ``$ACTIVATION_JOBS`` or all cores,
        negative values count back from all cores as in joblib; capped at the
        cores and the work units. The result does not depend on it.
    progress : bool, optional
        Show a tqdm progress bar. ``None`` (default): ``$ACTIVATION_PROGRESS``
        if set, else only for long runs on a terminal.
    use_cache : bool, default True
        Look up and store the result in the on-disk cache (:mod:`lib.cache`).
    method : {'montecarlo', 'quadrature', 'quantum'}, default 'montecarlo'
        ``'quantum'``: the exact quantum model by coupled-channel scattering
        (:func:`lib.quantum.quantum_transmission`; ``deflected`` is then the gate
        in its ground state, ``classical`` is refused).
    tolerance : float, optional
        Relative accuracy for ``method='quadrature'`` or ``'quantum'`` (default 1e-3).

    Returns
    -------
    Transmission, Quadrature or QuantumTransmission
        Probabilities per temperature and their errors (for Monte Carlo: counts,
        binomial standard errors and Wilson 95% intervals), with the parameters
        that produced them.

    Raises
    ------
    ValueError
        Naming the parameter, for an unknown experiment, method or integrator,
        a model that is not a :class:`Model`, temperatures outside [0.01, 1e6]
        (or not real), trials that are not a positive integer (or more than
        :data:`lib.inputs.MAX_TRAJECTORIES` trajectories), a seed that is not
        a non-negative integer, a tolerance out of its method's range or given
        to ``'montecarlo'``, or ``n_jobs`` that is not a non-zero integer.
    """
    check_experiment(experiment)
    check_model(model)
    omega_T = check_temperatures(omega_T)
    if check_method(method) == "quantum":  # the exact quantum model (lib.quantum): a QuantumTransmission
        return quantum_transmission(experiment, model, omega_T,
                                    tolerance=QUANTUM_TOLERANCE if tolerance is None else tolerance,
                                    n_jobs=n_jobs, progress=progress, use_cache=use_cache)
    if method == "quadrature":
        return transmission_quadrature(experiment, model, omega_T,
                                       tolerance=QUADRATURE_TOLERANCE if tolerance is None else tolerance,
                                       integrator=integrator, n_jobs=n_jobs, progress=progress,
                                       use_cache=use_cache)
    if tolerance is not None:
        raise ValueError("tolerance applies to method='quadrature' or 'quantum' only")
    return montecarlo_transmission(experiment, model, omega_T, trials=trials, seed=seed, integrator=integrator,
                                   n_jobs=n_jobs, progress=progress, use_cache=use_cache)


def activation_energy(experiment: str, model: Model, omega_T, *, method: str = "quadrature", **options):
    """Local activation energy :math:`E_a(\\omega_T) = -d\\ln\\mathcal{P}/d(1/\\omega_T)` and its error.

    ``method='quadrature'`` (default): analytic, from the transmitting set
    (options as for :func:`lib.quadrature.transmission_quadrature`); returns
    ``(E_a, error)``. ``method='montecarlo'``: Tolman's estimate from samples
    (options as for :func:`lib.transmission_probability`); returns
    ``(E_a, standard error)``.
    """
    result = transmission_probability(experiment, model, omega_T, method=method, **options)
    if method == "quadrature":
        return result.activation_energy, result.activation_error
    return result.activation_energy, result.activation_stderr


__all__ = ["METHODS", "transmission_probability", "activation_energy"]
