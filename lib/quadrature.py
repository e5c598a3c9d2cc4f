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
from dataclasses import dataclass

import numpy as np

from .experiments import EXPERIMENT_REGISTRY, check_experiment
from .model import Model, check_finite
from .transmitting import (DEFAULT_REFINE, DEFAULT_SCAN, DENSE_LEVELS, MAX_LEVEL, TransmittingSet,
                           level_nodes, transmitting_set)


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


@dataclass(frozen=True)
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
    integrator: str = "adaptive"

    @property
    def relative_error(self) -> np.ndarray:
        return self.error / self.probability

    def to_dict(self) -> dict:
        return {
            "experiment": self.experiment, "method": "quadrature", "impact": self.model.s,
            "mass": self.model.M, "U0": self.model.U0, "lam": self.model.lam, "x0": self.model.x0,
            "integrator": self.integrator, "temperature": self.omega_T.tolist(),
            "probability": self.probability.tolist(), "error": self.error.tolist(),
            "activation_energy": self.activation_energy.tolist(),
            "activation_error": self.activation_error.tolist(),
            "lowest_energy": self.lowest_energy, "tolerance": self.tolerance,
            "n_max": self.n_max, "phases": self.phases, "scan": self.scan,
            "energy_tol": self.energy_tol,
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


def _expand(experiment, ts, beta, G, dG, nodes_mask=None, above=True):
    """Per-level particle integrals ``F_n`` and ``dF_n/dbeta`` for n = 0..n_max from the nodes.

    ``G`` has shape ``(L, B, T)`` (level nodes, buckets, temperatures);
    levels between nodes are interpolated linearly, bucket by bucket, and
    the joint sampler's weights ``1 / (k + n + 1)`` applied exactly.
    """
    if ts.gate != "levels":
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
    F, dF = _expand(experiment, ts, beta, G, dG, nodes_mask)
    if ts.gate != "levels":
        return F[0], dF[0]
    W, dW = _weights(experiment, beta, ts.n_max)
    return np.sum(W * F, axis=0), np.sum(dW * F + W * dF, axis=0)


def _tail_bound(experiment, beta, n_max):
    """Bound on the weight of levels above ``n_max``."""
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
    """
    buckets = _buckets(experiment, ts)
    G = np.zeros((ts.levels.size, len(buckets), beta.size))
    dG = np.zeros_like(G)
    for k, (lo, hi) in enumerate(buckets):
        energy, sign, state = _endpoints(lower, upper, lo, hi)
        if energy.size == 0:
            continue
        X = np.exp(-np.outer(energy, beta)) * (weights[state] * sign)[:, None]
        dX = -energy[:, None] * X
        level = ts.level_index[state]
        present = np.unique(level)
        starts = np.searchsorted(level, present)
        G[present, k] = np.add.reduceat(X, starts, axis=0)
        dG[present, k] = np.add.reduceat(dX, starts, axis=0)
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
    if ts.gate == "levels":
        W, dW = _weights(experiment, beta, ts.n_max)
    else:
        W, dW = np.ones((1, beta.size)), np.zeros((1, beta.size))
    out = {}
    for name in ("phases", "scan"):
        if name == "phases" and ts.gate != "levels":
            out[name] = (np.zeros(beta.size), np.zeros(beta.size))
            continue
        Gc, dGc = _coarse_integrals(experiment, ts, beta, name)
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
    if ts.gate != "levels":
        return SAFETY[which] * np.abs(G[:, 0] - Gc[:, 0])
    W, _ = _weights(experiment, beta, ts.n_max)
    H = _hat(ts.levels.astype(float), ts.n_max)
    n = np.arange(ts.n_max + 1, dtype=float)[:, None]
    split = _density(experiment) == "split"
    share = np.zeros((ts.levels.size, beta.size))
    for k in range(G.shape[1]):
        weight = np.abs(W) / (k + n + 1.0) if split else np.abs(W)
        share += (H.T @ weight) * np.abs(G[:, k] - Gc[:, k])
    return SAFETY[which] * share


def quadrature(experiment: str, ts: TransmittingSet, omega_T, tolerance: float = DEFAULT_TOLERANCE
               ) -> Quadrature:
    """:math:`\\mathcal{P}(\\omega_T)` and :math:`E_a(\\omega_T)` of ``experiment`` from ``ts``.

    ``ts`` must hold the gate states the experiment needs (its ``gate`` in the registry).
    """
    from .ensemble import check_temperatures

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
    # levels: interpolate over every other sparse node
    sparse = ts.levels >= DENSE_LEVELS
    if ts.gate == "levels" and np.count_nonzero(sparse) >= 2:
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
    parts["tail"] = _tail_bound(experiment, beta, ts.n_max) if ts.gate == "levels" else np.zeros_like(P)
    error = sum(parts.values())
    Ea = -dP / P
    with np.errstate(divide="ignore", invalid="ignore"):
        ea_err = ((dP_phases + dP_scan + np.abs(Ea) * (parts["phases"] + parts["scan"])) / P
                  + np.abs(Ea + dPl / Pl) + 0.5 * np.abs(dPw / Pw - dPn / Pn)
                  + parts["tail"] / P * (ts.n_max + 1 + np.abs(Ea)))
    lowest = low_temperature_limit(ts, experiment)["lowest_energy"]
    return Quadrature(experiment, ts.model, omega_T, P, error, Ea, ea_err, parts, lowest,
                      ts.n_max, ts.initial_phases, int(ts.scan.max()), ts.energy_tol, float(tolerance),
                      ts.integrator)


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
    if n > MAX_LEVEL:
        raise ValueError(f"temperature {omega_max:g} is too high for quadrature at tolerance {tolerance:g}: "
                         f"it needs gate levels up to {n:.3g}, more than {MAX_LEVEL}")
    return int(math.ceil(n))


MIN_TOLERANCE = 1e-12
"""Smallest relative tolerance accepted: boundaries are bisected to ``tolerance * omega / 4``."""


def check_tolerance(tolerance) -> float:
    tol = check_finite("tolerance", tolerance, positive=True)
    if not tol < 1.0:
        raise ValueError(f"tolerance must be below 1, got {tol!r}")
    if tol < MIN_TOLERANCE:
        raise ValueError(f"tolerance must be at least {MIN_TOLERANCE:g}, got {tol!r}")
    return tol


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
    energies). States already computed are reused. The estimate is reported
    in any case.
    """
    from .ensemble import check_temperatures

    check_experiment(experiment)
    if not isinstance(model, Model):
        raise ValueError(f"model must be a lib.Model, got {type(model).__name__}")
    omega_T = check_temperatures(omega_T)
    tolerance = check_tolerance(tolerance)
    p_floor = check_finite("p_floor", p_floor, nonnegative=True)
    gate = _gate(experiment)
    energy_tol = tolerance * float(np.min(omega_T)) / 4.0
    n_max = level_cutoff(experiment, model, float(np.max(omega_T)), tolerance) if gate == "levels" else 0
    kw = dict(n_max=n_max, refine=refine, energy_tol=energy_tol, integrator=integrator, n_jobs=n_jobs,
              progress=progress, use_cache=use_cache)
    adapt_phases, adapt_scan = phases is None and gate == "levels", scan is None
    n_levels = level_nodes(n_max).size if gate == "levels" else 1
    n_scan = np.full(n_levels, scan or DEFAULT_SCAN)
    n_ph = np.full(n_levels, phases or 32)
    ts = None
    while True:
        ts = transmitting_set(model, gate, phases=n_ph if gate == "levels" else 1, scan=n_scan, reuse=ts, **kw)
        result = quadrature(experiment, ts, omega_T, tolerance)
        keep = result.probability >= p_floor
        rel = np.where(keep, result.relative_error, 0.0)
        worst = int(np.argmax(rel))
        if rel[worst] <= tolerance:
            return result
        parts = result.error_parts
        order = ("phases", "scan") if parts["phases"][worst] >= parts["scan"][worst] else ("scan", "phases")
        for which in order:
            counts, cap, adapt = ((n_ph, MAX_PHASES, adapt_phases) if which == "phases"
                                  else (n_scan, MAX_SCAN, adapt_scan))
            if not adapt:
                continue
            grow = _levels_to_refine(error_by_level(experiment, ts, omega_T, which)[:, keep],
                                     result.probability[keep], tolerance) & (2 * counts <= cap)
            if grow.any():
                counts[grow] *= 2
                break
        else:
            return result


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
    E_\\mathrm{min} + \\mathrm{slope}\\,\\omega_T` with slope 0 for a gate at rest and
    1/2 for a smooth minimum over the phase (Laplace's method; module docstring).
    """
    total = ts.lower[:, 0] + ts.level_of_state
    k = int(np.argmin(total))
    lowest, phase = float(total[k]), float(ts.phases[k])
    sl = ts.level_slice(int(ts.level_index[k]))
    ph, tot = ts.phases[sl], total[sl]
    if ts.gate == "levels" and ph.size >= 3:
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
    slope = 0.0 if ts.gate != "levels" else 0.5
    return {"lowest_energy": lowest, "slope": slope, "level": int(ts.level_of_state[k]), "phase": phase}

def activation_energy(experiment: str, model: Model, omega_T, *, method: str = "quadrature", **options):
    """Local activation energy :math:`E_a(\\omega_T) = -d\\ln\\mathcal{P}/d(1/\\omega_T)` and its error.

    ``method='quadrature'`` (default): analytic, from the transmitting set
    (options as for :func:`transmission_quadrature`); returns
    ``(E_a, error)``. ``method='montecarlo'``: Tolman's estimate from samples
    (options as for :func:`lib.transmission_probability`); returns
    ``(E_a, standard error)``.
    """
    from .ensemble import transmission_probability

    result = transmission_probability(experiment, model, omega_T, method=method, **options)
    if method == "quadrature":
        return result.activation_energy, result.activation_error
    return result.activation_energy, result.activation_stderr
