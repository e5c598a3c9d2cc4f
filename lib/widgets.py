r"""Interactive explorers for the book: landscape, trajectory, phase space, transmission.

Each public function returns one :class:`Explorer`, an `anywidget
<https://anywidget.dev>`_ widget that a notebook displays with a single call,
e.g. ``lib.widgets.phase_space_explorer()``. Its front end is an ES module
(``lib/js/explorers.js``) that computes in the reader's browser with a
JavaScript port of the model (``lib/js/engine.js``; the functions of
:mod:`lib` it mirrors are named in its header). Every control takes any
value in its range and every move recomputes the figure:

``landscape_explorer``
    :math:`V = U + y^2/2` with the frozen and relaxed barriers (U0, lambda, s),
    on the page's thread.
``trajectory_explorer``
    one trajectory with its energy exchange and outcome (particle energy,
    gate energy, phase, M, s), on the page's thread.
``phase_space_explorer``
    the transmission map (phase, s, M, both conventions): 100 x 100 first,
    then refined to the paper's 200 x 200, in Web Workers.
``transmission_explorer``
    :math:`\mathcal{P}(\omega_T)` and :math:`E_a(\omega_T)` for the paper's
    experiments by quadrature over transmitting intervals found in the
    browser (scan plus bisection, :mod:`lib.transmitting`; sums of
    :mod:`lib.quadrature`), with the frozen and relaxed Arrhenius lines and a
    temperature-range control: a coarse curve at once, refined in stages
    (:data:`QUADRATURE_STAGES`) in as many Web Workers as the reader's
    machine has cores; a newer move cancels older work.

One source of truth
    Everything the JavaScript takes from :mod:`lib` is generated from the
    Python objects when :func:`bundle` assembles the module: the engine's
    constants (:func:`engine_constants`: the tableaus and integrator
    settings, the step-size controller, the polynomials of
    :mod:`lib.fastmath`, the transmitting-set constants, the experiments'
    gate and density tables) and the front end's table
    (:func:`explorer_config`: every control's range, label and keyboard
    steps, the notes, the experiments' descriptions, the palette and line
    styles of :mod:`lib.plotting`, the resolutions). JSON carries doubles
    exactly. ``lib/js/constants.js`` holds the same engine constants for
    Node (``python -m lib.widgets`` writes it; a test checks it is fresh).

Where it runs
    In the static book the widget state saved at build time is rendered by
    the book's own copy of the widget manager, which loads anywidget's
    front end (``_static/widgets/anywidget.js``, copied from the installed
    ``anywidget`` package by ``scripts/fetch_js.sh``) through RequireJS; the
    explorer code travels inside the widget state (the ``_esm`` trait), so
    nothing is fetched from other hosts. In JupyterLab, Notebook, VS Code or
    Binder the same widget renders through anywidget's extension, and
    computes in the browser as well. With a kernel, the synced traits link
    it to Python both ways: set ``explorer.params`` (all controls, or some:
    ``explorer.params = {"s": 1.5}``) to move the controls and redraw, and
    read ``explorer.result`` for a summary of the figure shown (with the
    ``params`` it was drawn for). The transmission explorer also asks the
    kernel for what the browser should not do: its button "Monte Carlo in
    the kernel" sends a custom message, and Python runs
    :func:`lib.transmission_probability` (:meth:`Explorer.monte_carlo`) at
    the curve's temperatures in a background thread (the kernel keeps
    answering) and sends back P with its binomial error and Wilson 95%
    interval and Tolman's :math:`E_a` with its error, drawn as points with
    error bars over the browser's curves. The button appears only when the
    kernel answers a ping (see :data:`MC_MESSAGES`): the static book, with
    no kernel, does not show it.

Importing :mod:`lib` does not import this module; it imports anywidget itself.
"""
from __future__ import annotations

import dataclasses
import inspect
import json
import math
import sys
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import anywidget
import traitlets

from . import barriers, fastmath, kernels, model, phase_space, plotting, transmitting
from .experiments import EXPERIMENT_REGISTRY
from .integrate import INTEGRATORS
from .model import Model, check_finite
from .transmission import transmission_probability

__all__ = ["Explorer", "landscape_explorer", "trajectory_explorer", "phase_space_explorer",
           "transmission_explorer", "JS_DIR", "bundle", "curve_temperatures", "engine_constants",
           "explorer_config", "constants_module", "CONTROLS"]

JS_DIR = Path(__file__).with_name("js")
"""Folder of the JavaScript sources (package data): ``engine.js``, ``worker.js``, ``explorers.js``, and
``constants.js`` (generated, for Node)."""

CONSTANTS_FILE = JS_DIR / "constants.js"

KINDS = ("landscape", "trajectory", "phase_space", "transmission")

MAP_GRIDS = (100, 200)
"""Points per axis of the phase-space explorer's map: drawn first, then refined to (the paper's)."""

CURVE_TEMPERATURES = 30
"""Temperatures of the transmission explorer's curve, evenly spaced in 1/omega_T."""

QUADRATURE_TOLERANCE = 1e-2
"""The transmission explorer's level cutoff (:func:`lib.quadrature.level_cutoff`) and bisection width
(``tolerance * omega_min / 4``, at least :data:`lib.transmitting.DEFAULT_ENERGY_TOL`)."""

QUADRATURE_STAGES = (
    {"phases": 8, "refine": 0, "scan": 16, "nodes": 2, "tolerance": 0.2},
    {"phases": 16, "refine": 0, "scan": 16, "nodes": 1, "tolerance": QUADRATURE_TOLERANCE},
    {"phases": 16, "refine": 2, "scan": 16, "nodes": 1, "tolerance": QUADRATURE_TOLERANCE},
)
"""The transmission explorer's stages, each drawn when done: every ``nodes``-th level node (the first and
last always), ``phases`` uniform phases refined ``refine`` times where the intervals jump, ``scan``
energies and boundaries bisected to ``tolerance * omega_min / 4``. Each stage reuses the gate states and
brackets of the one before (its phases, nodes and scan contain them). The last is the converged curve:
:func:`lib.transmitting.transmitting_set` with the same resolution gives the same intervals bit for
bit (tests/test_js_engine.py), and its P and E_a lie within a few per cent of
:func:`lib.quadrature.transmission_quadrature` at tolerance 1e-3 (tested at 5%)."""

MC_TRIALS = 2_000
"""Default trials per temperature of the transmission explorer's kernel-side Monte Carlo."""

MC_TRIALS_RANGE = (100, 20_000)
"""Bounds of the trials field (per temperature; 30 temperatures, so at most 600,000 trajectories)."""

MC_MESSAGES = {"ping": "pong", "monte_carlo": "monte_carlo_result"}
"""Custom messages the transmission explorer's front end sends (keys, ``content['type']``) and the
kernel's replies (values). A failed request is answered with ``'monte_carlo_error'`` and a
``message``. The static book has no kernel, so nothing answers the ping."""

KEY_STEPS = {"arrow": 0.01, "page": 0.1}
"""Keyboard steps of every slider, as fractions of its range: arrow keys 1%, Page Up/Down 10% (Home and
End go to the ends)."""

BROWSER_GATES = ("frozen", "rest", "levels")
"""Gate states the JavaScript transmitting set computes (of :data:`lib.transmitting.GATES`)."""

BROWSER_DENSITIES = ("particle", "independent", "split")
"""Densities the JavaScript quadrature sums (of the experiments' ``density``)."""


def _browser_experiments() -> tuple[str, ...]:

    return tuple(name for name, e in EXPERIMENT_REGISTRY.items()
                 if e.gate in BROWSER_GATES and e.density in BROWSER_DENSITIES)


BROWSER_EXPERIMENTS = _browser_experiments()
"""Experiments whose quadrature the JavaScript engine computes: those of the registry with a gate in
:data:`BROWSER_GATES` and a density in :data:`BROWSER_DENSITIES` (the paper's four)."""


# -- the controls: one table for Python's checks and the front end ---------------------------------

@dataclass(frozen=True)
class Slider:
    """A slider: its key in ``params``, its label (TeX-like: ``$...$`` is mathematics with ``_``, ``^``,
    ``\\mathrm``, ``\\mathcal`` and a few Greek letters), its range, the decimals it shows, and how an
    error message names it."""

    key: str
    label: str
    lo: float
    hi: float
    name: str
    digits: int = 2
    below: str | None = None
    """Key of a control this one stays below (by 1% of its range, in the page)."""
    above: str | None = None
    """Key of a control this one stays above."""

    def check(self, value) -> float:
        """``value`` as a float within the range, or a one-line ``ValueError`` naming the control."""
        v = check_finite(self.name, value)
        if not self.lo <= v <= self.hi:
            raise ValueError(f"{self.name} must be between {self.lo:g} and {self.hi:g} (the control's range), "
                             f"got {v!r}")
        return v


@dataclass(frozen=True)
class Choice:
    """A drop-down list: its key, label, the allowed values with their descriptions, and its error name."""

    key: str
    label: str
    options: tuple[tuple[str, str], ...]
    name: str

    def check(self, value) -> str:
        allowed = [v for v, _ in self.options]
        if value not in allowed:
            raise ValueError(f"{self.name} must be one of {', '.join(allowed)}; got {value!r}")
        return value


def _experiment_choice() -> Choice:

    def text(name):
        e = EXPERIMENT_REGISTRY[name]
        return f"{name}: {e.description}" + (f" (paper Fig. {e.figure})" if e.figure else "")

    return Choice("experiment", "experiment", tuple((n, text(n)) for n in BROWSER_EXPERIMENTS), "experiment")


_S = Slider("s", r"impact parameter $s$ ($l_\mathrm{osc}$)", -3.0, 3.0, "impact parameter s")
_M = Slider("M", r"mass $M$", 0.1, 10.0, "mass M")
_PHASE = Slider("phase", r"gate phase $\phi$", 0.0, 2 * math.pi, "phase")

CONTROLS: dict[str, tuple[Slider | Choice, ...]] = {
    "landscape": (
        Slider("U0", r"height $U_0$ ($\hbar\Omega$)", 0.0, 20.0, "U0"),
        Slider("lam", r"width $\lambda$ ($l_\mathrm{osc}$)", 0.5, 4.0, "lambda"),
        _S,
    ),
    "trajectory": (
        Slider("E_particle", r"particle energy $\mathcal{E}_\mathrm{p}$ ($\hbar\Omega$)", 0.2, 15.0, "particle energy"),
        Slider("E_oscillator", r"gate energy $\mathcal{E}_\mathrm{o}$ ($\hbar\Omega$)", 0.0, 15.0, "gate energy"),
        _PHASE, _M, _S,
    ),
    "phase_space": (
        _PHASE, _S, _M,
        Choice("convention", "gate's initial state", (
            ("paper-text", "paper text: amplitude from the energy"),
            ("published-script", r"published script: $\dot y_0 = 2\pi\cos\phi$")), "convention"),
    ),
    "transmission": (
        _experiment_choice(), _S, _M,
        Slider("omega_min", r"lowest temperature $\omega_T$", 0.5, 5.0, "lowest temperature", below="omega_max"),
        Slider("omega_max", r"highest temperature $\omega_T$", 2.0, 20.0, "highest temperature", above="omega_min"),
    ),
}
"""Every explorer's controls, in the order they are shown: ranges, labels and names for error messages.
The front end draws its sliders from this table and Python checks values against it."""

DEFAULTS = {
    "landscape": {"U0": 10.0, "lam": 2.0, "s": 2.0},
    "trajectory": {"E_particle": 8.0, "E_oscillator": 4.0, "phase": 0.0, "M": 1.0, "s": 2.0},
    "phase_space": {"phase": 0.0, "s": 2.0, "M": 1.0, "convention": "paper-text"},
    "transmission": {"experiment": "thermal", "s": 2.0, "M": 1.0, "omega_min": 1.0, "omega_max": 10.0},
}
"""Each explorer's initial values (the keyword defaults of its function)."""

NOTES = {
    "landscape": "Drawn in your browser as you move the sliders.",
    "trajectory": "Integrated in your browser as you move the sliders, with the book's adaptive integrator.",
    "phase_space": "Every point of the map is one trajectory, computed in your browser: first on a 100 × 100 "
                   "grid, then refined to the paper's 200 × 200.",
    "transmission": "Computed in your browser by quadrature over the transmitting set: a first curve at once, "
                    "then refined.",
}
"""The line under each explorer, for readers."""


def check_params(kind: str, params: dict, base: dict | None = None) -> dict:
    """``params`` checked against :data:`CONTROLS` (keys, ranges, options) and completed from ``base``.

    Raises a one-line ``ValueError`` naming the first bad control. The
    transmission explorer's temperature range must also be increasing.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict of control values, got {type(params).__name__}")
    controls = {c.key: c for c in CONTROLS[kind]}
    unknown = sorted(set(params) - set(controls) - {"temperatures"})
    if unknown:
        raise ValueError(f"unknown control {unknown[0]!r} of the {kind} explorer; its controls are "
                         f"{', '.join(controls)}")
    out = dict(base or {})
    for key, value in params.items():
        if key != "temperatures":
            out[key] = controls[key].check(value)
    missing = [k for k in controls if k not in out]
    if missing:
        raise ValueError(f"params of the {kind} explorer must give {', '.join(missing)}")
    if kind == "transmission":
        if not out["omega_max"] > out["omega_min"]:
            raise ValueError(f"highest temperature must exceed the lowest, got {out['omega_min']!r} and "
                             f"{out['omega_max']!r}")
        out["temperatures"] = CURVE_TEMPERATURES
    return out


# -- what the JavaScript takes from lib --------------------------------------------------------------

def engine_constants() -> dict:
    """Every constant lib/js/engine.js uses, from the Python objects that hold it (JSON-ready, exact).

    ``model`` (the defaults of :class:`lib.Model`, :data:`lib.model.FOUR_PI2`, ``EIGHT_PI2``),
    ``kernels`` (outcome, frame and undecided-reason codes, the step-size controller's constants), ``fastmath``
    (the reductions and polynomial coefficients), ``integrators`` (each of
    :data:`lib.integrate.INTEGRATORS`: its tableau and settings), ``transmitting``,
    ``experiments`` (gate, density and frozen of each of :data:`BROWSER_EXPERIMENTS`),
    ``phase_space`` (grid ranges, conventions) and ``barriers`` (the relaxed barrier's grid).
    """

    def floats(values):
        return [float(v) for v in values]

    def integrator(integ):
        tab = integ.tableau
        fields = {f.name: getattr(integ, f.name) for f in dataclasses.fields(integ) if f.name != "tableau"}
        return {**fields, "tableau": {"name": tab.name, "A": [floats(row) for row in tab.A], "b": floats(tab.b),
                                      "c": floats(tab.c), "e": None if tab.e is None else floats(tab.e),
                                      "order": tab.order, "error_order": tab.error_order, "fsal": tab.fsal}}

    kernel_names = ("TWO_PI", "FOUR_PI2", "REFLECTED", "TRANSMITTED", "UNDECIDED", "RECORD_FULL", "REACHED_END",
                    "RUNNING", "LAB", "ROTATING", "FROZEN", "SAFETY", "MIN_FACTOR", "MAX_FACTOR", "END_SLACK",
                    "SPEED_FLOOR", "DECIDED", "STEP_BUDGET", "REJECTION_BUDGET", "MINIMUM_STEP", "NOT_FINITE",
                    "REASONS")
    f = fastmath
    return {
        "model": {"defaults": {fd.name: float(fd.default) for fd in dataclasses.fields(model.Model)},
                  "FOUR_PI2": model.FOUR_PI2, "EIGHT_PI2": model.EIGHT_PI2},
        "kernels": {name: getattr(kernels, name) for name in kernel_names},
        "fastmath": {"LOG2E": f.LOG2E, "LN2_HI": f.LN2_HI, "LN2_LO": f.LN2_LO, "EXP_MIN": f.EXP_MIN,
                     "POWER_MIN": f.POWER_MIN, "POWER_MAX": f.POWER_MAX,
                     "E": [getattr(f, f"E{n}") for n in range(14)],
                     "S": [getattr(f, f"S{n}") for n in range(1, 18, 2)],
                     "C": [getattr(f, f"C{n}") for n in range(0, 17, 2)],
                     "A": [getattr(f, f"A{n}") for n in range(3, 16, 2)]},
        "integrators": {name: integrator(integ) for name, integ in INTEGRATORS.items()},
        "transmitting": {name: getattr(transmitting, name) for name in (
            "NEGLIGIBLE", "DENSE_LEVELS", "NODES_PER_OCTAVE", "JUMP_FACTOR", "DEFAULT_SCAN", "DEFAULT_PHASES",
            "DEFAULT_REFINE", "DEFAULT_ENERGY_TOL", "MAX_LEVEL")},
        "experiments": {name: {"gate": EXPERIMENT_REGISTRY[name].gate, "density": EXPERIMENT_REGISTRY[name].density,
                               "frozen": EXPERIMENT_REGISTRY[name].frozen} for name in BROWSER_EXPERIMENTS},
        "phase_space": {"PARTICLE_RANGE": floats(phase_space.PARTICLE_RANGE),
                        "OSCILLATOR_RANGE": floats(phase_space.OSCILLATOR_RANGE),
                        "CONVENTIONS": list(phase_space.CONVENTIONS)},
        "barriers": {"grid": inspect.signature(barriers.relaxed_barrier).parameters["grid"].default},
    }


def _control_json(c: Slider | Choice) -> dict:
    if isinstance(c, Slider):
        return {"type": "slider", "key": c.key, "label": c.label, "min": c.lo, "max": c.hi, "digits": c.digits,
                "below": c.below, "above": c.above}
    return {"type": "choice", "key": c.key, "label": c.label, "options": [list(o) for o in c.options]}


def explorer_config() -> dict:
    """The front end's table: controls, notes, keyboard steps, palette and line styles, resolutions."""
    return {
        "kinds": {kind: {"controls": [_control_json(c) for c in CONTROLS[kind]], "note": NOTES[kind]}
                  for kind in KINDS},
        "keys": KEY_STEPS,
        "palette": plotting.WONG,
        "roles": plotting.ROLE_COLORS,
        "barrier_dash": {k: [] if v == "-" else [6, 4] for k, v in plotting.BARRIER_LINESTYLES.items()},
        "outcomes": list(plotting.OUTCOME_COLORS),
        "masses": [[m, s] for m, s in plotting.MASS_STYLE.items()],
        "map_grids": list(MAP_GRIDS),
        "temperatures": CURVE_TEMPERATURES,
        "quadrature_tolerance": QUADRATURE_TOLERANCE,
        "quadrature_stages": list(QUADRATURE_STAGES),
        "monte_carlo": {"trials": MC_TRIALS, "min": MC_TRIALS_RANGE[0], "max": MC_TRIALS_RANGE[1]},
    }


CONSTANTS_IMPORT = 'import { CONSTANTS } from "./constants.js";'
"""The line of engine.js that :func:`bundle` replaces with the constants themselves."""


def constants_module() -> str:
    """``lib/js/constants.js``: :func:`engine_constants` as an ES module, for running the engine in Node."""
    return ("// Generated by `python -m lib.widgets` from lib's Python objects (lib.widgets.engine_constants);\n"
            "// do not edit. tests/test_js_engine.py checks that it is fresh. The explorers' bundle does not\n"
            "// read this file: lib.widgets.bundle() writes the same constants into the module it ships.\n"
            f"export const CONSTANTS = {json.dumps(engine_constants(), indent=1)};\n")


def build_bundle() -> str:
    """The explorers' ES module, assembled now from the sources and lib's current objects (uncached)."""
    engine = (JS_DIR / "engine.js").read_text(encoding="utf-8")
    if engine.count(CONSTANTS_IMPORT) != 1:
        raise RuntimeError(f"engine.js must import its constants with exactly one line {CONSTANTS_IMPORT!r}")
    engine = engine.replace(CONSTANTS_IMPORT, f"const CONSTANTS = {json.dumps(engine_constants())};")
    worker = (JS_DIR / "worker.js").read_text(encoding="utf-8")
    front = (JS_DIR / "explorers.js").read_text(encoding="utf-8")
    return (f"const ENGINE_SOURCE = {json.dumps(engine)};\n"
            f"const WORKER_SOURCE = {json.dumps(worker)};\n"
            f"const CONFIG = {json.dumps(explorer_config())};\n{front}")


@lru_cache(maxsize=1)
def bundle() -> str:
    """The explorers' ES module: ``explorers.js`` after a prelude holding the engine, the worker and the table.

    The prelude defines ``ENGINE_SOURCE`` (``engine.js`` with :func:`engine_constants`
    written in place of its import of ``constants.js``), ``WORKER_SOURCE``
    (``worker.js``) and ``CONFIG`` (:func:`explorer_config`). The engine is
    imported from a ``blob:`` URL made from its source and the Web Workers
    run engine and worker from another, so the one module is all the page
    needs. Cached for the session (:func:`build_bundle` assembles it anew).
    """
    return build_bundle()


class Explorer(anywidget.AnyWidget):
    """One explorer: an anywidget whose front end computes in the browser.

    Attributes
    ----------
    kind : str
        ``'landscape'``, ``'trajectory'``, ``'phase_space'`` or ``'transmission'``.
        The root element gets the CSS classes ``lib-explorer`` and
        ``lib-explorer-<kind>`` (the browser tests find explorers by them).
    params : dict
        The controls' values (synced both ways with a kernel). Setting it
        moves the controls and redraws; a dict with some of the controls
        changes those and keeps the others. Checked against
        :data:`CONTROLS` (``ValueError`` naming a bad one).
    result : dict
        Summary of the figure last drawn, reported by the browser, with the
        ``params`` it was drawn for (empty until a front end has drawn it,
        and always without a kernel). The transmission explorer reports
        every stage; ``result["converged"]`` is true for the last.
    """

    _esm = traitlets.Unicode("").tag(sync=True)
    kind = traitlets.Unicode("").tag(sync=True)
    params = traitlets.Dict().tag(sync=True)
    result = traitlets.Dict().tag(sync=True)

    def __init__(self, kind: str, params: dict):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
        super().__init__(_esm=bundle(), kind=kind, params=check_params(kind, params))
        self.run_in_thread = True
        """Run :meth:`monte_carlo` requests in a thread (``False``: in the message handler itself)."""
        self.mc_thread: threading.Thread | None = None
        """The thread of the last Monte Carlo request (``None`` before any)."""
        if kind == "transmission":
            self.on_msg(self._on_message)

    @traitlets.validate("params")
    def _check_params(self, proposal):
        if not self.kind:  # during construction, checked by __init__
            return proposal["value"]
        return check_params(self.kind, proposal["value"], self.params)

    def monte_carlo(self, trials: int = MC_TRIALS, seed: int = 0, params: dict | None = None) -> dict:
        """Monte Carlo points for the transmission explorer, by :func:`lib.transmission_probability`.

        Runs ``lib.transmission_probability(experiment, lib.Model(M=M, s=s),
        omega_T, trials=trials, seed=seed)`` at the 30 temperatures of the
        browser's curve (:func:`curve_temperatures` of the temperature range).

        Parameters
        ----------
        trials : int, default :data:`MC_TRIALS`
            Trials per temperature, an integer within :data:`MC_TRIALS_RANGE`.
        seed : int, default 0
            Root of the random streams (non-negative).
        params : dict, optional
            The controls' values (``experiment``, ``s``, ``M``, ``omega_min``,
            ``omega_max``); default :attr:`params`, as the front end last reported them.

        Returns
        -------
        dict
            :meth:`lib.ensemble.Transmission.to_dict` (``temperature``,
            ``probability``, ``stderr``, ``ci95_low``, ``ci95_high``,
            ``activation_energy``, ``activation_stderr``, ...; NaN as ``None``)
            with ``elapsed`` (seconds) and the ``params`` used.

        Raises
        ------
        ValueError
            For trials or seed out of range, for a kind other than transmission,
            or for a parameter outside its control's range, naming it.
        """
        if self.kind != "transmission":
            raise ValueError(f"monte_carlo belongs to the transmission explorer, not {self.kind!r}")
        lo_t, hi_t = MC_TRIALS_RANGE
        if isinstance(trials, bool) or not isinstance(trials, (int, float)) or not float(trials).is_integer() \
                or not lo_t <= trials <= hi_t:
            raise ValueError(f"trials must be an integer between {lo_t:,} and {hi_t:,} per temperature, "
                             f"got {trials!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, float)) or not float(seed).is_integer() \
                or not 0 <= seed < 2**63:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        p = dict(self.params if params is None else params)
        keys = ("experiment", "s", "M", "omega_min", "omega_max")
        checked = check_params("transmission", {k: p[k] for k in keys if k in p}, DEFAULTS["transmission"])
        checked.pop("temperatures")
        started = time.perf_counter()
        result = transmission_probability(checked["experiment"], Model(M=checked["M"], s=checked["s"]),
                                          curve_temperatures(checked["omega_min"], checked["omega_max"]),
                                          trials=int(trials), seed=int(seed), progress=False)
        out = result.to_dict()
        out.update(elapsed=time.perf_counter() - started, params=checked)
        return out

    def _on_message(self, _widget, content, _buffers):
        """Answer the front end's custom messages (:data:`MC_MESSAGES`)."""
        if not isinstance(content, dict) or content.get("type") not in MC_MESSAGES:
            return
        if content["type"] == "ping":
            self.send({"type": "pong"})
            return
        request = content.get("id")

        def work():
            try:
                reply = {"type": "monte_carlo_result", "id": request,
                         **self.monte_carlo(content.get("trials", MC_TRIALS), content.get("seed", 0),
                                            content.get("params"))}
            except Exception as error:  # reported in the page, not lost in the kernel's log
                reply = {"type": "monte_carlo_error", "id": request, "message": f"{type(error).__name__}: {error}"}
            self.send(reply)

        if self.run_in_thread:
            self.mc_thread = threading.Thread(target=work, name="lib-explorer-monte-carlo", daemon=True)
            self.mc_thread.start()
        else:
            work()


def landscape_explorer(*, U0: float = 10.0, lam: float = 2.0, s: float = 2.0) -> Explorer:
    """Potential landscape :math:`V(x, y) = U(x, y) + y^2/2` with its barrier points.

    Filled contours one :math:`\\hbar\\Omega` apart over :math:`x \\in [-7, 7]`,
    :math:`y \\in [-5.5, 5.5]` (:meth:`lib.Model.landscape`), with the frozen
    barrier point ``(0, 0)`` (:func:`lib.barriers.frozen_barrier`), the
    stable relaxed configurations ``(0, y*)`` (:func:`lib.barriers.relaxed_barrier`)
    and the particle's line ``y = s``.

    Parameters
    ----------
    U0, lam, s : float
        Initial height :math:`U_0`, width :math:`\\lambda` and impact
        parameter (ranges in :data:`CONTROLS`).

    Raises
    ------
    ValueError
        For a value outside its slider's range, naming it.
    """
    return Explorer("landscape", {"U0": U0, "lam": lam, "s": s})


def trajectory_explorer(*, E_particle: float = 8.0, E_oscillator: float = 4.0, phase: float = 0.0,
                        M: float = 1.0, s: float = 2.0) -> Explorer:
    """One trajectory: positions and energies against time, the outcome in the title.

    The particle starts at ``x0 = -20`` with kinetic energy ``E_particle``;
    the gate's ``(y0, vy0)`` is :func:`lib.phase_space.oscillator_initial`
    of its energy and phase. The path is integrated by the port of
    :func:`lib.trajectory` to the outcome (marked by a vertical line) and on
    for as long again with steps of at most 1/200 period.

    Parameters
    ----------
    E_particle, E_oscillator : float
        Initial particle and gate energies.
    phase : float
        Initial gate phase in radians.
    M, s : float
        Initial mass and impact parameter (ranges in :data:`CONTROLS`).

    Raises
    ------
    ValueError
        For a value outside its slider's range, naming it.
    """
    return Explorer("trajectory", {"E_particle": E_particle, "E_oscillator": E_oscillator, "phase": phase,
                                   "M": M, "s": s})


def phase_space_explorer(*, phase: float = 0.0, s: float = 2.0, M: float = 1.0,
                         convention: str = "paper-text") -> Explorer:
    """Transmission map over particle and gate energies (paper Fig. 3).

    Each grid point of :math:`\\mathcal{E}_\\mathrm{particle} \\in [0.1, 12]`,
    :math:`\\mathcal{E}_\\mathrm{oscillator} \\in [0, 20]` is one trajectory
    (the port of :func:`lib.phase_space.phase_space_map`), on a 100 x 100
    grid first and then the paper's 200 x 200 (:data:`MAP_GRIDS`); orange
    reflected, green transmitted, the frozen barrier :math:`U(s)` solid and
    the relaxed :math:`\\mathcal{E}_*` dashed, as in the chapter's figures.

    Parameters
    ----------
    phase : float
        Initial gate phase in radians.
    s, M : float
        Initial impact parameter and mass (ranges in :data:`CONTROLS`).
    convention : {'paper-text', 'published-script'}
        Initial convention for the gate's state (see :mod:`lib.phase_space`).

    Raises
    ------
    ValueError
        For a value outside its control's range, naming it.
    """
    return Explorer("phase_space", {"phase": phase, "s": s, "M": M, "convention": convention})


def transmission_explorer(*, experiment: str = "thermal", s: float = 2.0, M: float = 1.0,
                          omega_min: float = 1.0, omega_max: float = 10.0) -> Explorer:
    """:math:`\\mathcal{P}` against :math:`1/\\omega_T` and :math:`E_a(\\omega_T)`, by quadrature.

    For the chosen experiment the browser finds the transmitting intervals
    (the port of :func:`lib.transmitting.transmitting_set`) and sums them as
    :func:`lib.quadrature.quadrature` does, at 30 temperatures evenly spaced
    in :math:`1/\\omega_T`, in the stages of :data:`QUADRATURE_STAGES` (the
    last: 16 phases refined twice where the intervals jump, 16 scanned
    energies, bisection to ``0.01 omega_min / 4``, levels up to
    :func:`lib.quadrature.level_cutoff` at tolerance 0.01). Beside the
    curve: the frozen (solid) and relaxed (dashed) Arrhenius lines
    :math:`e^{-E/\\omega_T}`, and :math:`E_a(\\omega_T)` with both barriers.

    Parameters
    ----------
    experiment : str
        Initial experiment, one of :data:`BROWSER_EXPERIMENTS` (the paper's four).
    s, M : float
        Initial impact parameter and mass.
    omega_min, omega_max : float
        Initial temperature range (ranges in :data:`CONTROLS`).

    Raises
    ------
    ValueError
        For an unknown experiment or a value outside its control's range, naming it.
    """
    return Explorer("transmission", {"experiment": experiment, "s": s, "M": M, "omega_min": omega_min,
                                     "omega_max": omega_max})


def curve_temperatures(omega_min: float, omega_max: float, n: int = CURVE_TEMPERATURES) -> list[float]:
    """The transmission explorer's temperatures: ``n`` from ``omega_min`` to ``omega_max``, evenly spaced in 1/omega_T.

    The same arithmetic as ``inverseSpaced`` in engine.js, so the kernel's
    Monte Carlo points fall on the browser curve's temperatures exactly.
    """
    lo, hi = float(omega_min), float(omega_max)
    out = [1.0 / (1.0 / hi + (i / max(1, n - 1)) * (1.0 / lo - 1.0 / hi)) for i in range(n)]
    return out[::-1]


def write_constants(path: Path = CONSTANTS_FILE) -> Path:
    """Write :func:`constants_module` to ``path`` (default ``lib/js/constants.js``)."""
    Path(path).write_text(constants_module(), encoding="utf-8")
    return Path(path)


def main(argv=None) -> int:
    """``python -m lib.widgets [--check]``: write lib/js/constants.js, or check that it is fresh."""
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--check"]:
        fresh = CONSTANTS_FILE.read_text(encoding="utf-8") == constants_module()
        print(f"{CONSTANTS_FILE}: {'fresh' if fresh else 'stale: run python -m lib.widgets'}")
        return 0 if fresh else 1
    if argv:
        print("usage: python -m lib.widgets [--check]", file=sys.stderr)
        return 2
    print(write_constants())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
