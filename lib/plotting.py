"""Plotting helpers with Wong's colour-blind-safe palette (Nature Methods 8, 441).

The paper draws transmission probabilities on a logarithmic axis against
:math:`1/\\omega_T` and phase-space maps in orange (reflected) and green
(transmitted); these helpers do the same so the book's figures can be set
beside the paper's.
"""
from __future__ import annotations

import math

import numpy as np

from .arrhenius import summarize
from .barriers import frozen_barrier, relaxed_barrier
from .model import Model
from .phase_space import PAPER_PHASES

WONG = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
"""Wong's eight colours."""

MASS_STYLE = {
    0.2: {"color": WONG["blue"], "marker": "o", "label": "light (M = 1/5)"},
    1.0: {"color": WONG["vermillion"], "marker": "s", "label": "medium (M = 1)"},
    5.0: {"color": WONG["purple"], "marker": "^", "label": "heavy (M = 5)"},
}
"""Colour, marker and label for the paper's three masses."""

OUTCOME_COLORS = (WONG["orange"], WONG["green"])
"""Reflected, transmitted (as in the paper's Fig. 3)."""

ROLE_COLORS = {"particle": WONG["vermillion"], "gate": WONG["blue"], "interaction": WONG["orange"],
               "total": WONG["black"], "frozen": WONG["orange"], "relaxed": WONG["sky_blue"]}
"""Colours of what a figure shows: the particle and the gate (positions, energies), the interaction U
and the total energy; the frozen and relaxed barrier points on the landscape."""

BARRIER_LINESTYLES = {"frozen": "-", "relaxed": "--"}
"""Lines at the frozen barrier U(s) (solid) and the relaxed barrier E* (dashed)."""

BOOK_WIDTH = 7.0
"""Figure width in inches that fills the book's text column."""


PAPER_RANGE = (0.0, 1.0)
r"""The x-range of the paper's Figs. 4 and 5: :math:`1/\omega_T` from 0 to 1 (its lowest temperature is
:math:`\omega_T = 1`); :func:`figure_transmission` draws its main panels on it."""


def mass_style(M: float) -> dict:
    """Style of one of the paper's masses, or a neutral style for any other."""
    for m, style in MASS_STYLE.items():
        if math.isclose(M, m):
            return dict(style)
    return {"color": WONG["black"], "marker": "D", "label": f"M = {M:g}"}


def use_book_style():
    """Matplotlib settings for legible figures at book width."""
    import matplotlib as mpl

    mpl.rcParams.update({
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "font.size": 10,
        "axes.titlesize": 10,
        "axes.labelsize": 10,
        "legend.fontsize": 8.5,
        "xtick.labelsize": 9,
        "ytick.labelsize": 9,
        "axes.prop_cycle": mpl.cycler(color=[WONG[c] for c in ("blue", "vermillion", "green", "purple",
                                                                   "orange", "sky_blue", "black")]),
        "figure.constrained_layout.use": True,
    })


def phase_label(phase: float) -> str:
    """``'3π/4'``-style label for multiples of π/4."""
    k = phase / (math.pi / 4)
    if not math.isclose(k, round(k), abs_tol=1e-9):
        return f"{phase:.3g}"
    k = int(round(k))
    if k == 0:
        return "0"
    from fractions import Fraction

    f = Fraction(k, 4)
    num = "" if f.numerator == 1 else str(f.numerator)
    return f"{num}π" if f.denominator == 1 else f"{num}π/{f.denominator}"


def plot_phase_map(ax, pmap, *, title: str | None = None, legend: bool = False):
    """Draw a :class:`lib.phase_space.PhaseSpaceMap` (orange reflected, green transmitted)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    pe, oe = pmap.particle_energy, pmap.oscillator_energy
    dx = (pe[-1] - pe[0]) / max(len(pe) - 1, 1) / 2
    dy = (oe[-1] - oe[0]) / max(len(oe) - 1, 1) / 2
    ax.imshow(pmap.transmitted.astype(int), origin="lower", aspect="auto", interpolation="nearest",
              cmap=ListedColormap(OUTCOME_COLORS), vmin=0, vmax=1,
              extent=(pe[0] - dx, pe[-1] + dx, oe[0] - dy, oe[-1] + dy))
    ax.set_xlabel(r"$\mathcal{E}_\mathrm{particle}$ ($\hbar\Omega$)")
    ax.set_ylabel(r"$\mathcal{E}_\mathrm{oscillator}$ ($\hbar\Omega$)")
    if title is None:
        title = f"s = {pmap.model.s:g}, φ = {phase_label(pmap.phase)}"
    ax.set_title(title)
    if legend:
        ax.legend(handles=[Patch(color=OUTCOME_COLORS[0], label="reflected"),
                           Patch(color=OUTCOME_COLORS[1], label="transmitted")],
                  loc="upper right", framealpha=0.9)
    return ax


def plot_transmission(ax, result, *, errorbars: bool = True, **style):
    """Scatter :math:`\\mathcal{P}` against :math:`1/\\omega_T` on a log axis, with 95% intervals.

    Points with no transmission cannot be drawn on a log axis; their Wilson
    upper limits are drawn as downward carets.
    """
    st = mass_style(result.model.M)
    st.update(style)
    color, marker, label = st.pop("color"), st.pop("marker"), st.pop("label")
    x = 1.0 / result.omega_T
    p = result.probability
    pos = p > 0
    ms = st.pop("ms", 3.5)
    if errorbars:
        low, high = result.ci95
        ax.errorbar(x[pos], p[pos], yerr=[p[pos] - low[pos], high[pos] - p[pos]], fmt=marker, ms=ms,
                    color=color, mfc="none", mew=0.9, elinewidth=0.6, capsize=0, label=label, **st)
        if (~pos).any():
            ax.plot(x[~pos], high[~pos], "v", ms=ms, color=color, alpha=0.5, mew=0)
    else:
        ax.plot(x[pos], p[pos], marker, ms=ms, color=color, mfc="none", mew=0.9, ls="none",
                label=label, **st)
    ax.set_yscale("log")
    ax.set_xlabel(r"$1/\omega_T$ ($\omega_T = k_BT/\hbar\Omega$)")
    ax.set_ylabel(r"transmission probability $\mathcal{P}$")
    return ax


def plot_arrhenius(ax, energy: float, omega_T, *, label: str | None = None, **style):
    """Draw :math:`e^{-E/\\omega_T}` against :math:`1/\\omega_T`."""
    x = np.linspace(0.0, 1.0 / np.min(omega_T), 200)
    style.setdefault("color", WONG["black"])
    style.setdefault("lw", 1.2)
    ax.plot(x, np.exp(-energy * x), label=label, **style)
    return ax


def plot_barrier_lines(ax, model, omega_T, *, relaxed: bool = True, frozen: bool = True,
                       color=None, labels: bool = True):
    """Frozen (solid) and relaxed (dashed) Arrhenius lines for ``model``."""
    color = color or WONG["black"]
    s = model.s
    if frozen:
        ef = frozen_barrier(model)
        plot_arrhenius(ax, ef, omega_T, color=color, ls="-",
                       label=f"frozen, s = {s:g}: $U(s)$ = {ef:.3f}" if labels else None)
    if relaxed:
        er = relaxed_barrier(model).energy
        plot_arrhenius(ax, er, omega_T, color=color, ls="--",
                       label=f"relaxed, s = {s:g}: $\\mathcal{{E}}_*$ = {er:.3f}" if labels else None)
    return ax


def plot_activation_exact(ax, quad, *, mc=None, every: int = 5, floor: float = 0.0, limit: bool = True,
                          **style):
    """Quadrature :math:`E_a(\\omega_T)` (line and error band) with Tolman's Monte Carlo estimates.

    ``mc`` is a :class:`lib.Transmission` whose per-temperature
    :attr:`~lib.Transmission.activation_energy` is drawn (every ``every``-th
    temperature) with one-standard-error bars; ``limit`` marks the
    low-temperature limit :math:`E_\\mathrm{min}` on the left edge.
    """
    st = mass_style(quad.model.M)
    color = style.pop("color", st["color"])
    label = style.pop("label", st["label"])
    keep = quad.probability >= floor
    w, ea, err = quad.omega_T[keep], quad.activation_energy[keep], quad.activation_error[keep]
    ax.plot(w, ea, color=color, lw=1.2, label=label, **style)
    ax.fill_between(w, ea - err, ea + err, color=color, alpha=0.25, lw=0)
    if mc is not None:
        sel = slice(None, None, every)
        e, se = mc.activation_energy[sel], mc.activation_stderr[sel]
        ok = np.isfinite(e) & np.isfinite(se)
        ax.errorbar(mc.omega_T[sel][ok], e[ok], yerr=se[ok], fmt=st["marker"], ms=2.5, color=color,
                    mfc="none", mew=0.7, elinewidth=0.5, capsize=0)
    if limit:
        ax.plot([w[0]], [quad.lowest_energy], marker="<", ms=6, color=color, clip_on=False, ls="none")
    ax.set_xscale("log")
    ax.set_xlabel(r"$\omega_T = k_BT/\hbar\Omega$")
    ax.set_ylabel(r"$E_a = -d\ln\mathcal{P}/d(1/\omega_T)$ ($\hbar\Omega$)")
    return ax


def plot_local_activation(ax, local, **style):
    """:math:`E_a(\\omega_T)` with a one-standard-error band."""
    color = style.pop("color", WONG["black"])
    label = style.pop("label", None)
    ok = np.isfinite(local.energy)
    ax.plot(local.omega_T[ok], local.energy[ok], "-o", ms=2.5, color=color, label=label, **style)
    ax.fill_between(local.omega_T[ok], (local.energy - local.energy_err)[ok],
                    (local.energy + local.energy_err)[ok], color=color, alpha=0.2, lw=0)
    ax.set_xscale("log")
    ax.set_xlabel(r"$\omega_T = k_BT/\hbar\Omega$")
    ax.set_ylabel(r"$E_a = d(-\ln\mathcal{P})/d(1/\omega_T)$ ($\hbar\Omega$)")
    return ax


# -- composite figures of the book ------------------------------------------------

def figure_phase_space(maps: dict, impacts=(0.0, 2.0), phases=None, ncols: int = 4, convention_note: str = "",
                       first_letter: int = 0):
    """The paper's Fig. 3: one transmission map per ``(s, phase)`` in ``maps``.

    Panels are lettered row by row as in the paper (a-h for the first impact
    parameter, i-p for the second); ``first_letter`` offsets the lettering
    when the impact parameters are drawn as separate figures.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    phases = PAPER_PHASES if phases is None else phases
    per_s = math.ceil(len(phases) / ncols)
    nrows = per_s * len(impacts)
    fig, axes = plt.subplots(nrows, ncols, figsize=(BOOK_WIDTH, 0.93 * BOOK_WIDTH * nrows / ncols),
                             sharex=True, sharey=True, squeeze=False)
    letters = "abcdefghijklmnopqrstuvwxyz"
    k = first_letter
    for si, s in enumerate(impacts):
        for pi, phi in enumerate(phases):
            ax = axes[si * per_s + pi // ncols, pi % ncols]
            plot_phase_map(ax, maps[(s, phi)], title=f"({letters[k]}) s = {s:g}, φ = {phase_label(phi)}")
            k += 1
    for ax in axes.flat:
        if not ax.has_data():
            ax.set_visible(False)
        ax.label_outer()
        ax.title.set_fontsize(8.5)
    fig.legend(handles=[Patch(color=OUTCOME_COLORS[0], label="reflected"),
                        Patch(color=OUTCOME_COLORS[1], label="transmitted ($\\mathcal{A}$)")],
               loc="outside lower center", ncol=2, frameon=False)
    if convention_note:
        fig.suptitle(convention_note, fontsize=9)
    return fig


def plot_exact(ax, quad, *, floor: float = 0.0, **style):
    """Quadrature :math:`\\mathcal{P}` (a :class:`lib.quadrature.Quadrature`) as a line against :math:`1/\\omega_T`."""
    st = mass_style(quad.model.M)
    style.setdefault("color", st["color"])
    style.setdefault("lw", 1.1)
    keep = quad.probability >= floor
    ax.plot(1.0 / quad.omega_T[keep], quad.probability[keep], **style)
    return ax


def straight_line(omega_T, probability, x_range):
    r"""The best straight line through :math:`\ln\mathcal{P}` against :math:`x = 1/\omega_T` in ``x_range``.

    ``probability`` is a smooth curve (a quadrature); it is interpolated to
    200 evenly spaced :math:`x` in ``x_range``, so that every part of the
    range counts alike however the temperatures are spaced, and fitted by
    least squares. Returns ``(slope, intercept)`` of :math:`\ln\mathcal{P} = a + b x`.
    """
    x = 1.0 / np.asarray(omega_T, dtype=float)
    lnp = np.log(np.asarray(probability, dtype=float))
    order = np.argsort(x)
    grid = np.linspace(x_range[0], x_range[1], 200)
    if grid[0] < x[order][0] or grid[-1] > x[order][-1]:
        raise ValueError("x_range must lie within the curve's 1/omega_T")
    slope, intercept = np.polyfit(grid, np.interp(grid, x[order], lnp[order]), 1)
    return float(slope), float(intercept)


def curvature(quad, x_range=PAPER_RANGE) -> float:
    r"""Largest :math:`|\ln\mathcal{P} - \text{line}|` of a quadrature curve on ``x_range`` of :math:`1/\omega_T`,
    the line being :func:`straight_line`: what the residual panels of :func:`figure_transmission` show."""
    x = 1.0 / quad.omega_T
    keep = (x >= x_range[0]) & (x <= x_range[1] * (1 + 1e-12))
    span = (max(x_range[0], float(x[keep].min())), min(x_range[1], float(x[keep].max())))
    slope, icpt = straight_line(quad.omega_T[keep], quad.probability[keep], span)
    return float(np.max(np.abs(np.log(quad.probability[keep]) - (icpt + slope * x[keep]))))


def _legend_below(fig, handles, ncol=3):
    """A legend under the panels, outside every axes (it covers no data)."""
    fig.legend(handles=handles, loc="outside lower center", ncol=ncol, frameon=False, fontsize=7.5)


def _mass_handles(masses, line=True):
    from matplotlib.lines import Line2D

    return [Line2D([], [], color=mass_style(M)["color"], marker=mass_style(M)["marker"], mfc="none",
                   ls="-" if line else "none", label=mass_style(M)["label"]) for M in masses]


def _barrier_handles(relaxed=True):
    from matplotlib.lines import Line2D

    grey = "0.45"
    out = [Line2D([], [], color=grey, ls="-", label=r"frozen barrier, $e^{-U(s)/\omega_T}$")]
    if relaxed:
        out.append(Line2D([], [], color=grey, ls="--", label=r"relaxed barrier, $e^{-\mathcal{E}_*/\omega_T}$"))
    return out


def figure_transmission(results: dict, experiments, impacts=(0.0, 2.0), masses=(0.2, 1.0, 5.0),
                        relaxed_lines=None, panel_letters: str = "abcdefgh", exact=None, inset: str | None = None,
                        x_range=PAPER_RANGE):
    r"""The paper's Figs. 4 and 5: transmission probability on the paper's range, and its curvature.

    One column per impact parameter and, per experiment, a main panel and a
    residual panel under it. Main panels: :math:`\mathcal{P}` against
    :math:`1/\omega_T` on ``x_range`` (the paper's, :data:`PAPER_RANGE`),
    log scale; the three masses with Wilson 95% intervals, each mass's
    quadrature curve (``exact``: :func:`lib.reproduce.exact_data`) as a line
    in its colour, and the Arrhenius lines of the frozen barrier (solid grey)
    and, where ``relaxed_lines[experiment]`` is true, the relaxed barrier
    (dashed). Residual panels: :math:`\ln\mathcal{P}` minus the best straight
    line through each mass's quadrature curve on that range
    (:func:`straight_line`), for the curve (line) and for the Monte Carlo
    points with at least 100 transmissions (points, one standard error): an
    Arrhenius law is flat there, curvature bends. All main panels share
    both axes, as do all residual panels; the legend sits under the panels.
    ``inset`` names an experiment whose first panel gets the paper's small
    linear-axis inset. Needs ``exact`` for the residuals.
    """
    import matplotlib.pyplot as plt

    if exact is None:
        raise ValueError("figure_transmission needs the quadrature curves (exact) for its residual panels")
    relaxed_lines = relaxed_lines or {}
    nrows, ncols = len(experiments), len(impacts)
    fig = plt.figure(figsize=(BOOK_WIDTH, 3.55 * nrows + 0.45))
    grid = fig.add_gridspec(2 * nrows, ncols, height_ratios=[2.6, 1.0] * nrows)
    main, resid = {}, {}
    first_main = first_resid = None
    for r, experiment in enumerate(experiments):
        for c, s in enumerate(impacts):
            ax = fig.add_subplot(grid[2 * r, c], sharex=first_main, sharey=first_main)
            first_main = first_main or ax
            rx = fig.add_subplot(grid[2 * r + 1, c], sharex=first_main, sharey=first_resid)
            first_resid = first_resid or rx
            main[(experiment, s)], resid[(experiment, s)] = ax, rx
    grey = "0.45"
    x0, x1 = x_range
    lowest = 1.0
    k = 0
    for experiment in experiments:
        for s in impacts:
            ax, rx = main[(experiment, s)], resid[(experiment, s)]
            some = results[(experiment, s, masses[0])]
            for M in masses:
                r, q = results[(experiment, s, M)], exact[(experiment, s, M)]
                inside = (1.0 / r.omega_T >= x0) & (1.0 / r.omega_T <= x1)
                plot_transmission(ax, _subset(r, inside))
                keep = (1.0 / q.omega_T >= x0) & (1.0 / q.omega_T <= x1 * (1 + 1e-12))
                xq, pq = 1.0 / q.omega_T[keep], q.probability[keep]
                st = mass_style(M)
                ax.plot(xq, pq, color=st["color"], lw=1.1)
                lowest = min(lowest, float(pq.min()))
                slope, icpt = straight_line(q.omega_T[keep], pq, (max(x0, float(xq.min())), min(x1, float(xq.max()))))
                rx.plot(xq, np.log(pq) - (icpt + slope * xq), color=st["color"], lw=1.1)
                many = inside & (r.transmitted >= 100)
                xr = 1.0 / r.omega_T[many]
                res = np.log(r.probability[many]) - (icpt + slope * xr)
                rx.errorbar(xr, res, yerr=r.stderr[many] / r.probability[many], fmt=st["marker"], ms=2.2,
                            color=st["color"], mfc="none", mew=0.6, elinewidth=0.5, capsize=0, alpha=0.8)
            model = Model(s=s, U0=some.model.U0, lam=some.model.lam)
            xs = np.linspace(x0, x1, 100)
            ax.plot(xs, np.exp(-frozen_barrier(model) * xs), color=grey, lw=1.0, ls="-")
            if relaxed_lines.get(experiment, True):
                ax.plot(xs, np.exp(-relaxed_barrier(model).energy * xs), color=grey, lw=1.0, ls="--")
            rx.axhline(0.0, color=grey, lw=0.6)
            ax.set_title(f"({panel_letters[k]}) {experiment}, s = {s:g}")
            ax.set_xlabel("")
            if inset == experiment and s == impacts[0]:
                _linear_inset(ax, [results[(experiment, s, M)] for M in masses],
                              [exact[(experiment, s, M)] for M in masses], x_range)
            k += 1
    first_main.set_xlim(x0, x1)
    first_main.set_ylim(lowest / 3, 1.5)
    rmax = max(np.nanmax(np.abs(line.get_ydata())) for rx in resid.values() for line in rx.get_lines()
               if line.get_transform() == rx.transData)
    first_resid.set_ylim(-1.25 * max(rmax, 0.05), 1.25 * max(rmax, 0.05))
    for (experiment, s), ax in main.items():
        ax.tick_params(labelbottom=False)
        if s != impacts[0]:
            ax.set_ylabel("")
            ax.tick_params(labelleft=False)
    for (experiment, s), rx in resid.items():
        rx.set_ylabel(r"$\ln(\mathcal{P}/\mathrm{line})$" if s == impacts[0] else "")
        if s != impacts[0]:
            rx.tick_params(labelleft=False)
        last = experiment == experiments[-1]
        rx.set_xlabel(r"$1/\omega_T$ ($\omega_T = k_BT/\hbar\Omega$)" if last else "")
        rx.tick_params(labelbottom=last)
    _legend_below(fig, _mass_handles(masses) + _barrier_handles(any(relaxed_lines.get(e, True)
                                                                         for e in experiments)), ncol=3)
    return fig


def _subset(result, mask):
    """A :class:`lib.Transmission` restricted to the temperatures in ``mask``."""
    from dataclasses import replace

    sums = None if result.energy_sums is None else result.energy_sums[mask]
    return replace(result, omega_T=result.omega_T[mask], transmitted=result.transmitted[mask],
                   undecided=result.undecided[mask], energy_sums=sums)


def figure_low_probability(results: dict, exact: dict, experiments, impacts=(0.0, 2.0), masses=(0.2, 1.0, 5.0),
                           floor: float = 1e-12, panel_letters: str = "abcdefgh", x_range=PAPER_RANGE):
    r"""The quadrature curves of :func:`figure_transmission` continued down to :math:`\mathcal{P} =` ``floor``.

    One small panel per ``(experiment, s)``, all sharing both axes; the
    paper's range (``x_range``) shaded, the Monte Carlo points faint inside
    it. Colours as in :func:`figure_transmission`.
    """
    import matplotlib.pyplot as plt

    keys = [(e, s) for e in experiments for s in impacts]
    fig, axes = plt.subplots(1, len(keys), figsize=(BOOK_WIDTH, 2.35), sharex=True, sharey=True, squeeze=False)
    x_max = 0.0
    for k, ((experiment, s), ax) in enumerate(zip(keys, axes[0])):
        ax.axvspan(*x_range, color="0.5", alpha=0.12, lw=0)
        for M in masses:
            q, r = exact[(experiment, s, M)], results[(experiment, s, M)]
            keep = q.probability >= floor
            x = 1.0 / q.omega_T[keep]
            ax.plot(x, q.probability[keep], color=mass_style(M)["color"], lw=1.0)
            x_max = max(x_max, float(x.max()))
            pos = r.probability > 0
            ax.plot(1.0 / r.omega_T[pos], r.probability[pos], mass_style(M)["marker"], ms=1.6,
                    color=mass_style(M)["color"], mfc="none", mew=0.4, alpha=0.5)
        ax.set_yscale("log")
        ax.set_title(f"({panel_letters[k]}) {experiment}, s = {s:g}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xlabel(r"$1/\omega_T$", fontsize=8)
    axes[0, 0].set_ylabel(r"$\mathcal{P}$", fontsize=8)
    axes[0, 0].set_xlim(0, x_max * 1.02)
    axes[0, 0].set_ylim(floor / 3, 1.5)
    return fig


def figure_activation(exact: dict, experiments, impacts=(0.0, 2.0), masses=(0.2, 1.0, 5.0), mc=None,
                      floor: float = 1e-12, every: int = 5, panel_letters: str = "abcdefgh", paper_range=(1.0, 150.0)):
    r"""Local activation energy :math:`E_a(\omega_T)` from the quadrature, one panel per ``(experiment, s)``.

    Each mass's curve with its error band (:func:`plot_activation_exact`)
    and, with ``mc`` (Monte Carlo results with the same keys), Tolman's
    estimates at every ``every``-th temperature; the frozen :math:`U(s)`
    (solid grey) and relaxed :math:`\mathcal{E}_*` (dashed); the paper's
    temperature range shaded. Rows are experiments, columns impact
    parameters; all panels share both axes; the legend sits under them.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    nrows, ncols = len(experiments), len(impacts)
    fig, axes = plt.subplots(nrows, ncols, figsize=(BOOK_WIDTH, 2.9 * nrows + 0.6), sharex=True, sharey=True,
                             squeeze=False)
    k = 0
    for row, experiment in enumerate(experiments):
        for col, s in enumerate(impacts):
            ax = axes[row, col]
            ax.axvspan(*paper_range, color="0.5", alpha=0.12, lw=0)
            for M in masses:
                q = exact[(experiment, s, M)]
                plot_activation_exact(ax, q, mc=None if mc is None else mc[(experiment, s, M)], every=every,
                                      floor=floor)
            model = Model(s=s)
            ax.axhline(frozen_barrier(model), color="0.45", lw=1, ls="-")
            ax.axhline(relaxed_barrier(model).energy, color="0.45", lw=1, ls="--")
            ax.set_title(f"({panel_letters[k]}) {experiment}, s = {s:g}")
            if row < nrows - 1:
                ax.set_xlabel("")
            if col > 0:
                ax.set_ylabel("")
            k += 1
    handles = _mass_handles(masses)
    if mc is not None:
        handles.append(Line2D([], [], color="0.3", marker="o", ms=3, mfc="none", ls="none",
                              label=r"Tolman's Monte Carlo estimate"))
    handles += [Line2D([], [], color="0.3", marker="<", ls="none", label=r"low-temperature limit $E_\mathrm{min}$"),
                Line2D([], [], color="0.45", ls="-", label=r"frozen barrier $U(s)$"),
                Line2D([], [], color="0.45", ls="--", label=r"relaxed barrier $\mathcal{E}_*$"),
                Patch(color="0.5", alpha=0.25, label="the paper's temperatures")]
    _legend_below(fig, handles, ncol=3)
    return fig


def _linear_inset(ax, results, exact=None, x_range=PAPER_RANGE):
    r"""The paper's Fig. 4a inset: :math:`\mathcal{P}` on a linear axis over the paper's range."""
    ins = ax.inset_axes([0.55, 0.56, 0.42, 0.38])
    for i, r in enumerate(results):
        st = mass_style(r.model.M)
        ins.plot(1.0 / r.omega_T, r.probability, st["marker"], ms=1.5, color=st["color"], mfc="none", mew=0.5)
        if exact is not None:
            q = exact[i]
            keep = q.omega_T >= r.omega_T.min()
            ins.plot(1.0 / q.omega_T[keep], q.probability[keep], color=st["color"], lw=0.8)
    ins.set_xlim(*x_range)
    ins.set_ylim(0, None)
    ins.tick_params(labelsize=6)
    ins.set_title("linear axis", fontsize=6.5)


def markdown_table(header, rows) -> str:
    """A Markdown (GFM) table from a header and rows of already formatted cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


FIT_COLUMNS = {
    "authors": ["$A$ (authors)", "$\\alpha$ (authors)", "$\\chi^2/\\nu$", "left out"],
    "lsq": ["$A$ (lsq)", "$\\alpha$ (lsq)", "$\\chi^2/\\nu$", "skipped $\\mathcal{P}=0$"],
    "binomial": ["$A$ (binomial)", "$\\alpha$ (binomial)", "$\\chi^2/\\nu$"],
    "arrhenius": ["$E$ ($\\alpha = 1$)", "$\\chi^2/\\nu$"],
}
"""Column groups of :func:`fit_table`: the power law by the authors' unweighted
log-log fit (:func:`lib.arrhenius.fit_power_law` with ``method='authors'``), by
weighted least squares and by binomial likelihood, and a single activation energy."""


def fit_table(results: dict, keys, groups=("lsq", "binomial", "arrhenius")) -> str:
    """Markdown table of :func:`lib.arrhenius.summarize` for ``results[key]``, keys ``(experiment, s, M)``.

    ``groups`` chooses the column groups of :data:`FIT_COLUMNS`; uncertainties
    are one standard error.
    """
    header = ["experiment", "$s$", "$M$"] + [c for g in groups for c in FIT_COLUMNS[g]]
    rows = []
    for experiment, s, M in keys:
        r = results[(experiment, s, M)]
        f = summarize(r.omega_T, r.transmitted, r.decided)
        a = f.power_law_authors
        cells = {
            "authors": (["n/a"] * 4 if a is None else
                        [f"{a.energy:.3f} ± {a.energy_err:.3f}", f"{a.exponent:.4f} ± {a.exponent_err:.4f}",
                         f"{a.reduced_chi2:.3g}", a.skipped_zero]),
            "lsq": [f"{f.power_law.energy:.3f} ± {f.power_law.energy_err:.3f}",
                    f"{f.power_law.exponent:.4f} ± {f.power_law.exponent_err:.4f}",
                    f"{f.power_law.reduced_chi2:.2f}", f.power_law.skipped_zero],
            "binomial": [f"{f.power_law_binomial.energy:.3f} ± {f.power_law_binomial.energy_err:.3f}",
                         f"{f.power_law_binomial.exponent:.4f} ± {f.power_law_binomial.exponent_err:.4f}",
                         f"{f.power_law_binomial.reduced_chi2:.2f}"],
            "arrhenius": [f"{f.arrhenius.energy:.3f} ± {f.arrhenius.energy_err:.3f}",
                          f"{f.arrhenius.reduced_chi2:.2f}"],
        }
        rows.append([experiment, f"{s:g}", f"{M:g}"] + [c for g in groups for c in cells[g]])
    return markdown_table(header, rows)


# -- numbers in the text ------------------------------------------------------------------------------

MINUS = "\u2212"


def number(x, digits: int = 3, *, decimals: int | None = None, sign: bool = False,
           sci_below: float = 1e-3, sci_above: float = 1e6) -> str:
    r"""A number as the book's text prints it (Markdown).

    Integers get thousands separators (``14,400``). Other numbers get
    ``decimals`` decimal places if given, else ``digits`` significant
    digits; below ``sci_below`` or from ``sci_above`` in magnitude they are
    set as a typeset power of ten, ``$7.3 \times 10^{-15}$``. Negative
    numbers take a minus sign, not a hyphen; ``sign`` writes ``+`` for
    positive ones. Raises ValueError for NaN, infinities and non-numbers.
    """
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise ValueError(f"number needs an int or float, got {type(x).__name__}")
    if not math.isfinite(float(x)):
        raise ValueError(f"number needs a finite value, got {x!r}")
    if digits < 1 or (decimals is not None and decimals < 0):
        raise ValueError("digits must be at least 1 and decimals at least 0")
    lead = MINUS if x < 0 else ("+" if sign and x > 0 else "")
    a = abs(x)
    if isinstance(x, (int, np.integer)) and a < sci_above:
        return f"{lead}{int(a):,}"
    a = float(a)
    if a != 0 and (a < sci_below or a >= sci_above):
        mantissa, exponent = f"{a:.{digits - 1}e}".split("e")
        exponent = int(exponent)
        power = f"10^{{{exponent}}}"
        body = power if float(mantissa) == 1.0 and digits <= 2 else f"{mantissa} \\times {power}"
        return f"${lead.replace(MINUS, '-')}{body}$"
    if decimals is None:
        decimals = 0 if a == 0 else max(digits - 1 - math.floor(math.log10(a)), 0)
    return f"{lead}{a:,.{decimals}f}"


def percent(fraction, digits: int = 2, **options) -> str:
    """A fraction as a percentage (``0.1319`` -> ``13%``), through :func:`number`."""
    return number(100.0 * float(fraction), digits, **options) + "%"


def join(values, **options) -> str:
    """Several numbers, comma-separated, through :func:`number`."""
    return ", ".join(number(v, **options) for v in values)


class Glue:
    r"""Numbers and phrases a chapter's text quotes, and its figures: glued for the book, shown in the notebook.

    ``g = Glue()``; ``g("u_frozen", 6.0653, digits=4)`` glues the Markdown
    of :func:`number` under that name (the text writes
    ``{glue:md}`u_frozen:myst```, rendered as MyST so that powers of ten
    are typeset); ``g("verdict", "identical")`` glues a phrase as it is;
    ``g.figure("fig_x", fig)`` glues a figure for a numbered
    ``{glue:figure}`` and also shows it under its cell. A cell that ends
    with ``g`` lists what it glued, so a reader of the notebook in Jupyter,
    where the roles are not rendered, sees the same numbers. The book hides
    that output (the cell's ``remove-output`` tag) and shows each figure
    once, numbered.
    """

    def __init__(self):
        self.values: dict[str, str] = {}

    def __call__(self, name: str, value, **options) -> str:
        from IPython.display import Markdown
        from myst_nb import glue

        text = value if isinstance(value, str) else number(value, **options)
        glue(name, Markdown(text), display=False)
        self.values[name] = text
        return text

    def figure(self, name: str, fig) -> None:
        """Glue ``fig`` as ``name``, show it under the cell with :func:`figure_metadata`, close it.

        The figure is rendered once (by the kernel's display formatter, e.g.
        retina PNG) and that rendering both glued and shown.
        """
        from IPython import get_ipython
        from IPython.display import display
        from myst_nb import glue

        import matplotlib.pyplot as plt

        meta = figure_metadata(fig, name)
        shell = get_ipython()
        if shell is None:  # not in a kernel: nothing to show or glue into
            plt.close(fig)
            return
        data, md = shell.display_formatter.format(fig)
        rendered = _Rendered(data, md)
        glue(name, rendered, display=False)
        display(rendered, metadata={"lib": meta})
        plt.close(fig)

    def _repr_markdown_(self) -> str:
        if not self.values:
            return ""
        return markdown_table(["quoted in the text as", "value"],
                              [[f"`{k}`", v] for k, v in self.values.items()])


class _Rendered:
    """A figure already rendered: its MIME bundle, shown or glued without drawing it again."""

    def __init__(self, data: dict, metadata: dict):
        self.data, self.metadata = data, metadata

    def _repr_mimebundle_(self, include=None, exclude=None):
        import copy

        return dict(self.data), copy.deepcopy(self.metadata)  # copies: glue marks its own metadata


# -- what a figure shows, for the tests ----------------------------------------------------------------

def figure_metadata(fig, name: str = "") -> dict:
    """What a figure shows, as JSON: each visible axes' title, labels, limits and scales, and how many
    data points its legends cover (:func:`legend_overlaps`). Stored with the figure's output."""
    axes = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        axes.append({"title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
                     "xlim": [float(v) for v in ax.get_xlim()], "ylim": [float(v) for v in ax.get_ylim()],
                     "xscale": ax.get_xscale(), "yscale": ax.get_yscale()})
    return {"name": name, "axes": axes, "legend_overlaps": legend_overlaps(fig)}


def legend_overlaps(fig) -> int:
    """Data points (markers, vertices and points along drawn curves, error-bar ends) inside any legend's box.

    Every legend of ``fig`` (on an axes or on the figure) is measured after
    drawing; curves are sampled at 20 points per segment, so a legend laid
    over a sparse line is seen too. Reference lines drawn across the axes
    (``axhline``, ``axvline``) and shaded bands are not data and are not counted.
    """
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.lines import Line2D

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends)
    boxes = [leg.get_window_extent(renderer) for leg in legends if leg.get_visible()]
    if not boxes:
        return 0
    count = 0
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        clip = ax.get_window_extent(renderer)
        points = []
        for artist in ax.get_children():
            if not artist.get_visible():
                continue
            if isinstance(artist, Line2D):
                if artist.get_transform() != ax.transData:
                    continue  # axhline, axvline: drawn in axes coordinates
                xy = np.column_stack([np.asarray(artist.get_xdata(), float), np.asarray(artist.get_ydata(), float)])
                if artist.get_linestyle() not in ("None", "none", "", " ") and len(xy) > 1:
                    t = np.linspace(0.0, 1.0, 20)[:, None, None]
                    xy = (xy[:-1] * (1 - t) + xy[1:] * t).reshape(-1, 2)
                points.append(xy)
            elif isinstance(artist, LineCollection):
                for seg in artist.get_segments():
                    points.append(np.asarray(seg, float))
            elif isinstance(artist, PathCollection):
                points.append(np.asarray(artist.get_offsets(), float))
        if not points:
            continue
        xy = np.concatenate(points)
        with np.errstate(invalid="ignore", divide="ignore"):
            disp = ax.transData.transform(xy)
        ok = np.all(np.isfinite(disp), axis=1)
        disp = disp[ok]
        inside_axes = ((disp[:, 0] >= clip.x0) & (disp[:, 0] <= clip.x1)
                       & (disp[:, 1] >= clip.y0) & (disp[:, 1] <= clip.y1))
        disp = disp[inside_axes]
        for box in boxes:
            count += int(np.count_nonzero((disp[:, 0] > box.x0) & (disp[:, 0] < box.x1)
                                          & (disp[:, 1] > box.y0) & (disp[:, 1] < box.y1)))
    return count
