r"""Interactive explorers for the book: landscape, trajectory, phase space, transmission.

Each public function returns one :class:`Explorer`, an `anywidget
<https://anywidget.dev>`_ widget that a notebook displays with a single call,
e.g. ``lib.widgets.phase_space_explorer()``. Its front end is an ES module
(``lib/js/explorers.js``) that computes in the reader's browser with a
JavaScript port of the model (``lib/js/engine.js``, whose header names the
:mod:`lib` functions it mirrors; ``tests/test_js_engine.py`` checks that it
agrees with them in headless Chromium). Every control takes any value in its
range and every move recomputes the figure:

``landscape_explorer``
    :math:`V = U + y^2/2` with the frozen and relaxed barriers (U0, lambda, s),
    on the page's thread.
``trajectory_explorer``
    one trajectory with its energy exchange and outcome (particle energy,
    gate energy, phase, M, s), on the page's thread.
``phase_space_explorer``
    the 100 x 100 transmission map (phase, s, M, both conventions), in two
    Web Workers.
``transmission_explorer``
    :math:`\mathcal{P}(\omega_T)` and :math:`E_a(\omega_T)` for the four
    experiments by quadrature over transmitting intervals found in the browser
    (scan plus bisection, :mod:`lib.transmitting`; sums of
    :mod:`lib.quadrature`), with the frozen and relaxed Arrhenius lines and a
    temperature-range control, in two Web Workers.

Where it runs
    In the static book the widget state saved at build time is rendered by
    the book's own copy of the widget manager, which loads anywidget's
    front end (``_static/widgets/anywidget.js``, copied from the installed
    ``anywidget`` package by ``scripts/fetch_js.sh``) through RequireJS; the
    explorer code travels inside the widget state (the ``_esm`` trait), so
    nothing is fetched from other hosts. In JupyterLab, Notebook, VS Code or
    Binder the same widget renders through anywidget's extension, and
    computes in the browser as well. With a kernel, the synced traits link
    it to Python: set ``explorer.params`` to move the controls, and read
    ``explorer.result`` for a summary of the figure shown (the outcome, the
    transmitted fraction, the P and E_a values). The transmission explorer
    also asks the kernel for what the browser should not do: its button
    "Monte Carlo in the kernel" sends a custom message, and Python runs
    :func:`lib.transmission_probability` (:meth:`Explorer.monte_carlo`) at
    the curve's temperatures in a background thread (the kernel keeps
    answering) and sends back P with its binomial error and Wilson 95%
    interval and Tolman's :math:`E_a` with its error, drawn as points with
    error bars over the browser's curves. The front end enables the button
    only when the kernel answers a ping (see :data:`MC_MESSAGES`); the
    static book has no kernel, so there the button stays disabled with a
    note saying Monte Carlo needs a running kernel.

Importing :mod:`lib` does not import this module; it imports anywidget itself.
"""
from __future__ import annotations

import json
import math
import threading
import time
from functools import lru_cache
from pathlib import Path

import anywidget
import traitlets

from .experiments import check_experiment
from .model import check_finite

__all__ = ["Explorer", "landscape_explorer", "trajectory_explorer", "phase_space_explorer",
           "transmission_explorer", "JS_DIR", "bundle", "curve_temperatures"]

JS_DIR = Path(__file__).with_name("js")
"""Folder of the JavaScript sources (package data): ``engine.js``, ``worker.js``, ``explorers.js``."""

KINDS = ("landscape", "trajectory", "phase_space", "transmission")

MAP_GRID = 100
"""Points per axis of the phase-space explorer's map."""

CURVE_TEMPERATURES = 30
"""Temperatures of the transmission explorer's curve, evenly spaced in 1/omega_T."""

CONVENTIONS = ("paper-text", "published-script")

BROWSER_EXPERIMENTS = ("frozen", "deflected", "thermal", "joint")
"""Experiments whose quadrature the JavaScript engine mirrors (``GATE`` and ``DENSITY`` in engine.js)."""

MC_TRIALS = 2_000
"""Default trials per temperature of the transmission explorer's kernel-side Monte Carlo."""

MC_TRIALS_RANGE = (100, 20_000)
"""Bounds of the trials field (per temperature; 30 temperatures, so at most 600,000 trajectories)."""

MC_MESSAGES = {"ping": "pong", "monte_carlo": "monte_carlo_result"}
"""Custom messages the transmission explorer's front end sends (keys, ``content['type']``) and the
kernel's replies (values). A failed request is answered with ``'monte_carlo_error'`` and a
``message``. The static book has no kernel, so nothing answers the ping."""


@lru_cache(maxsize=1)
def bundle() -> str:
    """The explorers' ES module: ``explorers.js`` after a prelude holding ``engine.js`` and ``worker.js``.

    The engine is imported from a ``blob:`` URL made from its source and the
    Web Workers run engine and worker from another, so the one module is all
    the page needs.
    """
    engine = (JS_DIR / "engine.js").read_text(encoding="utf-8")
    worker = (JS_DIR / "worker.js").read_text(encoding="utf-8")
    front = (JS_DIR / "explorers.js").read_text(encoding="utf-8")
    return (f"const ENGINE_SOURCE = {json.dumps(engine)};\n"
            f"const WORKER_SOURCE = {json.dumps(worker)};\n{front}")


class Explorer(anywidget.AnyWidget):
    """One explorer: an anywidget whose front end computes in the browser.

    Attributes
    ----------
    kind : str
        ``'landscape'``, ``'trajectory'``, ``'phase_space'`` or ``'transmission'``.
        The root element gets the CSS classes ``lib-explorer`` and
        ``lib-explorer-<kind>`` (the browser tests find explorers by them).
    params : dict
        The controls' values (synced both ways with a kernel).
    result : dict
        Summary of the figure last drawn, reported by the browser (empty
        until a front end has drawn it, and always without a kernel).
    """

    _esm = traitlets.Unicode("").tag(sync=True)
    kind = traitlets.Unicode("").tag(sync=True)
    params = traitlets.Dict().tag(sync=True)
    result = traitlets.Dict().tag(sync=True)

    def __init__(self, kind: str, params: dict):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
        super().__init__(_esm=bundle(), kind=kind, params=dict(params))
        self.run_in_thread = True
        """Run :meth:`monte_carlo` requests in a thread (``False``: in the message handler itself)."""
        self.mc_thread: threading.Thread | None = None
        """The thread of the last Monte Carlo request (``None`` before any)."""
        if kind == "transmission":
            self.on_msg(self._on_message)

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
        checked = _transmission_params(**{k: p[k] for k in ("experiment", "s", "M", "omega_min", "omega_max")
                                           if k in p})
        from . import Model, transmission_probability

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


def _in_range(name: str, value, lo: float, hi: float) -> float:
    """``value`` as a float within the control's range ``[lo, hi]``, or ``ValueError`` naming ``name``."""
    v = check_finite(name, value)
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be between {lo:g} and {hi:g} (the control's range), got {v!r}")
    return v


def landscape_explorer(*, U0: float = 10.0, lam: float = 2.0, s: float = 2.0) -> Explorer:
    """Potential landscape :math:`V(x, y) = U(x, y) + y^2/2` with its barrier points.

    Filled contours one :math:`\\hbar\\Omega` apart over :math:`x \\in [-7, 7]`,
    :math:`y \\in [-5.5, 5.5]` (:meth:`lib.Model.landscape`), with the frozen
    barrier point ``(0, 0)`` (:func:`lib.barriers.frozen_barrier`) and the
    stable relaxed configurations ``(0, y*)`` (:func:`lib.barriers.relaxed_barrier`).

    Parameters
    ----------
    U0 : float
        Initial height :math:`U_0` (slider 0 to 20).
    lam : float
        Initial width :math:`\\lambda` (slider 0.5 to 4).
    s : float
        Initial impact parameter (slider -3 to 3).

    Raises
    ------
    ValueError
        For a value outside its slider's range, naming it.
    """
    return Explorer("landscape", {"U0": _in_range("U0", U0, 0.0, 20.0), "lam": _in_range("lambda", lam, 0.5, 4.0),
                                  "s": _in_range("impact parameter s", s, -3.0, 3.0)})


def trajectory_explorer(*, E_particle: float = 8.0, E_oscillator: float = 4.0, phase: float = 0.0,
                        M: float = 1.0, s: float = 2.0) -> Explorer:
    """One trajectory: positions and energies against time, outcome in the title.

    The particle starts at ``x0 = -20`` with kinetic energy ``E_particle``;
    the oscillator's ``(y0, vy0)`` is :func:`lib.phase_space.oscillator_initial`
    of its energy and phase. The path is integrated by the port of
    :func:`lib.trajectory` to the outcome (marked by a vertical line) and on
    for as long again with steps of at most 1/200 period.

    Parameters
    ----------
    E_particle : float
        Initial particle energy (slider 0.2 to 15).
    E_oscillator : float
        Initial oscillator energy (slider 0 to 15).
    phase : float
        Initial oscillator phase in radians (slider 0 to 2 pi).
    M, s : float
        Initial mass (slider 0.1 to 10) and impact parameter (-3 to 3).

    Raises
    ------
    ValueError
        For a value outside its slider's range, naming it.
    """
    return Explorer("trajectory", {
        "E_particle": _in_range("particle energy", E_particle, 0.2, 15.0),
        "E_oscillator": _in_range("oscillator energy", E_oscillator, 0.0, 15.0),
        "phase": _in_range("phase", phase, 0.0, 2 * math.pi), "M": _in_range("mass M", M, 0.1, 10.0),
        "s": _in_range("impact parameter s", s, -3.0, 3.0)})


def phase_space_explorer(*, phase: float = 0.0, s: float = 2.0, M: float = 1.0,
                         convention: str = "paper-text") -> Explorer:
    """Transmission map over particle and oscillator energies (paper Fig. 3), 100 x 100.

    Each grid point of :math:`\\mathcal{E}_\\mathrm{particle} \\in [0.1, 12]`,
    :math:`\\mathcal{E}_\\mathrm{oscillator} \\in [0, 20]` is one trajectory
    (the port of :func:`lib.phase_space.phase_space_map`); orange reflected,
    green transmitted, the frozen barrier :math:`U(s)` dashed.

    Parameters
    ----------
    phase : float
        Initial oscillator phase in radians (slider 0 to 2 pi).
    s, M : float
        Initial impact parameter (slider -3 to 3) and mass (0.1 to 10).
    convention : {'paper-text', 'published-script'}
        Initial oscillator convention (see :mod:`lib.phase_space`).

    Raises
    ------
    ValueError
        For a value outside its control's range, naming it.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {', '.join(CONVENTIONS)}; got {convention!r}")
    return Explorer("phase_space", {"phase": _in_range("phase", phase, 0.0, 2 * math.pi),
                                    "s": _in_range("impact parameter s", s, -3.0, 3.0),
                                    "M": _in_range("mass M", M, 0.1, 10.0), "convention": convention,
                                    "grid": MAP_GRID})


def transmission_explorer(*, experiment: str = "thermal", s: float = 2.0, M: float = 1.0,
                          omega_min: float = 1.0, omega_max: float = 10.0) -> Explorer:
    """:math:`\\mathcal{P}(\\omega_T)` against :math:`1/\\omega_T` and :math:`E_a(\\omega_T)`, by quadrature.

    For the chosen experiment the browser finds the transmitting intervals
    (the port of :func:`lib.transmitting.transmitting_set`: 16 phases refined
    twice where the intervals jump, 16 scanned energies, bisection to
    ``0.01 omega_min / 4``; levels up to :func:`lib.quadrature.level_cutoff`
    at tolerance 0.01) and sums them as :func:`lib.quadrature.quadrature`
    does, at 30 temperatures evenly spaced in :math:`1/\\omega_T`. Beside the
    curve: the frozen (solid) and relaxed (dashed) Arrhenius lines
    :math:`e^{-E/\\omega_T}`, and :math:`E_a(\\omega_T)` with both barriers.

    Parameters
    ----------
    experiment : str
        Initial experiment, one of :data:`BROWSER_EXPERIMENTS` (the paper's four).
    s, M : float
        Initial impact parameter (slider -3 to 3) and mass (0.1 to 10).
    omega_min, omega_max : float
        Initial temperature range (sliders 0.5 to 5 and 2 to 20).

    Raises
    ------
    ValueError
        For an unknown experiment or a value outside its control's range, naming it.
    """
    return Explorer("transmission", _transmission_params(experiment, s, M, omega_min, omega_max))


def _transmission_params(experiment: str = "thermal", s: float = 2.0, M: float = 1.0, omega_min: float = 1.0,
                         omega_max: float = 10.0) -> dict:
    """The transmission explorer's checked controls (see :func:`transmission_explorer`)."""
    check_experiment(experiment)
    if experiment not in BROWSER_EXPERIMENTS:
        raise ValueError(f"experiment must be one of {', '.join(BROWSER_EXPERIMENTS)} for the in-browser "
                         f"quadrature; got {experiment!r}")
    lo = _in_range("lowest temperature", omega_min, 0.5, 5.0)
    hi = _in_range("highest temperature", omega_max, 2.0, 20.0)
    if not hi > lo:
        raise ValueError(f"highest temperature must exceed the lowest, got {lo!r} and {hi!r}")
    return {"experiment": experiment, "s": _in_range("impact parameter s", s, -3.0, 3.0),
            "M": _in_range("mass M", M, 0.1, 10.0), "omega_min": lo, "omega_max": hi,
            "temperatures": CURVE_TEMPERATURES}


def curve_temperatures(omega_min: float, omega_max: float, n: int = CURVE_TEMPERATURES) -> list[float]:
    """The transmission explorer's temperatures: ``n`` from ``omega_min`` to ``omega_max``, evenly spaced in 1/omega_T.

    The same arithmetic as ``inverseSpaced`` in engine.js, so the kernel's
    Monte Carlo points fall on the browser curve's temperatures exactly.
    """
    lo, hi = float(omega_min), float(omega_max)
    out = [1.0 / (1.0 / hi + (i / max(1, n - 1)) * (1.0 / lo - 1.0 / hi)) for i in range(n)]
    return out[::-1]
