"""Statistics of transmission counts: binomial errors and confidence intervals.

A transmission probability is estimated from ``k`` transmissions in ``n``
independent trials. Its binomial standard error is ``sqrt(p (1 - p) / n)``
with ``p = k / n``; the 95% confidence interval is Wilson's score interval
(Wilson 1927), in SciPy's form (:func:`scipy.stats.binomtest`), which stays inside
[0, 1] and behaves sensibly at ``k = 0`` and ``k = n`` where the standard
error vanishes.
"""
from __future__ import annotations

import numpy as np


def proportion(k, n):
    """Estimated probability ``k / n`` (elementwise)."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    return k / n


def standard_error(k, n):
    """Binomial standard error ``sqrt(p (1 - p) / n)`` of ``p = k / n``."""
    p = proportion(k, n)
    return np.sqrt(p * (1.0 - p) / np.asarray(n, dtype=float))


def confidence_interval(k, n, level: float = 0.95, method: str = "wilson"):
    """Confidence interval for ``k`` successes in ``n`` trials, elementwise.

    ``method`` as in :meth:`scipy.stats.BinomTestResult.proportion_ci`:
    ``'wilson'``, ``'wilsoncc'`` or ``'exact'`` (Clopper-Pearson). Wilson's
    interval is evaluated in closed form on whole arrays, with the formulas
    and the end points at ``k = 0`` and ``k = n`` of SciPy's implementation
    (Newcombe 1998); the others call :func:`scipy.stats.binomtest` point by
    point. Returns ``(low, high)`` arrays shaped like ``k``.
    """
    k_arr, n_arr = np.broadcast_arrays(np.asarray(k, dtype=np.int64), np.asarray(n, dtype=np.int64))
    if method == "wilson":
        from scipy.special import ndtri

        z = ndtri(0.5 + 0.5 * level)
        kf, nf = k_arr.astype(float), n_arr.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = kf / nf
            denom = 2.0 * (nf + z ** 2)
            center = (2.0 * nf * p + z ** 2) / denom
            delta = z / denom * np.sqrt(4.0 * nf * p * (1.0 - p) + z ** 2)
        low = np.where(k_arr == 0, 0.0, center - delta)
        high = np.where(k_arr == n_arr, 1.0, center + delta)
        return low, high
    from scipy.stats import binomtest

    low = np.empty(k_arr.shape)
    high = np.empty(k_arr.shape)
    for idx in np.ndindex(k_arr.shape):
        ci = binomtest(int(k_arr[idx]), int(n_arr[idx])).proportion_ci(confidence_level=level, method=method)
        low[idx], high[idx] = ci.low, ci.high
    return low, high


def neglog_sigma(k, n):
    """Standard error of ``-ln(k/n)`` for weighting fits.

    By the delta method ``sigma = sqrt((1 - p) / (n p))``. It is evaluated at
    ``p~ = (k + 1/2) / (n + 1)`` so that points with ``k = n`` keep a finite
    weight; points with ``k = 0`` have no logarithm and must be excluded by
    the caller.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    pt = (k + 0.5) / (n + 1.0)
    return np.sqrt((1.0 - pt) / (n * pt))
