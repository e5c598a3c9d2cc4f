"""Benchmark: the engine against a NumPy port of the authors' protocol.

Both run the same initial conditions, in one process, on one core:

* reference: :mod:`reference_protocol`, a vectorised NumPy port of the
  paper's scripts (Butcher RK5, fixed step 5e-4, whole batch stepped
  together, finished trajectories dropped), one batch per temperature as
  the authors' scripts do;
* engine: :func:`lib.run` with the default ``adaptive`` integrator, the
  same batches.

Initial conditions are drawn by :func:`lib.sample` for each experiment and
temperature: by default all four experiments at s = 2, M = 1, five of the
paper's 250 temperatures (every 50th) and the paper's 10,000 trials per
temperature, so each reference batch is as large as the authors'. The
reference's time per batch is set by its slowest particle (once few remain,
each step costs NumPy's per-call overhead), which is why it varies so much
between temperatures. The script prints trajectories per second for both,
their ratio, and the fraction of trials with identical outcomes; ``--json``
prints one JSON object with ``reference_traj_per_s, engine_traj_per_s,
speedup, agreement``.

Run from the repository root::

    python benchmarks/engine_vs_protocol.py            # about 7 minutes
    python benchmarks/engine_vs_protocol.py --quick    # about 1 minute
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # single core for both sides

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lib  # noqa: E402
from reference_protocol import run_protocol  # noqa: E402

DEFAULT_TEMPERATURES = tuple(float(t) for t in lib.paper_temperatures()[::50])


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--experiment", default="all", choices=("all",) + lib.EXPERIMENTS,
                   help="experiment(s) to draw initial conditions from (default: all four)")
    p.add_argument("--impact", type=float, default=2.0, help="impact parameter s (default 2)")
    p.add_argument("--mass", type=float, default=1.0, help="particle mass M (default 1)")
    p.add_argument("--temperature", type=float, nargs="+", default=DEFAULT_TEMPERATURES,
                   help="temperatures (default: every 50th of the paper's 250)")
    p.add_argument("--trials", type=int, default=10_000,
                   help="trials per temperature and experiment (default 10000, as in the paper)")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--quick", action="store_true", help="2000 trials per batch")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    trials = 2000 if args.quick else args.trials
    experiments = lib.EXPERIMENTS if args.experiment == "all" else (args.experiment,)
    model = lib.Model(M=args.mass, s=args.impact)
    rng = np.random.default_rng(args.seed)
    batches = [(e, T, lib.sample(e, model, T, trials, rng)) for e in experiments for T in args.temperature]

    # compile (or load from the on-disk cache) before timing
    lib.run(model, batches[0][2][:2])
    lib.run(model, batches[0][2][:2], frozen=True)

    t_ref = t_eng = 0.0
    same = total = 0
    rows = []
    for experiment, T, states in batches:
        frozen = lib.experiments.is_frozen(experiment)
        t0 = time.perf_counter()
        ref = run_protocol(states, model.M, model.s, model.U0, model.lam, frozen=frozen)
        t1 = time.perf_counter()
        eng = lib.run(model, states, frozen=frozen).outcome
        t2 = time.perf_counter()
        t_ref += t1 - t0
        t_eng += t2 - t1
        agree = int(np.count_nonzero(ref == eng))
        same += agree
        total += len(states)
        rows.append((experiment, T, len(states) / (t1 - t0), len(states) / (t2 - t1), (t1 - t0) / (t2 - t1),
                     agree / len(states)))
        if not args.json:
            print(f"{experiment:>9} omega_T={T:<6g} reference {rows[-1][2]:9.0f}/s  engine {rows[-1][3]:10.0f}/s"
                  f"  ratio {rows[-1][4]:7.0f}  agreement {rows[-1][5]:.4f}", flush=True)
    result = {
        "reference_traj_per_s": total / t_ref,
        "engine_traj_per_s": total / t_eng,
        "speedup": t_ref / t_eng,
        "agreement": same / total,
        "trajectories": total,
        "disagreements": total - same,
        "experiments": list(experiments),
        "temperatures": list(args.temperature),
        "trials_per_batch": trials,
        "impact": model.s,
        "mass": model.M,
        "engine_integrator": "adaptive",
        "lib_version": lib.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"\n{total} trajectories on one core: reference {result['reference_traj_per_s']:.0f} traj/s, "
              f"engine {result['engine_traj_per_s']:.0f} traj/s")
        print(f"speedup {result['speedup']:.0f}x; identical outcomes {same}/{total} "
              f"({100 * result['agreement']:.3f}%)")
    return result


if __name__ == "__main__":
    main()
