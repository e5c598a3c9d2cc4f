"""Arrhenius analysis against synthetic binomial data with known answers."""
import numpy as np
import pytest

from lib.arrhenius import METHODS, arrhenius, fit_arrhenius, fit_power_law, local_activation_energy
from lib.experiments import paper_temperatures

T = paper_temperatures()
N = 10_000


def synthetic(rng, energy=6.0, exponent=1.0, temps=T, n=N):
    p = np.exp(-energy * (1.0 / temps) ** exponent)
    return rng.binomial(n, p)


@pytest.mark.parametrize("method", METHODS)
def test_power_law_fit_recovers_arrhenius(method, rng):
    fit = fit_power_law(T, synthetic(rng), N, method=method)
    assert abs(fit.energy - 6.0) < 4 * fit.energy_err
    assert abs(fit.exponent - 1.0) < 4 * fit.exponent_err
    assert fit.energy_err < 0.05 and 0.7 < fit.reduced_chi2 < 1.4


@pytest.mark.parametrize("method", METHODS)
def test_power_law_fit_detects_curvature(method, rng):
    fit = fit_power_law(T, synthetic(rng, energy=4.0, exponent=0.7), N, method=method)
    assert abs(fit.exponent - 0.7) < 4 * fit.exponent_err and fit.exponent_err < 0.02
    arr = fit_arrhenius(T, synthetic(rng, energy=4.0, exponent=0.7), N, method=method)
    assert arr.reduced_chi2 > 10  # a single activation energy does not describe it


def test_power_law_uncertainties_are_calibrated():
    # Over many synthetic data sets the true value lies within one stated
    # standard error about 68% of the time.
    rng = np.random.default_rng(2024)
    temps = T[::5]
    hits = []
    for _ in range(300):
        fit = fit_power_law(temps, synthetic(rng, temps=temps, n=4000), 4000)
        hits.append(abs(fit.energy - 6.0) < fit.energy_err)
    assert 0.6 < np.mean(hits) < 0.76


def test_zero_count_points_are_skipped_by_lsq_and_used_by_binomial(rng):
    temps = np.linspace(0.8, 4.0, 40)
    k = synthetic(rng, energy=10.0, temps=temps, n=2000)
    assert np.count_nonzero(k == 0) > 3
    lsq = fit_power_law(temps, k, 2000, method="lsq")
    mle = fit_power_law(temps, k, 2000, method="binomial")
    assert lsq.skipped_zero == np.count_nonzero(k == 0) and not lsq.used[k == 0].any()
    assert mle.skipped_zero == 0 and mle.used.all()
    assert abs(mle.energy - 10.0) < 4 * mle.energy_err


@pytest.mark.parametrize("method", METHODS)
def test_local_activation_energy_is_flat_for_arrhenius_data(method, rng):
    loc = local_activation_energy(T, synthetic(rng), N, method=method)
    ok = np.isfinite(loc.energy)
    assert ok.sum() >= 20
    z = (loc.energy[ok] - 6.0) / loc.energy_err[ok]
    assert np.all(np.abs(z) < 4.5) and abs(np.mean(z)) < 1.0


def test_local_activation_energy_follows_a_curved_law(rng):
    # -ln P = A x^a has slope A a x^(a-1): rising with temperature for a < 1
    loc = local_activation_energy(T, synthetic(rng, energy=4.0, exponent=0.7), N)
    ok = np.isfinite(loc.energy)
    expected = 4.0 * 0.7 * (1 / loc.omega_T[ok]) ** (-0.3)
    assert np.all(np.abs(loc.energy[ok] - expected) < 4.5 * loc.energy_err[ok])
    fit = fit_power_law(T, synthetic(rng, energy=4.0, exponent=0.7), N)
    ea, err = fit.activation_energy(loc.omega_T[ok])
    assert np.all(np.abs(ea - expected) < 4 * err)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="method"):
        fit_power_law(T, np.ones(T.size), 10, method="chi-by-eye")
    with pytest.raises(ValueError, match="counts"):
        fit_power_law(T, np.full(T.size, 11), 10)
    with pytest.raises(ValueError, match="three"):
        fit_power_law([1.0, 2.0, 3.0], [0, 0, 1], 10)
    assert arrhenius(2.0, 4.0) == pytest.approx(np.exp(-2.0))


@pytest.mark.parametrize("exponent", [1.0, 0.7])
def test_authors_fit_recovers_a_known_exponent(exponent, rng):
    """The authors' unweighted log-log fit on synthetic binomial data: exponent and A within 4 of its
    (ordinary least-squares) standard errors, the first temperature dropped."""
    counts = synthetic(rng, energy=4.0, exponent=exponent)
    fit = fit_power_law(T, counts, N, method="authors")
    assert fit.method == "authors" and not fit.used[0] and fit.used[1:].all()
    assert abs(fit.exponent - exponent) < 4 * fit.exponent_err and fit.exponent_err < 0.02
    assert abs(fit.energy - 4.0) < 4 * fit.energy_err


def test_authors_fit_is_exact_on_noiseless_data():
    """On P = exp(-A x^alpha) exactly, the line in log10(-log10 P) is exact: A and alpha to 1e-10."""
    x = 1.0 / T
    n = 10**15
    k = np.round(n * np.exp(-3.0 * x**0.8))
    fit = fit_power_law(T, k, n, method="authors")
    assert abs(fit.exponent - 0.8) < 1e-6 and abs(fit.energy - 3.0) < 1e-5


def test_authors_fit_leaves_out_points_without_a_logarithm(rng):
    counts = synthetic(rng, energy=12.0)
    counts[5] = 0
    fit = fit_power_law(T, counts, N, method="authors")
    assert fit.skipped_zero == np.count_nonzero(counts[1:] == 0) and not fit.used[5]
    with pytest.raises(ValueError, match="authors"):
        fit_power_law(T[:3], [5, 5, 5], N, method="authors")


def test_extrapolation_is_exact_for_arrhenius_and_errs_for_a_curved_law():
    from lib.arrhenius import extrapolate_arrhenius

    w = np.geomspace(0.2, 100, 120)
    ex = extrapolate_arrhenius(w, 0.5 * np.exp(-3.0 / w), (10, 100))
    assert abs(ex.energy - 3.0) < 1e-10 and abs(ex.prefactor - 0.5) < 1e-10
    assert np.allclose(ex.factor, 1.0, rtol=1e-9)
    # -ln P = 4 x^0.7: the local slope 2.8 x^-0.3 grows as x = 1/omega falls, so a line fitted hot
    # has too large an activation energy at low T... and underpredicts P there
    curved = np.exp(-4.0 * (1 / w) ** 0.7)
    ex = extrapolate_arrhenius(w, curved, (10, 100))
    cold = w < 1
    assert np.all(ex.factor[cold] < 1e-1)
    with pytest.raises(ValueError, match="window"):
        extrapolate_arrhenius(w, curved, (1000, 2000))
