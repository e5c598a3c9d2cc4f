"""Schematic drawings for the theory chapter (the paper's Figs. 1 and 2, redrawn).

Only matplotlib primitives; the model geometry (impact parameter, Gaussian
width) is drawn from a :class:`lib.model.Model` so the sketch matches the
numbers used everywhere else.
"""
from __future__ import annotations

import numpy as np

from .model import Model
from .plotting import WONG


def draw_lattice(ax, *, near_radius: float = 1.65, seed: int = 3):
    """Fig. 1: a mobile ion in a 2D lattice; near ions (zeta) and far ions (psi).

    Lattice ions sit on a square lattice with small thermal displacements.
    The mobile ion is inside the cell whose corners are the four ions around
    it (the 2D analogue of the paper's polyhedron) and heads for its right
    face. Ions within ``near_radius`` lattice spacings of it are the
    coordinates :math:`\\zeta` that decide the escape; the rest are
    :math:`\\psi`.
    """
    from matplotlib.patches import Circle, FancyArrowPatch, Polygon

    rng = np.random.default_rng(seed)
    ion = np.array([0.5, -0.5])  # centre of the cell [0, 1] x [-1, 0]
    for i in range(-3, 5):
        for j in range(-3, 3):
            site = np.array([i, j], dtype=float)
            near = np.hypot(*(site - ion)) < near_radius
            ax.add_patch(Circle(site + rng.normal(0, 0.06, 2), 0.16, lw=0,
                                color=WONG["blue"] if near else WONG["sky_blue"], alpha=1.0 if near else 0.55))
    ax.add_patch(Polygon([[0, 0], [1, 0], [1, -1], [0, -1]], closed=True, fill=False, ls="--", lw=1.0,
                         ec=WONG["black"]))
    ax.add_patch(Circle(ion, near_radius, fill=False, ls=":", lw=1.0, ec=WONG["blue"]))
    ax.add_patch(Circle(ion, 0.11, color=WONG["vermillion"], zorder=5))
    ax.add_patch(FancyArrowPatch(ion, ion + [0.85, 0.05], arrowstyle="-|>", mutation_scale=12,
                                 color=WONG["vermillion"], lw=1.4, zorder=5))
    ax.text(-3.4, 2.55, r"far ions $\psi$", color=WONG["sky_blue"], fontsize=9, va="top")
    ax.text(2.25, -2.05, r"near ions $\zeta$", color=WONG["blue"], fontsize=9)
    ax.text(0.5, 0.3, r"mobile ion $(\mathbf{V}, \mathbf{R})$", color=WONG["vermillion"], fontsize=9,
            ha="center", bbox=dict(fc="white", ec="none", pad=0.5), zorder=6)
    ax.set_xlim(-3.5, 4.5)
    ax.set_ylim(-3.4, 2.6)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def draw_model(ax, model: Model | None = None):
    """Fig. 2: particle of mass M on the x axis, gate oscillator moving along y.

    The oscillator's spring is anchored at its equilibrium ``y = 0``; the
    particle's axis is offset by the impact parameter ``s``; the shaded disc
    is where the Gaussian repulsion exceeds ``U0 / e`` (radius
    ``lambda * sqrt(2)``).
    """
    from matplotlib.patches import Circle, FancyArrowPatch

    model = model or Model(s=2.0)
    s, lam = model.s, model.lam
    # particle axis at height s (the gate's equilibrium at y = 0)
    ax.axhline(s, color=WONG["vermillion"], lw=0.8, ls="--")
    ax.add_patch(Circle((-5.5, s), 0.35, color=WONG["vermillion"], zorder=4))
    ax.add_patch(FancyArrowPatch((-5.1, s), (-3.6, s), arrowstyle="-|>", mutation_scale=12,
                                 color=WONG["vermillion"], lw=1.5))
    ax.text(-5.5, s + 0.65, "particle, mass $M$", ha="center", color=WONG["vermillion"], fontsize=9)
    # interaction range around the oscillator
    ax.add_patch(Circle((0, 0), lam * np.sqrt(2.0), color=WONG["orange"], alpha=0.18, lw=0))
    # spring from the anchor below to the oscillator
    ys = np.linspace(-3.6, -0.35, 200)
    xs = 0.25 * np.sin(np.linspace(0, 14 * np.pi, ys.size)) * (np.abs(ys + 1.97) < 1.4)
    ax.plot(xs, ys, color=WONG["black"], lw=1.0)
    ax.plot([-0.6, 0.6], [-3.6, -3.6], color=WONG["black"], lw=2.5)
    ax.add_patch(Circle((0, 0), 0.35, color=WONG["blue"], zorder=4))
    ax.add_patch(FancyArrowPatch((0.9, -0.9), (0.9, 0.9), arrowstyle="<|-|>", mutation_scale=10,
                                 color=WONG["blue"], lw=1.2))
    ax.text(1.1, 0.0, "gate oscillator\nmass $m$, spring $k$\nmoves along $y$", color=WONG["blue"],
            fontsize=9, va="center")
    # impact parameter
    ax.add_patch(FancyArrowPatch((-1.3, 0), (-1.3, s), arrowstyle="<|-|>", mutation_scale=10,
                                 color=WONG["black"], lw=1.0))
    ax.text(-1.45, s / 2, "$s$", ha="right", va="center", fontsize=10)
    ax.plot([-7.0, -0.5], [0, 0], color=WONG["black"], lw=0.5, ls=":")
    ax.text(-6.8, 0.1, "$y = 0$", fontsize=8)
    ax.annotate(r"$U(z) = U_0 e^{-z^2/2\lambda^2}$", (lam * 0.9, -lam * 1.0), (3.2, -2.6), fontsize=9,
                color=WONG["orange"], arrowprops=dict(arrowstyle="-", color=WONG["orange"], lw=0.8))
    ax.set_xlim(-7.0, 6.5)
    ax.set_ylim(-4.0, s + 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
