r"""The paper's ensembles in the exact quantum model: :math:`\mathcal{P}(\omega_T)` and :math:`E_a(\omega_T)`.

Each ensemble weighs the transmission of :mod:`lib.scattering` with the
paper's distribution of initial conditions; with :math:`\beta = 1/\omega_T`:

``frozen``
    the particle alone against the barrier :math:`U(x, 0)` (one channel):
    :math:`\mathcal{P} = \int_0^\infty T(E)\,\beta e^{-\beta E}\,dE`.
``deflected``
    a gate at rest has no quantum counterpart (its position and momentum
    would both be sharp); the nearest is the gate in its ground state:
    :math:`\mathcal{P} = \int T_0(E)\,\beta e^{-\beta E}\,dE`, :math:`E` the particle's energy.
``thermal``
    gate levels weighted :math:`(1 - q)q^n`, :math:`q = e^{-\beta}`, and the
    particle's energy from :math:`\beta e^{-\beta E}`, as in the paper. The
    product depends only on the total energy :math:`\varepsilon = E + n`
    above the gate's zero point, so
    :math:`\mathcal{P} = (1 - q)\beta\int_0^\infty e^{-\beta\varepsilon} N(\varepsilon)\,d\varepsilon`
    with :math:`N(\varepsilon) = \sum_{n \le \varepsilon} T_n(\varepsilon - n)`,
    the cumulative transmission of all open channels at one total energy,
    which one coupled-channel solve gives at once (Miller's cumulative
    reaction probability :cite:`miller1974quantum`).
``joint`` (the paper's sampler)
    total energy from :math:`\beta e^{-\beta\varepsilon}`, level uniform on
    :math:`0..\lfloor\varepsilon\rfloor`:
    :math:`\mathcal{P} = \beta\int e^{-\beta\varepsilon} N(\varepsilon)/(\lfloor\varepsilon\rfloor + 1)\,d\varepsilon`.
``classical``
    a gate of continuous energy has no quantum counterpart: refused.

The particle's energy is drawn from :math:`\beta e^{-\beta E}`, the energy
distribution of the particles that cross a plane (the flux-weighted
distribution; the canonical density of a free particle in one dimension
is :math:`\propto E^{-1/2}e^{-\beta E}`). It is the right one for a rate.

Energy integration
    :math:`N` is analytic between integer :math:`\varepsilon` (no
    closed-channel resonances, :mod:`lib.scattering`) and has square-root
    cusps at the integers, where a channel opens. On every unit interval
    :math:`[K, K + 1)` the substitution :math:`\varepsilon = K + \sin^2(\pi u/2)`
    makes it analytic in :math:`u`; it is interpolated on Clenshaw-Curtis
    nodes in :math:`u` and integrated against :math:`e^{-\beta\varepsilon}`
    exactly (product quadrature), so any temperature costs nothing more.
    Error estimate: from the differences between the rules on every node,
    every other and every fourth (:func:`_rule_error`).

Channels
    An interval's solves keep the levels the particle can reach: all
    levels from :math:`K - d` (``depth``) to :math:`K` are counted, a buffer
    of ``buffer`` levels below them and ``closed`` closed levels above :math:`K`
    are included. Levels below :math:`K - d` carry particles of energy above
    :math:`d`; they are counted as transmitted, once the reflection of the
    two lowest counted levels is below ``r_tol`` at every node (``depth``
    grows until it is). Both widths grow like the square root of the level,
    as the band of levels the Gaussian couples does.
    Error estimates: the difference from a window narrower by a quarter,
    and twice the reflection of the lowest counted levels for those left out.

Levels (thermal, joint)
    Every interval below :data:`DENSE_INTERVALS` is computed; above, a
    geometric set of intervals, and :math:`D_K = K + 1 - N` (the
    reflection summed over levels, slowly varying with :math:`K`) is
    interpolated between them. Error estimate: the difference from
    interpolating over every other one. Above the last, :math:`D` is taken
    constant, with all of it as the error.

Step
    Every solve is repeated with sectors twice as wide; the result is the
    Richardson value :math:`T_h + (T_h - T_{2h})/15` and its error estimate
    :math:`|T_h - T_{2h}|/15` (the propagator is fourth order).

:func:`quantum_transmission` refines (order of the energy rule, sectors,
channel windows, depth, intervals) where the estimate is largest until the
relative error estimate of :math:`\mathcal{P}` is below the tolerance at
every temperature with :math:`\mathcal{P} \ge` ``p_floor``, and records
whether it got there (``tolerance_met``).

Activation energy: :math:`E_a = -d\ln\mathcal{P}/d\beta`, analytic in the
weights (the nodes do not depend on :math:`\beta`).
"""
from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import cache, parallel
from . import scattering as sc
from .experiments import check_experiment, initial_states, level_amplitude, oscillator_state
from .inputs import MAX_CLOSED, check_finite, check_integer, check_jobs, check_temperatures, check_tolerance, warn_tolerance
from .integrate import trajectory
from .model import Model, check_model

DEFAULT_TOLERANCE = 1e-3
"""Default relative accuracy of :math:`\\mathcal{P}`."""


DENSE_MARGIN = 10
"""Intervals ``[K, K + 1)`` of total energy computed one by one up to ``U0`` plus this (thermal, joint): the
reflection summed over levels has its structure there (it grows while the top level is below the barrier)."""

SPARSE_RATIO = 1.6
"""Ratio of successive computed intervals above :data:`DENSE_INTERVALS`."""

ORDER = 8
"""Clenshaw-Curtis order (nodes - 1) of an interval's energy rule at the start: this for the two lowest
intervals (where the integrand is tiny and smooth), twice this above."""

MAX_ORDER = 64

START_SECTORS = 48
"""Sectors of every solve at the start (doubled where the step's error estimate dominates)."""

MAX_ROUNDS = 12
"""Refinement rounds at most."""

CLOSED = (4.0, 0.5)
r"""Closed levels above the top one: ``a + b sqrt(K)``."""

BUFFER = (4.0, 0.8)
r"""Levels below the lowest counted one: ``a + b sqrt(K)``."""

DEPTH = 4
"""Counted levels below the top one at the start (grows until their reflection is negligible)."""


def _version() -> str:
    """Hash of this module's and the solver's source: part of every cache key (edits start fresh entries)."""
    digest = hashlib.sha256()
    for name in ("scattering.py", "quantum.py"):
        digest.update((Path(__file__).resolve().parent / name).read_bytes().replace(b"\r\n", b"\n"))
    return digest.hexdigest()[:16]


QUANTUM_VERSION = _version()


# --------------------------------------------------------------------------------------------
# energy rule on one interval

@functools.lru_cache(maxsize=16)
def _rule(order: int):
    r"""Clenshaw-Curtis nodes :math:`u_j = (1 - \cos(\pi j/m))/2`, their :math:`\sigma = \sin^2(\pi u/2)`,
    and the Lagrange basis at Gauss-Legendre points with :math:`\sigma(u)`, :math:`\sigma'(u)` there."""
    j = np.arange(order + 1)
    u = 0.5 * (1.0 - np.cos(np.pi * j / order))
    sigma = np.sin(0.5 * np.pi * u) ** 2
    x, w = np.polynomial.legendre.leggauss(max(192, 3 * order))
    g = 0.5 * (x + 1.0)
    wg = 0.5 * w
    bary = (-1.0) ** j
    bary[0] *= 0.5
    bary[-1] *= 0.5
    diff = g[:, None] - u[None, :]
    exact = np.isclose(diff, 0.0, atol=1e-15)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = bary[None, :] / diff
        L = terms / terms.sum(axis=1, keepdims=True)
    rows = exact.any(axis=1)
    L[rows] = exact[rows].astype(float)
    sg = np.sin(0.5 * np.pi * g) ** 2
    dsg = 0.5 * np.pi * np.sin(np.pi * g)
    return u, sigma, L, wg, sg, dsg


_WEIGHTS: dict = {}


def _weights(order: int, beta: np.ndarray):
    r"""``(W, dW)``, shape ``(T, order + 1)``: :math:`\int_0^1 \ell_j(u) e^{-\beta\sigma}\sigma'\,du` and its
    :math:`\beta`-derivative, so that :math:`\int_0^1 e^{-\beta\sigma}N\,d\sigma = \sum_j W_j N(\sigma_j)`.

    Memoised (the same temperatures serve every interval of a computation).
    """
    key = (order, beta.tobytes())
    found = _WEIGHTS.get(key)
    if found is None:
        _, _, L, wg, sg, dsg = _rule(order)
        base = np.exp(-beta[:, None] * sg[None, :]) * (wg * dsg)[None, :]
        found = (base @ L, -(base * sg[None, :]) @ L)
        if len(_WEIGHTS) > 64:
            _WEIGHTS.clear()
        _WEIGHTS[key] = found
    return found


def _coarse_weights(order: int, beta: np.ndarray, every: int = 2):
    """The rule on every ``every``-th node, as weights on all nodes (zero on the skipped ones)."""
    W, dW = _weights(order // every, beta)
    Wc = np.zeros((beta.size, order + 1))
    dWc = np.zeros_like(Wc)
    Wc[:, ::every], dWc[:, ::every] = W, dW
    return Wc, dWc


def _rule_error(order: int, beta: np.ndarray, v: np.ndarray):
    r"""Error estimate of an interval's rule on node values ``v``, and of its :math:`\beta`-derivative.

    With :math:`d_1` the difference from the rule on every other node and
    :math:`d_2` that rule's difference from the one on every fourth, the
    estimate is :math:`d_1\min(1, d_1/d_2)`: for the geometric convergence of
    Clenshaw-Curtis rules on analytic functions (the integrand is analytic in
    :math:`u`) the error of the finest rule is at most that, while :math:`d_1`
    alone is the error of the coarser one. Orders below 8 use :math:`d_1`.
    """
    W, dW = _weights(order, beta)
    W2, dW2 = _coarse_weights(order, beta)
    d1, dd1 = np.abs((W - W2) @ v), np.abs((dW - dW2) @ v)
    if order < 8:
        return d1, dd1
    W4, dW4 = _coarse_weights(order, beta, 4)
    d2, dd2 = np.abs((W2 - W4) @ v), np.abs((dW2 - dW4) @ v)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(d2 > 0, np.minimum(1.0, d1 / d2), 1.0)
        df = np.where(dd2 > 0, np.minimum(1.0, dd1 / dd2), 1.0)
    return d1 * f, dd1 * df


def _z(beta):
    r""":math:`Z = \int_0^1 e^{-\beta\sigma}d\sigma` and :math:`dZ/d\beta`."""
    em = np.exp(-beta)
    Z = -np.expm1(-beta) / beta
    return Z, em / beta - Z / beta


# --------------------------------------------------------------------------------------------
# one interval of energy

@dataclass(frozen=True)
class IntervalResult:
    """The nodes of one unit interval of energy and what was computed there.

    ``N`` is the cumulative transmission (frozen, deflected: the transmission)
    at each node, the Richardson value; ``step``, ``channels`` and ``cut``
    its error estimates, computed on the nodes of the rule of half the order
    (zero on the others); ``T0`` the ground state's transmission (or None);
    ``window`` the channels ``(lo, hi)`` and ``counted`` the lowest counted
    level; ``config`` what it was asked for (``sectors, closed, buffer, r_tol``).
    """

    K: int
    order: int
    sigma: np.ndarray
    N: np.ndarray
    step: np.ndarray
    channels: np.ndarray
    cut: np.ndarray
    reflection_top: np.ndarray
    T0: np.ndarray | None
    T0_step: np.ndarray | None
    T0_channels: np.ndarray | None
    window: tuple
    counted: int
    sectors: int
    depth: int
    solves: int
    config: tuple = ()


def _widths(K: int, closed: float, buffer: float):
    """The closed levels above and the buffer below for interval ``K``."""
    r = math.sqrt(K)
    return int(math.ceil(closed[0] + closed[1] * r)), int(math.ceil(buffer[0] + buffer[1] * r))


def solve_interval(model: Model, kind: str, K: int, order: int, sectors: int, closed: tuple, buffer: tuple,
                   depth: int, r_tol: float, previous: IntervalResult | None = None) -> IntervalResult:
    """Solve the nodes of the interval ``[K, K + 1)`` (total energy above the zero point; frozen: the particle's).

    ``kind`` is ``'frozen'`` (one channel) or ``'gate'``. Every node gets the
    main solve; the nodes of the rule of half the order also the two solves of
    the error estimates (sectors twice as wide, a narrower window). With
    ``previous``, the same interval at half the order and the same settings,
    its nodes (every other one of this rule) are reused and only the new ones
    solved. See the module docstring.
    """
    _, sigma, *_ = _rule(order)
    n = sigma.size
    eps = K + sigma
    config = (sectors, closed, buffer, r_tol)
    half_nodes = np.zeros(n, dtype=bool)
    half_nodes[::2] = True
    reuse = (previous is not None and previous.order * 2 == order and previous.config == config
             and previous.K == K)
    if reuse:
        depth = previous.depth
    if kind == "frozen":
        G = np.array([[math.exp(-0.5 * model.s ** 2 / model.lam ** 2)]])
        edges = sc.sector_edges(model, sectors, math.sqrt(2.0 * model.M * (K + 1.0)))
        f = sc.profile(model)

        def transmission(energy, e):
            return sc.solve(f, 2.0 * model.M, model.U0, G, np.zeros(1), energy, e)[0][:, 0]

        N, step = np.zeros(n), np.zeros(n)
        main = (eps > 0.0) & ~(half_nodes if reuse else np.zeros(n, dtype=bool))
        est = (eps > 0.0) & half_nodes & (not reuse)
        if reuse:
            N[::2], step[::2] = previous.N, previous.step
        Th = transmission(eps[main], edges) if main.any() else np.zeros(0)
        T2 = transmission(eps[est], sc.coarsen(edges)) if est.any() else np.zeros(0)
        N[main] = Th
        Th_est = N[est]
        N[est] = Th_est + (Th_est - T2) / 15.0
        step[est] = np.abs(Th_est - T2) / 15.0
        R = np.maximum(1.0 - N, 0.0) * (eps > 0.0)
        zero = np.zeros(n)
        return IntervalResult(K, order, sigma, N, step, zero, zero, R, None, None, None, (0, 1), 0,
                              edges.size - 1, 0, int(main.sum() + est.sum()), config)
    c_closed, c_buffer = _widths(K, closed, buffer)
    small_closed = max(1, c_closed - max(2, c_closed // 4))
    small_buffer = max(0, c_buffer - max(2, c_buffer // 4))
    solves = 0
    while True:
        main = (eps > 0.0) & ~(half_nodes if reuse else np.zeros(n, dtype=bool))
        est = (eps > 0.0) & half_nodes & (not reuse)
        counted = max(0, K - depth)
        lo, hi = max(0, counted - c_buffer), K + c_closed + 1
        lo_s, hi_s = max(0, counted - small_buffer), K + small_closed + 1
        edges = sc.sector_edges(model, sectors, math.sqrt(2.0 * model.M * (K + 1.0 - lo)))
        coarse = sc.coarsen(edges)
        full = sc.scatter(model, eps[main] + 0.5, lo=lo, hi=hi, edges=edges) if main.any() else None
        solves += int(main.sum())
        if counted > 0 and full is not None:
            r_low = np.nanmax(full.reflection[:, counted - lo:counted - lo + 2])
            if r_low > r_tol and depth < K:
                depth = min(K, depth + max(2, depth // 2))
                reuse = False
                continue
        break
    half = sc.scatter(model, eps[est] + 0.5, lo=lo, hi=hi, edges=coarse) if est.any() else None
    small = sc.scatter(model, eps[est] + 0.5, lo=lo_s, hi=hi_s, edges=coarse) if est.any() else None
    solves += 2 * int(est.sum())

    N, step, chan, cut, rtop = (np.zeros(n) for _ in range(5))
    ground = lo == 0 and counted == 0
    T0, T0s, T0c = (np.zeros(n) for _ in range(3)) if ground else (None, None, None)
    if reuse:
        N[::2], step[::2], chan[::2], cut[::2], rtop[::2] = (previous.N, previous.step, previous.channels,
                                                              previous.cut, previous.reflection_top)
        if ground:
            T0[::2], T0s[::2], T0c[::2] = previous.T0, previous.T0_step, previous.T0_channels
    if full is not None:
        N[main] = counted + np.nansum(full.transmission[:, counted - lo:K - lo + 1], axis=1)
        if counted > 0:
            cut[main] = 2.0 * np.nanmax(full.reflection[:, counted - lo:counted - lo + 2], axis=1)
        rtop[main] = np.nan_to_num(full.reflection[:, 0]) if lo == 0 else 0.0
        if ground:
            T0[main] = np.nan_to_num(full.transmission[:, 0])
    if half is not None:
        Nh = N[est]
        N2 = counted + np.nansum(half.transmission[:, counted - lo:K - lo + 1], axis=1)
        Ns = counted + np.nansum(small.transmission[:, counted - lo_s:K - lo_s + 1], axis=1)
        N[est] = Nh + (Nh - N2) / 15.0
        step[est] = np.abs(Nh - N2) / 15.0
        chan[est] = np.abs(N2 - Ns)
        if ground:
            a = T0[est]
            b, c = np.nan_to_num(half.transmission[:, 0]), np.nan_to_num(small.transmission[:, 0])
            T0[est] = a + (a - b) / 15.0
            T0s[est] = np.abs(a - b) / 15.0
            T0c[est] = np.abs(b - c)
    return IntervalResult(K, order, sigma, N, step, chan, cut, rtop, T0, T0s, T0c, (lo, hi), counted,
                          edges.size - 1, depth, solves, config)


# --------------------------------------------------------------------------------------------
# the record

@dataclass(frozen=True)
class QuantumTransmission:
    """Transmission probability and activation energy of an ensemble in the exact quantum model.

    The same fields as :class:`lib.quadrature.Quadrature` (so plots, fits,
    sweeps and the command line treat both alike), with ``method = 'quantum'``.

    Attributes
    ----------
    experiment : str
        ``deflected`` means the gate in its ground state (see the module docstring).
    model : Model
    omega_T, probability, error, activation_energy, activation_error : ndarray
    error_parts : dict
        The error estimate's terms for :attr:`probability`.
    lowest_energy : float
        The lowest energy that transmits: 0 (tunnelling), kept for the plots' sake.
    tolerance : float
    tolerance_met : bool
        Whether the estimate met ``tolerance`` at every temperature with ``P >= p_floor``.
    intervals, top, channels, sectors, solves : int
        Unit intervals of energy computed, the highest one, the most channels and
        sectors of any solve, and the number of energies solved.
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
    tolerance: float
    tolerance_met: bool
    intervals: int
    top: int
    channels: int
    sectors: int
    solves: int
    method: str = "quantum"
    integrator: str = "log-derivative"
    details: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def relative_error(self) -> np.ndarray:
        return self.error / self.probability

    def to_dict(self) -> dict:
        return {
            "experiment": self.experiment, "method": self.method, **self.model.to_dict(),
            "integrator": self.integrator,
            "temperature": self.omega_T.tolist(), "probability": self.probability.tolist(),
            "error": self.error.tolist(), "activation_energy": self.activation_energy.tolist(),
            "activation_error": self.activation_error.tolist(), "lowest_energy": self.lowest_energy,
            "tolerance": self.tolerance, "tolerance_met": bool(self.tolerance_met),
            "intervals": self.intervals, "top": self.top, "channels": self.channels, "sectors": self.sectors,
            "solves": self.solves,
        }


# --------------------------------------------------------------------------------------------
# assembling P and its error from the intervals

def _node_sums(res: IntervalResult, beta, which="N"):
    """``(S, dS)``, shape ``(T,)``: :math:`\\int_0^1 e^{-\\beta\\sigma} v\\,d\\sigma` of the node values ``which``."""
    W, dW = _weights(res.order, beta)
    v = getattr(res, which)
    return W @ v, dW @ v


def _estimate_sums(res: IntervalResult, beta, values):
    """Integral of node-wise error estimates (given on the nodes of the half-order rule) with absolute weights."""
    W, dW = _coarse_weights(res.order, beta)
    return np.abs(W) @ values, np.abs(dW) @ values


def _quadrature_gap(res: IntervalResult, beta, which="N"):
    """The error estimate of the interval's energy rule (:func:`_rule_error`), and of its derivative."""
    return _rule_error(res.order, beta, getattr(res, which))


class _Parts:
    """Accumulates ``P`` (as a sum ``S`` before the prefactor), its derivative and the error terms."""

    NAMES = ("energies", "step", "channels", "cut", "levels", "tail")

    def __init__(self, n):
        self.S = np.zeros(n)
        self.dS = np.zeros(n)
        self.err = {k: np.zeros(n) for k in self.NAMES}
        self.derr = {k: np.zeros(n) for k in self.NAMES}

    def add_error(self, name, e, de):
        self.err[name] += e
        self.derr[name] += de


def _interval_terms(res: IntervalResult, beta, which="N", weight=1.0):
    """An interval's contribution :math:`e^{-\\beta K}\\int e^{-\\beta\\sigma}v` (times ``weight``), its
    derivative, and its error terms, as arrays over temperature."""
    eK = np.exp(-beta * res.K) * weight
    S, dS = _node_sums(res, beta, which)
    val, dval = eK * S, eK * (dS - res.K * S)
    out = {}
    gap, dgap = _quadrature_gap(res, beta, which)
    out["energies"] = (eK * gap, eK * (dgap + res.K * gap))
    if which == "N":
        extras = (("step", res.step), ("channels", res.channels), ("cut", res.cut))
    else:
        extras = (("step", res.T0_step), ("channels", res.T0_channels), ("cut", np.zeros_like(res.sigma)))
    for name, values in extras:
        a, da = _estimate_sums(res, beta, values)
        out[name] = (eK * a, eK * (da + res.K * a))
    return val, dval, out


def _sparse_J(results, beta):
    """:math:`J_K = \\int e^{-\\beta\\sigma} D_K` (and derivative, and its error terms) at the computed intervals."""
    out = []
    for res in results:
        D = (res.K + 1.0) - res.N
        W, dW = _weights(res.order, beta)
        J, dJ = W @ D, dW @ D
        errs = {"energies": _rule_error(res.order, beta, D)}
        for name, values in (("step", res.step), ("channels", res.channels), ("cut", res.cut)):
            errs[name] = _estimate_sums(res, beta, values)
        out.append((J, dJ, errs))
    return out


def _interpolate(Ks, values, targets):
    """Cubic-spline interpolation (not-a-knot) in ``log(K + 1)`` of ``values`` (shape ``(nodes, T)``) at ``targets``.

    Linear with two nodes, constant with one.
    """
    from scipy.interpolate import CubicSpline

    x = np.log(np.asarray(Ks, dtype=float) + 1.0)
    t = np.log(np.asarray(targets, dtype=float) + 1.0)
    if len(Ks) == 1:
        return np.repeat(values[:1], len(targets), axis=0)
    if len(Ks) < 4:
        return np.stack([np.interp(t, x, v) for v in values.T], axis=1)
    return CubicSpline(x, values, axis=0)(t)


LEVELS_SAFETY = 0.5
"""The interpolation over every other computed interval differs from the full one by about (2^p - 1) times
the full one's error, p >= 2 for a cubic spline on smooth data: half that difference is the estimate (some margin)."""


def _power_sums(a: int, beta):
    r""":math:`S_p = \sum_{K \ge a} K^p q^K`, :math:`p = 0, 1, 2`, :math:`q = e^{-\beta}` (closed forms)."""
    q = np.exp(-beta)
    one = -np.expm1(-beta)
    qa = np.exp(-beta * a)
    S0 = qa / one
    S1 = qa * (a - (a - 1) * q) / one ** 2
    S2 = qa * (a * a - (2 * a * a - 2 * a - 1) * q + (a - 1) ** 2 * q * q) / one ** 3
    return S0, S1, S2


def _reciprocal_sum(a: int, beta):
    r""":math:`L_a = \sum_{K \ge a} q^K/(K + 1)` by the backward recursion
    :math:`R(m) = 1/m + qR(m + 1)`, :math:`L_a = q^a R(a + 1)`, started where :math:`q^j < e^{-45}`."""
    q = np.exp(-beta)
    extra = int(math.ceil(45.0 / float(np.min(beta)))) + 1
    r = np.zeros(beta.size)
    for m in range(a + 1 + extra, a, -1):
        r = 1.0 / m + q * r
    return np.exp(-beta * a) * r


def _sum_sparse(Ks, J, dJ, beta, joint):
    r""":math:`\sum_K w_K e^{-\beta K}[(K + 1)Z - J_K]` over every integer ``K`` from ``Ks[0]`` on.

    ``w_K`` is 1 (thermal) or :math:`1/(K + 1)` (``joint``). Between computed
    intervals ``J`` is interpolated; beyond the last it is held at its last
    value and summed in closed form. Returns the sum, its derivative, the part
    of ``J`` beyond ``Ks[-1]`` and its derivative (the tail's error term), and
    ``(allK, eK)`` over the interpolated range for the other error terms.
    """
    Z, dZ = _z(beta)
    allK = np.arange(Ks[0], Ks[-1] + 1)
    Jall = _interpolate(Ks, J, allK)
    dJall = _interpolate(Ks, dJ, allK)
    w = 1.0 / (allK + 1.0) if joint else np.ones(allK.size)
    eK = np.exp(-np.outer(allK, beta)) * w[:, None]
    F = (allK[:, None] + 1.0) * Z[None, :] - Jall
    dF = (allK[:, None] + 1.0) * dZ[None, :] - dJall
    S = np.sum(eK * F, axis=0)
    dS = np.sum(eK * (dF - allK[:, None] * F), axis=0)
    a = Ks[-1] + 1
    Jl, dJl = J[-1], dJ[-1]
    S0, S1, S2 = _power_sums(a, beta)
    if joint:
        L = _reciprocal_sum(a, beta)
        S += Z * S0 - Jl * L
        dS += -Z * S1 + dZ * S0 - dJl * L + Jl * (S0 - L)
        tail, dtail = np.abs(Jl) * L, np.abs(dJl) * L + np.abs(Jl) * (S0 - L)
    else:
        S += Z * (S1 + S0) - Jl * S0
        dS += -Z * (S2 + S1) + Jl * S1 + dZ * (S1 + S0) - dJl * S0
        tail, dtail = np.abs(Jl) * S0, np.abs(dJl) * S0 + np.abs(Jl) * S1
    return S, dS, tail, dtail, (allK, eK)


def _assemble(experiment, dense, sparse, beta, cut_top=None):
    """``P``, ``dP/dbeta`` and the error terms (absolute, with derivatives) from the computed intervals."""
    T = beta.size
    parts = _Parts(T)
    which = "T0" if experiment == "deflected" else "N"
    joint = experiment == "joint"
    for res in dense:
        val, dval, errs = _interval_terms(res, beta, which, 1.0 / (res.K + 1.0) if joint else 1.0)
        parts.S += val
        parts.dS += dval
        for name, (e, de) in errs.items():
            parts.add_error(name, e, de)
    if sparse:
        Ks = [r.K for r in sparse]
        js = _sparse_J(sparse, beta)
        J = np.array([j[0] for j in js])
        dJ = np.array([j[1] for j in js])
        S, dS, tail, dtail, (allK, eK) = _sum_sparse(Ks, J, dJ, beta, joint)
        parts.S += S
        parts.dS += dS
        parts.add_error("tail", tail, dtail)
        # error terms of the computed intervals, spread over the ones between them (interpolated likewise)
        for name in ("energies", "step", "channels", "cut"):
            E = np.array([j[2][name][0] for j in js])
            dE = np.array([j[2][name][1] for j in js])
            Ei = np.abs(_interpolate(Ks, E, allK))
            dEi = np.abs(_interpolate(Ks, dE, allK))
            parts.add_error(name, np.sum(eK * Ei, axis=0), np.sum(eK * (dEi + allK[:, None] * Ei), axis=0))
        # levels: interpolate over every other computed interval (keeping both ends)
        if len(Ks) >= 3:
            keep = np.zeros(len(Ks), dtype=bool)
            keep[::2] = True
            keep[-1] = True
            S2, dS2, *_ = _sum_sparse([k for k, kk in zip(Ks, keep) if kk], J[keep], dJ[keep], beta, joint)
            parts.add_error("levels", LEVELS_SAFETY * np.abs(S - S2), LEVELS_SAFETY * np.abs(dS - dS2))
    if cut_top is not None:  # frozen, deflected: above the last interval everything is taken as transmitted
        k_top, r_top = cut_top
        e = np.exp(-beta * k_top)
        parts.S += e / beta
        parts.dS += -e / beta ** 2 - k_top * e / beta
        parts.add_error("tail", r_top * e / beta, r_top * (e / beta ** 2 + k_top * e / beta))
    # prefactors
    if experiment == "thermal":
        c = -np.expm1(-beta) * beta
        dc = np.exp(-beta) * beta - np.expm1(-beta)
    else:
        c = beta
        dc = np.ones_like(beta)
    P = c * parts.S
    dP = dc * parts.S + c * parts.dS
    err = {k: c * v for k, v in parts.err.items()}
    derr = {k: np.abs(dc) * parts.err[k] + c * parts.derr[k] for k in parts.NAMES}
    return P, dP, err, derr


# --------------------------------------------------------------------------------------------
# the driver

def check_quantum_experiment(experiment: str) -> str:
    name = check_experiment(experiment)
    if name == "classical":
        raise ValueError("the classical experiment (a gate of continuous energy, no zero-point motion) has no "
                         "quantum counterpart; use thermal for the quantum gate")
    return name


def _dense_count(model: Model) -> int:
    return int(math.ceil(model.U0)) + DENSE_MARGIN


def _top_interval(model, omega_max, tolerance):
    """Highest interval of total energy computed (thermal, joint) at the start: beyond it a reflection sum
    of order one, held constant, weighs about ``tolerance / 20`` at ``omega_max`` (refined if it dominates)."""
    return _dense_count(model) + int(math.ceil(omega_max * math.log(max(math.e, 20.0 / (omega_max * tolerance)))))


def quantum_transmission(experiment: str, model: Model, omega_T, *, tolerance: float = DEFAULT_TOLERANCE,
                         p_floor: float = 0.0, n_jobs=None, progress=None, use_cache: bool = True
                         ) -> QuantumTransmission:
    """:math:`\\mathcal{P}(\\omega_T)` and :math:`E_a(\\omega_T)` of ``experiment`` in the exact quantum model.

    Parameters
    ----------
    experiment : {'frozen', 'deflected', 'thermal', 'joint'}
        ``deflected`` is the gate in its ground state; ``classical`` is refused.
    model : Model
    omega_T : float or sequence of float
        Temperatures in [0.01, 1e6] (levels up to about ``omega_T ln(20/tolerance)`` are needed).
    tolerance : float
        Relative accuracy of ``P`` aimed at, at every temperature with ``P >= p_floor``.
    n_jobs : int, optional
        Worker processes (:func:`lib.inputs.check_jobs`); the result does not depend on it.
    use_cache : bool
        Read and store the result in the on-disk cache (:mod:`lib.cache`).
    """
    experiment = check_quantum_experiment(experiment)
    check_model(model)
    omega_T = check_temperatures(omega_T)
    tolerance = check_tolerance(tolerance, "quantum")
    p_floor = check_finite("p_floor", p_floor, nonnegative=True)
    if experiment in ("thermal", "joint"):
        top = _top_interval(model, float(omega_T.max()), tolerance)
        if top > sc.MAX_CHANNELS - 200:
            raise ValueError(f"temperature {omega_T.max():g} is too high for method='quantum' at tolerance "
                             f"{tolerance:g}: it needs gate levels up to {top}, more than {sc.MAX_CHANNELS - 200}")
    n_jobs = check_jobs(n_jobs)
    func = cache.cached(_compute, ignore=("n_jobs", "progress")) if use_cache else _compute
    result = func(experiment, model, omega_T, tolerance, p_floor, QUANTUM_VERSION, n_jobs=n_jobs, progress=progress)
    if not result.tolerance_met:
        warn_tolerance("quantum", tolerance, result.probability, result.error, result.omega_T,
                       "the refinement reached its limits on rounds, energy order and sectors", p_floor=p_floor)
    return result


@dataclass
class _Plan:
    """Configuration of every interval, refined round by round (defaults for intervals not listed)."""

    order: dict = field(default_factory=dict)
    sectors: dict = field(default_factory=dict)
    closed: dict = field(default_factory=dict)
    buffer: dict = field(default_factory=dict)
    r_tol: dict = field(default_factory=dict)
    depth: dict = field(default_factory=dict)


def _initial_intervals(experiment, model, omega_T, tolerance):
    """``(dense, sparse)`` lists of intervals to compute first."""
    if experiment in ("thermal", "joint"):
        top = _top_interval(model, float(omega_T.max()), tolerance)
        dense = _dense_count(model)
        if top < dense:
            return list(range(top + 1)), []
        sparse = [dense - 1]
        k = float(sparse[0])
        while sparse[-1] < top:
            k = max(k * SPARSE_RATIO, sparse[-1] + 1.0)
            sparse.append(min(int(round(k)), top))
        return list(range(dense - 1)), sparse
    barrier = model.U0 if experiment == "deflected" else model.U0 * math.exp(-0.5 * model.s ** 2 / model.lam ** 2)
    return list(range(int(math.ceil(barrier)) + 3)), []


def _compute(experiment, model, omega_T, tolerance, p_floor, version, *, n_jobs=1, progress=None):
    """:func:`quantum_transmission` on validated arguments (cached whole)."""
    beta = 1.0 / omega_T
    kind = "frozen" if experiment == "frozen" else "gate"
    banded = experiment in ("thermal", "joint")
    dense_K, sparse_K = _initial_intervals(experiment, model, omega_T, tolerance)
    r_tol0 = max(tolerance / 20.0, 1e-12)
    plan = _Plan()

    def config(K):
        return (plan.order.get(K, ORDER if K < 2 else 2 * ORDER), plan.sectors.get(K, START_SECTORS),
                plan.closed.get(K, CLOSED), plan.buffer.get(K, BUFFER), plan.r_tol.get(K, r_tol0))

    def depth(K):
        return K if experiment == "deflected" else plan.depth.get(K, DEPTH)

    done: dict = {}
    latest: dict = {}  # the last result of each interval, reused when only its order doubles
    met = False
    solves = 0
    for _round in range(MAX_ROUNDS):
        wanted = sorted(set(dense_K) | set(sparse_K))
        missing = [K for K in wanted if (K, *config(K)) not in done]
        tasks = [(model, kind, K, *config(K)[:4], depth(K), config(K)[4], latest.get(K)) for K in missing]
        # the costliest (highest) intervals first, so that the workers finish together
        for j, res in parallel.run(solve_interval, tasks[::-1], n_jobs=n_jobs, ordered=False):
            K = missing[::-1][j]
            done[(K, *config(K))] = res
            latest[K] = res
            plan.depth[K] = res.depth
            solves += res.solves
        current = {K: done[(K, *config(K))] for K in wanted}
        dense = [current[K] for K in dense_K]
        sparse = [current[K] for K in sparse_K]
        cut_top = None
        if not banded:
            last = dense[-1]
            r_end = last.reflection_top[-1] if kind == "gate" else max(1.0 - last.N[-1], 0.0)
            cut_top = (last.K + 1, 2.0 * float(r_end))
        P, dP, err, derr = _assemble(experiment, dense, sparse, beta, cut_top)
        total = sum(err.values())
        keep = P >= p_floor
        rel = np.where(keep & (P > 0), total / np.where(P > 0, P, 1.0), 0.0)
        worst = int(np.argmax(rel))
        if rel[worst] <= tolerance:
            met = True
            break
        # refine every part that takes more than a sixth of the tolerance at the worst temperature
        names = [k for k in err if err[k][worst] > P[worst] * tolerance / 6.0] or [max(err, key=lambda k: err[k][worst])]
        changed = False
        for name in names:
            if name == "tail":
                if banded:
                    sparse_K.append(int(math.ceil(sparse_K[-1] * SPARSE_RATIO)) + 1)
                else:
                    n = dense_K[-1] + 1
                    dense_K.extend(range(n, n + 2))
                changed = True
            else:
                changed |= _refine(name, plan, experiment, beta, worst, dense, sparse, sparse_K, config)
        if not changed:
            break
    Ea = -dP / P
    total = sum(err.values())
    dtotal = sum(derr.values())
    with np.errstate(divide="ignore", invalid="ignore"):
        ea_err = (dtotal + np.abs(Ea) * total) / P
    every = list(current.values())
    return QuantumTransmission(
        experiment, model, omega_T, P, total, Ea, ea_err, err, 0.0, float(tolerance), bool(met),
        len(every), int(max(r.K for r in every)), int(max(r.window[1] - r.window[0] for r in every)),
        int(max(r.sectors for r in every)), int(solves),
        details={"intervals": current, "dense": list(dense_K), "sparse": list(sparse_K)})


def _refine(name, plan, experiment, beta, worst, dense, sparse, sparse_K, config) -> bool:
    """Refine the part ``name`` of the estimate for the intervals that carry most of it; False if nothing can."""
    which = "T0" if experiment == "deflected" else "N"
    if name == "levels":
        # how well each interior computed interval is predicted by the others, weighted as in P at the worst
        # temperature; refine the gaps beside the worst predicted ones (those carrying 80% of the misfit)
        b = beta[worst:worst + 1]
        Ks = np.array([r.K for r in sparse])
        J = np.array([_sparse_J([r], b)[0][0][0] for r in sparse])
        misfit = np.zeros(Ks.size)
        for i in range(1, Ks.size - 1):
            others = np.delete(np.arange(Ks.size), i)
            guess = _interpolate(list(Ks[others]), J[others][:, None], [Ks[i]])[0, 0]
            misfit[i] = abs(J[i] - guess) * math.exp(-float(b[0]) * Ks[i])
        if not misfit.sum() > 0.0:
            return False
        order = np.argsort(misfit)[::-1]
        share = np.cumsum(misfit[order]) / misfit.sum()
        chosen = order[: int(np.searchsorted(share, 0.8)) + 1]
        gaps = {g for i in chosen for g in (i - 1, i) if 0 <= g < Ks.size - 1}
        new = sorted(set(sparse_K) | {(int(Ks[g]) + int(Ks[g + 1])) // 2 for g in gaps if Ks[g + 1] - Ks[g] > 1})
        if len(new) == len(sparse_K):
            return False
        sparse_K[:] = new
        return True
    everything = dense + sparse
    b = beta[worst:worst + 1]
    shares = np.array([float(_interval_terms(res, b, which)[2][name][0][0]) for res in everything])
    if not shares.sum() > 0.0:
        return False
    order = np.argsort(shares)[::-1]
    rest = shares.sum() - np.cumsum(shares[order])
    pick = order[: int(np.searchsorted(-rest, -0.2 * shares.sum())) + 1]
    changed = False
    for i in pick:
        K = everything[i].K
        o, s, c, bf, r = config(K)
        if name == "energies" and o < MAX_ORDER:
            plan.order[K] = 2 * o
        elif name == "step" and s < sc.MAX_SECTORS // 2:
            plan.sectors[K] = 2 * s
        elif name == "channels":
            plan.closed[K] = (c[0] + 4.0, c[1] * 1.5)
            plan.buffer[K] = (bf[0] + 4.0, bf[1] * 1.5)
        elif name == "cut" and r > 1e-14:
            plan.r_tol[K] = r / 10.0
        else:
            continue
        changed = True
    return changed


def _scan(model: Model, eps: np.ndarray, closed: int, sectors: int):
    """The ground state's transmission, the cumulative transmission and the ground state's state-to-state
    transmission at total energies ``eps`` above the zero point; solved interval by interval (one window each)."""
    T0 = np.zeros(eps.size)
    N = np.zeros(eps.size)
    gain = np.full(eps.size, np.nan)
    for k in np.unique(np.floor(eps).astype(int)):
        sel = np.nonzero(np.floor(eps).astype(int) == k)[0]
        ok = sel[eps[sel] > 0.0]
        if ok.size == 0:
            continue
        r = sc.scatter(model, eps[ok] + 0.5, lo=0, hi=k + 1 + closed, sectors=sectors)
        T0[ok] = np.nan_to_num(r.transmission[:, 0])
        N[ok] = np.nansum(r.transmission, axis=1)
        for j, e in enumerate(ok):
            p = np.abs(r.t[j][:, 0]) ** 2  # from level 0 to each open level, transmitted
            if p.sum() > 0.0:
                gain[e] = float(np.sum(r.levels[r.open[j]] * p) / p.sum())
    return T0, N, gain


def threshold_scan(model: Model, eps, *, closed: int = 12, sectors: int = 128) -> dict:
    r"""The quantum gate's thresholds on a grid of energies above its ground state.

    Returns ``{"energy", "T0", "N", "gain"}``: the ground-state gate's transmission
    :math:`T_0(E)` (``energy`` is then the particle's energy), the cumulative
    transmission :math:`N(\varepsilon)` of all open levels (``energy`` the total
    energy above the zero point), and ``gain``, the mean number of quanta a
    particle transmitted from the ground state leaves in the gate,
    :math:`\sum_m m|t_{m0}|^2/T_0` (the quantum counterpart of the deflection).
    Cached (:mod:`lib.cache`).
    """
    eps = np.asarray(eps, dtype=float)
    closed = check_integer("closed", closed, minimum=1, maximum=MAX_CLOSED)
    sectors = check_integer("sectors", sectors, minimum=2, maximum=sc.MAX_SECTORS)
    T0, N, gain = cache.cached(_cached_scan)(model, eps, closed, sectors, QUANTUM_VERSION)
    return {"energy": eps, "T0": T0, "N": N, "gain": gain}


def _cached_scan(model, eps, closed, sectors, version):
    return _scan(model, eps, closed, sectors)


def _first_crossing(model: Model, which: str, closed: int, sectors: int, tolerance: float, step: float) -> float:
    """Lowest energy where ``which`` (``'T0'`` or ``'N'``) reaches 1/2: a batched scan, then Brent's method."""
    from scipy.optimize import brentq

    top = 2.0 * model.U0 + 10.0
    for start in np.arange(0.0, top, 4.0):
        eps = np.arange(start, start + 4.0 + 0.5 * step, step)
        T0, N, _ = _scan(model, eps, closed, sectors)
        values = T0 if which == "T0" else N
        above = np.nonzero(values >= 0.5)[0]
        if above.size:
            i = int(above[0])

            def f(e):
                t0, n, _ = _scan(model, np.array([e]), closed, sectors)
                return (t0 if which == "T0" else n)[0] - 0.5

            return brentq(f, eps[i - 1], eps[i], xtol=tolerance, rtol=1e-14)
    raise ValueError(f"the transmission does not reach 1/2 below {top:g}")


def ground_state_threshold(model: Model, *, closed: int = 16, sectors: int = 192, tolerance: float = 1e-9,
                           step: float = 0.05) -> dict:
    r"""The quantum threshold of the gate in its ground state: the lowest particle energy with :math:`T_0 = 1/2`.

    :math:`T_0(E)` is not monotonic (it has a cusp wherever a level opens), so the
    first crossing is found by a scan (``step``) and Brent's method. Solves keep
    the open levels and ``closed`` closed ones with ``sectors`` sectors; ``error``
    is the change with half of each. Also returns ``width``: :math:`2\pi` over
    the slope of :math:`\ln(T_0/(1 - T_0))` there (:math:`\omega_b` for a
    parabolic barrier, whose transmission is :math:`1/(1 + e^{-2\pi(E - V)/\omega_b})`).
    """
    closed = check_integer("closed", closed, minimum=1, maximum=MAX_CLOSED)
    sectors = check_integer("sectors", sectors, minimum=4, maximum=sc.MAX_SECTORS)
    e_half = _first_crossing(model, "T0", closed, sectors, tolerance, step)
    rough = _first_crossing(model, "T0", max(1, closed // 2), sectors // 2, tolerance, step)
    d = 1e-4
    tp, tm = _scan(model, np.array([e_half + d, e_half - d]), closed, sectors)[0]
    slope = (math.log(tp / (1.0 - tp)) - math.log(tm / (1.0 - tm))) / (2.0 * d)
    return {"energy": e_half, "error": abs(e_half - rough), "width": 2.0 * math.pi / slope}


def cumulative_threshold(model: Model, *, closed: int = 16, sectors: int = 192, tolerance: float = 1e-9,
                         step: float = 0.05) -> dict:
    r"""The total energy (above the gate's zero point) where the cumulative transmission :math:`N` first reaches 1/2.

    :math:`N(\varepsilon) = \sum_n T_n(\varepsilon - n)` governs the thermal
    ensemble (module docstring); its steps sit at the transition state's
    levels. Same method and ``error`` as :func:`ground_state_threshold`.
    """
    closed = check_integer("closed", closed, minimum=1, maximum=MAX_CLOSED)
    sectors = check_integer("sectors", sectors, minimum=4, maximum=sc.MAX_SECTORS)
    e_half = _first_crossing(model, "N", closed, sectors, tolerance, step)
    rough = _first_crossing(model, "N", max(1, closed // 2), sectors // 2, tolerance, step)
    return {"energy": e_half, "error": abs(e_half - rough)}


def _panel(experiment, s, M, omega_T, tolerance, p_floor, version):
    """One panel of :func:`quantum_panels`, computed in this process."""
    return quantum_transmission(experiment, Model(M=M, s=s), omega_T, tolerance=tolerance, p_floor=p_floor,
                                n_jobs=1, use_cache=False)


def quantum_panels(panels, *, tolerance: float = DEFAULT_TOLERANCE, p_floor: float = 0.0, n_jobs=None,
                   use_cache: bool = True) -> dict:
    """:func:`quantum_transmission` for each ``(experiment, s, M, omega_T)`` in ``panels``, side by side.

    Keyed by ``(experiment, s, M)``; each panel runs in one worker and is one cache entry.
    """
    tolerance = check_tolerance(tolerance, "quantum")
    keys, tasks = [], []
    for e, s, M, omega_T in panels:
        keys.append((check_quantum_experiment(e), float(s), float(M)))
        tasks.append((*keys[-1], check_temperatures(omega_T), tolerance, float(p_floor), QUANTUM_VERSION))
    if len(set(keys)) != len(keys):
        raise ValueError("each (experiment, s, M) panel may appear once")
    order = sorted(range(len(tasks)), key=lambda k: -keys[k][2])  # heavy particles cost most: first
    results = parallel.cached_run(_panel, [tasks[k] for k in order], n_jobs=check_jobs(n_jobs),
                                  use_cache=use_cache)
    return {keys[k]: results[j] for j, k in enumerate(order)}


def thresholds(model: Model, *, use_cache: bool = True) -> dict:
    """:func:`ground_state_threshold` and :func:`cumulative_threshold` (``"ground"``, ``"cumulative"``), cached."""
    func = cache.cached(_thresholds) if use_cache else _thresholds
    return func(model, QUANTUM_VERSION)


def _thresholds(model, version):
    return {"ground": ground_state_threshold(model), "cumulative": cumulative_threshold(model)}


# --------------------------------------------------------------------------------------------
# the classical counterparts of the state-to-state transmission

def classical_gate_gain(model: Model, particle_energy, *, level=None, phases: int = 32) -> dict:
    """Mean energy a transmitted particle leaves in a classical gate, by the classical engine (:mod:`lib.integrate`).

    ``level=None``: the gate starts at rest at ``y = 0`` (the ``deflected``
    experiment); ``level=n``: the paper's quasi-classical gate with energy
    ``n + 1/2`` at ``phases`` evenly spaced phases. Each trajectory runs until the
    particle is past the interaction (:math:`|x| > 4\\lambda`, beyond which
    :math:`U < e^{-8}U_0`). Returns ``{"energy", "gain", "transmitted"}``: per
    particle energy, the mean of the gate's energy change over the transmitted
    trajectories (NaN if none) and the transmitted fraction. Cached.
    """
    energies = np.atleast_1d(np.asarray(particle_energy, dtype=float))
    for value in energies:
        check_finite("particle energy", value, positive=True, high=1e4)
    if level is not None:
        level = check_integer("level", level, minimum=0, maximum=10_000)
    phases = check_integer("phases", phases, minimum=1, maximum=4096)
    gain, frac = cache.cached(_classical_gain)(model, energies, level, phases, cache.ENGINE_VERSION)
    return {"energy": energies, "gain": gain, "transmitted": frac}


def _classical_gain(model, energies, level, phases, engine_version):
    far = 4.0 * model.lam
    psi = 2.0 * math.pi * np.arange(phases) / phases if level is not None else np.zeros(1)
    y0, vy0 = (oscillator_state(level_amplitude(level), psi) if level is not None
               else (np.zeros(1), np.zeros(1)))
    e0 = model.oscillator_energy(y0, vy0)
    gain = np.full(energies.size, np.nan)
    frac = np.zeros(energies.size)
    for i, E in enumerate(energies):
        states = initial_states(np.full(psi.size, E), y0, vy0, model)
        v = float(model.speed(E))
        gains = []
        for k in range(psi.size):
            t_end = (abs(model.x0) + far) / v + 2.0
            while True:
                tr = trajectory(model, states[k], t_end=t_end)
                x, vx, y, vy = tr.states[-1]
                if abs(x) > far and x * vx > 0:
                    break
                t_end *= 2.0
            if x > 0:
                gains.append(float(model.oscillator_energy(y, vy) - e0[k]))
        frac[i] = len(gains) / psi.size
        if gains:
            gain[i] = float(np.mean(gains))
    return gain, frac
