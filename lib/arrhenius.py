r"""Arrhenius analysis of :math:`\mathcal{P}(\omega_T)`.

The Arrhenius form is :math:`\mathcal{P} = e^{-E/\omega_T}`, a straight line
through the origin when :math:`-\ln\mathcal{P}` is plotted against
:math:`x = 1/\omega_T`. The paper tests it with a power-law fit

.. math::

    -\ln\mathcal{P} = A\,x^{\alpha},

where :math:`\alpha = 1` means Arrhenius with activation energy :math:`A`.
If there is no single activation energy, a local one can still be defined
as the slope

.. math::

    E_a(\omega_T) = \frac{d(-\ln\mathcal{P})}{d(1/\omega_T)} .

Two fitting methods are offered, for every fit here:

``'lsq'`` (default)
    Weighted least squares of :math:`-\ln\hat p` with the binomial standard
    error of :math:`-\ln\hat p` (:func:`lib.stats.neglog_sigma`). Points with
    no transmission (:math:`\hat p = 0`) have no logarithm and are skipped;
    the fit reports how many. Skipping them favours the temperatures where
    a lucky few particles got through, biasing :math:`\hat p` upward
    there, so the number skipped matters.
``'binomial'``
    Maximum likelihood for the counts themselves,
    :math:`k \sim \mathrm{Binomial}(n, p(x))`. Every point is used,
    including those with :math:`k = 0`; uncertainties come from the Fisher
    information.

For the power law a third, ``'authors'``, is the fit the paper's authors
ran (an earlier version of their repository; see the book's
reproducibility appendix): an *unweighted* ordinary least-squares line of
:math:`\log_{10}(-\log_{10}\hat p)` against :math:`\log_{10}(1/\omega_T)`,
dropping the first temperature. Their script had no guard for
:math:`\hat p \in \{0, 1\}`, where the logarithms are infinite; here
those points are left out and counted in ``skipped_zero``. Its
uncertainties are the ordinary least-squares ones (from the scatter of the
residuals), propagated to :math:`A`.

Parameter uncertainties are one standard deviation, from the covariance
with the binomial errors taken as known (not rescaled by
:math:`\chi^2`); the Pearson :math:`\chi^2` per degree of freedom is
reported so the fit's quality can be judged.
"""
from __future__ import annotations

import math

import numpy as np

from .records import record
from .stats import neglog_sigma

METHODS = ("lsq", "binomial")


def arrhenius(omega_T, energy):
    """Arrhenius probability :math:`e^{-E/\\omega_T}`."""
    return np.exp(-energy / np.asarray(omega_T, dtype=float))


def _check_counts(omega_T, transmitted, trials):
    omega_T = np.atleast_1d(np.asarray(omega_T, dtype=float))
    k = np.atleast_1d(np.asarray(transmitted, dtype=float))
    n = np.broadcast_to(np.asarray(trials, dtype=float), k.shape).astype(float)
    if not (omega_T.shape == k.shape and omega_T.ndim == 1):
        raise ValueError("temperatures and counts must be 1-D arrays of the same length")
    if np.any(~np.isfinite(omega_T)) or np.any(omega_T <= 0):
        raise ValueError("temperatures must be positive and finite")
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n):
        raise ValueError("counts must satisfy 0 <= transmitted <= trials, trials >= 1")
    return omega_T, k, n


def _check_method(method):
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    return method


def _fit(model, jac, x, k, n, theta0, method):
    """Fit ``-ln p = model(x, theta)`` to counts; return (theta, cov, chi2, used)."""
    from scipy.optimize import least_squares, minimize

    if method == "lsq":
        used = k > 0
        xs, ks, ns = x[used], k[used], n[used]
        z = -np.log(ks / ns)
        sig = neglog_sigma(ks, ns)
        sol = least_squares(lambda th: (model(xs, th) - z) / sig, theta0,
                            jac=lambda th: jac(xs, th) / sig[:, None], method="lm")
        theta = sol.x
    else:
        used = np.ones_like(k, dtype=bool)
        xs, ks, ns = x, k, n

        def nll(th):
            g = model(xs, th)
            if np.any(g <= 0):
                return np.inf
            return -np.sum(-ks * g + (ns - ks) * np.log(-np.expm1(-g)))

        start = _fit(model, jac, x, k, n, theta0, "lsq")[0] if np.count_nonzero(k) >= len(theta0) else theta0
        sol = minimize(nll, start, method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 20000, "maxfev": 40000})
        theta = sol.x
    g = model(xs, theta)
    p = np.exp(-g)
    dp = -jac(xs, theta) * p[:, None]  # dp/dtheta
    var = ns * p * (1.0 - p)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "lsq":
            J = jac(xs, theta) / neglog_sigma(ks, ns)[:, None]
            info = J.T @ J
        else:
            w = np.where(var > 0, ns / (p * (1.0 - p)), 0.0)
            info = (dp * w[:, None]).T @ dp
        cov = np.linalg.pinv(info)
        chi2 = float(np.sum(np.where(var > 0, (ks - ns * p) ** 2 / var, 0.0)))
    return theta, cov, chi2, used


@record
class _FitQuality:
    """What every fit here reports besides its parameters.

    Attributes
    ----------
    chi2 : float
        Pearson :math:`\\chi^2` of the counts used.
    dof : int
        Points used minus parameters.
    method : str
    used : ndarray(bool)
        Which input points entered the fit.
    skipped_zero : int
        Points left out because nothing was transmitted (``'lsq'`` only).
    """

    chi2: float
    dof: int
    method: str
    used: np.ndarray
    skipped_zero: int

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else float("nan")


@record
class PowerLawFit(_FitQuality):
    """Result of fitting :math:`-\\ln\\mathcal{P} = A (1/\\omega_T)^\\alpha`.

    Attributes
    ----------
    energy, energy_err : float
        :math:`A` and its standard error (an activation energy when
        :math:`\\alpha = 1`).
    exponent, exponent_err : float
        :math:`\\alpha` and its standard error.
    covariance : ndarray(float, shape (2, 2))
    """

    energy: float = float("nan")
    energy_err: float = float("nan")
    exponent: float = float("nan")
    exponent_err: float = float("nan")
    covariance: np.ndarray | None = None

    def probability(self, omega_T):
        """Fitted :math:`\\mathcal{P}(\\omega_T)`."""
        x = 1.0 / np.asarray(omega_T, dtype=float)
        return np.exp(-self.energy * x**self.exponent)

    def activation_energy(self, omega_T):
        """Local :math:`E_a = A\\alpha x^{\\alpha-1}` implied by the fit, with its standard error."""
        x = 1.0 / np.asarray(omega_T, dtype=float)
        A, a = self.energy, self.exponent
        ea = A * a * x ** (a - 1.0)
        grad = np.stack([a * x ** (a - 1.0), A * x ** (a - 1.0) * (1.0 + a * np.log(x))])
        var = np.einsum("i...,ij,j...->...", grad, self.covariance, grad)
        return ea, np.sqrt(var)


def _power(x, th):
    return th[0] * x ** th[1]


def _power_jac(x, th):
    xa = x ** th[1]
    return np.stack([xa, th[0] * xa * np.log(x)], axis=-1)


def _fit_authors(omega_T, k, n) -> PowerLawFit:
    """The authors' power-law fit (module docstring), on counts already checked."""
    drop_first = np.arange(k.size) > 0
    used = drop_first & (k > 0) & (k < n)
    if np.count_nonzero(used) < 3:
        raise ValueError("the authors' power-law fit needs at least three temperatures after the first "
                         "with 0 < P < 1")
    X = np.log10(1.0 / omega_T[used])
    Y = np.log10(-np.log10(k[used] / n[used]))
    D = np.stack([X, np.ones_like(X)], axis=1)
    (slope, icpt), *_ = np.linalg.lstsq(D, Y, rcond=None)
    resid = Y - D @ np.array([slope, icpt])
    dof = X.size - 2
    s2 = float(resid @ resid) / dof if dof > 0 else float("nan")
    cov_line = s2 * np.linalg.inv(D.T @ D)  # of (slope, intercept)
    # -ln P = ln(10) 10^icpt x^slope: A = ln(10) 10^icpt, alpha = slope
    A = math.log(10.0) * 10.0 ** icpt
    J = np.array([[0.0, A * math.log(10.0)], [1.0, 0.0]])  # d(A, alpha)/d(slope, icpt)
    cov = J @ cov_line @ J.T
    x = 1.0 / omega_T[used]
    p = np.exp(-A * x ** slope)
    var = n[used] * p * (1.0 - p)
    chi2 = float(np.sum(np.where(var > 0, (k[used] - n[used] * p) ** 2 / var, 0.0)))
    return PowerLawFit(chi2=chi2, dof=int(np.count_nonzero(used)) - 2, method="authors", used=used,
                       skipped_zero=int(np.count_nonzero(drop_first & ((k == 0) | (k == n)))),
                       energy=float(A), energy_err=float(math.sqrt(cov[0, 0])), exponent=float(slope),
                       exponent_err=float(math.sqrt(cov[1, 1])), covariance=cov)


def fit_power_law(omega_T, transmitted, trials, *, method: str = "lsq") -> PowerLawFit:
    """Fit :math:`-\\ln\\mathcal{P} = A (1/\\omega_T)^\\alpha` to transmission counts.

    Parameters
    ----------
    omega_T : array_like
        Temperatures.
    transmitted : array_like of int
        Transmissions at each temperature.
    trials : int or array_like of int
        Trials at each temperature.
    method : {'lsq', 'binomial', 'authors'}
        See the module docstring; ``'authors'`` is the unweighted fit of the
        paper's authors, in logarithmic coordinates, without the first temperature.
    """
    if method == "authors":
        return _fit_authors(*_check_counts(omega_T, transmitted, trials))
    _check_method(method)
    omega_T, k, n = _check_counts(omega_T, transmitted, trials)
    usable = np.count_nonzero(k > 0) if method == "lsq" else k.size
    if usable < 3:
        raise ValueError("a power-law fit needs at least three temperatures with transmissions")
    x = 1.0 / omega_T
    pos = (k > 0) & (k < n)
    if np.count_nonzero(pos) >= 2:
        slope, icpt = np.polyfit(np.log(x[pos]), np.log(-np.log(k[pos] / n[pos])), 1)
        theta0 = np.array([np.exp(icpt), slope])
    else:
        theta0 = np.array([1.0, 1.0])
    theta, cov, chi2, used = _fit(_power, _power_jac, x, k, n, theta0, method)
    err = np.sqrt(np.diag(cov))
    return PowerLawFit(chi2=chi2, dof=int(np.count_nonzero(used)) - 2, method=method, used=used,
                       skipped_zero=int(np.count_nonzero(k == 0)) if method == "lsq" else 0,
                       energy=float(theta[0]), energy_err=float(err[0]), exponent=float(theta[1]),
                       exponent_err=float(err[1]), covariance=cov)


@record
class ArrheniusFit(_FitQuality):
    """Result of fitting :math:`\\mathcal{P} = e^{-E/\\omega_T}` (one parameter ``energy``)."""

    energy: float = float("nan")
    energy_err: float = float("nan")

    def probability(self, omega_T):
        return arrhenius(omega_T, self.energy)


def fit_arrhenius(omega_T, transmitted, trials, *, method: str = "lsq") -> ArrheniusFit:
    """Fit a single activation energy, :math:`-\\ln\\mathcal{P} = E/\\omega_T`."""
    _check_method(method)
    omega_T, k, n = _check_counts(omega_T, transmitted, trials)
    if np.count_nonzero(k > 0) < 1 and method == "lsq":
        raise ValueError("an Arrhenius fit needs a temperature with transmissions")
    x = 1.0 / omega_T
    pos = k > 0
    theta0 = np.array([np.median(-np.log(k[pos] / n[pos]) / x[pos])]) if pos.any() else np.array([1.0])
    theta, cov, chi2, used = _fit(lambda x, th: th[0] * x, lambda x, th: x[:, None], x, k, n,
                                  theta0, method)
    return ArrheniusFit(chi2=chi2, dof=int(np.count_nonzero(used)) - 1, method=method, used=used,
                        skipped_zero=int(np.count_nonzero(k == 0)) if method == "lsq" else 0,
                        energy=float(theta[0]), energy_err=float(np.sqrt(cov[0, 0])))


@record
class LocalActivation:
    """Local activation energy :math:`E_a(\\omega_T)` from sliding-window fits.

    Attributes
    ----------
    omega_T : ndarray
        Window centres.
    energy, energy_err : ndarray
        Slope of :math:`-\\ln\\mathcal{P}` against :math:`1/\\omega_T` in
        each window and its standard error (NaN where the window held too
        few usable points).
    points : ndarray(int)
        Points used in each window.
    half_width : float
        Half-width of the windows in :math:`\\ln(1/\\omega_T)`.
    method : str
    """

    omega_T: np.ndarray
    energy: np.ndarray
    energy_err: np.ndarray
    points: np.ndarray
    half_width: float
    method: str


def local_activation_energy(omega_T, transmitted, trials, *, centers=None, half_width: float = 0.25,
                            min_points: int = 5, method: str = "lsq") -> LocalActivation:
    """Local activation energy :math:`E_a = d(-\\ln\\mathcal{P})/d(1/\\omega_T)`.

    Around each centre :math:`\\omega_c`, the points with
    :math:`|\\ln(\\omega_T/\\omega_c)| \\le` ``half_width`` are fitted with
    :math:`-\\ln\\mathcal{P} = c + E_a/\\omega_T`; the slope is the local
    activation energy. Windows of constant width in :math:`\\ln\\omega_T`
    resolve the same relative temperature change everywhere.

    Parameters
    ----------
    omega_T, transmitted, trials : array_like
        As for :func:`fit_power_law`.
    centers : array_like, optional
        Window centres; default 30 log-spaced temperatures spanning the
        data, kept ``half_width`` inside its ends.
    half_width : float
        Half-width of each window in :math:`\\ln\\omega_T`.
    min_points : int
        Windows with fewer usable points give NaN.
    method : {'lsq', 'binomial'}
    """
    _check_method(method)
    omega_T, k, n = _check_counts(omega_T, transmitted, trials)
    if not half_width > 0:
        raise ValueError(f"half_width must be positive, got {half_width!r}")
    lw = np.log(omega_T)
    if centers is None:
        lo, hi = lw.min() + half_width, lw.max() - half_width
        if hi < lo:
            lo = hi = 0.5 * (lw.min() + lw.max())
        centers = np.exp(np.linspace(lo, hi, 30))
    centers = np.atleast_1d(np.asarray(centers, dtype=float))
    energy = np.full(centers.shape, np.nan)
    err = np.full(centers.shape, np.nan)
    points = np.zeros(centers.shape, dtype=int)

    def line(x, th):
        return th[0] + th[1] * x

    def line_jac(x, th):
        return np.stack([np.ones_like(x), x], axis=-1)

    for i, c in enumerate(centers):
        sel = np.abs(lw - np.log(c)) <= half_width
        usable = sel & (k > 0) if method == "lsq" else sel
        points[i] = np.count_nonzero(usable)
        if points[i] < max(min_points, 3):
            continue
        x = 1.0 / omega_T[sel]
        ks, ns = k[sel], n[sel]
        pos = ks > 0
        if np.count_nonzero(pos) >= 2:
            slope, icpt = np.polyfit(x[pos], -np.log(ks[pos] / ns[pos]), 1)
            theta0 = np.array([icpt, slope])
        else:
            theta0 = np.array([0.0, 1.0 / x.mean()])
        theta, cov, _, _ = _fit(line, line_jac, x, ks, ns, theta0, method)
        energy[i] = theta[1]
        err[i] = np.sqrt(cov[1, 1])
    return LocalActivation(centers, energy, err, points, float(half_width), method)


@record
class FitSummary:
    """The fits of one data set: power law by weighted least squares, by
    binomial likelihood and by the authors' unweighted log-log fit, and a
    single activation energy (``alpha = 1``)."""

    power_law: PowerLawFit
    power_law_binomial: PowerLawFit
    arrhenius: ArrheniusFit
    power_law_authors: PowerLawFit | None = None


def summarize(omega_T, transmitted, trials) -> FitSummary:
    """All the fits of :mod:`lib.arrhenius` for one data set (the authors' one ``None`` if it cannot be made)."""
    try:
        authors = fit_power_law(omega_T, transmitted, trials, method="authors")
    except ValueError:
        authors = None
    return FitSummary(fit_power_law(omega_T, transmitted, trials),
                      fit_power_law(omega_T, transmitted, trials, method="binomial"),
                      fit_arrhenius(omega_T, transmitted, trials), authors)


def log_deviation(omega_T, probability, energy) -> float:
    """RMS of ``ln(P / e^{-E/omega_T})`` over the points with ``P > 0``.

    How far, on the logarithmic axis of an Arrhenius plot, the data lie from
    the line of activation energy ``energy``.
    """
    omega_T = np.asarray(omega_T, dtype=float)
    p = np.asarray(probability, dtype=float)
    pos = p > 0
    return float(np.sqrt(np.mean((np.log(p[pos]) + energy / omega_T[pos]) ** 2)))


@record
class Extrapolation:
    """An Arrhenius line fitted in a temperature window and carried to other temperatures.

    Attributes
    ----------
    window : tuple of float
        ``(lowest, highest)`` temperature of the fit.
    energy : float
        Fitted activation energy :math:`E` of :math:`\\mathcal{P} = C e^{-E/\\omega_T}`.
    prefactor : float
        Fitted :math:`C`.
    omega_T : ndarray
        Temperatures at which the line is compared.
    factor : ndarray
        Predicted over actual :math:`\\mathcal{P}` there (1 is a perfect prediction).
    """

    window: tuple
    energy: float
    prefactor: float
    omega_T: np.ndarray
    factor: np.ndarray

    def probability(self, omega_T):
        """The extrapolated :math:`C e^{-E/\\omega_T}`."""
        return self.prefactor * arrhenius(omega_T, self.energy)


def extrapolate_arrhenius(omega_T, probability, window) -> Extrapolation:
    """Fit :math:`\\ln\\mathcal{P} = \\ln C - E/\\omega_T` in ``window`` and compare it everywhere.

    What a simulation study does when it measures :math:`\\mathcal{P}` in a
    window of high temperatures and extrapolates to lower ones. The fit is an
    unweighted least-squares line through the points with ``window[0] <=
    omega_T <= window[1]`` (at least two; ``probability`` is meant to be
    exact, e.g. from :func:`lib.quadrature.transmission_quadrature`, so no
    weights are needed). Returns the fitted line and, at every ``omega_T``,
    the factor by which it mispredicts ``probability``.
    """
    omega_T = np.atleast_1d(np.asarray(omega_T, dtype=float))
    p = np.atleast_1d(np.asarray(probability, dtype=float))
    if omega_T.shape != p.shape or omega_T.ndim != 1:
        raise ValueError("temperatures and probabilities must be 1-D arrays of the same length")
    if not (np.all(np.isfinite(omega_T)) and np.all(omega_T > 0)):
        raise ValueError("temperatures must be positive and finite")
    if not (np.all(np.isfinite(p)) and np.all(p > 0) and np.all(p <= 1)):
        raise ValueError("probabilities must lie in (0, 1]")
    lo, hi = (float(w) for w in window)
    if not (0 < lo < hi):
        raise ValueError(f"window must be (lowest, highest) with 0 < lowest < highest, got {window!r}")
    inside = (omega_T >= lo) & (omega_T <= hi)
    if np.count_nonzero(inside) < 2:
        raise ValueError(f"the window {window!r} holds fewer than two temperatures")
    slope, icpt = np.polyfit(1.0 / omega_T[inside], np.log(p[inside]), 1)
    line = np.exp(icpt + slope / omega_T)
    return Extrapolation((lo, hi), float(-slope), float(np.exp(icpt)), omega_T, line / p)
