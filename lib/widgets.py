r"""Interactive explorers for the book: landscape, trajectory, phase space, transmission.

Each public function returns one :class:`Explorer` (an ``ipywidgets.VBox``)
that a notebook displays with a single call, e.g.
``lib.widgets.phase_space_explorer()``. Every explorer works in two modes.

Static (the rendered HTML page, no kernel)
    When the notebook runs at build time, a modest grid of control values is
    computed with :mod:`lib` and each combination is drawn to a PNG
    (``ipywidgets.Image``). The images sit in nested ``ipywidgets.Stack``
    containers: the outer stack is selected by the first control, each of its
    children is a stack selected by the second control, and so on. Every
    control is tied to every stack of its level with ``ipywidgets.jslink``
    on the synced ``index`` trait of a ``SelectionSlider`` or ``Dropdown``,
    so the page switches figures in the browser with no Python behind it.
Live (a running kernel: Jupyter, Binder)
    An accordion titled "Live controls (need a running kernel, e.g. Binder)"
    holds free controls (any value, grid size, number of trials) whose
    ``observe`` callbacks recompute with :mod:`lib` and redraw a live image.
    Live computations run serially and bypass the on-disk cache
    (``n_jobs=1, use_cache=False``): a 100 x 100 map takes about 0.03 s and
    30 temperatures x 2,000 trials about 0.2 s on one core, while starting a
    process pool takes about a second and caching would write every
    throw-away result to disk. With drawing, an update takes 0.2-0.6 s. An
    invalid value shows lib's one-line error message under the controls and
    keeps the last figure.

The four explorers share :func:`_static_view` (nested stacks and links) and
:class:`_LivePanel` (live controls, callbacks and timing).

Importing :mod:`lib` does not import this module; it imports ipywidgets and
matplotlib itself.
"""
from __future__ import annotations

import html
import io
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import ipywidgets as widgets
import numpy as np

from . import plotting
from .barriers import frozen_barrier, relaxed_barrier
from .ensemble import check_trials, transmission_probability
from .experiments import DESCRIPTIONS, EXPERIMENTS, check_experiment, paper_temperatures
from .integrate import ADAPTIVE, trajectory
from .model import Model, check_finite
from .phase_space import PAPER_PHASES, oscillator_initial, phase_space_map

__all__ = ["Explorer", "landscape_explorer", "trajectory_explorer", "phase_space_explorer",
           "transmission_explorer"]

DEFAULT_DPI = 100
"""Resolution of the explorers' PNGs: a 7-inch figure is 700 pixels wide."""

LIVE_TITLE = "Live controls (need a running kernel, e.g. Binder)"
"""Title of the accordion that holds each explorer's live controls."""

LIVE_NOTE = ("These controls recompute the figure with <code>lib</code> when a Jupyter kernel is "
             "running (e.g. on Binder). In a static web page they do nothing: use the sliders above, "
             "whose figures were computed when the page was built.")

LANDSCAPE_X = (-7.0, 7.0)
LANDSCAPE_Y = (-5.5, 5.5)
_LANDSCAPE_VMAX = 25.0
"""Top of the landscape's colour scale (hbar Omega); higher values take the top colour."""

_OUTCOME_NAMES = {1: "transmitted", 0: "reflected", -1: "undecided"}

_SMOOTH = ADAPTIVE.with_options(h_max=0.005)
"""The default integrator with steps of at most 1/200 period, for smooth curves."""

_CONTROL_STYLE = {"description_width": "13em"}
_CONTROL_LAYOUT = {"width": "36em", "max_width": "100%"}


# -- validation ----------------------------------------------------------------------

def _values(name: str, values, *, positive: bool = False, nonnegative: bool = False) -> tuple:
    """``values`` as a tuple of distinct finite floats, or ``ValueError`` naming ``name``."""
    try:
        items = list(values)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of numbers, got {values!r}") from None
    if not items:
        raise ValueError(f"{name} must not be empty")
    out = tuple(check_finite(name, v, positive=positive, nonnegative=nonnegative) for v in items)
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must not repeat a value, got {values!r}")
    return out


def _positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, got {value!r}")
    return int(value)


def _experiments(values) -> tuple:
    if isinstance(values, str):
        values = (values,)
    items = tuple(values)
    if not items:
        raise ValueError("experiments must not be empty")
    for e in items:
        check_experiment(e)
    if len(set(items)) != len(items):
        raise ValueError(f"experiments must not repeat a value, got {values!r}")
    return items


# -- figures ---------------------------------------------------------------------------

@contextmanager
def _book_style():
    """The book's matplotlib style, restored to the caller's afterwards."""
    import matplotlib as mpl

    with mpl.rc_context():
        plotting.use_book_style()
        yield


def _png(fig, dpi: int) -> bytes:
    """PNG bytes of a matplotlib figure, reduced to a 256-colour palette.

    The palette (median cut, no dithering) looks the same at these sizes and
    makes the files about three times smaller, which keeps the pages that
    embed dozens of figures small. No timestamp or version is written, so
    the bytes are reproducible.
    """
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    rgb = Image.open(buf).convert("RGB")
    out = io.BytesIO()
    rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, format="png")
    return out.getvalue()


def _figure(height: float, **kwargs):
    from matplotlib.figure import Figure

    return Figure(figsize=(plotting.BOOK_WIDTH, height), **kwargs)


def _landscape_png(U0: float, lam: float, s: float, *, dpi: int) -> bytes:
    """Filled contours of V(x, y) = U(x, y) + y^2/2 with the barrier points marked."""
    from matplotlib.colors import Normalize

    model = Model(s=s, U0=U0, lam=lam)
    x = np.linspace(*LANDSCAPE_X, 281)
    y = np.linspace(*LANDSCAPE_Y, 221)
    V = model.landscape(x[None, :], y[:, None])
    vmax = max(_LANDSCAPE_VMAX, float(V.max()))
    levels = np.linspace(0.0, vmax, int(round(vmax)) + 1)
    e_frozen = frozen_barrier(model)
    relaxed = relaxed_barrier(model)
    with _book_style():
        fig = _figure(4.9)
        ax = fig.add_subplot()
        cs = ax.contourf(x, y, V, levels=levels, cmap="cividis",
                         norm=Normalize(0.0, _LANDSCAPE_VMAX, clip=True))
        fig.colorbar(cs, ax=ax, label=r"$V = U(x, y) + y^2/2$ ($\hbar\Omega$)", ticks=np.arange(0, vmax + 1, 5))
        ax.axhline(0.0, color="white", lw=0.8, ls=":")
        ax.plot([0.0], [0.0], "X", ms=11, color=plotting.WONG["vermillion"], mec="white", mew=1.0,
                label=f"frozen barrier (0, 0): $U(s)$ = {e_frozen:.3f}")
        for k, (y_min, e_min) in enumerate(relaxed.minima):
            lowest = k == 0
            ax.plot([0.0], [y_min], "o", ms=9 if lowest else 7,
                    color=plotting.WONG["sky_blue"] if lowest else "none",
                    mec=plotting.WONG["sky_blue"] if not lowest else "white", mew=1.5,
                    label=(f"relaxed barrier (0, {y_min:.2f}): $\\mathcal{{E}}_*$ = {e_min:.3f}" if lowest
                           else f"other stable (0, {y_min:.2f}): {e_min:.3f}"))
        ax.set_xlim(*LANDSCAPE_X)
        ax.set_ylim(*LANDSCAPE_Y)
        ax.set_xlabel(r"particle position $x$ ($l_\mathrm{osc}$)")
        ax.set_ylabel(r"oscillator position $y$ ($l_\mathrm{osc}$)")
        ax.set_title(f"$U_0$ = {U0:g}, $\\lambda$ = {lam:g}, $s$ = {s:g}")
        ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
        return _png(fig, dpi)


def _trajectory_png(E_particle: float, E_oscillator: float, phase: float, M: float, s: float, *,
                    dpi: int) -> bytes:
    """Positions and energies against time for one trajectory, outcome in the title."""
    model = Model(M=M, s=s)
    E_particle = check_finite("particle energy", E_particle, positive=True)
    E_oscillator = check_finite("oscillator energy", E_oscillator, nonnegative=True)
    phase = check_finite("phase", phase)
    y0, vy0 = oscillator_initial(E_oscillator, phase)
    state = (model.x0, float(model.speed(E_particle)), float(y0), float(vy0))
    decided = trajectory(model, state)
    t_stop = float(decided.t[-1])
    # For the curves: the same integrator with short steps (the default's long
    # steps far from the gate would draw the oscillator as a polygon), run on
    # for as long again to show the particle leaving the gate.
    tr = trajectory(model, state, _SMOOTH, t_end=2.0 * t_stop)
    outcome = decided.outcome
    w = plotting.WONG
    with _book_style():
        fig = _figure(6.2)
        ax_x, ax_y, ax_e = fig.subplots(3, 1, sharex=True, height_ratios=(1, 1, 1.4))
        ax_x.plot(tr.t, tr.x, color=w["blue"])
        ax_x.axhline(0.0, color=w["black"], lw=0.6, ls=":")
        ax_x.set_ylabel("particle\n$x$ ($l_\\mathrm{osc}$)")
        ax_y.plot(tr.t, tr.y, color=w["vermillion"])
        ax_y.axhline(s, color=w["black"], lw=0.6, ls=":")
        ax_y.set_ylabel("oscillator\n$y$ ($l_\\mathrm{osc}$)")
        ax_e.plot(tr.t, tr.particle_energy, color=w["blue"], label="particle")
        ax_e.plot(tr.t, tr.oscillator_energy, color=w["vermillion"], label="oscillator")
        ax_e.plot(tr.t, tr.interaction_energy, color=w["green"], label="interaction $U$")
        ax_e.plot(tr.t, tr.total_energy, color=w["black"], ls="--", label="total")
        ax_e.set_ylabel(r"energy ($\hbar\Omega$)")
        ax_e.set_xlabel(r"time $\tau$ (oscillator periods)")
        for ax in (ax_x, ax_y, ax_e):
            ax.axvline(t_stop, color=w["black"], lw=0.8, alpha=0.5,
                       label="outcome decided" if ax is ax_e else None)
        fig.legend(*ax_e.get_legend_handles_labels(), loc="outside lower center", ncol=5, fontsize=8,
                   frameon=False)
        ax_x.set_xlim(0.0, tr.t[-1])
        fig.suptitle(f"{_OUTCOME_NAMES[outcome]} (outcome {outcome})   "
                     f"$\\mathcal{{E}}_\\mathrm{{particle}}$ = {E_particle:g}, "
                     f"$\\mathcal{{E}}_\\mathrm{{osc}}$ = {E_oscillator:g}, "
                     f"φ = {plotting.phase_label(phase)}, M = {M:g}, s = {s:g}", fontsize=10)
        return _png(fig, dpi)


def _phase_space_png(phase: float, s: float, M: float, *, grid: int, dpi: int, live: bool) -> bytes:
    """The transmission map at one phase, with the frozen barrier U(s) marked."""
    model = Model(M=M, s=s)
    kw = {"n_jobs": 1, "use_cache": False} if live else {}
    pmap = phase_space_map(model, phase, grid=grid, **kw)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    e_frozen = frozen_barrier(model)
    with _book_style():
        fig = _figure(4.8)
        ax = fig.add_subplot()
        plotting.plot_phase_map(ax, pmap, title=f"φ = {plotting.phase_label(phase)}, s = {s:g}, M = {M:g}   "
                                                f"({grid} × {grid} trajectories, "
                                                f"{100 * pmap.transmitted_fraction:.1f}% transmitted)")
        ax.axvline(e_frozen, color=plotting.WONG["black"], lw=1.0, ls="--")
        fig.legend(handles=[Patch(color=plotting.OUTCOME_COLORS[0], label="reflected"),
                            Patch(color=plotting.OUTCOME_COLORS[1], label="transmitted"),
                            Line2D([], [], color=plotting.WONG["black"], lw=1.0, ls="--",
                                   label=f"frozen barrier $U(s)$ = {e_frozen:.3f}")],
                   loc="outside lower center", ncol=3, frameon=False)
        return _png(fig, dpi)


def _transmission_png(experiment: str, s: float, M: float, *, temperatures, trials: int, seed: int,
                      dpi: int, live: bool) -> bytes:
    """P against 1/omega_T with the frozen (solid) and relaxed (dashed) Arrhenius lines."""
    model = Model(M=M, s=s)
    kw = {"n_jobs": 1, "use_cache": False, "progress": False} if live else {"progress": False}
    result = transmission_probability(experiment, model, temperatures, trials=trials, seed=seed, **kw)
    with _book_style():
        fig = _figure(4.4)
        ax = fig.add_subplot()
        plotting.plot_transmission(ax, result)
        plotting.plot_barrier_lines(ax, model, result.omega_T)
        ax.set_xlim(0.0, 1.02 / result.omega_T.min())
        ax.set_ylim(min(1e-4, 0.2 / trials), 1.3)
        ax.set_title(f"{experiment}: {DESCRIPTIONS[experiment]}\n"
                     f"s = {s:g}, M = {M:g}, {result.omega_T.size} temperatures × {trials:,} trials")
        ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
        return _png(fig, dpi)


def explorer_temperatures(n: int = 30) -> np.ndarray:
    """``n`` of the paper's temperatures, spread evenly in :math:`1/\\omega_T`.

    For each of ``n`` evenly spaced targets between the smallest and
    largest :math:`1/\\omega_T` of :func:`lib.experiments.paper_temperatures`
    the nearest unused paper temperature is taken, so all ``n`` are distinct.
    Returned in increasing order of temperature.
    """
    T = np.unique(paper_temperatures())
    n = _positive_int("number of temperatures", n, 2)
    if n > T.size:
        raise ValueError(f"number of temperatures must be at most {T.size}, got {n}")
    inv = 1.0 / T
    free = np.ones(T.size, dtype=bool)
    for target in np.linspace(inv.min(), inv.max(), n):
        distance = np.where(free, np.abs(inv - target), np.inf)
        free[int(np.argmin(distance))] = False
    return T[~free]


# -- shared machinery: static stacks and live panel ------------------------------------

@dataclass(frozen=True)
class _Axis:
    """One static control: its keyword, description, values and readout labels.

    ``default`` is the index shown first; ``kind`` is ``'slider'`` (a
    ``SelectionSlider``) or ``'dropdown'``.
    """

    name: str
    description: str
    values: tuple
    labels: tuple
    default: int = 0
    kind: str = "slider"

    def control(self) -> widgets.Widget:
        options = list(zip(self.labels, range(len(self.values))))
        common = dict(options=options, index=self.default, description=self.description,
                      style=_CONTROL_STYLE, layout=_CONTROL_LAYOUT)
        if self.kind == "dropdown":
            return widgets.Dropdown(**common)
        return widgets.SelectionSlider(continuous_update=True, **common)


def _axis(name, description, values, *, default=None, labels=None, fmt="{:g}", kind="slider") -> _Axis:
    """An :class:`_Axis` showing the value nearest ``default`` first (the first value if ``None``).

    Readout labels are ``labels`` if given, else each value formatted with ``fmt``.
    """
    labels = tuple(fmt.format(v) for v in values) if labels is None else tuple(labels)
    if default is None or default not in values:
        index = 0 if default is None else int(np.argmin([abs(v - default) for v in values]))
    else:
        index = values.index(default)
    return _Axis(name, description, tuple(values), labels, index, kind)


def _image(png: bytes, *classes: str) -> widgets.Image:
    img = widgets.Image(value=png, format="png", layout=widgets.Layout(max_width="100%", height="auto"))
    for c in classes:
        img.add_class(c)
    return img


def _static_view(axes: list[_Axis], render: Callable[..., bytes]):
    """Render every combination of ``axes`` and link the controls to nested stacks.

    Returns ``(controls, root, stacks, links)``: one control per axis (its
    ``index`` trait is the synced selection), the outermost ``Stack``, the
    stacks per level (``stacks[k]`` are selected by ``controls[k]``) and the
    ``jslink`` objects, one per stack.
    """
    controls = [a.control() for a in axes]
    for c in controls:
        c.add_class("lib-explorer-control")
    stacks: list[list[widgets.Stack]] = [[] for _ in axes]

    def build(level: int, fixed: dict) -> widgets.Stack:
        axis = axes[level]
        children = []
        for value in axis.values:
            params = {**fixed, axis.name: value}
            if level + 1 == len(axes):
                children.append(_image(render(**params), "lib-explorer-figure"))
            else:
                children.append(build(level + 1, params))
        stack = widgets.Stack(children, selected_index=axis.default)
        stacks[level].append(stack)
        return stack

    root = build(0, {})
    root.add_class("lib-explorer-static")
    links = [widgets.jslink((controls[k], "index"), (stack, "selected_index"))
             for k in range(len(axes)) for stack in stacks[k]]
    return controls, root, stacks, links


def _float_text(description: str, value: float) -> widgets.FloatText:
    return widgets.FloatText(value=value, description=description, style=_CONTROL_STYLE,
                             layout=_CONTROL_LAYOUT)


def _int_text(description: str, value: int, lo: int, hi: int) -> widgets.BoundedIntText:
    return widgets.BoundedIntText(value=value, min=lo, max=hi, description=description,
                                  style=_CONTROL_STYLE, layout=_CONTROL_LAYOUT)


class _LivePanel:
    """Free controls that recompute with lib in a running kernel.

    ``render(**values)`` gets the current ``value`` of every control and
    returns PNG bytes. The figure is drawn when the accordion is first
    opened, and again whenever a control changes. A ``ValueError`` from lib
    (an invalid value) is shown in the status line and the figure is kept.
    """

    def __init__(self, controls: dict, render: Callable[..., bytes]):
        self.controls = controls
        self.render = render
        self.image = _image(b"", "lib-explorer-live-figure")
        self.image.layout.display = "none"  # no empty-image icon before the first drawing
        self.status = widgets.HTML(LIVE_NOTE)
        self.last_seconds: float | None = None
        body = widgets.VBox([*controls.values(), self.status, self.image])
        self.accordion = widgets.Accordion([body], titles=(LIVE_TITLE,), selected_index=None)
        self.accordion.add_class("lib-explorer-live")
        for c in controls.values():
            c.observe(self._on_change, names="value")
        self.accordion.observe(self._on_open, names="selected_index")

    def _on_change(self, change):
        self.update()

    def _on_open(self, change):
        if change["new"] is not None and not self.image.value:
            self.update()

    def update(self) -> float | None:
        """Recompute and redraw now; return the seconds taken, or None after an error."""
        values = {name: c.value for name, c in self.controls.items()}
        start = time.perf_counter()
        try:
            png = self.render(**values)
        except ValueError as err:
            self.status.value = f'<span style="color:#D55E00">Invalid input: {html.escape(str(err))}</span>'
            return None
        self.image.value = png
        self.image.layout.display = None
        self.last_seconds = time.perf_counter() - start
        self.status.value = f"Recomputed with lib in {self.last_seconds:.2f} s."
        return self.last_seconds


class Explorer(widgets.VBox):
    """An explorer: static controls over precomputed figures, plus live controls.

    Display it in a notebook as the last expression of a cell. Besides the
    children it shows, it keeps references for inspection and tests.

    Attributes
    ----------
    static_controls : dict of str to ipywidgets.Widget
        ``SelectionSlider`` or ``Dropdown`` per static parameter, outermost first.
    stacks : list of list of ipywidgets.Stack
        ``stacks[k]`` are the stacks selected by the ``k``-th static control.
    links : list of ipywidgets.Link
        The ``jslink`` from each control's ``index`` to its stacks' ``selected_index``.
    live_controls : dict of str to ipywidgets.Widget
        Free controls of the live panel.
    live_image : ipywidgets.Image
        The figure redrawn by the live controls (empty until first drawn).
    live_status : ipywidgets.HTML
        Note, timing of the last update or the last error.

    Parameters
    ----------
    name : str
        Short name; the root widget gets the CSS classes ``lib-explorer`` and
        ``lib-explorer-<name>`` (the browser test finds explorers by them).
    caption : str
        Text put before the count of precomputed figures under the figure.
    axes : list of _Axis
        Static parameters, outermost stack first.
    render_static : callable
        ``render_static(**{axis.name: value})`` returns the PNG bytes of one
        precomputed figure.
    live_controls : dict of str to ipywidgets.ValueWidget
        Free controls, keyed by the keyword ``render_live`` takes.
    render_live : callable
        ``render_live(**{key: control.value})`` returns PNG bytes, or raises
        ``ValueError`` for an invalid value.
    """

    def __init__(self, name: str, caption: str, axes: list[_Axis], render_static: Callable[..., bytes],
                 live_controls: dict, render_live: Callable[..., bytes]):
        controls, root, stacks, links = _static_view(axes, render_static)
        live = _LivePanel(live_controls, render_live)
        sizes = " × ".join(str(len(a.values)) for a in axes)
        note = widgets.HTML(f"<small>{html.escape(caption)} {sizes} figures precomputed with "
                            "<code>lib</code> when this page was built.</small>")
        super().__init__([*controls, root, note, live.accordion])
        self.add_class("lib-explorer")
        self.add_class(f"lib-explorer-{name}")
        self.static_controls = {a.name: c for a, c in zip(axes, controls)}
        self.stacks = stacks
        self.links = links
        self.live_controls = live_controls
        self.live_image = live.image
        self.live_status = live.status
        self._live = live

    @property
    def last_update_seconds(self) -> float | None:
        """Seconds the last successful live update took (``None`` before the first)."""
        return self._live.last_seconds

    def update_live(self) -> float | None:
        """Redraw the live figure from the live controls now; return the seconds taken."""
        return self._live.update()


# -- the four explorers ------------------------------------------------------------

def landscape_explorer(*, heights=(5.0, 10.0), widths=(1.0, 2.0, 3.0), impacts=(0.0, 1.0, 2.0),
                       dpi: int = DEFAULT_DPI) -> Explorer:
    """Potential landscape :math:`V(x, y) = U(x, y) + y^2/2` with its barrier points.

    Filled contours over :math:`x \\in [-7, 7]`, :math:`y \\in [-5.5, 5.5]`
    (:meth:`lib.Model.landscape`), with the frozen barrier point ``(0, 0)``
    (:func:`lib.barriers.frozen_barrier`) and the relaxed configurations
    ``(0, y*)`` (:func:`lib.barriers.relaxed_barrier`) marked.

    Parameters
    ----------
    heights : sequence of float
        Values of :math:`U_0` for the static figures (non-negative).
    widths : sequence of float
        Values of :math:`\\lambda` (positive).
    impacts : sequence of float
        Values of the impact parameter :math:`s`.
    dpi : int
        Resolution of the PNGs.

    Returns
    -------
    Explorer
        Static controls U0, lambda, s over ``len(heights) * len(widths) *
        len(impacts)`` figures; live controls for any U0, lambda, s.

    Raises
    ------
    ValueError
        For an empty, repeated, non-finite or out-of-range value, or a bad ``dpi``.
    """
    heights = _values("U0 values", heights, nonnegative=True)
    widths = _values("lambda values", widths, positive=True)
    impacts = _values("impact parameters s", impacts)
    dpi = _positive_int("dpi", dpi, 10)
    axes = [
        _axis("U0", "height U₀ (ħΩ)", heights, default=10.0),
        _axis("lam", "width λ", widths, default=2.0),
        _axis("s", "impact parameter s", impacts, default=2.0),
    ]

    def render(U0, lam, s):
        return _landscape_png(U0, lam, s, dpi=dpi)

    live = {"U0": _float_text("height U₀ (ħΩ)", 10.0), "lam": _float_text("width λ", 2.0),
            "s": _float_text("impact parameter s", 2.0)}
    return Explorer("landscape", "Potential landscape:", axes, render, live, render)


def trajectory_explorer(*, particle_energies=(4.0, 8.0, 12.0), oscillator_energies=(0.0, 4.0, 8.0),
                        phases=(0.0, math.pi / 2, math.pi, 3 * math.pi / 2), M: float = 1.0, s: float = 2.0,
                        dpi: int = DEFAULT_DPI) -> Explorer:
    """One trajectory: positions and energies against time, outcome in the title.

    The particle starts at ``x0 = -20`` with speed ``Model.speed(E_particle)``;
    the oscillator's ``(y0, vy0)`` is
    :func:`lib.phase_space.oscillator_initial` of its energy and phase. The
    path is integrated by :func:`lib.trajectory` to the outcome (marked by a
    vertical line; the title reports ``tr.outcome``, 1 transmitted or 0
    reflected) and on for as long again.

    Parameters
    ----------
    particle_energies, oscillator_energies : sequence of float
        Static values of :math:`\\mathcal{E}_\\mathrm{particle}` (positive)
        and :math:`\\mathcal{E}_\\mathrm{oscillator}` (non-negative), in
        :math:`\\hbar\\Omega`.
    phases : sequence of float
        Static oscillator phases (radians).
    M, s : float
        Mass and impact parameter of the static figures.
    dpi : int
        Resolution of the PNGs.

    Returns
    -------
    Explorer
        Static controls E_particle, E_oscillator, phase; live controls for
        any E_particle, E_oscillator, phase, M and s.

    Raises
    ------
    ValueError
        For an empty, repeated, non-finite or out-of-range value, or a bad ``dpi``.
    """
    particle_energies = _values("particle energies", particle_energies, positive=True)
    oscillator_energies = _values("oscillator energies", oscillator_energies, nonnegative=True)
    phases = _values("phases", phases)
    Model(M=M, s=s)  # validates M and s
    dpi = _positive_int("dpi", dpi, 10)
    axes = [
        _axis("E_particle", "particle energy (ħΩ)", particle_energies, default=8.0),
        _axis("E_oscillator", "oscillator energy (ħΩ)", oscillator_energies, default=4.0),
        _axis("phase", "oscillator phase φ", phases, labels=[plotting.phase_label(p) for p in phases]),
    ]

    def render_static(E_particle, E_oscillator, phase):
        return _trajectory_png(E_particle, E_oscillator, phase, M, s, dpi=dpi)

    def render_live(E_particle, E_oscillator, phase, M, s):
        return _trajectory_png(E_particle, E_oscillator, phase, M, s, dpi=dpi)

    live = {"E_particle": _float_text("particle energy (ħΩ)", 8.0),
            "E_oscillator": _float_text("oscillator energy (ħΩ)", 4.0),
            "phase": _float_text("oscillator phase φ (rad)", 0.0),
            "M": _float_text("mass M", float(M)), "s": _float_text("impact parameter s", float(s))}
    return Explorer("trajectory", f"One trajectory at M = {M:g}, s = {s:g}:", axes, render_static, live,
                    render_live)


def phase_space_explorer(*, phases=PAPER_PHASES, impacts=(0.0, 2.0), masses=(0.2, 1.0, 5.0), grid: int = 100,
                         dpi: int = DEFAULT_DPI) -> Explorer:
    """Transmission map over particle and oscillator energies (paper Fig. 3).

    Each figure is :func:`lib.phase_space.phase_space_map` at one phase,
    drawn with :func:`lib.plotting.plot_phase_map` (orange reflected, green
    transmitted), with the frozen barrier :math:`U(s)` as a dashed line.

    Parameters
    ----------
    phases : sequence of float
        Static oscillator phases (radians); default the paper's :math:`k\\pi/4`.
    impacts : sequence of float
        Static impact parameters.
    masses : sequence of float
        Static particle masses (positive).
    grid : int
        Points per energy axis of the static maps (at least 2).
    dpi : int
        Resolution of the PNGs.

    Returns
    -------
    Explorer
        Static controls phase, s, M; live controls for any phase, s, M and
        grid size.

    Raises
    ------
    ValueError
        For an empty, repeated, non-finite or out-of-range value, or a bad
        ``grid`` or ``dpi``.
    """
    phases = _values("phases", phases)
    impacts = _values("impact parameters s", impacts)
    masses = _values("masses M", masses, positive=True)
    grid = _positive_int("grid", grid, 2)
    dpi = _positive_int("dpi", dpi, 10)
    axes = [
        _axis("phase", "oscillator phase φ", phases, labels=[plotting.phase_label(p) for p in phases]),
        _axis("s", "impact parameter s", impacts, default=2.0),
        _axis("M", "mass M", masses, default=1.0),
    ]

    def render_static(phase, s, M):
        return _phase_space_png(phase, s, M, grid=grid, dpi=dpi, live=False)

    def render_live(phase, s, M, grid):
        return _phase_space_png(phase, s, M, grid=grid, dpi=dpi, live=True)

    live = {"phase": _float_text("oscillator phase φ (rad)", float(phases[0])),
            "s": _float_text("impact parameter s", 2.0), "M": _float_text("mass M", 1.0),
            "grid": _int_text("grid points per axis", grid, 2, 1000)}
    return Explorer("phase_space", f"Transmission maps on a {grid} × {grid} grid:", axes, render_static, live,
                    render_live)


def transmission_explorer(*, experiments=EXPERIMENTS, impacts=(0.0, 2.0), masses=(0.2, 1.0, 5.0),
                          n_temperatures: int = 30, trials: int = 2000, seed: int = 0,
                          dpi: int = DEFAULT_DPI) -> Explorer:
    """Transmission probability against :math:`1/\\omega_T` with the Arrhenius lines.

    Each figure is :func:`lib.transmission_probability` over
    :func:`explorer_temperatures` (paper temperatures spread evenly in
    :math:`1/\\omega_T`), drawn with :func:`lib.plotting.plot_transmission`
    (Wilson 95% intervals) and :func:`lib.plotting.plot_barrier_lines`
    (frozen barrier solid, relaxed barrier dashed).

    Parameters
    ----------
    experiments : sequence of str
        Static experiments, from ``lib.EXPERIMENTS``.
    impacts : sequence of float
        Static impact parameters.
    masses : sequence of float
        Static particle masses (positive).
    n_temperatures : int
        Temperatures per curve (2 to 249).
    trials : int
        Trials per temperature.
    seed : int
        Root seed of the ensembles (see :mod:`lib.ensemble`).
    dpi : int
        Resolution of the PNGs.

    Returns
    -------
    Explorer
        Static controls experiment, s, M; live controls for the experiment,
        any s and M, the number of temperatures, trials and seed.

    Raises
    ------
    ValueError
        For an unknown experiment, an empty, repeated, non-finite or
        out-of-range value, or a bad count, seed or ``dpi``.
    """
    experiments = _experiments(experiments)
    impacts = _values("impact parameters s", impacts)
    masses = _values("masses M", masses, positive=True)
    temperatures = explorer_temperatures(n_temperatures)
    trials = check_trials(trials)
    seed = _positive_int("seed", seed, 0)
    dpi = _positive_int("dpi", dpi, 10)
    axes = [
        _Axis("experiment", "experiment", experiments,
              tuple(f"{e}: {DESCRIPTIONS[e]}" for e in experiments), kind="dropdown"),
        _axis("s", "impact parameter s", impacts, default=2.0),
        _axis("M", "mass M", masses, default=1.0),
    ]

    def render_static(experiment, s, M):
        return _transmission_png(experiment, s, M, temperatures=temperatures, trials=trials, seed=seed,
                                 dpi=dpi, live=False)

    def render_live(experiment, s, M, n_temperatures, trials, seed):
        return _transmission_png(experiment, s, M, temperatures=explorer_temperatures(n_temperatures),
                                 trials=trials, seed=seed, dpi=dpi, live=True)

    live = {"experiment": widgets.Dropdown(options=[(f"{e}: {DESCRIPTIONS[e]}", e) for e in EXPERIMENTS],
                                           value=experiments[0], description="experiment",
                                           style=_CONTROL_STYLE, layout=_CONTROL_LAYOUT),
            "s": _float_text("impact parameter s", 2.0), "M": _float_text("mass M", 1.0),
            "n_temperatures": _int_text("temperatures", temperatures.size, 2,
                                        np.unique(paper_temperatures()).size),
            "trials": _int_text("trials per temperature", trials, 1, 10**7),
            "seed": _int_text("seed", seed, 0, 2**31 - 1)}
    return Explorer("transmission", f"P(ω_T) for {temperatures.size} temperatures × {trials:,} trials:", axes,
                    render_static, live, render_live)
