r"""The transmitting set :math:`\mathcal{A}` as data (paper Eq. 1-2).

For a :class:`~lib.model.Model`, whether a trajectory transmits depends on
the particle's energy :math:`\mathcal{E}` and on the gate's state: at rest
(the ``frozen`` and ``deflected`` experiments), in level :math:`n` with
phase :math:`\psi` (``thermal`` and ``joint``; amplitude :math:`\sqrt{2n+1}`),
or, for a classical gate (``classical``), of energy :math:`\varepsilon` with
phase :math:`\psi` (amplitude :math:`\sqrt{2\varepsilon}`).
For each gate state the transmitting energies are a finite union of
intervals :math:`[a_1, b_1) \cup [a_2, b_2) \cup \dots`; this module
computes them (:func:`transmitting_set`) and holds them in a
:class:`TransmittingSet`. :mod:`lib.quadrature` turns them into
:math:`\mathcal{P}(\omega_T)` and :math:`E_a(\omega_T)` without sampling.

Where the phase is taken
    The experiments draw the gate's phase :math:`\phi` when the particle is
    at :math:`x_0`. A slow particle needs many gate periods to arrive, so at
    fixed :math:`\phi` the outcome oscillates rapidly in
    :math:`\mathcal{E}` (the stripes of Fig. 3). Here the phase
    :math:`\psi` is the gate's phase when the particle reaches
    :math:`x_\mathrm{ref} = -\lambda\sqrt{2\ln(1/\epsilon)}`, where the
    interaction is below :math:`\epsilon U_0` (:data:`NEGLIGIBLE`,
    :math:`10^{-12}`, the default integrator's own free-flight threshold).
    The particle flies freely from :math:`x_0` to :math:`x_\mathrm{ref}`, in
    a time :math:`\Delta t = (x_\mathrm{ref} - x_0)/v`, so
    :math:`\psi = \phi + 2\pi\Delta t \bmod 2\pi`: for every
    :math:`\mathcal{E}` this is a rotation of the circle, and a uniform
    :math:`\phi` gives a uniform :math:`\psi`. The probability is therefore
    the same; the outcome at fixed :math:`\psi` varies slowly with
    :math:`\mathcal{E}`, and far fewer points resolve it
    (``tests/test_transmitting.py`` checks the equivalence trial by trial).
    When the start ``x0`` itself lies inside that distance (a wide
    interaction, or a start close to the gate: :math:`U(x_0)` is not
    negligible), there is no free flight to map: the particle is launched
    at ``x0`` with the experiments' own initial states (kinetic energy
    :math:`\mathcal{E}` at ``x0``, phase :math:`\psi = \phi`), so the set,
    and the quadrature over it, describe the same ensemble as the Monte
    Carlo for every allowed :math:`\lambda` and ``x0``
    (``tests/test_reliability.py`` compares the two over their ranges).

An energy above which everything transmits
    The force on the particle, :math:`-\partial_x U = (x/\lambda^2)\,U`,
    always points away from :math:`x = 0`. Along the particle's path its
    kinetic energy :math:`K` obeys :math:`dK/dx = -\partial_x U(x, y(t))`,
    and for any :math:`y`, :math:`|\partial_x U| \le (|x|/\lambda^2) U_0
    e^{-x^2/2\lambda^2}`, whose integral over :math:`x < 0` is :math:`U_0`.
    So a particle that starts with :math:`\mathcal{E} > U_0` reaches
    :math:`x = 0` with :math:`K > 0`, whatever the gate does, and is
    transmitted by the stop rule. :func:`upper_energy` returns :math:`U_0`;
    nothing is scanned above it (``tests/test_transmitting.py`` also checks
    it by running trajectories just above it). At :math:`\mathcal{E} = 0`
    the particle does not move and the stop rule reflects it.

How intervals are found
    Outcomes on a grid of ``scan`` energies in :math:`(0, U_0)`; every
    change of outcome between neighbours is then refined by bisection, all
    brackets together, until each is narrower than ``energy_tol``; the
    boundary is the bracket's midpoint (error at most ``energy_tol / 2``).
    An interval narrower than the scan spacing can be missed; the error
    estimates of :mod:`lib.quadrature` compare resolutions, and the tests
    compare with a 4x finer scan.

Levels and phases
    Levels are computed at the nodes of :func:`level_nodes`: every level up
    to :data:`DENSE_LEVELS`, then :data:`NODES_PER_OCTAVE` per doubling of
    ``n`` (the outcome varies slowly with the amplitude there). A
    classical gate's energies are computed at :func:`energy_nodes`: the same
    pattern, but every quarter (or finer) below :data:`DENSE_LEVELS`. Phases start
    on a uniform periodic grid; then, ``refine`` times, every cell between
    neighbouring phases across which the intervals change abruptly (their
    number changes, or a boundary moves by more than :data:`JUMP_FACTOR`
    times the level's median change per cell) is split at its midpoint.
    The lowest boundary :math:`a_1(\psi)` jumps where a tongue of
    :math:`\mathcal{A}` ends; refining there keeps the trapezoid rule's
    error, first order across a jump, small.

Work is cut into blocks of gate states, computed in parallel through
:mod:`lib.parallel` (local processes or a Dask cluster) and cached on disk
by the calling process (:mod:`lib.cache`). No random numbers are involved: the
result does not depend on the number of workers.
"""
from __future__ import annotations

import math
from dataclasses import field

import numpy as np

from . import cache, parallel
from .integrate import TRANSMITTED, UNDECIDED, Integrator, get_integrator, run
from .experiments import energy_amplitude, initial_states, level_amplitude, oscillator_state
from .inputs import check_integer, check_jobs
from .model import Model, check_finite, check_model
from .records import record

NEGLIGIBLE = 1e-12
"""Fraction of :math:`U_0` below which the interaction counts as absent at :math:`x_\\mathrm{ref}`."""

DEFAULT_SCAN = 32
"""Energies scanned in :math:`(0, U_0)` per gate state before bisection."""

DEFAULT_PHASES = 64
"""Phases :math:`\\psi` on the periodic grid."""

DEFAULT_ENERGY_TOL = 1e-6
"""Width to which each interval boundary is bisected."""

MAX_LEVEL = 100_000
"""Highest level a transmitting set may reach (the quadrature's level sums are dense in ``n``)."""

MAX_GRID = 4096
"""Largest number of phases or scanned energies per gate state."""

DENSE_LEVELS = 16
"""Every level below this is computed; above, :data:`NODES_PER_OCTAVE` per doubling."""

NODES_PER_OCTAVE = 8

GATES = ("frozen", "rest", "levels", "energies")
"""Gate states: held at ``y = 0`` (``frozen``), free but at rest (``rest``), in levels with phases,
or of continuous energy with phases (a classical gate)."""

PHASED = ("levels", "energies")
"""Gates whose states carry a phase."""

ENERGY_NODE_SPACING = 0.25
"""Spacing of a classical gate's dense energy nodes (:func:`energy_nodes`), in units of :math:`\\hbar\\Omega`."""

DEFAULT_REFINE = 4
"""Passes of phase refinement where the intervals jump."""

MAX_REFINE = 20
"""Most passes of phase refinement (cells then shrink a million-fold)."""

JUMP_FACTOR = 4.0
"""A boundary change across a cell larger than this times the level's median change marks a jump."""

BLOCK_STATES = 128
"""Gate states per work unit (a block is scanned and bisected in one pass); small enough that a
refinement pass of a few hundred states still keeps both cores busy."""


def reference_position(model: Model) -> float:
    """:math:`x_\\mathrm{ref}`: where the interaction falls below :data:`NEGLIGIBLE` :math:`U_0`, or the
    start ``x0`` itself when that lies closer to the gate (the particle then starts inside the
    interaction, and the set is that of the experiments' very initial states; module docstring)."""
    return max(-model.free_flight_distance(NEGLIGIBLE), model.x0)


def upper_energy(model: Model) -> float:
    """Particle energy above which every trajectory transmits: :math:`U_0` (see the module docstring)."""
    return model.U0


def level_nodes(n_max: int) -> np.ndarray:
    """Levels at which the set is computed, up to the first node at or above ``n_max``.

    ``0, 1, ..., DENSE_LEVELS - 1``, then steps that double every
    :data:`NODES_PER_OCTAVE` nodes (16, 18, ..., 30, 32, 36, ...).
    """
    n_max = check_integer("level cutoff", n_max, minimum=0, maximum=MAX_LEVEL)
    return _node_pattern(int(n_max))


def _node_pattern(n_max: int) -> np.ndarray:
    """``0 .. DENSE_LEVELS - 1``, then :data:`NODES_PER_OCTAVE` per doubling, up to the first node >= ``n_max``."""
    nodes = list(range(min(n_max, DENSE_LEVELS - 1) + 1))
    n, step = DENSE_LEVELS, DENSE_LEVELS // NODES_PER_OCTAVE
    while nodes[-1] < n_max:
        nodes.append(n)
        n += step
        if n >= 2 * step * NODES_PER_OCTAVE:
            step *= 2
    return np.array(nodes, dtype=np.int64)


MIN_ENERGY_NODE_SPACING = 2.0 ** -6
"""Finest spacing of a classical gate's energy nodes."""


def energy_nodes(e_max: float, spacing: float = ENERGY_NODE_SPACING) -> np.ndarray:
    """Gate energies at which a classical gate's set is computed, up to the first node at or above ``e_max``.

    Every ``spacing`` (a power of two, default :data:`ENERGY_NODE_SPACING`)
    up to :data:`DENSE_LEVELS` (in units of :math:`\\hbar\\Omega`), then the
    nodes of :func:`level_nodes` (:data:`NODES_PER_OCTAVE` per doubling).
    Halving ``spacing`` keeps every node, so refined sets reuse all states.
    """
    e_max = check_finite("gate energy cutoff", e_max, nonnegative=True)
    spacing = check_finite("energy node spacing", spacing, positive=True)
    if not (MIN_ENERGY_NODE_SPACING <= spacing <= 1.0 and math.log2(spacing).is_integer()):
        raise ValueError(f"energy node spacing must be a power of two between {MIN_ENERGY_NODE_SPACING:g} "
                         f"and 1, got {spacing!r}")
    if e_max > MAX_LEVEL * ENERGY_NODE_SPACING:
        raise ValueError(f"gate energy cutoff must be at most {MAX_LEVEL * ENERGY_NODE_SPACING:g}, got {e_max!r}")
    dense = spacing * np.arange(math.ceil(min(e_max, DENSE_LEVELS) / spacing) + 1)
    if dense[-1] >= e_max:
        return dense
    sparse = _node_pattern(math.ceil(e_max)).astype(float)
    return np.concatenate([dense, sparse[sparse > dense[-1]]])


def gate_nodes(gate: str, n_max, spacing: float = ENERGY_NODE_SPACING) -> np.ndarray:
    """Level nodes (``'levels'``), energy nodes (``'energies'``) or ``[0]`` (a gate at rest)."""
    if gate == "levels":
        return level_nodes(n_max)
    if gate == "energies":
        return energy_nodes(n_max, spacing)
    return np.zeros(1, dtype=np.int64)


def _launch(model: Model, x_ref: float, energy, y, vy) -> np.ndarray:
    """Initial states as the experiments build them, but starting at ``x_ref``."""
    u = initial_states(energy, y, vy, model)
    u[:, 0] = x_ref
    return u


def _outcomes(model, x_ref, energy, y, vy, frozen, integrator):
    out = run(model, _launch(model, x_ref, energy, y, vy), integrator, frozen=frozen).outcome
    return out == TRANSMITTED, int(np.count_nonzero(out == UNDECIDED))


def find_intervals(model: Model, y, vy, *, frozen: bool = False, scan: int = DEFAULT_SCAN,
                   energy_tol: float = DEFAULT_ENERGY_TOL, integrator="adaptive"):
    """Transmitting energy intervals for each gate state ``(y[i], vy[i])`` at :math:`x_\\mathrm{ref}`.

    Returns ``(lower, upper, lower_coarse, upper_coarse, undecided)``:
    arrays of shape ``(len(y), K)`` holding the intervals ``[lower, upper)``
    of each state in increasing order, padded with ``+inf`` (an empty
    interval), the last upper bound being ``+inf`` (everything above
    :func:`upper_energy` transmits); the intervals a scan of every other
    energy would have found (for the error estimate); and the number of
    trajectories that exhausted the step budget (counted as reflected).
    """
    integ = get_integrator(integrator)
    y = np.atleast_1d(np.asarray(y, dtype=float))
    vy = np.atleast_1d(np.asarray(vy, dtype=float))
    n_states = y.size
    x_ref = reference_position(model)
    top = upper_energy(model)
    if top == 0.0:  # no interaction: every moving particle transmits
        lower, upper = np.zeros((n_states, 1)), np.full((n_states, 1), np.inf)
        return lower, upper, lower, upper, 0
    grid = top * np.arange(scan + 1) / scan  # 0 reflects, top transmits: neither is run
    E = np.broadcast_to(grid[1:-1], (n_states, scan - 1)).ravel()
    state = np.repeat(np.arange(n_states), scan - 1)
    inside, undecided = _outcomes(model, x_ref, E, y[state], vy[state], frozen, integ)
    table = np.zeros((n_states, scan + 1), dtype=bool)
    table[:, 1:-1] = inside.reshape(n_states, scan - 1)
    table[:, -1] = True
    # brackets: neighbours with different outcomes; rising = reflected below, transmitted above
    i_state, i_cell = np.nonzero(table[:, 1:] != table[:, :-1])
    rising = table[i_state, i_cell + 1]
    lo, hi = grid[i_cell].copy(), grid[i_cell + 1].copy()
    width = max(energy_tol, 4.0 * float(np.spacing(top)))  # below that, midpoints stop moving
    while lo.size and np.max(hi - lo) > width:
        mid = 0.5 * (lo + hi)
        t, u = _outcomes(model, x_ref, mid, y[i_state], vy[i_state], frozen, integ)
        undecided += u
        above = t == rising  # the midpoint behaves like the upper end
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    edge = 0.5 * (lo + hi)
    lower, upper = _pair_edges(n_states, i_state, rising, edge)
    # what a scan with every other energy would have found: the error estimate's coarse rule
    coarse = grid[::2]
    lower_c, upper_c = _coarsen(lower, upper, coarse)
    return lower, upper, lower_c, upper_c, undecided


def _pair_edges(n_states, i_state, rising, edge):
    """Intervals from edges sorted by state, then energy (rising edges open an interval)."""
    counts = np.bincount(i_state[rising], minlength=n_states)
    width = max(1, int(counts.max(initial=0)))
    lower = np.full((n_states, width), np.inf)
    upper = np.full((n_states, width), np.inf)
    rank = np.zeros(n_states, dtype=np.int64)
    for k in range(edge.size):
        s = i_state[k]
        if rising[k]:
            lower[s, rank[s]] = edge[k]
        else:
            upper[s, rank[s]] = edge[k]
            rank[s] += 1
    return lower, upper


def _coarsen(lower, upper, coarse_grid):
    """The intervals a scan on ``coarse_grid`` would have found.

    It misses every interval that contains none of its energies, and
    every gap between intervals that contains none (the two intervals
    then merge).
    """
    out_lo = np.full_like(lower, np.inf)
    out_up = np.full_like(upper, np.inf)
    for s in range(lower.shape[0]):
        kept = []
        for a, b in zip(lower[s], upper[s]):
            if not np.isfinite(a):
                break
            if np.any((coarse_grid >= a) & (coarse_grid < b)) or not np.isfinite(b):
                if kept and not np.any((coarse_grid >= kept[-1][1]) & (coarse_grid < a)):
                    kept[-1] = (kept[-1][0], b)  # the gap before it is missed: merge
                else:
                    kept.append((a, b))
        for r, (a, b) in enumerate(kept):
            out_lo[s, r], out_up[s, r] = a, b
    return out_lo, out_up


def _block(model, y, vy, frozen, scan, energy_tol, integrator, engine_version):
    return find_intervals(model, y, vy, frozen=frozen, scan=scan, energy_tol=energy_tol,
                          integrator=integrator)


def _trapezoid_weights(phases: np.ndarray) -> np.ndarray:
    """Periodic trapezoid weights (summing to 1) for sorted phases in ``[0, 2 pi)``."""
    m = phases.size
    if m == 1:
        return np.ones(1)
    gaps = np.diff(np.concatenate([phases, [phases[0] + 2.0 * math.pi]]))  # gap after each point
    return 0.5 * (gaps + np.roll(gaps, 1)) / (2.0 * math.pi)


@record
class TransmittingSet:
    """The transmitting particle energies for a set of gate states.

    Gate states are stored flat, sorted by level and then phase.

    Attributes
    ----------
    model : Model
    gate : {'frozen', 'rest', 'levels', 'energies'}
        Oscillator held at ``y = 0``, free at rest, in levels with phases, or
        of continuous energy with phases.
    levels : ndarray
        Level nodes ``n`` (int), or gate energies above the ground state
        (float, ``'energies'``); ``[0]`` for a gate at rest.
    level_index : ndarray(int)
        For each gate state, its index into :attr:`levels`.
    phases : ndarray(float)
        For each gate state, its phase :math:`\\psi` at :math:`x_\\mathrm{ref}` (0 at rest).
    lower, upper : ndarray(float, ndim=2)
        Shape ``(states, K)``: the intervals ``[lower, upper)`` of each gate
        state, increasing, padded with ``+inf``; the last upper bound is ``+inf``.
    lower_coarse, upper_coarse : ndarray(float, ndim=2)
        The intervals a scan of every other energy would have found (error estimate).
    scan : ndarray(int)
        Energies scanned per gate state, for each level node.
    energy_tol, x_ref
    initial_phases : int
        Size of the largest uniform phase grid before refinement.
    refine : int
        Refinement passes made.
    undecided : int
        Trajectories that exhausted the step budget (counted as reflected).
    integrator : str
        The integrator's :attr:`~lib.integrate.Integrator.label`.
    integrator_settings : dict or None
        :meth:`lib.integrate.Integrator.describe` of the integrator used.
    """

    model: Model
    gate: str
    levels: np.ndarray
    level_index: np.ndarray
    phases: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    lower_coarse: np.ndarray
    upper_coarse: np.ndarray
    scan: np.ndarray
    energy_tol: float
    x_ref: float
    initial_phases: int = 1
    refine: int = 0
    undecided: int = 0
    integrator: str = "adaptive"
    integrator_settings: dict | None = None
    upper_energy: float = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "upper_energy", upper_energy(self.model))

    @property
    def n_max(self):
        """The highest level node (an energy for ``'energies'``)."""
        return float(self.levels[-1]) if self.gate == "energies" else int(self.levels[-1])

    @property
    def phased(self) -> bool:
        """Whether gate states carry a phase (levels or energies)."""
        return self.gate in PHASED

    @property
    def n_states(self) -> int:
        return int(self.phases.size)

    @property
    def level_of_state(self) -> np.ndarray:
        """The level ``n`` (or gate energy) of each gate state."""
        return self.levels[self.level_index]

    def level_slice(self, i: int) -> slice:
        """The gate states of level node ``i``."""
        lo, hi = np.searchsorted(self.level_index, [i, i + 1])
        return slice(int(lo), int(hi))

    def phase_weights(self, every_other: bool = False) -> np.ndarray:
        """Trapezoid weights of each state within its level (each level sums to 1).

        With ``every_other``, the weights of the grid that keeps every other
        phase of each level (zero for the dropped ones): the coarse rule of
        the error estimate.
        """
        w = np.zeros(self.n_states)
        for i in range(self.levels.size):
            sl = self.level_slice(i)
            ph = self.phases[sl]
            if every_other and ph.size >= 2:
                part = np.zeros(ph.size)
                part[::2] = _trapezoid_weights(ph[::2])
                w[sl] = part
            else:
                w[sl] = _trapezoid_weights(ph)
        return w

    def intervals(self, state: int = 0) -> list[tuple[float, float]]:
        """The intervals of one gate state as ``(a, b)`` pairs (``b`` may be ``inf``)."""
        return [(float(a), float(b)) for a, b in zip(self.lower[state], self.upper[state]) if np.isfinite(a)]

    def interval_counts(self) -> np.ndarray:
        """Number of intervals of each gate state."""
        return np.isfinite(self.lower).sum(axis=-1)

    def to_dict(self) -> dict:
        """JSON-ready summary: parameters and, per gate state, the intervals."""
        return {
            **self.model.to_dict(), "gate": self.gate, "x_ref": self.x_ref, "scan": self.scan.tolist(),
            "energy_tol": self.energy_tol, "upper_energy": self.upper_energy,
            "initial_phases": self.initial_phases, "refine": self.refine,
            "integrator": self.integrator, "integrator_settings": self.integrator_settings,
            "undecided": self.undecided,
            "states": [{"level": self.level_of_state[k].item(), "phase": float(self.phases[k]),
                        "intervals": [[a, None if math.isinf(b) else b] for a, b in self.intervals(k)]}
                       for k in range(self.n_states)],
        }


def _jump_cells(phases, lower, upper, energy_tol):
    """Indices ``j`` of the cells ``(j, j+1)`` (periodic) of one level whose intervals jump."""
    nxt = np.roll(np.arange(phases.size), -1)
    count = np.isfinite(lower).sum(axis=1)
    both = np.concatenate([lower, upper], axis=1)
    with np.errstate(invalid="ignore"):
        change = np.abs(both[nxt] - both)
    change = np.where(np.isfinite(change), change, 0.0).max(axis=1)
    threshold = max(JUMP_FACTOR * float(np.median(change)), 10.0 * energy_tol)
    return np.nonzero((count[nxt] != count) | (change > threshold))[0]


def transmitting_set(model: Model, gate: str = "levels", *, n_max: int = 0,
                     phases=DEFAULT_PHASES, refine: int = DEFAULT_REFINE, scan=DEFAULT_SCAN,
                     energy_tol: float = DEFAULT_ENERGY_TOL, integrator="adaptive", n_jobs=None,
                     progress=None, use_cache: bool = True, reuse: "TransmittingSet | None" = None,
                     spacing: float = ENERGY_NODE_SPACING) -> TransmittingSet:
    """Compute the transmitting set :math:`\\mathcal{A}` of ``model``.

    Parameters
    ----------
    model : Model
    gate : {'levels', 'energies', 'rest', 'frozen'}
        ``'levels'``: the gate in levels ``n`` (at the nodes of
        :func:`level_nodes` up to ``n_max``) with phases (thermal and joint
        experiments); ``'energies'``: a classical gate of energy
        :math:`\\varepsilon` (at :func:`energy_nodes` up to ``n_max``) with
        phases; ``'rest'``: free, starting at rest (deflected);
        ``'frozen'``: held at ``y = 0``.
    n_max : int or float, default 0
        Highest level (``'levels'``) or gate energy (``'energies'``) needed.
    spacing : float, default 0.25
        Spacing of the dense energy nodes (``'energies'`` only; :func:`energy_nodes`).
    phases : int or sequence of int, default 64
        Phases of the initial uniform grid (the gates with a phase,
        ``'levels'`` and ``'energies'``), for every node or one number per node.
    refine : int, default 4
        Passes of refinement where the intervals jump (``'levels'`` and ``'energies'``).
    scan : int or sequence of int, default 32
        Energies scanned in :math:`(0, U_0)` per gate state, for every level
        node or one number per node.
    energy_tol : float, default 1e-6
        Bisection width of each boundary.
    integrator : {'adaptive', 'paper'} or Integrator
        (:func:`lib.quadrature.transmission_quadrature` needs ``'adaptive'``)
    n_jobs, progress, use_cache
        As in :func:`lib.transmission_probability`.
    reuse : TransmittingSet, optional
        A set computed for the same model, gate, tolerance and integrator:
        its gate states with the same level, phase and scan are copied
        instead of recomputed (used when grids are doubled). The result is
        the same.
    """
    check_model(model)
    if gate not in GATES:
        raise ValueError(f"gate must be one of {', '.join(GATES)}; got {gate!r}")
    energy_tol = check_finite("energy tolerance", energy_tol, positive=True)
    integ: Integrator = get_integrator(integrator)
    n_jobs = check_jobs(n_jobs)
    refine = check_integer("refine", refine, minimum=0, maximum=MAX_REFINE)
    levels = gate_nodes(gate, n_max, spacing)
    phased = gate in PHASED
    scans = _per_level("scan", scan, levels.size, 4)
    counts = _per_level("phases", phases, levels.size, 2) if phased else np.ones(1, dtype=np.int64)
    show = parallel.show_progress(progress, int(np.sum(counts * scans)))  # trajectories of the first scan
    solve = _solver(model, gate, energy_tol, integ, n_jobs, use_cache, show)
    if reuse is not None and (reuse.model, reuse.gate, reuse.energy_tol, reuse.integrator_settings) == (
            model, gate, energy_tol, integ.describe()):
        solve = _reusing(solve, reuse)
    if not phased:
        lower, upper, lower_c, upper_c, undecided = solve(levels, np.zeros(1), scans)
        return TransmittingSet(model, gate, levels, np.zeros(1, dtype=np.int64),
                               np.zeros(1), lower, upper, lower_c, upper_c, scans, energy_tol,
                               reference_position(model), 1, 0, undecided, integ.label, integ.describe())
    index = np.repeat(np.arange(levels.size), counts)
    psi = np.concatenate([2.0 * math.pi * np.arange(c) / c for c in counts])
    lower, upper, lower_c, upper_c, undecided = solve(levels[index], psi, scans[index])
    for _ in range(refine):
        new_index, new_psi = [], []
        for i in range(levels.size):
            sel = np.nonzero(index == i)[0]
            ph = psi[sel]
            cells = _jump_cells(ph, lower[sel], upper[sel], energy_tol)
            gap = np.diff(np.concatenate([ph, [ph[0] + 2.0 * math.pi]]))[cells]
            mid = (ph[cells] + 0.5 * gap) % (2.0 * math.pi)
            new_index.append(np.full(mid.size, i))
            new_psi.append(mid)
        new_index, new_psi = np.concatenate(new_index), np.concatenate(new_psi)
        if new_psi.size == 0:
            break
        *new, und = solve(levels[new_index], new_psi, scans[new_index])
        undecided += und
        index = np.concatenate([index, new_index])
        psi = np.concatenate([psi, new_psi])
        order = np.lexsort((psi, index))
        index, psi = index[order], psi[order]
        lower, upper, lower_c, upper_c = (_stack(old, add)[order] for old, add in
                                          zip((lower, upper, lower_c, upper_c), new))
    return TransmittingSet(model, gate, levels, index, psi, lower, upper, lower_c, upper_c, scans,
                           energy_tol, reference_position(model), int(counts.max()), refine, undecided,
                           integ.label, integ.describe())


def _per_level(name, value, n_levels, minimum):
    """One integer per level node, in ``[minimum, MAX_GRID]``, from a number or a sequence."""
    values = [value] if np.ndim(value) == 0 else list(value)
    out = np.array([check_integer(name, v, minimum=minimum) for v in values], dtype=np.int64)
    if np.any(out > MAX_GRID):
        raise ValueError(f"{name} must be at most {MAX_GRID}, got {int(out.max())}")
    if out.size == 1:
        return np.full(n_levels, out[0], dtype=np.int64)
    if out.size != n_levels:
        raise ValueError(f"{name} must be one number or one per level node ({n_levels}), got {out.size}")
    return out


def _stack(a, b):
    width = max(a.shape[1], b.shape[1])
    return np.concatenate([_pad(a, width), _pad(b, width)])


def gate_states_flat(levels, phases, gate: str = "levels"):
    """Gate ``(y, vy)`` at :math:`x_\\mathrm{ref}` for level (or energy) ``levels[k]`` and phase ``phases[k]``."""
    if gate == "energies":
        return oscillator_state(energy_amplitude(levels), phases)
    if gate == "levels":
        return oscillator_state(level_amplitude(levels), phases)
    return np.zeros(np.size(levels)), np.zeros(np.size(levels))  # at rest


def _pad(a, width):
    if a.shape[1] == width:
        return a
    return np.concatenate([a, np.full((a.shape[0], width - a.shape[1]), np.inf)], axis=1)


def _reusing(solve, ts: TransmittingSet):
    """``solve`` that copies the gate states already in ``ts`` (same level and scan, phase within 1e-12)."""
    def key(n, psi, scan):
        return round(float(n), 12), round(float(psi) % (2.0 * math.pi), 12), int(scan)

    known = {key(n, p, c): k for k, (n, p, c) in
             enumerate(zip(ts.level_of_state, ts.phases, ts.scan[ts.level_index]))}
    old = (ts.lower, ts.upper, ts.lower_coarse, ts.upper_coarse)

    def reusing(levels, phases, scans):
        rows = np.array([known.get(key(n, p, c), -1) for n, p, c in zip(levels, phases, scans)],
                        dtype=np.int64)
        new = np.nonzero(rows < 0)[0]
        *fresh, undecided = (solve(levels[new], phases[new], scans[new]) if new.size
                             else (*(np.full((0, 1), np.inf),) * 4, 0))
        out = []
        for a_old, a_new in zip(old, fresh):
            width = max(a_old.shape[1], a_new.shape[1])
            arr = np.full((levels.size, width), np.inf)
            have = rows >= 0
            arr[have, : a_old.shape[1]] = a_old[rows[have]]
            arr[new, : a_new.shape[1]] = a_new
            out.append(arr)
        return (*out, undecided)

    return reusing


def _solver(model, gate, energy_tol, integ, n_jobs, use_cache, show):
    """``solve(levels, phases, scans) -> (lower, upper, lower_c, upper_c, undecided)``.

    Gate states are cut into blocks of one scan size, run in parallel and cached.
    """
    frozen = gate == "frozen"

    def solve(levels, phases, scans):
        y, vy = gate_states_flat(levels, phases, gate)
        blocks, args = [], []
        for scan in np.unique(scans):
            idx = np.nonzero(scans == scan)[0]
            for k in range(0, idx.size, BLOCK_STATES):
                b = idx[k: k + BLOCK_STATES]
                blocks.append(b)
                args.append((model, y[b], vy[b], frozen, int(scan), energy_tol, integ, cache.ENGINE_VERSION))
        with parallel.progress_bar(show, len(args), unit="block", desc="transmitting set", leave=False) as bar:
            results = parallel.cached_run(_block, args, n_jobs=n_jobs, use_cache=use_cache,
                                          on_result=lambda k, r: bar.update())
        arrays = []
        for j in range(4):
            width = max(r[j].shape[1] for r in results)
            out = np.full((y.size, width), np.inf)
            for b, r in zip(blocks, results):
                out[b, : r[j].shape[1]] = r[j]
            arrays.append(out)
        return (*arrays, sum(r[4] for r in results))

    return solve


# --------------------------------------------------------------------------------------------
# the threshold of a gate at rest, read off its transmitting set

@record
class Threshold:
    """Transmission threshold of a particle meeting an oscillator at rest.

    With the oscillator starting at rest at ``y = 0`` (the stationary
    experiments), the outcome depends on the particle's energy alone. If the
    transmitting energies form a half-line :math:`E > E_\\mathrm{min}`, a
    Boltzmann-distributed particle energy gives exactly
    :math:`\\mathcal{P} = e^{-E_\\mathrm{min}/\\omega_T}` (paper Sec. III C).

    Attributes
    ----------
    energy : float
        :math:`E_\\mathrm{min}`, the lowest transmitted energy found.
    transitions : ndarray
        Every energy at which the outcome changes (each located to
        ``tol * U0``); one entry when the set is a half-line.
    monotonic : bool
        True when the transmitting energies form one half-line.
    model : Model
    frozen : bool
    """

    energy: float
    transitions: np.ndarray
    monotonic: bool
    model: Model
    frozen: bool


def threshold_energy(model: Model, *, frozen: bool = False, integrator="adaptive", grid: int = 512,
                     tol: float = 1e-10, use_cache: bool = True) -> Threshold:
    """Lowest particle energy that passes an oscillator starting at rest.

    Read off the transmitting set of a gate at rest (held when ``frozen``),
    :func:`transmitting_set`: ``grid`` energies scanned in
    :math:`(0, U_0)` (everything above :math:`U_0` transmits, which that
    module proves), every outcome change bisected to ``tol * U0``
    (``tol`` in [1e-15, 0.1], ``grid`` from 4 to 4096).
    """
    tol = check_finite("tol", tol, low=1e-15, high=0.1)
    grid = check_integer("grid", grid, minimum=4, maximum=MAX_GRID)
    if model.U0 == 0.0:
        return Threshold(0.0, np.zeros(0), True, model, frozen)
    ts = transmitting_set(model, "frozen" if frozen else "rest", scan=grid, energy_tol=tol * model.U0,
                          integrator=integrator, n_jobs=1, use_cache=use_cache)
    intervals = ts.intervals(0)
    transitions = np.array(sorted([a for a, _ in intervals if a > 0.0]
                                  + [b for _, b in intervals if math.isfinite(b)]))
    monotonic = len(intervals) == 1 and math.isinf(intervals[0][1]) and intervals[0][0] > 0.0
    energy = intervals[0][0] if intervals else float("nan")
    return Threshold(float(energy), transitions, bool(monotonic), model, frozen)
