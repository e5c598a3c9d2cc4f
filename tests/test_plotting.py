"""lib.plotting: the number formatter of the text, the legend-overlap measure, and the reproductions of
the paper's Figs. 4 and 5 on the paper's range."""
import math
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import lib  # noqa: E402
from lib import plotting  # noqa: E402
from lib.arrhenius import arrhenius  # noqa: E402
from lib.experiments import paper_temperatures  # noqa: E402


@pytest.mark.parametrize("value, options, text", [
    (14400, {}, "14,400"),
    (2000, {}, "2,000"),
    (3.2511966535423875, {"digits": 4}, "3.251"),
    (3.2511966535423875, {"decimals": 1}, "3.3"),
    (7.327471962526006e-15, {"digits": 2}, r"$7.3 \times 10^{-15}$"),
    (1.0e-12, {"digits": 1}, r"$10^{-12}$"),
    (2.1424396035030213e-07, {"digits": 2}, r"$2.1 \times 10^{-7}$"),
    (-1.6861200265286536, {"digits": 4}, "\u22121.686"),
    (0.13283776437707145, {"digits": 2}, "0.13"),
    (107.13378129812487, {}, "107"),
    (0.0, {}, "0"),
    (2.5e6, {"digits": 2}, r"$2.5 \times 10^{6}$"),
    (0.5, {"sign": True}, "+0.500"),
    (np.float64(5.284819054423675), {"decimals": 2}, "5.28"),
    (np.int64(243), {}, "243"),
])
def test_numbers_as_the_text_prints_them(value, options, text):
    assert plotting.number(value, **options) == text


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "3", None, True, [1.0]])
def test_number_refuses_what_is_not_a_finite_number(bad):
    with pytest.raises(ValueError, match="number needs"):
        plotting.number(bad)


def test_percent_and_join():
    assert plotting.percent(0.13194) == "13%"
    assert plotting.percent(0.0005, 1) == "0.05%"
    assert plotting.percent(2e-6, 2) == r"$2.0 \times 10^{-4}$%"
    assert plotting.join([2.807, 2.754, 3.013], digits=4) == "2.807, 2.754, 3.013"


def test_legend_overlaps_sees_a_legend_laid_over_data():
    x = np.linspace(0, 1, 50)
    fig, ax = plt.subplots()
    ax.plot(x, x, "o", label="data")
    ax.plot(x, 1 - x, label="curve")
    ax.axhline(0.5, color="k")  # a reference line, not data
    ax.legend(loc="center")
    assert plotting.legend_overlaps(fig) > 0
    ax.get_legend().remove()
    fig.legend(loc="outside lower center")
    assert plotting.legend_overlaps(fig) == 0
    meta = plotting.figure_metadata(fig, "x")
    assert meta["name"] == "x" and meta["legend_overlaps"] == 0 and len(meta["axes"]) == 1
    plt.close(fig)


def test_straight_line_of_an_exact_arrhenius_law():
    omega = np.geomspace(1.0, 150.0, 77)
    slope, icpt = plotting.straight_line(omega, 0.3 * np.exp(-4.0 / omega), (1 / 150, 1.0))
    assert slope == pytest.approx(-4.0, abs=1e-9) and icpt == pytest.approx(math.log(0.3), abs=1e-9)
    with pytest.raises(ValueError, match="x_range"):
        plotting.straight_line(omega, np.exp(-4.0 / omega), (0.0, 2.0))


def synthetic_panels(experiments, curvature=0.0):
    """Monte Carlo-like results at the paper's temperatures and quadrature-like curves reaching far below them."""
    rng = np.random.default_rng(3)
    temps = paper_temperatures()
    low = np.concatenate([np.geomspace(0.1, 0.99, 40), np.unique(temps)])
    results, exact = {}, {}
    for e in experiments:
        for s in (0.0, 2.0):
            energy = lib.frozen_barrier(lib.Model(s=s))
            for M in (0.2, 1.0, 5.0):
                def p(w):
                    return arrhenius(w, energy) * np.exp(curvature * np.sin(np.pi / w))
                results[(e, s, M)] = lib.Transmission(e, lib.Model(M=M, s=s), "adaptive", temps, 10_000, 0,
                                                      rng.binomial(10_000, np.clip(p(temps), 0, 1)),
                                                      np.zeros(temps.size, dtype=np.int64), 0)
                exact[(e, s, M)] = SimpleNamespace(omega_T=low, probability=np.clip(p(low), 0, 1),
                                                   error=1e-3 * p(low), model=lib.Model(M=M, s=s))
    return results, exact


def test_paper_figures_stay_on_the_papers_range():
    """The main panels of the reproductions of paper Figs. 4 and 5 span 1/omega_T from 0 to the paper's
    lowest temperature and no further, although the quadrature curves reach far below it; main panels and
    residual panels share their axes; the legend covers no data."""
    results, exact = synthetic_panels(("thermal", "joint"), curvature=0.1)
    fig = plotting.figure_transmission(results, ("thermal", "joint"), exact=exact)
    x_paper = 1.0 / paper_temperatures().min()
    meta = plotting.figure_metadata(fig)
    main = [a for a in meta["axes"] if a["yscale"] == "log"]
    resid = [a for a in meta["axes"] if a["yscale"] == "linear"]
    assert len(main) == 4 and len(resid) == 4
    for a in main + resid:
        assert a["xlim"][0] >= 0.0 and a["xlim"][1] <= x_paper * (1 + 1e-12), a
        assert a["xlim"][1] >= 0.99 * x_paper
    assert len({tuple(a["ylim"]) for a in main}) == 1 and len({tuple(a["ylim"]) for a in resid}) == 1
    assert meta["legend_overlaps"] == 0
    # the residual of a curved law is not flat: its curve leaves zero by about the curvature put in
    rx = fig.axes[1]
    ys = np.concatenate([ln.get_ydata() for ln in rx.get_lines() if ln.get_transform() == rx.transData])
    assert np.ptp(ys) > 0.1
    plt.close(fig)
    with pytest.raises(ValueError, match="quadrature"):
        plotting.figure_transmission(results, ("thermal",))


def test_low_probability_figure_reaches_the_floor():
    results, exact = synthetic_panels(("frozen",))
    fig = plotting.figure_low_probability(results, exact, ("frozen",), floor=1e-6)
    meta = plotting.figure_metadata(fig)
    assert len(meta["axes"]) == 2 and meta["axes"][0]["ylim"][0] < 1e-6
    assert meta["axes"][0]["xlim"][1] > 2  # well beyond the paper's range (1)
    plt.close(fig)


def test_curvature_is_zero_for_an_arrhenius_law_and_not_for_two_channels():
    omega = np.geomspace(0.5, 150.0, 300)
    straight = SimpleNamespace(omega_T=omega, probability=0.4 * np.exp(-3.0 / omega))
    assert plotting.curvature(straight) < 1e-9
    bent = SimpleNamespace(omega_T=omega, probability=0.5 * np.exp(-2.0 / omega) + 0.5 * np.exp(-8.0 / omega))
    assert plotting.curvature(bent) > 0.05
