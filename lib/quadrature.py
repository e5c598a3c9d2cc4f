r"""Transmission probability and activation energy by quadrature over :math:`\mathcal{A}`.

With :math:`\beta = 1/\omega_T`, each experiment's density of initial
conditions has the form :math:`g(x)\,e^{-\beta E(x)}/Z(\beta)` with
:math:`E` the particle's energy plus the gate's level :math:`n` (for the
gate in levels). Over a transmitting interval :math:`[a, b)` of particle
energies the particle's part integrates exactly:

``frozen``, ``deflected``
    :math:`\mathcal{P} = \sum_i e^{-\beta a_i} - e^{-\beta b_i}`, the
    intervals of the gate at rest (held, or free).
``thermal``
    levels weighted by :math:`W_n = (1 - q)q^n`, :math:`q = e^{-\beta}`;
    phases uniform: :math:`\mathcal{P} = \sum_n W_n \langle\sum_i
    e^{-\beta a_i} - e^{-\beta b_i}\rangle_\psi`.
``joint`` (the paper's sampler)
    total energy :math:`\varepsilon = \mathcal{E} + n` with density
    :math:`\beta e^{-\beta\varepsilon}`, ``n`` uniform on
    :math:`0..\lfloor\varepsilon\rfloor`: the density of
    :math:`(\mathcal{E}, n)` is :math:`\beta e^{-\beta(\mathcal{E}+n)} /
    (\lfloor\mathcal{E}\rfloor + n + 1)`, so intervals are split at integer
    :math:`\mathcal{E}` and each piece weighted by :math:`1/(k + n + 1)`.
``classical``
    the gate's energy :math:`\varepsilon` has density
    :math:`\beta e^{-\beta\varepsilon}`; the phase-averaged particle
    integral :math:`F(\varepsilon)` is interpolated linearly between the
    energy nodes and integrated against that density exactly
    (:func:`energy_weights`).

The activation energy :math:`E_a = -d\ln\mathcal{P}/d\beta` follows from
the same sums, differentiated analytically (no finite differences). It
equals :math:`\langle E\rangle_\mathrm{transmitted} - \langle
E\rangle_\mathrm{all}` (Tolman), which :mod:`lib.ensemble` also estimates
from Monte Carlo samples.

Levels between computed nodes are interpolated linearly (the per-level
contribution varies slowly with the amplitude there; for the joint sampler
piece by piece, its weights :math:`1/(k + n + 1)` applied exactly, and the
part above :math:`U_0`, where everything transmits, summed in closed form);
levels above the cutoff are bounded.

Error estimate, per temperature (each term non-negative, summed):

* phases: twice the difference from the trapezoid rule over every other phase,
  level by level, summed in absolute value;
* scan: the difference from the intervals a scan of every other energy would
  have found, likewise;
* levels: the difference from interpolating over every other node above
  :data:`lib.transmitting.DENSE_LEVELS` (zero when every level is computed);
* energies: half the difference between all intervals widened and narrowed
  by the bisection tolerance;
* tail: a bound on the weight of the levels above the cutoff.

:func:`transmission_quadrature` doubles the phase grid of the levels that
dominate the estimate, or the energy scan, until the estimate meets the
requested tolerance. ``tests/test_transmitting.py`` checks that the
estimate exceeds the actual difference from a 4x finer resolution.

The low-temperature limit (:func:`low_temperature_limit`): as
:math:`\omega_T \to 0`, :math:`\mathcal{P}` is dominated by the lowest
energy in :math:`\mathcal{A}`, :math:`E_\mathrm{min} = \min(a_1 + n)`. For a
gate at rest :math:`E_a = E_\mathrm{min}` up to exponentially small terms.
For a gate with a phase, if :math:`a_1(\psi)` has a smooth minimum of
curvature :math:`a''` at :math:`\psi_*`, Laplace's method gives
:math:`\mathcal{P} \approx e^{-\beta E_\mathrm{min}}\sqrt{1/(2\pi\beta a'')}`,
so :math:`E_a = E_\mathrm{min} + \omega_T/2 + o(\omega_T)`.
"""
from __future__ import annotations

import math

import numpy as np

from . import cache
from .experiments import EXPERIMENT_REGISTRY, check_experiment
from .model import Model, check_finite, check_model
from .inputs import ToleranceWarning  # noqa: F401 (also importable from here, where it was first)
from .inputs import check_integer, check_jobs, check_temperatures, check_tolerance, warn_tolerance as _warn
from .records import record
from .transmitting import (DEFAULT_REFINE, DEFAULT_SCAN, DENSE_LEVELS, ENERGY_NODE_SPACING, MAX_GRID, MAX_LEVEL,
                           MIN_ENERGY_NODE_SPACING, PHASED, TransmittingSet, gate_nodes, transmitting_set)


def _gate(experiment: str) -> str:
    """The gate states the experiment needs (from :data:`lib.experiments.EXPERIMENT_REGISTRY`)."""
    return EXPERIMENT_REGISTRY[check_experiment(experiment)].gate


def _density(experiment: str) -> str:
    """How the experiment weighs gate states and energies (``density`` in the registry)."""
    return EXPERIMENT_REGISTRY[check_experiment(experiment)].density


DEFAULT_TOLERANCE = 1e-3
"""Default relative accuracy of :math:`\\mathcal{P}`."""

MAX_PHASES = 1024

SAFETY = {"phases": 2.0, "scan": 1.0}
"""Factors on the resolution error estimates (see :func:`_resolution_error`)."""


def _buckets(experiment, ts: TransmittingSet) -> list[tuple[float, float]]:
    """Energy ranges whose pieces share a weight: the whole line, or ``[k, k+1)`` below the top (joint)."""
    if _density(experiment) != "split":
        return [(-np.inf, np.inf)]
    top = ts.upper_energy
    return [(float(k), min(k + 1.0, top)) for k in range(math.ceil(top))] or [(0.0, 0.0)]


def _endpoints(lower, upper, lo, hi):
    """Finite endpoints of the intervals clipped to ``[lo, hi)``: ``(energy, sign, state)``.

    An interval ``[a, b)`` contributes :math:`e^{-\\beta a} - e^{-\\beta b}`:
    ``a`` with sign +1 and, if finite, ``b`` with sign -1. Sorted by state.
    """
    a, b = np.clip(lower, lo, hi), np.clip(upper, lo, hi)
    keep = np.isfinite(a) & (b > a)
    state = np.broadcast_to(np.arange(lower.shape[0])[:, None], lower.shape)
    fb = keep & np.isfinite(b)
    energy = np.concatenate([a[keep], b[fb]])
    sign = np.concatenate([np.ones(np.count_nonzero(keep)), -np.ones(np.count_nonzero(fb))])
    st = np.concatenate([state[keep], state[fb]])
    order = np.argsort(st, kind="stable")
    return energy[order], sign[order], st[order]


def _joint_above(beta, n_max, top):
    """Joint density integrated over particle energies above ``top``, for n = 0..n_max: ``(N+1, T)``.

    With :math:`K = \\lceil\\mathrm{top}\\rceil` and :math:`q = e^{-\\beta}`, the
    integer pieces sum to :math:`(1 - q)q^K R(K + n + 1)` with
    :math:`R(M) = \\sum_{j \\ge 0} q^j/(M + j)`, computed by the stable
    backward recursion :math:`R(M) = 1/M + qR(M + 1)`; and
    :math:`dR/d\\beta = MR(M) - 1/(1 - q)`. A non-integer top adds the piece
    :math:`[\\mathrm{top}, K)` with weight :math:`1/(\\lfloor\\mathrm{top}\\rfloor + n + 1)`.
    """
    q = np.exp(-beta)
    one_q = -np.expm1(-beta)
    K = math.ceil(top)
    m_first, m_last = K + 1, K + n_max + 1
    extra = int(math.ceil(45.0 / float(np.min(beta)))) + 1  # q^extra < e^-45
    R = np.zeros((m_last - m_first + 1, beta.size))
    r = np.zeros(beta.size)
    for M in range(m_last + extra, m_first - 1, -1):
        r = 1.0 / M + q * r
        if M <= m_last:
            R[M - m_first] = r
    M = np.arange(m_first, m_last + 1, dtype=float)[:, None]
    dR = M * R - 1.0 / one_q
    c = one_q * q ** K
    dc = q ** (K + 1) - K * c
    F, dF = c * R, dc * R + c * dR
    if top < K:  # the piece [top, K)
        n = np.arange(n_max + 1, dtype=float)[:, None]
        w = 1.0 / (math.floor(top) + n + 1.0)
        ea, eb = np.exp(-beta * top), np.exp(-beta * K)
        F = F + w * (ea - eb)
        dF = dF + w * (-top * ea + K * eb)
    return F, dF


@record
class Quadrature:
    """Transmission probability and activation energy from the transmitting set.

    Attributes
    ----------
    experiment : str
    model : Model
    omega_T : ndarray
    probability : ndarray
    error : ndarray
        Estimated absolute error of :attr:`probability` (see the module docstring).
    activation_energy : ndarray
        :math:`E_a = -d\\ln\\mathcal{P}/d(1/\\omega_T)`.
    activation_error : ndarray
        Estimated absolute error of :attr:`activation_energy`.
    error_parts : dict
        The error estimate's terms for :attr:`probability` (phases, levels, energies, tail).
    lowest_energy : float
        :math:`E_\\mathrm{min}`, the lowest (total) energy in :math:`\\mathcal{A}`.
    n_max, phases, scan, energy_tol, tolerance
        Resolution of the transmitting set used, and the requested tolerance.
    tolerance_met : bool
        Whether the estimated relative error of :attr:`probability` is within
        ``tolerance`` at every temperature (where :math:`\\mathcal{P}` is at
        least the ``p_floor`` asked for). False when the refinement's limits
        stopped it first; :func:`transmission_quadrature` then warns.
    integrator : str
        The integrator's :attr:`~lib.integrate.Integrator.label` (the transmitting set's).
    integrator_settings : dict or None
        :meth:`lib.integrate.Integrator.describe` of that integrator.

    Records compare by value (arrays elementwise, one bool) and hash
    accordingly (:mod:`lib.records`).
    """

    experiment: str
    model: Model
    omega_T: np.ndarray
    probability: np.ndarray
    error: np.ndarray
    activation_energy: np.ndarray
    activation_error: np.ndarray
    error_parts: dict
    lowest_energy: float
    n_max: int
    phases: int
    scan: int
    energy_tol: float
    tolerance: float
    tolerance_met: bool
    integrator: str = "adaptive"
    integrator_settings: dict | None = None

    @property
    def relative_error(self) -> np.ndarray:
        return self.error / self.probability

    def to_dict(self) -> dict:
        return {
            "experiment": self.experiment, "method": "quadrature", **self.model.to_dict(),
            "integrator": self.integrator, "temperature": self.omega_T.tolist(),
            "probability": self.probability.tolist(), "error": self.error.tolist(),
            "activation_energy": self.activation_energy.tolist(),
            "activation_error": self.activation_error.tolist(),
            "lowest_energy": self.lowest_energy, "tolerance": self.tolerance, "tolerance_met": self.tolerance_met,
            "n_max": self.n_max, "phases": self.phases, "scan": self.scan,
            "energy_tol": self.energy_tol,
            "integrator_settings": self.integrator_settings,
        }


def _weights(experiment, beta, n_max):
    """Level weights ``W_n(beta)`` and ``dW_n/dbeta`` for n = 0..n_max, shape ``(N+1, T)``."""
    n = np.arange(n_max + 1, dtype=float)[:, None]
    q = np.exp(-beta)
    if _density(experiment) == "independent":
        W = -np.expm1(-beta) * q ** n
        return W, W * (q / -np.expm1(-beta) - n)
    W = q ** n  # joint: the 1/(floor + n + 1) factor is inside the level sums
    return W, -n * W


def _hat(nodes, n_max):
    """Linear interpolation matrix ``H[n, k]``: level ``n`` from the values at ``nodes``.

    Levels above the last node take its value.
    """
    n = np.arange(n_max + 1, dtype=float)
    k = np.clip(np.searchsorted(nodes, n, side="right") - 1, 0, nodes.size - 1)
    k1 = np.minimum(k + 1, nodes.size - 1)
    span = nodes[k1] - nodes[k]
    t = np.where(span > 0, (n - nodes[k]) / np.where(span > 0, span, 1.0), 0.0)
    H = np.zeros((n_max + 1, nodes.size))
    rows = np.arange(n_max + 1)
    np.add.at(H, (rows, k), 1.0 - t)
    np.add.at(H, (rows, k1), t)
    return H


def energy_weights(nodes, beta):
    r"""Weights of a piecewise-linear :math:`F(\varepsilon)` against :math:`\beta e^{-\beta\varepsilon}`.

    Returns ``(w, dw)``, shape ``(L, T)``: :math:`\int_0^{\varepsilon_\mathrm{max}}
    F(\varepsilon)\,\beta e^{-\beta\varepsilon}\,d\varepsilon = \sum_k w_k F(\varepsilon_k)`
    exactly for ``F`` linear between the ``nodes`` (``0 = nodes[0] < ... ``),
    and ``dw = dw/dbeta``. On a segment :math:`[e, e + h]`, with
    :math:`u = \varepsilon - e` and :math:`J_m = \int_0^h u^m \beta e^{-\beta u} du
    = m!\,P(m + 1, \beta h)/\beta^m` (:math:`P` the regularised incomplete
    gamma function, accurate for small and large :math:`\beta h`), the hat
    of the right node gets :math:`e^{-\beta e} J_1/h` and the left one
    :math:`e^{-\beta e}(J_0 - J_1/h)`; the derivative of the density is the
    density times :math:`1/\beta - e - u`.
    """
    from scipy.special import gammainc

    nodes = np.asarray(nodes, dtype=float)
    beta = np.asarray(beta, dtype=float)[None, :]
    e, h = nodes[:-1, None], np.diff(nodes)[:, None]
    x = beta * h
    pre = np.exp(-beta * e)
    J0 = gammainc(1.0, x)
    J1 = gammainc(2.0, x) / beta
    J2 = 2.0 * gammainc(3.0, x) / beta ** 2
    c = 1.0 / beta - e
    right, left = pre * J1 / h, pre * (J0 - J1 / h)
    d_right = pre * (c * J1 - J2) / h
    d_left = pre * (c * (J0 - J1 / h) - (J1 - J2 / h))
    w = np.zeros((nodes.size, beta.shape[1]))
    dw = np.zeros_like(w)
    w[:-1] += left
    w[1:] += right
    dw[:-1] += d_left
    dw[1:] += d_right
    return w, dw


def _expand(experiment, ts, beta, G, dG, nodes_mask=None, above=True):
    """Per-level particle integrals ``F_n`` and ``dF_n/dbeta`` for n = 0..n_max from the nodes.

    ``G`` has shape ``(L, B, T)`` (level nodes, buckets, temperatures);
    levels between nodes are interpolated linearly, bucket by bucket, and
    the joint sampler's weights ``1 / (k + n + 1)`` applied exactly.
    """
    if ts.gate not in PHASED:
        return G[:, 0], dG[:, 0]
    nodes = ts.levels.astype(float)
    if nodes_mask is not None:
        nodes, G, dG = nodes[nodes_mask], G[nodes_mask], dG[nodes_mask]
    H = _hat(nodes, ts.n_max)
    if _density(experiment) != "split":
        return H @ G[:, 0], H @ dG[:, 0]
    n = np.arange(ts.n_max + 1, dtype=float)[:, None]
    F = np.zeros((n.size, beta.size))
    dF = np.zeros_like(F)
    for k in range(G.shape[1]):
        F += (H @ G[:, k]) / (k + n + 1.0)
        dF += (H @ dG[:, k]) / (k + n + 1.0)
    if above:
        Fa, dFa = _joint_above(beta, ts.n_max, ts.upper_energy)
        F, dF = F + Fa, dF + dFa
    return F, dF


def _combine(experiment, ts, beta, G, dG, nodes_mask=None):
    """``P`` and ``dP/dbeta`` from per-node integrals ``G``, ``dG`` (shape ``(L, B, T)``)."""
    if _density(experiment) == "classical":
        keep = slice(None) if nodes_mask is None else nodes_mask
        w, dw = energy_weights(ts.levels[keep], beta)
        g, dg = G[keep][:, 0], dG[keep][:, 0]
        return np.sum(w * g, axis=0), np.sum(dw * g + w * dg, axis=0)
    F, dF = _expand(experiment, ts, beta, G, dG, nodes_mask)
    if ts.gate != "levels":
        return F[0], dF[0]
    W, dW = _weights(experiment, beta, ts.n_max)
    return np.sum(W * F, axis=0), np.sum(dW * F + W * dF, axis=0)


def _tail_bound(experiment, beta, n_max):
    """Bound on the weight of levels (gate energies) above ``n_max``."""
    if _density(experiment) == "classical":
        return np.exp(-beta * n_max)
    q = np.exp(-beta)
    if _density(experiment) == "independent":
        return q ** (n_max + 1)
    return q ** (n_max + 1) / ((n_max + 2) * -np.expm1(-beta))


def _level_integrals(experiment, ts, beta, lower, upper, weights):
    """Phase-averaged particle integrals per level node and bucket, and their beta-derivatives.

    Shape ``(L, B, T)``: level nodes, buckets (one, or the joint sampler's
    integer pieces below :math:`U_0`), temperatures. Each finite endpoint
    :math:`E` of a (clipped) interval contributes
    ``weight * sign * exp(-beta E)`` to its level, and ``-E`` times that to
    the derivative; levels are summed by segments, states being sorted by level.
    Endpoints clipped to a bucket's edge share one exponential: their weights
    are summed per level first.
    """
    buckets = _buckets(experiment, ts)
    n_levels = ts.levels.size
    G = np.zeros((n_levels, len(buckets), beta.size))
    dG = np.zeros_like(G)
    for k, (lo, hi) in enumerate(buckets):
        energy, sign, state = _endpoints(lower, upper, lo, hi)
        if energy.size == 0:
            continue
        w = weights[state] * sign
        level = ts.level_index[state]
        inner = np.ones(energy.size, dtype=bool)
        for edge in (lo, hi):
            if math.isfinite(edge):
                on = energy == edge
                inner &= ~on
                if on.any():
                    total = np.bincount(level[on], weights=w[on], minlength=n_levels)
                    e = np.exp(-edge * beta)
                    G[:, k] += np.outer(total, e)
                    dG[:, k] -= edge * np.outer(total, e)
        energy, w, level = energy[inner], w[inner], level[inner]
        if energy.size == 0:
            continue
        X = np.exp(-np.outer(energy, beta)) * w[:, None]
        dX = -energy[:, None] * X
        present = np.unique(level)
        starts = np.searchsorted(level, present)
        G[present, k] += np.add.reduceat(X, starts, axis=0)
        dG[present, k] += np.add.reduceat(dX, starts, axis=0)
    return G, dG


def _evaluate(experiment, ts, beta, lower, upper, weights):
    """``P`` and ``dP/dbeta`` with phase weights ``weights`` (per state, each level summing to 1)."""
    G, dG = _level_integrals(experiment, ts, beta, lower, upper, weights)
    return _combine(experiment, ts, beta, G, dG)


def _coarse_integrals(experiment, ts, beta, which):
    """Level integrals by a coarser rule: every other phase (``'phases'``) or every other scanned energy (``'scan'``)."""
    if which == "phases":
        return _level_integrals(experiment, ts, beta, ts.lower, ts.upper, ts.phase_weights(every_other=True))
    if which == "scan":
        return _level_integrals(experiment, ts, beta, ts.lower_coarse, ts.upper_coarse, ts.phase_weights())
    raise ValueError(f"which must be 'phases' or 'scan', got {which!r}")


def _resolution_error(experiment, ts, beta, G, dG):
    """Estimates of the phase and scan errors in ``P`` and ``dP/dbeta``.

    Each compares the rule used with a coarser one, level by level: the
    trapezoid rule over every other phase, and the intervals a scan of every
    other energy would have found. The differences are summed over levels in
    absolute value, so that errors of opposite sign in different levels
    cannot cancel. The phase term is doubled (:data:`SAFETY`): across jumps the
    trapezoid rule converges at first order, so its error is about the
    difference from the coarser rule, but that difference fluctuates. The
    scan term is not: intervals narrower than the scan spacing, which a scan
    misses, shrink in number and width together as the spacing does, so the
    difference from the coarser scan already overstates the error (by about
    an order of magnitude in the checks of ``tests/test_transmitting.py``).
    """
    classical = _density(experiment) == "classical"
    if classical:
        W, dW = energy_weights(ts.levels, beta)
    elif ts.gate == "levels":
        W, dW = _weights(experiment, beta, ts.n_max)
    else:
        W, dW = np.ones((1, beta.size)), np.zeros((1, beta.size))
    out = {}
    for name in ("phases", "scan"):
        if name == "phases" and not ts.phased:
            out[name] = (np.zeros(beta.size), np.zeros(beta.size))
            continue
        Gc, dGc = _coarse_integrals(experiment, ts, beta, name)
        if classical:
            diff, ddiff = np.abs(G - Gc)[:, 0], np.abs(dG - dGc)[:, 0]
        else:
            diff, ddiff = _expand(experiment, ts, beta, np.abs(G - Gc), np.abs(dG - dGc), above=False)
        out[name] = (SAFETY[name] * np.sum(np.abs(W) * diff, axis=0),
                     SAFETY[name] * np.sum(np.abs(dW) * diff + np.abs(W) * ddiff, axis=0))
    return out


def error_by_level(experiment: str, ts: TransmittingSet, omega_T, which: str = "phases") -> np.ndarray:
    """Each level node's share of the ``which`` (``'phases'`` or ``'scan'``) error estimate of ``P``.

    Shape ``(L, T)``; for a gate at rest, ``(1, T)``.
    """
    beta = 1.0 / np.asarray(omega_T, dtype=float)
    Gc, _ = _coarse_integrals(experiment, ts, beta, which)
    G, _ = _level_integrals(experiment, ts, beta, ts.lower, ts.upper, ts.phase_weights())
    if not ts.phased:
        return SAFETY[which] * np.abs(G[:, 0] - Gc[:, 0])
    if _density(experiment) == "classical":
        w, _ = energy_weights(ts.levels, beta)
        return SAFETY[which] * np.abs(w) * np.abs(G[:, 0] - Gc[:, 0])
    W, _ = _weights(experiment, beta, ts.n_max)
    H = _hat(ts.levels.astype(float), ts.n_max)
    n = np.arange(ts.n_max + 1, dtype=float)[:, None]
    split = _density(experiment) == "split"
    share = np.zeros((ts.levels.size, beta.size))
    for k in range(G.shape[1]):
        weight = np.abs(W) / (k + n + 1.0) if split else np.abs(W)
        share += (H.T @ weight) * np.abs(G[:, k] - Gc[:, k])
    return SAFETY[which] * share


def quadrature(experiment: str, ts: TransmittingSet, omega_T, tolerance: float = DEFAULT_TOLERANCE,
               p_floor: float = 0.0) -> Quadrature:
    """:math:`\\mathcal{P}(\\omega_T)` and :math:`E_a(\\omega_T)` of ``experiment`` from ``ts``.

    ``ts`` must hold the gate states the experiment needs (its ``gate`` in the registry).
    ``tolerance_met`` tells whether the error estimate is within ``tolerance``
    times :math:`\\mathcal{P}` at every temperature where :math:`\\mathcal{P} \\ge` ``p_floor``.
    """
    check_experiment(experiment)
    if ts.gate != _gate(experiment):
        raise ValueError(f"the {experiment} experiment needs a transmitting set with gate "
                         f"{_gate(experiment)!r}, got {ts.gate!r}")
    omega_T = check_temperatures(omega_T)
    beta = 1.0 / omega_T
    w = ts.phase_weights()
    G, dG = _level_integrals(experiment, ts, beta, ts.lower, ts.upper, w)
    P, dP = _combine(experiment, ts, beta, G, dG)
    parts = {}
    # phases and scan: against coarser rules, level by level
    resolution = _resolution_error(experiment, ts, beta, G, dG)
    parts["phases"], dP_phases = resolution["phases"]
    parts["scan"], dP_scan = resolution["scan"]
    # levels: interpolate over every other sparse node (every node is interpolated for a classical gate)
    sparse = ts.levels >= (0 if ts.gate == "energies" else DENSE_LEVELS)
    if ts.phased and np.count_nonzero(sparse) >= 2:
        mask = ~sparse | (np.cumsum(sparse) % 2 == 1) | (ts.levels == ts.levels[-1])
        Pl, dPl = _combine(experiment, ts, beta, G, dG, nodes_mask=mask)
    else:
        Pl, dPl = P, dP
    parts["levels"] = np.abs(P - Pl)
    # energies: widen and narrow every interval by the bisection tolerance
    h = 0.5 * ts.energy_tol
    Pw, dPw = _evaluate(experiment, ts, beta, ts.lower - h, ts.upper + h, w)
    Pn, dPn = _evaluate(experiment, ts, beta, ts.lower + h, np.maximum(ts.upper - h, ts.lower + h), w)
    parts["energies"] = 0.5 * np.abs(Pw - Pn)
    # tail above the level cutoff
    parts["tail"] = _tail_bound(experiment, beta, ts.n_max) if ts.phased else np.zeros_like(P)
    error = sum(parts.values())
    Ea = -dP / P
    with np.errstate(divide="ignore", invalid="ignore"):
        ea_err = ((dP_phases + dP_scan + np.abs(Ea) * (parts["phases"] + parts["scan"])) / P
                  + np.abs(Ea + dPl / Pl) + 0.5 * np.abs(dPw / Pw - dPn / Pn)
                  + parts["tail"] / P * (ts.n_max + 1 + np.abs(Ea)))
    lowest = low_temperature_limit(ts, experiment)["lowest_energy"]
    with np.errstate(divide="ignore", invalid="ignore"):  # the criterion of transmission_quadrature's refinement
        met = bool(np.all(np.where(P >= p_floor, error / P, 0.0) <= tolerance))
    return Quadrature(experiment, ts.model, omega_T, P, error, Ea, ea_err, parts, lowest,
                      ts.n_max, ts.initial_phases, int(ts.scan.max()), ts.energy_tol, float(tolerance), met,
                      ts.integrator, ts.integrator_settings)


def level_cutoff(experiment: str, model: Model, omega_max: float, tolerance: float) -> int:
    r"""Highest level ``N`` needed at temperatures up to ``omega_max``.

    Every particle above :math:`U_0` transmits, so :math:`\mathcal{P} \ge e^{-\beta U_0}`
    (thermal; joint, up to the factor :math:`1/(U_0 + 1)` of its sampler). The
    levels above ``N`` weigh at most :math:`q^{N+1}` and carry energies of about
    ``N``; ``N`` is the smallest integer with :math:`(N + 1) q^{N+1} \le`
    ``tolerance`` :math:`e^{-\beta U_0}`, so that both :math:`\mathcal{P}` and
    :math:`E_a` are within ``tolerance`` of their value with every level.
    """
    extra = math.log(model.U0 + 2.0) if _density(experiment) == "split" else 0.0
    n = model.U0 + omega_max * (math.log(1.0 / tolerance) + extra)
    for _ in range(20):  # fixed point of N + 1 = U0 + omega (ln(1/tol) + extra + ln(N + 1))
        n = model.U0 + omega_max * (math.log(1.0 / tolerance) + extra + math.log(n + 1.0))
    classical = _density(experiment) == "classical"
    top = MAX_LEVEL * ENERGY_NODE_SPACING if classical else MAX_LEVEL
    if n > top:
        raise ValueError(f"temperature {omega_max:g} is too high for quadrature at tolerance {tolerance:g}: "
                         f"it needs gate {'energies' if classical else 'levels'} up to {n:.3g}, more than {top:g}")
    return float(n) if classical else int(math.ceil(n))


MAX_SCAN = 512


def transmission_quadrature(experiment: str, model: Model, omega_T, *,
                            tolerance: float = DEFAULT_TOLERANCE, phases: int | None = None,
                            scan: int | None = None, refine: int = DEFAULT_REFINE, integrator="adaptive",
                            n_jobs=None, progress=None, use_cache: bool = True, p_floor: float = 0.0
                            ) -> Quadrature:
    """:math:`\\mathcal{P}(\\omega_T)` and :math:`E_a` of ``experiment`` by quadrature.

    Chooses the level cutoff from the highest temperature and ``tolerance``
    (:func:`level_cutoff`) and bisects boundaries to ``tolerance * min(omega_T) / 4``.
    Unless ``phases`` and ``scan`` are given, starts from 32 phases and 32
    energies for every level and, while the estimated relative error of
    ``P`` exceeds ``tolerance`` somewhere with ``P >= p_floor``, doubles
    whichever of the two dominates there, for the levels that contribute
    most to it (at most :data:`MAX_PHASES` phases and :data:`MAX_SCAN`
    energies); for a classical gate it may instead halve the spacing of the
    gate-energy nodes. With many temperatures the refinement looks at
    :data:`ADAPT_TEMPERATURES` of them and then checks all. States already
    computed are reused. The estimate is reported in any case.
    """
    check_experiment(experiment)
    check_model(model)
    omega_T = check_temperatures(omega_T)
    tolerance = check_tolerance(tolerance, "quadrature")
    p_floor = check_finite("p_floor", p_floor, nonnegative=True)
    phases, scan = (None if v is None else check_integer(name, v, minimum=2, maximum=MAX_GRID)
                    for name, v in (("phases", phases), ("scan", scan)))
    n_jobs = check_jobs(n_jobs)
    func = cache.cached(_transmission_quadrature, ignore=("n_jobs", "progress")) if use_cache \
        else _transmission_quadrature
    result = func(experiment, model, omega_T, tolerance, phases, scan, refine, integrator, p_floor,
                  cache.ENGINE_VERSION, n_jobs=n_jobs, progress=progress, use_cache=use_cache)
    if not result.tolerance_met:
        warn_tolerance(result, p_floor, fixed=[n for n, v in (("phases", phases), ("scan", scan)) if v is not None])
    return result


def warn_tolerance(result: Quadrature, p_floor: float = 0.0, fixed=()) -> None:
    """One line: the tolerance was not met, where, by how much, and what stopped the refinement."""
    limits = (f"{' and '.join(fixed)} fixed by the caller" if fixed else
              f"the refinement reached its limits ({MAX_PHASES} phases and {MAX_SCAN} energies per gate level)")
    _warn("quadrature", result.tolerance, result.probability, result.error, result.omega_T, limits,
          p_floor=p_floor, stacklevel=3)


def _transmission_quadrature(experiment, model, omega_T, tolerance, phases, scan, refine, integrator, p_floor,
                             engine_version, *, n_jobs, progress, use_cache):
    """:func:`transmission_quadrature` on validated arguments (cached whole, keyed by all but the workers)."""
    gate = _gate(experiment)
    energy_tol = tolerance * float(np.min(omega_T)) / 4.0
    phased = gate in PHASED
    n_max = level_cutoff(experiment, model, float(np.max(omega_T)), tolerance) if phased else 0
    kw = dict(n_max=n_max, refine=refine, energy_tol=energy_tol, integrator=integrator, n_jobs=n_jobs,
              progress=progress, use_cache=use_cache)
    adapt_phases, adapt_scan = phases is None and phased, scan is None
    spacing = ENERGY_NODE_SPACING
    nodes = gate_nodes(gate, n_max, spacing)
    n_scan = np.full(nodes.size, scan or DEFAULT_SCAN)
    n_ph = np.full(nodes.size, phases or 32)
    ts = None
    # refine against at most ADAPT_TEMPERATURES of the temperatures (the sums cost in proportion to
    # their number), then check all of them and go on with all if one still misses the tolerance
    temps = _spread(omega_T, ADAPT_TEMPERATURES)
    while True:
        ts = transmitting_set(model, gate, phases=n_ph if phased else 1, scan=n_scan, reuse=ts, spacing=spacing,
                              **kw)
        result = quadrature(experiment, ts, temps, tolerance, p_floor)
        keep = result.probability >= p_floor
        rel = np.where(keep, result.relative_error, 0.0)
        worst = int(np.argmax(rel))
        if rel[worst] <= tolerance:
            if temps.size == omega_T.size:
                return result
            temps = omega_T
            full = quadrature(experiment, ts, temps, tolerance, p_floor)
            if np.all(np.where(full.probability >= p_floor, full.relative_error, 0.0) <= tolerance):
                return full
            continue
        parts = result.error_parts
        if (gate == "energies" and parts["levels"][worst] >= max(parts["phases"][worst], parts["scan"][worst])
                and spacing > MIN_ENERGY_NODE_SPACING):
            # a classical gate's energy nodes: halve their spacing (old nodes are kept, new ones
            # start with the grids of their nearest old node)
            spacing /= 2.0
            new = gate_nodes(gate, n_max, spacing)
            near = np.abs(new[:, None] - nodes[None, :]).argmin(axis=1)
            nodes, n_ph, n_scan = new, n_ph[near], n_scan[near]
            continue
        order = ("phases", "scan") if parts["phases"][worst] >= parts["scan"][worst] else ("scan", "phases")
        for which in order:
            counts, cap, adapt = ((n_ph, MAX_PHASES, adapt_phases) if which == "phases"
                                  else (n_scan, MAX_SCAN, adapt_scan))
            if not adapt:
                continue
            grow = _levels_to_refine(error_by_level(experiment, ts, temps, which)[:, keep],
                                     result.probability[keep], tolerance) & (2 * counts <= cap)
            if grow.any():
                counts[grow] *= 2
                break
        else:
            return result if temps.size == omega_T.size else quadrature(experiment, ts, omega_T, tolerance, p_floor)


ADAPT_TEMPERATURES = 48
"""Temperatures the refinement of :func:`transmission_quadrature` works on (spread over the requested ones)."""


def _spread(omega_T, n):
    """At most ``n`` of ``omega_T`` (in their given order), evenly spaced in rank, the lowest and highest included."""
    if omega_T.size <= n:
        return omega_T
    order = np.argsort(omega_T)
    pick = np.unique(np.round(np.linspace(0, omega_T.size - 1, n)).astype(int))
    return omega_T[np.sort(order[pick])]


def _levels_to_refine(share, P, tolerance):
    """Levels whose grid to double.

    At each temperature where this error's share exceeds a quarter of the
    tolerance, the largest contributors, until the rest is below a tenth.
    """
    grow = np.zeros(share.shape[0], dtype=bool)
    for t in np.nonzero(share.sum(axis=0) > 0.25 * tolerance * P)[0]:
        order = np.argsort(share[:, t])[::-1]
        rest = share[order, t].sum() - np.cumsum(share[order, t])
        grow[order[: int(np.searchsorted(-rest, -0.1 * tolerance * P[t])) + 1]] = True
    return grow


def low_temperature_limit(ts: TransmittingSet, experiment: str) -> dict:
    """:math:`E_\\mathrm{min}` and the predicted approach of :math:`E_a` to it as :math:`\\omega_T \\to 0`.

    Returns ``{"lowest_energy", "slope", "level", "phase"}``: :math:`E_a \\approx
    E_\\mathrm{min} + \\mathrm{slope}\\,\\omega_T` with slope 0 for a gate at rest,
    1/2 for a smooth minimum over the phase of a quantum level (Laplace's
    method; module docstring), and 0 for a classical gate, whose minimum in
    amplitude and phase gives a two-dimensional Gaussian that cancels the
    factor :math:`\\beta` of the energy density.
    """
    total = ts.lower[:, 0] + ts.level_of_state
    k = int(np.argmin(total))
    lowest, phase = float(total[k]), float(ts.phases[k])
    sl = ts.level_slice(int(ts.level_index[k]))
    ph, tot = ts.phases[sl], total[sl]
    if ts.phased and ph.size >= 3:
        # the minimum between grid phases: vertex of the parabola through the nearest three
        j = k - sl.start
        idx = [(j - 1) % ph.size, j, (j + 1) % ph.size]
        x = np.unwrap(ph[idx], period=2.0 * math.pi) - ph[j]
        x[0] = x[0] - 2.0 * math.pi if x[0] > 0 else x[0]
        x[2] = x[2] + 2.0 * math.pi if x[2] < 0 else x[2]
        c2, c1, c0 = np.polyfit(x, tot[idx], 2)
        if np.all(np.isfinite(tot[idx])) and c2 > 0 and x[0] <= -c1 / (2 * c2) <= x[2]:
            lowest = float(c0 - c1 * c1 / (4.0 * c2))
            phase = float((ph[j] - c1 / (2.0 * c2)) % (2.0 * math.pi))
    slope = 0.5 if ts.gate == "levels" else 0.0  # a classical gate's minimum is smooth in (A, psi): 2-D Laplace
    return {"lowest_energy": lowest, "slope": slope, "level": int(ts.level_of_state[k]), "phase": phase}


def quasi_classical_threshold(model: Model, level: int = 0, *, phases: int = 128, scan: int = 128,
                              energy_tol: float = 1e-7) -> float:
    r"""Lowest particle energy that passes the paper's quasi-classical gate in ``level`` (energy ``level + 1/2``).

    The lowest edge of the transmitting set of that level over all phases
    (:func:`lib.transmitting.transmitting_set`, refined between phases by
    :func:`low_temperature_limit`). For ``level = 0`` this is the
    classical counterpart of the quantum ground state's threshold.
    """
    level = check_integer("level", level, minimum=0, maximum=10_000)
    ts = transmitting_set(model, "levels", n_max=level, phases=phases, scan=scan, energy_tol=energy_tol, refine=4,
                          n_jobs=1)
    if level == 0:
        return float(low_temperature_limit(ts, "thermal")["lowest_energy"])
    return float(ts.lower[ts.level_of_state == level, 0].min())
