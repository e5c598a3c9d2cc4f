r"""Exact quantum transmission of the model: coupled-channel scattering of particle and gate.

The model of :mod:`lib.model` is fully defined quantum mechanically. In the
paper's units (energies in :math:`\hbar\Omega`, lengths in :math:`l_\mathrm{osc}`,
:math:`\hbar = 1`, gate mass 1) its Hamiltonian is

.. math::

    H = -\frac{1}{2M}\partial_x^2 + \Big[-\tfrac12\partial_y^2 + \tfrac12 y^2\Big] + U(x, y),
    \qquad U = U_0\, f(x)\, g(y),

with :math:`f(x) = e^{-x^2/2\lambda^2}` and :math:`g(y) = e^{-(y - s)^2/2\lambda^2}`.
(The classical engine's Lagrangian :math:`M\dot x^2/8\pi^2 + \dots` is the
same system with time in gate periods; ``tests/test_quantum.py`` checks the
correspondence: the same particle energy, the same mass, levels
:math:`n + \tfrac12`.)

Channels
    Expanding :math:`\psi = \sum_n \phi_n(y)\,u_n(x)` in the gate's levels
    :math:`\phi_n` (energy :math:`n + \tfrac12`) gives
    :math:`u'' = W(x)\,u` with
    :math:`W = 2M[\operatorname{diag}(n + \tfrac12) - E + U_0 f(x)\, G]`,
    :math:`G_{nm} = \langle n|g|m\rangle`. The coupling is separable, so
    :math:`G` is computed once, by Gauss-Hermite quadrature with :math:`g`
    absorbed into the weight: :math:`\phi_n\phi_m g` is a polynomial of
    degree :math:`n + m` times a Gaussian, so a rule of :math:`K > (n + m)/2`
    nodes is exact up to rounding (:func:`coupling_block`). Because
    :math:`g \ge 0`, :math:`G` is positive semi-definite.

No closed-channel resonances
    With :math:`G` positive semi-definite the interaction is a non-negative
    operator, so the Hamiltonian restricted to the closed channels is at
    least their lowest threshold, which lies above :math:`E`: it has no
    bound state there, and the transmission has no Feshbach resonances.
    Between two thresholds it is analytic in :math:`E`; at a threshold it
    has a square-root cusp. (Every adiabatic potential is a single barrier
    as well: by Hellmann-Feynman it grows with :math:`f(x)`.)

Propagator
    Manolopoulos' improved log-derivative method
    :cite:`manolopoulos1986improved` (Johnson's method
    :cite:`johnson1973multichannel` with a diagonal reference potential
    per sector, exact for it), stable for any number of closed channels.
    It is fourth order in the sector width. The potential is even in
    :math:`x`: the global propagator of :math:`[0, X]` is accumulated sector
    by sector and mirrored onto :math:`[-X, 0]`. The transmission amplitude
    is read from the propagator's off-diagonal blocks, so deep tunnelling
    keeps its relative accuracy (no difference of nearly equal phases).
    Sectors are graded: narrow where :math:`f` varies, wide in the tail;
    :math:`X` is where :math:`2MU_0\lambda^2 f(X)` drops below
    :data:`REACH_TAIL`.

Every result is flux-normalised: ``t[m, n]`` is the amplitude to leave
in level ``m`` moving right after arriving in level ``n`` from the left,
``r[m, n]`` to leave moving left, and
:math:`\sum_m |t_{mn}|^2 + |r_{mn}|^2 = 1`. The S matrix
:math:`\begin{pmatrix} r & t \\ t & r\end{pmatrix}` is symmetric and unitary
(``tests/test_quantum.py``).
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import math
import os
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .inputs import MAX_CHANNELS, MAX_SECTORS, check_energies, check_integer
from .model import Model

REACH_TAIL = 1e-13
r"""The propagation stops where :math:`2MU_0\lambda^2 f(X)` is below this (its effect on any result is smaller)."""

GRADING_FLOOR = 1e-6
r"""Sector density :math:`[f(x)(1 + x^2/\lambda^2)^2 + \text{floor}]^{1/4}`: the floor keeps tail sectors finite."""

MAX_PHASE = 2.5
"""Largest ``k h`` of an open channel in a half-sector (the reference propagator's cot has poles at ``k h = pi``)."""

DEFAULT_SECTORS = 96
"""Sectors over ``[0, X]`` unless given (about 1e-6 relative in T at M = 1; tests/test_quantum.py)."""



# --------------------------------------------------------------------------------------------
# the gate's levels and the coupling matrix

def hermite_functions(n_max: int, y) -> np.ndarray:
    r"""Normalised Hermite functions :math:`\phi_n(y)`, ``n = 0..n_max``, shape ``(n_max + 1, len(y))``.

    Three-term recurrence carried with a separate logarithmic scale per
    point, so that neither :math:`e^{-y^2/2}` nor the polynomials under- or
    overflow at large ``n`` and ``|y|``.
    """
    y = np.atleast_1d(np.asarray(y, dtype=float))
    out = np.empty((n_max + 1, y.size))
    scale = np.zeros(y.size)
    prev, cur = np.zeros(y.size), np.ones(y.size)
    scales = np.empty((n_max + 1, y.size))
    scales[0] = 0.0
    out[0] = cur
    big = 1e150
    for n in range(n_max):
        nxt = math.sqrt(2.0 / (n + 1)) * y * cur - math.sqrt(n / (n + 1.0)) * prev
        prev, cur = cur, nxt
        over = np.abs(cur) > big
        if over.any():
            cur[over] /= big
            prev[over] /= big
            scale[over] += math.log(big)
        out[n + 1] = cur
        scales[n + 1] = scale
    return out * np.exp(scales - 0.5 * y * y - 0.25 * math.log(math.pi))


@functools.lru_cache(maxsize=8)
def _gauss_hermite(K: int):
    r"""Nodes :math:`z_k` and scaled weights :math:`w_k e^{z_k^2} = 1/(K\phi_{K-1}(z_k)^2)` of the K-point rule."""
    from scipy.linalg import eigh_tridiagonal

    z = eigh_tridiagonal(np.zeros(K), np.sqrt(np.arange(1, K) / 2.0), eigvals_only=True)
    phi = hermite_functions(K - 1, z)[K - 1]
    return z, 1.0 / (K * phi * phi)


@functools.lru_cache(maxsize=4)
def _levels_at_nodes(s: float, lam: float, K: int):
    r"""Hermite functions at the nodes of the rule that absorbs :math:`g` into its weight, and the weights.

    :math:`e^{-y^2} g(y) = C e^{-a(y - c)^2}` with :math:`a = 1 + 1/2\lambda^2`,
    :math:`c = s/(2\lambda^2 a)`, :math:`C = e^{-s^2/2\lambda^2 + ac^2}`; with
    :math:`y_k = c + z_k/\sqrt a`, :math:`\langle n|g|m\rangle = \sum_k W_k
    \phi_n(y_k)\phi_m(y_k)`, :math:`W_k = (C/\sqrt a)\, w_k e^{y_k^2}`.
    """
    a = 1.0 + 1.0 / (2.0 * lam * lam)
    c = s / (2.0 * lam * lam * a)
    z, wz = _gauss_hermite(K)
    y = c + z / math.sqrt(a)
    logw = -s * s / (2.0 * lam * lam) + a * c * c - 0.5 * math.log(a) + np.log(wz) + (y * y - z * z)
    phi = hermite_functions(K - 1, y)
    return phi, np.exp(logw)


def _rule_size(hi: int) -> int:
    """Nodes for levels below ``hi``: exact for degree ``2 hi - 2``; rounded up so that windows share a rule."""
    return max(64, 1 << int(math.ceil(math.log2(hi + 1))))


def coupling_block(model: Model, lo: int, hi: int) -> np.ndarray:
    r""":math:`G_{nm} = \langle n|e^{-(y - s)^2/2\lambda^2}|m\rangle` for ``lo <= n, m < hi``; exact up to rounding."""
    lo = check_integer("lowest channel", lo, minimum=0)
    hi = check_integer("channels", hi, minimum=lo + 1, maximum=MAX_CHANNELS)
    phi, w = _levels_at_nodes(float(model.s), float(model.lam), _rule_size(hi))
    block = phi[lo:hi]
    with one_blas_thread():
        G = (block * w) @ block.T
    return 0.5 * (G + G.T)


def coupling_matrix(model: Model, size: int) -> np.ndarray:
    """The coupling matrix of the lowest ``size`` levels (:func:`coupling_block` from 0)."""
    return coupling_block(model, 0, size)


# --------------------------------------------------------------------------------------------
# sectors

def reach(model: Model) -> float:
    r"""Propagation range :math:`X`: beyond it :math:`2MU_0\lambda^2 f(x) <` :data:`REACH_TAIL`."""
    strength = max(2.0 * model.M * model.U0 * model.lam ** 2, REACH_TAIL * math.e)
    return model.lam * math.sqrt(2.0 * math.log(strength / REACH_TAIL))


def profile(model: Model):
    r"""The interaction's profile along the particle's path, :math:`f(x) = e^{-x^2/2\lambda^2}` (vectorised)."""
    il2 = 1.0 / model.lam ** 2
    return lambda x: np.exp(-0.5 * np.asarray(x, dtype=float) ** 2 * il2)


def graded_edges(f, length: float, X: float, n_sectors: int, k_max: float = 0.0) -> np.ndarray:
    r"""Edges of ``n_sectors`` graded sectors over :math:`[0, X]` for the even profile ``f``.

    The density of sectors is :math:`[|f(x)|(1 + x^2/L^2)^2 + \text{floor}]^{1/4}`
    with ``L = length`` (the local error of a sector grows like its width to
    the fifth power times the derivatives of the potential, which scale like
    :math:`f` over powers of :math:`L`); no sector is wider than
    ``2 MAX_PHASE / k_max``.
    """
    n_sectors = check_integer("sectors", n_sectors, minimum=2, maximum=MAX_SECTORS)
    xs = np.linspace(0.0, X, 4001)
    u = xs / length
    density = (np.abs(f(xs)) * (1.0 + u * u) ** 2 + GRADING_FLOOR) ** 0.25
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(xs))])
    edges = np.interp(np.linspace(0.0, cum[-1], n_sectors + 1), cum, xs)
    if k_max > 0.0:
        widest = 2.0 * MAX_PHASE / k_max
        pieces = np.maximum(1, np.ceil(np.diff(edges) / widest).astype(int))
        if pieces.max() > 1:
            edges = np.concatenate([np.linspace(a, b, p + 1)[:-1] for a, b, p in zip(edges[:-1], edges[1:], pieces)]
                                   + [[X]])
    return edges


def sector_edges(model: Model, n_sectors: int = DEFAULT_SECTORS, k_max: float = 0.0) -> np.ndarray:
    """:func:`graded_edges` for the model's Gaussian over ``[0, reach(model)]``."""
    return graded_edges(profile(model), model.lam, reach(model), n_sectors, k_max)


def coarsen(edges: np.ndarray) -> np.ndarray:
    """Every other edge (the sectors twice as wide), keeping both ends."""
    coarse = edges[::2]
    return coarse if coarse[-1] == edges[-1] else np.append(coarse, edges[-1])


# --------------------------------------------------------------------------------------------
# the propagator

@dataclass(frozen=True)
class _Sectors:
    """Energy-independent terms of every sector (see :func:`_sector_terms`)."""

    p_level: np.ndarray   # 2M times each channel's threshold (n + 1/2)
    p_coupling: np.ndarray  # 2M U0 G_nn
    fc: np.ndarray        # f at the midpoints
    h: np.ndarray         # half widths
    ut: np.ndarray        # modified off-diagonal residual at the midpoints
    ua: np.ndarray        # residual at the left ends
    ub: np.ndarray        # residual at the right ends
    reach: float


def _sector_terms(f, two_m: float, u0: float, G: np.ndarray, thresholds: np.ndarray, edges: np.ndarray
                  ) -> _Sectors:
    r"""Everything of the propagation that does not depend on the energy.

    For :math:`W = 2M[\operatorname{diag}(\text{thresholds}) - E + u_0 f(x) G]`:
    the reference potential of a sector is the diagonal of :math:`W` at its
    midpoint :math:`c`, so the residual there is the off-diagonal coupling
    :math:`U_c = 2Mu_0 f(c) G_\mathrm{off}`, with Johnson's modification
    :math:`\tilde U_c = (6/h^2)[(1 - h^2U_c/6)^{-1} - 1]`; at the ends
    :math:`U = 2Mu_0[f(x)G - f(c)\operatorname{diag}G]`. The energy cancels
    from all three.
    """
    a, b = edges[:-1], edges[1:]
    h = 0.5 * (b - a)
    c = a + h
    scale = two_m * u0
    diag = np.diag(G).copy()
    off = G - np.diag(diag)
    n = G.shape[0]
    eye = np.eye(n)
    fa, fb, fc = f(a), f(b), f(c)
    uc = scale * fc[:, None, None] * off[None]
    ut = 6.0 / (h * h)[:, None, None] * (np.linalg.inv(eye - (h * h / 6.0)[:, None, None] * uc) - eye)
    ua = scale * (fa[:, None, None] * G[None] - fc[:, None, None] * np.diag(diag)[None])
    ub = scale * (fb[:, None, None] * G[None] - fc[:, None, None] * np.diag(diag)[None])
    return _Sectors(two_m * np.asarray(thresholds, dtype=float), scale * diag, fc, h,
                    np.ascontiguousarray(ut), np.ascontiguousarray(ua), np.ascontiguousarray(ub), float(edges[-1]))


@njit(cache=True, error_model="numpy")
def _propagate(p_level, p_coupling, fc, h, ut, ua, ub, two_m_e, out):
    """Global log-derivative propagator of ``[0, X]`` at each energy: ``out[e] = (Y1, Y2, Y4)``.

    Compiled. ``psi'(0) = -Y1 psi(0) + Y2 psi(X)``, ``psi'(X) = -Y2^T psi(0) + Y4 psi(X)``.
    Each sector (half width ``h``, midpoint reference ``p``) is built from its two
    half-sector reference propagators with Simpson's weights ``h/3, 4h/3, h/3`` on
    the residual, then combined with the propagator accumulated so far.
    """
    N = p_level.size
    S = h.size
    y1 = np.empty(N)
    y2 = np.empty(N)
    A = np.empty((N, N))
    s1 = np.empty((N, N))
    s2 = np.empty((N, N))
    s4 = np.empty((N, N))
    Y1 = np.empty((N, N))
    Y2 = np.empty((N, N))
    Y4 = np.empty((N, N))
    B = np.empty((N, N))
    Y2z = np.empty((N, N))
    T1 = np.empty((N, N))
    T2 = np.empty((N, N))
    for e in range(two_m_e.size):
        for j in range(S):
            hj = h[j]
            for i in range(N):
                q = p_level[i] - two_m_e[e] + p_coupling[i] * fc[j]
                if q > 0.0:
                    k = math.sqrt(q)
                    t = k * hj
                    y1[i] = k / math.tanh(t)
                    y2[i] = k / math.sinh(t)
                elif q < 0.0:
                    k = math.sqrt(-q)
                    t = k * hj
                    y1[i] = k / math.tan(t)
                    y2[i] = k / math.sin(t)
                else:
                    y1[i] = 1.0 / hj
                    y2[i] = 1.0 / hj
            c4 = 4.0 * hj / 3.0
            for a in range(N):
                for b in range(N):
                    A[a, b] = c4 * ut[j, a, b]
                A[a, a] += 2.0 * y1[a]
            z = np.linalg.inv(A)
            c3 = hj / 3.0
            for a in range(N):
                for b in range(N):
                    v = y2[a] * z[a, b] * y2[b]
                    s2[a, b] = v
                    s1[a, b] = c3 * ua[j, a, b] - v
                    s4[a, b] = c3 * ub[j, a, b] - v
                s1[a, a] += y1[a]
                s4[a, a] += y1[a]
            if j == 0:
                Y1[:, :] = s1
                Y2[:, :] = s2
                Y4[:, :] = s4
                continue
            for a in range(N):
                for b in range(N):
                    B[a, b] = Y4[a, b] + s1[a, b]
            zz = np.linalg.inv(B)
            np.dot(Y2, zz, Y2z)
            np.dot(Y2z, Y2.T, T1)
            np.dot(Y2z, s2, Y2)
            np.dot(zz, s2, T2)
            np.dot(s2, T2, B)
            for a in range(N):
                for b in range(a, N):
                    v = 0.5 * (T1[a, b] + T1[b, a])
                    w = s4[a, b] - 0.5 * (B[a, b] + B[b, a])
                    Y1[a, b] -= v
                    Y4[a, b] = w
                    if b != a:
                        Y1[b, a] -= v
                        Y4[b, a] = w
        out[e, 0] = Y1
        out[e, 1] = Y2
        out[e, 2] = Y4


_BLAS_SETTERS = ("scipy_openblas_set_num_threads", "scipy_openblas_set_num_threads64_", "openblas_set_num_threads",
                 "openblas_set_num_threads64_")
_BLAS_GETTERS = ("scipy_openblas_get_num_threads", "scipy_openblas_get_num_threads64_", "openblas_get_num_threads",
                 "openblas_get_num_threads64_")


@functools.lru_cache(maxsize=1)
def _openblas_handles():
    """(getter, setter) of every OpenBLAS loaded in this process (Linux; empty elsewhere)."""
    handles = []
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line.split()[-1]}
    except OSError:
        return ()
    for path in sorted(paths):
        try:
            so = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | ctypes.RTLD_GLOBAL)
        except OSError:
            continue
        get = next((getattr(so, n) for n in _BLAS_GETTERS if hasattr(so, n)), None)
        put = next((getattr(so, n) for n in _BLAS_SETTERS if hasattr(so, n)), None)
        if get is not None and put is not None:
            get.restype = ctypes.c_int
            put.argtypes = [ctypes.c_int]
            handles.append((get, put))
    return tuple(handles)


@contextlib.contextmanager
def one_blas_thread():
    """Run the block with OpenBLAS on one thread (restored after).

    The propagator multiplies many small matrices; OpenBLAS's threads cost
    far more than they save there (10x slower at 70 channels on a shared
    2-core machine) and fight with the worker processes.
    """
    handles = _openblas_handles()
    before = [get() for get, _ in handles]
    for _, put in handles:
        put(1)
    try:
        yield
    finally:
        for (_, put), n in zip(handles, before):
            put(n)


def _mirror(Y):
    """Full-range propagator of ``[-X, X]`` from the ``[0, X]`` one of an even potential: ``(F1, F2, F4)``.

    The reflection ``x -> -x`` maps ``(Y1, Y2, Y3, Y4)`` of ``[0, X]`` to
    ``(Y4, Y3, Y2, Y1)`` of ``[-X, 0]``; the two are then combined at ``x = 0``.
    """
    Y1, Y2, Y4 = Y[:, 0], Y[:, 1], Y[:, 2]
    L2 = np.swapaxes(Y2, 1, 2)
    zz = np.linalg.inv(Y1 + Y1)
    F1 = Y4 - L2 @ zz @ Y2
    F2 = L2 @ zz @ Y2
    return F1, F2, F1  # by symmetry F4 = F1


def _amplitudes(F1, F2, kin, X):
    r"""Transmission and reflection amplitudes (open x open) at one energy from the full-range propagator.

    ``kin`` is :math:`2M` times each channel's kinetic energy at infinity.
    With outgoing log-derivatives :math:`D_b = ik` (open) or :math:`-\kappa`
    (closed) at :math:`X` and :math:`D_a = -ik` or :math:`+\kappa` at :math:`-X`,
    the wave at :math:`-X` is :math:`\Psi_a = (D_a + Y_\mathrm{eff})^{-1}(-2ik)A_\mathrm{in}`
    with :math:`Y_\mathrm{eff} = F_1 - F_2(F_4 - D_b)^{-1}F_3`, and at :math:`X`,
    :math:`\Psi_b = (F_4 - D_b)^{-1}F_3\Psi_a`: a product, with no cancellation
    when it is small. A channel exactly at threshold is closed (:math:`\kappa = 0`).
    """
    n = kin.size
    is_open = kin > 0.0
    k = np.sqrt(np.abs(kin))
    idx = np.nonzero(is_open)[0]
    ko = k[idx]
    Db = np.where(is_open, 1j * k, -k)
    Da = np.where(is_open, -1j * k, k)
    F3 = F2.T
    right = F1 - np.diag(Db)  # F4 = F1
    M_b = np.linalg.solve(right, F3)
    Yeff = F1 - F2 @ M_b
    A_in = np.zeros((n, idx.size), dtype=complex)
    A_in[idx, np.arange(idx.size)] = np.exp(-1j * ko * X) / np.sqrt(ko)
    Psi_a = np.linalg.solve(np.diag(Da) + Yeff, (-2j * k)[:, None] * A_in)
    Psi_b = M_b @ Psi_a
    t = Psi_b[idx] * (np.sqrt(ko) * np.exp(-1j * ko * X))[:, None]
    r = (Psi_a - A_in)[idx] * (np.sqrt(ko) * np.exp(-1j * ko * X))[:, None]
    return idx, t, r


@dataclass(frozen=True)
class Scattering:
    """Scattering of the particle by the gate at a set of total energies.

    Attributes
    ----------
    model : Model
    energy : ndarray(float, ndim=1)
        Total energies :math:`E` (the gate's zero point included), in :math:`\\hbar\\Omega`.
    levels : ndarray(int, ndim=1)
        Gate levels of the channels (``lo .. hi - 1``).
    transmission, reflection : ndarray(float, ndim=2)
        ``[e, i]``: total transmission :math:`T_n(E)` and reflection from level
        ``levels[i]`` arriving from the left (NaN where that channel is closed).
    open : list of ndarray(int)
        Per energy, the indices (into ``levels``) of the open channels.
    t, r : list of ndarray(complex, ndim=2)
        Per energy, the amplitudes ``[out, in]`` between open channels.
    sectors : int
    frozen : bool
        True for the gate held at ``y = 0`` (one channel, :math:`U(x, 0)`).
    """

    model: Model
    energy: np.ndarray
    levels: np.ndarray
    transmission: np.ndarray
    reflection: np.ndarray
    open: list = field(repr=False)
    t: list = field(repr=False)
    r: list = field(repr=False)
    sectors: int = DEFAULT_SECTORS
    frozen: bool = False

    @property
    def particle_energy(self) -> np.ndarray:
        """``[e, i]``: the particle's energy :math:`E - n - 1/2` arriving in level ``levels[i]`` (frozen: ``E``)."""
        return self.energy[:, None] - (self.levels[None, :] + (0.0 if self.frozen else 0.5))

    def state_to_state(self, e: int) -> dict:
        """Probabilities at energy index ``e``: ``{"levels", "transmitted", "reflected"}``, ``[out, in]``."""
        idx = self.open[e]
        return {"levels": self.levels[idx], "transmitted": np.abs(self.t[e]) ** 2,
                "reflected": np.abs(self.r[e]) ** 2}


def solve(f, two_m: float, u0: float, G: np.ndarray, thresholds: np.ndarray, energy: np.ndarray,
          edges: np.ndarray):
    r"""Coupled-channel scattering for :math:`u'' = 2M[\operatorname{diag}(\text{thresholds}) - E + u_0 f(x)G]u`.

    ``f`` is an even profile, propagated over ``[0, edges[-1]]`` and mirrored.
    Returns ``(T, R, open, t, r)``: total transmission and reflection per
    energy and channel (NaN where closed), and per energy the open channels'
    indices and the amplitudes ``[out, in]``. The low-level entry point of
    :func:`scatter` (and of the Eckart test).
    """
    thresholds = np.asarray(thresholds, dtype=float)
    with one_blas_thread():
        terms = _sector_terms(f, two_m, u0, G, thresholds, edges)
    n = thresholds.size
    out = np.empty((energy.size, 3, n, n))
    T = np.full((energy.size, n), np.nan)
    R = np.full_like(T, np.nan)
    opens, ts, rs = [], [], []
    with one_blas_thread():
        _propagate(terms.p_level, terms.p_coupling, terms.fc, terms.h, terms.ut, terms.ua, terms.ub,
                   two_m * energy, out)
        F1, F2, _ = _mirror(out)
        for e in range(energy.size):
            idx, t, r = _amplitudes(F1[e], F2[e], two_m * (energy[e] - thresholds), terms.reach)
            T[e, idx] = np.sum(np.abs(t) ** 2, axis=0)
            R[e, idx] = np.sum(np.abs(r) ** 2, axis=0)
            opens.append(idx)
            ts.append(t)
            rs.append(r)
    return T, R, opens, ts, rs


def scatter(model: Model, energy, *, lo: int = 0, hi: int | None = None, sectors: int = DEFAULT_SECTORS,
            frozen: bool = False, edges: np.ndarray | None = None) -> Scattering:
    """Solve the coupled-channel problem with the gate's levels ``lo .. hi - 1`` at each total energy.

    Parameters
    ----------
    model : Model
    energy : float or sequence of float
        Total energies :math:`E` (:math:`\\hbar\\Omega`), including the gate's zero point
        (for ``frozen``: the particle's energy).
    lo, hi : int
        The channel window; ``hi`` defaults to the open levels plus eight closed ones.
    sectors : int
        Sectors over ``[0, X]`` (graded; :func:`sector_edges`), more if an open channel needs them.
    frozen : bool
        The gate held at ``y = 0``: one channel with the barrier :math:`U(x, 0)`.
    edges : ndarray, optional
        Sector edges to use instead (e.g. :func:`coarsen` of another solve's).
    """
    energy = check_energies(energy)
    sectors = check_integer("sectors", sectors, minimum=2, maximum=MAX_SECTORS)
    if frozen:
        levels = np.zeros(1, dtype=int)
        thresholds = np.zeros(1)
        G = np.array([[math.exp(-0.5 * model.s ** 2 / model.lam ** 2)]])
    else:
        lo = check_integer("lowest channel", lo, minimum=0, maximum=MAX_CHANNELS - 1)
        if hi is None:
            hi = max(lo + 1, int(math.floor(energy.max() - 0.5)) + 9)
        hi = check_integer("channels", hi, minimum=lo + 1, maximum=MAX_CHANNELS)
        levels = np.arange(lo, hi)
        thresholds = levels + 0.5
        G = coupling_block(model, lo, hi)
    if edges is None:
        kin_max = 2.0 * model.M * max(float(energy.max() - thresholds.min()), 0.0)
        edges = sector_edges(model, sectors, math.sqrt(kin_max))
    T, R, opens, ts, rs = solve(profile(model), 2.0 * model.M, model.U0, G, thresholds, energy, edges)
    return Scattering(model, energy, levels, T, R, opens, ts, rs, int(edges.size - 1), bool(frozen))
