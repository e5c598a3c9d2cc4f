"""Benchmark: many temperatures at few trials against one temperature at many trials.

Three runs of the same number of trajectories, N, in one process on one
core, with the result cache off, alternating over ``--repeat`` rounds:

* ``one temperature``: :func:`lib.transmission_probability` at 1 temperature,
  N trials;
* ``batched``: N temperatures at 1 trial each, as the library runs them now
  (the chunks of many temperatures share one task and one call of the
  integrator, :func:`lib.ensemble.run_chunks`);
* ``reference``: the same N temperatures with one task per temperature, each
  drawn and integrated on its own (:func:`lib.ensemble.run_chunk` through
  :func:`lib.parallel.run`), as the library ran them before.

It prints the median time of each, the cost per temperature above that of
its trajectory (batched and reference), the ratios, and checks that the
batched and reference results are bitwise the same (the seeding scheme is
unchanged). ``--json`` prints one JSON object.

Run from the repository root::

    python benchmarks/temperatures.py            # N = 100,000, about a minute
    python benchmarks/temperatures.py --quick    # N = 20,000
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ["ACTIVATION_CACHE"] = "off"

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import lib  # noqa: E402
from lib import ensemble, parallel  # noqa: E402
from lib.integrate import get_integrator  # noqa: E402


def reference(experiment, model, temps, seed):
    """One task per temperature, each drawn and run on its own (the library before batching)."""
    integ = get_integrator("adaptive")
    units = [(i, 0, 1) for i in range(temps.size)]
    tasks = [(experiment, model, float(temps[i]), 1, seed, i, 0, integ) for i, _, _ in units]
    results = [None] * len(tasks)
    for k, out in parallel.run(ensemble.run_chunk, tasks, n_jobs=1):
        results[k] = out
    return ensemble.assemble(experiment, model, temps, 1, seed, integ, units, results)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trajectories", type=int, default=100_000, help="N (default 100,000)")
    p.add_argument("--experiment", default="thermal", choices=lib.EXPERIMENTS)
    p.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    p.add_argument("--quick", action="store_true", help="N = 20,000, 2 rounds")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    n = 20_000 if args.quick else args.trajectories
    rounds = 2 if args.quick else args.repeat
    model = lib.Model(M=1.0, s=2.0)
    temps = np.geomspace(0.5, 50.0, n)
    seed = 11

    def one():
        return lib.transmission_probability(args.experiment, model, [2.0], trials=n, seed=seed, n_jobs=1)

    def batched():
        return lib.transmission_probability(args.experiment, model, temps, trials=1, seed=seed, n_jobs=1)

    def old():
        return reference(args.experiment, model, temps, seed)

    runs = {"one temperature": one, "batched": batched, "reference": old}
    for f in runs.values():  # compile and warm up
        lib.transmission_probability(args.experiment, model, temps[:50], trials=1, seed=seed, n_jobs=1)
        lib.transmission_probability(args.experiment, model, [2.0], trials=50, seed=seed, n_jobs=1)
    times = {name: [] for name in runs}
    results = {}
    for _ in range(rounds):
        for name, f in runs.items():
            t0 = time.perf_counter()
            results[name] = f()
            times[name].append(time.perf_counter() - t0)
    median = {name: statistics.median(t) for name, t in times.items()}
    same = results["batched"] == results["reference"]
    per_traj = median["one temperature"] / n
    out = {
        "trajectories": n, "experiment": args.experiment, "rounds": rounds,
        "seconds": median,
        "per_temperature_overhead_us": {k: 1e6 * (median[k] - median["one temperature"]) / n
                                        for k in ("batched", "reference")},
        "per_trajectory_us": 1e6 * per_traj,
        "batched_over_one_temperature": median["batched"] / median["one temperature"],
        "reference_over_batched": median["reference"] / median["batched"],
        "bitwise_identical": bool(same),
    }
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"{n} trajectories ({args.experiment}, s = 2, M = 1), one core, median of {rounds}:")
    for name, t in median.items():
        print(f"  {name:>16}: {t:8.3f} s")
    print(f"  per trajectory {out['per_trajectory_us']:.2f} us; overhead per temperature: batched "
          f"{out['per_temperature_overhead_us']['batched']:.1f} us, reference "
          f"{out['per_temperature_overhead_us']['reference']:.1f} us")
    print(f"  batched / one temperature = {out['batched_over_one_temperature']:.2f}; "
          f"reference / batched = {out['reference_over_batched']:.2f}; bitwise identical: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
