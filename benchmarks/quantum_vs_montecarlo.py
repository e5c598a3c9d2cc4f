"""Benchmark: the exact quantum panel against the Monte Carlo panel, side by side in one run.

One panel of paper Fig. 5a (thermal, s = 2, M = 1) at the paper's 250
temperatures, cache off, all cores (``$ACTIVATION_JOBS`` to change):

* Monte Carlo at 10,000 trials per temperature (the paper's protocol, by the
  adaptive engine): wall time and CPU time of this process and its workers;
* the exact quantum model (lib.quantum) at relative tolerance 1e-4: wall
  and CPU time, the largest estimated relative error of P over the 250
  temperatures, and whether the estimate met the tolerance everywhere;
* with ``--check``, the actual largest relative difference from a quantum
  calculation at tolerance 1e-6 (not timed).

Goal (issue 18): the quantum panel at relative error at most 1e-4 takes no
longer than the Monte Carlo panel. Run from the repository root::

    python benchmarks/quantum_vs_montecarlo.py            # about a minute
    python benchmarks/quantum_vs_montecarlo.py --check    # and a reference calculation
"""
from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

import lib
from lib import quantum as qm
from lib.reproduce import PAPER_SEED


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (loky workers are reused, so see ``workers``)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _worker_cpu() -> float:
    """CPU seconds of the live loky workers (they outlive one call), from /proc."""
    import os

    try:
        from joblib.externals.loky import reusable_executor

        executor = reusable_executor._executor
        pids = list(executor._processes) if executor is not None else []
    except Exception:
        pids = []
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def measure(f):
    w0, c0, k0 = time.perf_counter(), _cpu(), _worker_cpu()
    out = f()
    return out, time.perf_counter() - w0, (_cpu() - c0) + (_worker_cpu() - k0)


def main(check: bool = False, tolerance: float = 1e-4, trials: int = 10_000):
    model = lib.Model(M=1.0, s=2.0)
    T = lib.paper_temperatures()
    # warm up: compile or load every kernel and start the workers, so that neither side pays for it
    lib.transmission_probability("thermal", model, [2.0], trials=2_500, seed=1, use_cache=False)
    qm.quantum_transmission("thermal", model, [2.0], tolerance=1e-2, use_cache=False)
    mc, t_mc, cpu_mc = measure(lambda: lib.transmission_probability("thermal", model, T, trials=trials,
                                                                     seed=PAPER_SEED, use_cache=False))
    q, t_q, cpu_q = measure(lambda: qm.quantum_transmission("thermal", model, T, tolerance=tolerance,
                                                             use_cache=False))
    report = {
        "panel": "thermal s=2 M=1", "temperatures": int(T.size), "trials": trials,
        "montecarlo_wall_s": round(t_mc, 2), "montecarlo_cpu_s": round(cpu_mc, 2),
        "quantum_wall_s": round(t_q, 2), "quantum_cpu_s": round(cpu_q, 2),
        "wall_ratio_quantum_over_montecarlo": round(t_q / t_mc, 2),
        "cpu_ratio_quantum_over_montecarlo": round(cpu_q / cpu_mc, 2) if cpu_mc > 0 else None,
        "quantum_tolerance": tolerance, "quantum_tolerance_met": bool(q.tolerance_met),
        "quantum_max_estimated_relative_error": float(np.max(q.relative_error)),
        "quantum_error_parts_max_relative": {k: float(np.max(v / q.probability)) for k, v in q.error_parts.items()},
        "quantum_intervals": q.intervals, "quantum_top_level": q.top, "quantum_channels_max": q.channels,
        "quantum_solves": q.solves,
        "montecarlo_max_relative_stderr_omega_1_to_4": float(np.max((mc.stderr / mc.probability)[T <= 4.0])),
    }
    if check:
        ref = qm.quantum_transmission("thermal", model, T, tolerance=1e-6, use_cache=False)
        report["quantum_max_actual_relative_error_vs_tolerance_1e-6"] = float(
            np.max(np.abs(q.probability / ref.probability - 1.0)))
        report["reference_tolerance_met"] = bool(ref.tolerance_met)
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="also compare with a tolerance-1e-6 calculation")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    main(check=args.check, tolerance=args.tolerance)
