"""Integrators and the Python entry points that run trajectories.

An :class:`Integrator` combines a tableau (:mod:`lib.tableaus`) with how it
is driven. Two are predefined:

``paper`` (:data:`PAPER`)
    What the authors' published scripts do: Butcher's six-stage
    fifth-order Runge-Kutta with fixed step ``h = 5e-4`` in the lab frame,
    from ``x0 = -20``, stopping at the first step with ``x * vx >= 0``.
``adaptive`` (:data:`ADAPTIVE`, the default)
    Dormand-Prince 5(4) with error control (``rtol = atol = 1e-8``), three
    deliberate changes that leave outcomes unchanged (measured in
    ``benchmarks/`` and ``tests/``):

    * exact free flight while ``|x|`` exceeds the distance at which the
      interaction is below ``1e-12 U0`` (:meth:`lib.model.Model.free_flight_distance`);
    * the oscillator integrated in its rotating frame (see
      :func:`lib.kernels.derivative`), so that the oscillator's own period does not
      limit the step where the interaction is weak;
    * steps limited to moving the particle by at most ``lambda``, so a
      step can never jump over the Gaussian.

The outcome rule is the paper's in both: stop at the first accepted step
with ``x * vx >= 0``; transmitted if ``x > 0``.

The kernels take three records (:mod:`lib.kernels`): :func:`kernel_parameters`
builds :class:`~lib.kernels.Params` from a :class:`~lib.model.Model`, and an
:class:`Integrator` builds :class:`~lib.kernels.Method` (its tableau) and
:class:`~lib.kernels.Control` (steps, tolerances, budgets, free flight).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields, replace

import numpy as np

from . import kernels
from .inputs import check_integer
from .model import Model, check_finite
from .records import record
from .tableaus import BUTCHER_RK5, DORMAND_PRINCE_54, Tableau

REFLECTED = kernels.REFLECTED
TRANSMITTED = kernels.TRANSMITTED
UNDECIDED = kernels.UNDECIDED
REASONS = kernels.REASONS

DEFAULT_H_MIN = 1e-15
"""Smallest adaptive step after a rejection (oscillator periods). Six and a half decades below the
shortest step measured in the corners of the allowed parameters (4.6e-9 periods at M = 1e-4,
omega_T = 1e6, U0 = 1e4, lambda = 0.01, where the step is capped so the particle moves at most
lambda), and shorter than what adds to a time of five periods in double precision. It changes no
outcome and no step count of the test suites' cases, of 17,208 trajectories compared with the
engine before it, nor of 12,200 in those corners compared with ``h_min = 0``; it stops a
trajectory whose error control has failed."""

_EMPTY = np.empty(0)
_EMPTY_STATES = np.empty((0, 4))


@dataclass(frozen=True)
class Integrator:
    """How trajectories are integrated.

    Parameters
    ----------
    name : str
        Label used in results and cache keys.
    tableau : Tableau
        The Runge-Kutta method.
    h : float
        Fixed step (fixed-step methods) or first trial step (adaptive).
    rtol, atol : float or None
        Mixed tolerance for adaptive stepping; ``None`` for fixed steps.
    free_flight_tol : float or None
        If given, a particle farther out than the distance at which
        ``U < free_flight_tol * U0`` is moved there exactly before integrating.
    rotating : bool
        Integrate the oscillator in its rotating frame.
    max_dx : float
        Largest particle displacement per adaptive step, in units of lambda.
    h_max : float
        Largest adaptive step (oscillator periods).
    h_min : float
        Smallest adaptive step after a rejection (oscillator periods, default
        :data:`DEFAULT_H_MIN`): a rejected step whose successor would be
        shorter ends the trajectory, undecided. ``0`` for no minimum.
    max_steps : int
        Step budget per trajectory; a trajectory that exhausts it is
        reported as undecided.
    max_rejected : int
        Rejected adaptive steps tolerated per trajectory; a trajectory with
        more is reported as undecided (as is one whose state or error
        estimate stops being finite).
    """

    name: str
    tableau: Tableau
    h: float
    rtol: float | None = None
    atol: float | None = None
    free_flight_tol: float | None = None
    rotating: bool = False
    max_dx: float = 1.0
    h_max: float = 0.25
    h_min: float = DEFAULT_H_MIN
    max_steps: int = 10**9
    max_rejected: int = 10**6
    adaptive: bool = field(init=False)

    def __post_init__(self):
        check_finite("step h", self.h, positive=True)
        adaptive = self.rtol is not None
        if adaptive:
            if not self.tableau.adaptive:
                raise ValueError(f"{self.tableau.name} has no error estimate; rtol must be None")
            check_finite("rtol", self.rtol, positive=True)
            check_finite("atol", self.atol, positive=True)
        if self.free_flight_tol is not None:
            check_finite("free_flight_tol", self.free_flight_tol, positive=True)
        check_finite("max_dx", self.max_dx, positive=True)
        check_finite("h_max", self.h_max, positive=True)
        check_finite("h_min", self.h_min, nonnegative=True)
        if not self.h_min < self.h_max:
            raise ValueError(f"h_min must be below h_max ({self.h_max!r}), got {self.h_min!r}")
        check_integer("max_steps", self.max_steps, minimum=1, maximum=2**62)
        check_integer("max_rejected", self.max_rejected, minimum=0, maximum=2**62)
        object.__setattr__(self, "adaptive", adaptive)

    def with_options(self, **changes) -> "Integrator":
        """A copy with some fields changed, e.g. ``ADAPTIVE.with_options(rtol=1e-7)``."""
        return replace(self, **changes)

    # -- what produced a result ----------------------------------------------------
    def _settings(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("name", "tableau", "adaptive")}

    @property
    def label(self) -> str:
        """The name, with the settings that differ from the registered integrator of that name.

        ``'adaptive'`` for :data:`ADAPTIVE` itself; ``'adaptive(h_max=0.005)'`` for
        ``ADAPTIVE.with_options(h_max=0.005)``; an unregistered name as it is (its settings are in
        :meth:`describe`).
        """
        base = INTEGRATORS.get(self.name)
        if base is None:
            return self.name
        mine, theirs = self._settings(), base._settings()
        changed = [f"{k}={v!r}" for k, v in mine.items() if theirs[k] != v]
        if tableau_digest(self.tableau) != tableau_digest(base.tableau):
            changed.insert(0, f"tableau={self.tableau.name!r}")
        return f"{self.name}({', '.join(changed)})" if changed else self.name

    def describe(self) -> dict:
        """Everything that determines the integrator's results, JSON-ready: its :attr:`label` and name,
        the tableau (name, orders, stages and the SHA-256 of its coefficients) and every setting."""
        tab = self.tableau
        out = {"label": self.label, "name": self.name, "tableau": tab.name, "order": tab.order,
               "error_order": tab.error_order, "stages": tab.stages, "tableau_sha256": tableau_digest(tab),
               "adaptive": self.adaptive}
        for k, v in self._settings().items():
            out[k] = v if v is None or isinstance(v, bool) else int(v) if isinstance(v, int) else float(v)
        return out

    # -- records for the kernels ---------------------------------------------
    def kernel_method(self) -> kernels.Method:
        """The tableau as a :class:`lib.kernels.Method` (no error weights for fixed steps)."""
        tab = self.tableau
        if self.adaptive:
            return kernels.Method(tab.A, tab.b, tab.c, tab.e, 1.0 / (tab.error_order + 1), tab.fsal)
        return kernels.Method(tab.A, tab.b, tab.c, _EMPTY, 0.0, tab.fsal)

    def kernel_control(self, model: Model) -> kernels.Control:
        """Steps, tolerances, budgets and free flight for ``model`` as a :class:`lib.kernels.Control`."""
        rtol, atol = (float(self.rtol), float(self.atol)) if self.adaptive else (0.0, 0.0)
        free_distance = 0.0 if self.free_flight_tol is None else model.free_flight_distance(self.free_flight_tol)
        return kernels.Control(h0=float(self.h), rtol=rtol, atol=atol, max_dx=float(self.max_dx) * model.lam,
                               h_max=float(self.h_max), h_min=float(self.h_min), max_steps=int(self.max_steps),
                               max_rejected=int(self.max_rejected), free_distance=float(free_distance))


PAPER = Integrator("paper", BUTCHER_RK5, h=5e-4)
"""The authors' protocol: Butcher RK5, fixed step 5e-4, lab frame."""

ADAPTIVE = Integrator("adaptive", DORMAND_PRINCE_54, h=1e-2, rtol=1e-8, atol=1e-8,
                      free_flight_tol=1e-12, rotating=True, max_steps=10**8)
"""The default: Dormand-Prince 5(4), rtol = atol = 1e-8, free flight, rotating frame."""

INTEGRATORS = {"adaptive": ADAPTIVE, "paper": PAPER}


def tableau_digest(tableau: Tableau) -> str:
    """First 16 hex digits of the SHA-256 of a tableau's coefficients (``A``, ``b``, ``c``, ``e``, as doubles)."""
    digest = hashlib.sha256()
    for part in (tableau.A, tableau.b, tableau.c, _EMPTY if tableau.e is None else tableau.e):
        digest.update(np.ascontiguousarray(part, dtype="<f8").tobytes())
        digest.update(b"|")
    return digest.hexdigest()[:16]


def get_integrator(spec) -> Integrator:
    """Return an :class:`Integrator` from a name (``'adaptive'``, ``'paper'``) or an instance."""
    if isinstance(spec, Integrator):
        return spec
    try:
        return INTEGRATORS[spec]
    except (KeyError, TypeError):
        raise ValueError(f"integrator must be one of {sorted(INTEGRATORS)}, got {spec!r}") from None


def kernel_parameters(model: Model, frozen: bool = False, rotating: bool = False) -> kernels.Params:
    """``model`` as a :class:`lib.kernels.Params`; a frozen oscillator overrides ``rotating``."""
    frame = kernels.FROZEN if frozen else kernels.ROTATING if rotating else kernels.LAB
    return kernels.Params(kx=kernels.FOUR_PI2 / model.M, s=model.s, U0=model.U0, il2=model.inv_lam2,
                          frame=frame)


def _as_states(states) -> np.ndarray:
    u = np.ascontiguousarray(states, dtype=float)
    if u.ndim == 1:
        u = u[None, :]
    if u.ndim != 2 or u.shape[1] != 4:
        raise ValueError(f"initial states must have shape (n, 4) as (x, vx, y, vy), got {np.shape(states)}")
    if not np.all(np.isfinite(u)):
        raise ValueError("initial states must be finite")
    return u


@record
class Outcomes:
    """Outcomes of a batch of trajectories.

    Attributes
    ----------
    outcome : ndarray(int8, ndim=1)
        1 transmitted, 0 reflected, -1 undecided (a step budget exhausted, the
        minimum step reached, or the state or error estimate stopped being finite).
    evaluations : ndarray(int64, ndim=1)
        Derivative evaluations spent on each trajectory.
    final_state : ndarray(float, ndim=2) or None
        Lab-frame state ``(x, vx, y, vy)`` where each trajectory stopped.
    final_time : ndarray(float, ndim=1) or None
        Time (oscillator periods) at which each trajectory stopped.
    steps, rejected : ndarray(int64, ndim=1)
        Accepted and rejected steps of each trajectory.
    reason : ndarray(int8, ndim=1)
        Why each undecided trajectory stopped: ``0`` for one with an outcome,
        else ``1 + REASONS.index(name)`` (:data:`lib.kernels.REASONS`: step
        budget, rejection budget, minimum step, non-finite state).
    """

    outcome: np.ndarray
    evaluations: np.ndarray
    final_state: np.ndarray | None = None
    final_time: np.ndarray | None = None
    steps: np.ndarray | None = None
    rejected: np.ndarray | None = None
    reason: np.ndarray | None = None

    @property
    def transmitted(self) -> np.ndarray:
        return self.outcome == TRANSMITTED

    def undecided_reasons(self) -> dict:
        """Undecided trajectories by reason, ``{name: count}`` over :data:`REASONS`."""
        return undecided_reasons(self.reason)


def undecided_reasons(reason) -> dict:
    """Count the codes of a reason array by name (:data:`REASONS`), decided ones left out."""
    counts = np.bincount(np.asarray(reason, dtype=np.int64), minlength=len(REASONS) + 1)
    return {name: int(counts[k + 1]) for k, name in enumerate(REASONS)}


def run(model: Model, states, integrator="adaptive", *, frozen: bool = False,
        keep_final: bool = False, lanes: bool = True) -> Outcomes:
    """Run each initial state to its outcome.

    Parameters
    ----------
    model : Model
    states : array_like, shape (n, 4)
        Initial lab-frame states ``(x, vx, y, vy)`` at time 0.
    integrator : str or Integrator
        ``'adaptive'`` (default) or ``'paper'``, or an :class:`Integrator`.
    frozen : bool
        Hold the oscillator fixed (Fig. 4a).
    keep_final : bool
        Also return the state and time at which each trajectory stopped.
    lanes : bool
        Step :data:`lib.kernels.LANES` trajectories together in SIMD lanes
        (default). ``False`` runs them one by one with the scalar driver;
        the results are bitwise identical, only slower.

    Returns
    -------
    Outcomes
    """
    integ = get_integrator(integrator)
    u0 = _as_states(states)
    n = u0.shape[0]
    params = kernel_parameters(model, frozen, integ.rotating)
    outcome = np.empty(n, dtype=np.int8)
    evaluations = np.empty(n, dtype=np.int64)
    steps = np.empty(n, dtype=np.int64)
    rejected = np.empty(n, dtype=np.int64)
    reason = np.empty(n, dtype=np.int8)
    u_end = np.empty((n, 4)) if keep_final else _EMPTY_STATES
    t_end = np.empty(n) if keep_final else _EMPTY
    driver = kernels.run_lanes if lanes else kernels.run_batch
    driver(u0, params, integ.kernel_method(), integ.kernel_control(model), outcome, evaluations, steps, rejected,
           reason, u_end, t_end)
    if keep_final:
        return Outcomes(outcome, evaluations, u_end, t_end, steps, rejected, reason)
    return Outcomes(outcome, evaluations, None, None, steps, rejected, reason)


@record
class Trajectory:
    """A recorded trajectory (lab frame).

    Attributes
    ----------
    t : ndarray(float, ndim=1)
        Times in oscillator periods, starting at 0.
    states : ndarray(float, ndim=2)
        Rows ``(x, vx, y, vy)`` at times ``t``.
    outcome : int
        1 transmitted, 0 reflected, -1 undecided; for a run to ``t_end``
        the outcome is read off the last state.
    model : Model
    frozen : bool
    steps, rejected : int
        Accepted and rejected steps.
    reason : int
        Why an undecided trajectory stopped (see :class:`Outcomes`); ``0`` otherwise.
    """

    t: np.ndarray
    states: np.ndarray
    outcome: int
    model: Model
    frozen: bool = False
    steps: int = 0
    rejected: int = 0
    reason: int = 0

    @property
    def x(self):
        return self.states[:, 0]

    @property
    def vx(self):
        return self.states[:, 1]

    @property
    def y(self):
        return self.states[:, 2]

    @property
    def vy(self):
        return self.states[:, 3]

    @property
    def particle_energy(self):
        return self.model.particle_energy(self.vx)

    @property
    def oscillator_energy(self):
        return self.model.oscillator_energy(self.y, self.vy)

    @property
    def interaction_energy(self):
        return self.model.potential(self.x, self.y)

    @property
    def total_energy(self):
        return self.model.total_energy(self.states)


def trajectory(model: Model, state, integrator="adaptive", *, frozen: bool = False,
               t_end: float | None = None, max_points: int = 5_000_000) -> Trajectory:
    """Integrate one trajectory from ``state`` and record every step.

    The whole path is integrated (no free flight), so it can be plotted.
    With ``t_end=None`` integration stops at the outcome; otherwise it runs
    to ``t_end`` (oscillator periods) whatever happens, which is useful for
    convergence and energy-conservation studies.
    """
    integ = get_integrator(integrator)
    u = _as_states(state)[0].copy()
    if t_end is not None:
        t_end = check_finite("t_end", t_end, positive=True)
    params = kernel_parameters(model, frozen, integ.rotating)
    method = integ.kernel_method()
    control = integ.kernel_control(model)._replace(free_distance=0.0)  # the whole path is integrated
    work = kernels.make_work(method.b.shape[0])
    h = control.h0
    counts = np.zeros(4, dtype=np.int64)
    chunks = [np.concatenate([[0.0], u])[None, :]]
    t = 0.0
    stop = t_end is None
    status = kernels.UNDECIDED
    reason = kernels.DECIDED
    while True:
        capacity = min(max(1024, 4 * counts[0]), max_points)
        rec = np.empty((capacity, 5))
        counts[2] = 0
        budget = control._replace(max_steps=int(control.max_steps - counts[0]),
                                  max_rejected=int(control.max_rejected - counts[3]))
        status, t, h, reason = kernels.integrate(u, t, h, params, method, budget, -1.0 if stop else t_end, stop,
                                         work, rec, counts)
        chunks.append(rec[: counts[2]])
        if status != kernels.RECORD_FULL or sum(len(ch) for ch in chunks) >= max_points:
            break
    data = np.concatenate(chunks)
    if status in (kernels.REACHED_END, kernels.RECORD_FULL):
        status = kernels.classify(u[0], u[1])
        if status == kernels.RUNNING:
            status = kernels.UNDECIDED
    return Trajectory(data[:, 0], data[:, 1:], int(status), model, frozen, int(counts[0]), int(counts[3]),
                      int(reason) if status == kernels.UNDECIDED else kernels.DECIDED)
