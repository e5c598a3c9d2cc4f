"""Plotting helpers with Wong's colour-blind-safe palette (Nature Methods 8, 441).

The paper draws transmission probabilities on a logarithmic axis against
:math:`1/\\omega_T` and phase-space maps in orange (reflected) and green
(transmitted); these helpers do the same so the book's figures can be set
beside the paper's.
"""
from __future__ import annotations

import math

import numpy as np

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
    from .barriers import frozen_barrier, relaxed_barrier

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

    from .phase_space import PAPER_PHASES

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


def figure_transmission(results: dict, experiments, impacts=(0.0, 2.0), masses=(0.2, 1.0, 5.0),
                        relaxed_lines=None, panel_letters: str = "abcdefgh", exact=None, floor: float = 1e-12,
                        inset: str | None = None):
    """Transmission probability panels as in the paper's Figs. 4 and 5.

    One row per experiment, one column per impact parameter; the three
    masses in each panel with Wilson 95% intervals, and the Arrhenius lines
    of the frozen barrier (solid grey) and, where ``relaxed_lines[experiment]``
    is true, the relaxed barrier (dashed grey). With ``exact`` (quadrature
    results with the same keys, :func:`lib.reproduce.exact_data`), each
    mass's exact :math:`\\mathcal{P}` is drawn as a line in its colour, and
    the axes extend to where it reaches ``floor``. ``inset`` names an
    experiment whose first panel gets the paper's small linear-axis inset.
    """
    import matplotlib.pyplot as plt

    from .model import Model

    relaxed_lines = relaxed_lines or {}
    nrows, ncols = len(experiments), len(impacts)
    fig, axes = plt.subplots(nrows, ncols, figsize=(BOOK_WIDTH, 3.3 * nrows), sharey=True, squeeze=False)
    grey = "0.45"
    k = 0
    for r, experiment in enumerate(experiments):
        for c, s in enumerate(impacts):
            ax = axes[r, c]
            some = None
            x_max = 0.0
            for M in masses:
                some = results[(experiment, s, M)]
                plot_transmission(ax, some)
                x_max = max(x_max, 1.0 / some.omega_T.min())
                if exact is not None:
                    q = exact[(experiment, s, M)]
                    plot_exact(ax, q, floor=floor)
                    x_max = max(x_max, float(np.max(1.0 / q.omega_T[q.probability >= floor])))
            lines_T = np.array([1.0 / x_max])
            plot_barrier_lines(ax, Model(s=s, U0=some.model.U0, lam=some.model.lam), lines_T,
                               relaxed=relaxed_lines.get(experiment, True), color=grey)
            ax.set_title(f"({panel_letters[k]}) {experiment}, s = {s:g}")
            ax.legend(loc="lower left", fontsize=7)
            ax.set_xlim(0, x_max * 1.02)
            if inset == experiment and c == 0:
                _linear_inset(ax, [results[(experiment, s, M)] for M in masses],
                              None if exact is None else [exact[(experiment, s, M)] for M in masses])
            k += 1
    if exact is not None:
        axes[0, 0].set_ylim(floor / 3, 1.5)
    else:
        lowest = min(r.probability[r.probability > 0].min() for r in results.values()
                     if (r.probability > 0).any())
        axes[0, 0].set_ylim(max(lowest / 3, 1e-6), 1.2)
    for ax in axes[:, 1:].flat:
        ax.set_ylabel("")
    for ax in axes[:-1].flat:
        ax.set_xlabel("")
    return fig


def _linear_inset(ax, results, exact=None):
    """The paper's Fig. 4a inset: :math:`\\mathcal{P}` on a linear axis over the paper's range."""
    ins = ax.inset_axes([0.56, 0.56, 0.4, 0.38])
    for i, r in enumerate(results):
        st = mass_style(r.model.M)
        ins.plot(1.0 / r.omega_T, r.probability, st["marker"], ms=1.5, color=st["color"], mfc="none", mew=0.5)
        if exact is not None:
            q = exact[i]
            keep = q.omega_T >= r.omega_T.min()
            ins.plot(1.0 / q.omega_T[keep], q.probability[keep], color=st["color"], lw=0.8)
    ins.set_xlim(0, 1.0 / results[0].omega_T.min())
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
    from .arrhenius import summarize

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
