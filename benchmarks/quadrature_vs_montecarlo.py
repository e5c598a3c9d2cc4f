"""Benchmark: quadrature over the transmitting set against Monte Carlo, and the 24-panel check.

``panel`` (default): one costly panel of Fig. 5 (thermal, s = 2, M = 5), both
methods in one run on this machine, cache off, all cores:

* Monte Carlo at the paper's 250 temperatures x 10,000 trials: wall time;
* quadrature at the same 250 temperatures, tolerance 1e-3: wall time, and
  the largest estimated relative error where P >= 1e-6;
* at equal wall time, the ratio of the Monte Carlo standard error (scaled
  from 10,000 trials to the trials the quadrature's time would buy) to the
  quadrature's error estimate, for omega_T in [1, 4].

Goals (issue "the transmitting set as data"): error ratio at least 30; the
quadrature's 250-temperature curve in at most the Monte Carlo's time.

``check``: all 24 (experiment, s, M) panels of Figs. 4-5: quadrature against
the reproduction's Monte Carlo (lib.reproduce's seed, 10,000 trials, from
the cache when present), counting temperatures where they differ by more
than 3 combined standard errors among those with at least 10 transmissions.

Run from the repository root::

    ACTIVATION_CACHE=off python benchmarks/quadrature_vs_montecarlo.py          # a few minutes
    python benchmarks/quadrature_vs_montecarlo.py check                          # longer
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import lib
from lib.reproduce import IMPACTS, MASSES, PAPER_SEED


def panel(experiment="thermal", s=2.0, M=5.0, tolerance=1e-3, trials=10_000):
    model = lib.Model(M=M, s=s)
    T = lib.paper_temperatures()
    t = time.perf_counter()
    mc = lib.transmission_probability(experiment, model, T, trials=trials, seed=PAPER_SEED, use_cache=False)
    t_mc = time.perf_counter() - t
    t = time.perf_counter()
    q = lib.transmission_probability(experiment, model, T, method="quadrature", tolerance=tolerance,
                                     use_cache=False)
    t_q = time.perf_counter() - t
    window = (T >= 1.0) & (T <= 4.0)
    stderr_equal_time = mc.stderr * np.sqrt(t_mc / t_q)
    ratio = stderr_equal_time[window] / q.error[window]
    keep = q.probability >= 1e-6
    rel = q.error[keep] / q.probability[keep]
    z = (q.probability - mc.probability) / np.hypot(mc.stderr, q.error)
    ok = mc.transmitted >= 10
    return {"panel": f"{experiment} s={s:g} M={M:g}", "temperatures": int(T.size), "trials": trials,
            "montecarlo_s": t_mc, "quadrature_s": t_q, "time_ratio_mc_over_quadrature": t_mc / t_q,
            "error_ratio_equal_time_min": float(ratio.min()), "error_ratio_equal_time_median": float(np.median(ratio)),
            "max_relative_error_where_P_ge_1e-6": float(rel.max()),
            "quadrature_phases": q.phases, "quadrature_n_max": q.n_max,
            "max_abs_z_where_10_transmissions": float(np.max(np.abs(z[ok])))}


def check(tolerance=1e-3):
    T = lib.paper_temperatures()
    rows = []
    for experiment in lib.EXPERIMENTS:
        for s in IMPACTS:
            for M in MASSES:
                model = lib.Model(M=M, s=s)
                mc = lib.transmission_probability(experiment, model, T, trials=10_000, seed=PAPER_SEED)
                q = lib.transmission_probability(experiment, model, T, method="quadrature", tolerance=tolerance)
                z = (q.probability - mc.probability) / np.hypot(mc.stderr, q.error)
                ok = mc.transmitted >= 10
                rows.append({"panel": f"{experiment} s={s:g} M={M:g}", "compared": int(ok.sum()),
                             "beyond_3_sigma": int(np.sum(np.abs(z[ok]) > 3)),
                             "max_abs_z": float(np.max(np.abs(z[ok])))})
                print(json.dumps(rows[-1]), flush=True)
    total = sum(r["compared"] for r in rows)
    beyond = sum(r["beyond_3_sigma"] for r in rows)
    print(f"{beyond} of {total} comparisons beyond 3 combined standard errors "
          f"(expected by chance at 0.27%: {0.0027 * total:.1f})")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", nargs="?", choices=("panel", "check"), default="panel")
    p.add_argument("--tolerance", type=float, default=1e-3)
    args = p.parse_args(argv)
    if args.what == "check":
        check(args.tolerance)
        return
    r = panel(tolerance=args.tolerance)
    print(json.dumps(r, indent=1))
    print(f"goal: error ratio >= 30 at equal time: {r['error_ratio_equal_time_min']:.0f} (min), "
          f"{r['error_ratio_equal_time_median']:.0f} (median); quadrature time <= Monte Carlo time: "
          f"{r['quadrature_s']:.1f} s vs {r['montecarlo_s']:.1f} s")


if __name__ == "__main__":
    main()
