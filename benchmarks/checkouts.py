"""Benchmark: this checkout's engine against another checkout's, side by side.

Runs the same timing code in each checkout (its own ``lib``, its own Python,
cwd its root, the result cache off, one thread), alternating which goes
first over ``--repeat`` rounds, and prints the best time of each case and
the ratio this / other:

* ``lanes thermal``: :func:`lib.run` (lane driver), 20,000 thermal draws (M = 1, s = 2, omega_T = 2);
* ``lanes frozen``: the same with the gate frozen;
* ``scalar``: 2,000 of them through the scalar driver (``lanes=False``);
* ``paper``: 500 of them with the fixed-step ``paper`` integrator;
* ``ensemble``: :func:`lib.transmission_probability`, deflected, 3 temperatures x 5,000 trials, one worker.

It also checks that both checkouts give bitwise the same outcomes,
derivative evaluations, final states and times for those trajectories (a
SHA-256 of the arrays), and the same ensemble counts. Use it to show that a
change of the kernels costs no speed and changes no number, e.g. against a
worktree of main::

    python benchmarks/checkouts.py /path/to/main            # its .venv/bin/python
    python benchmarks/checkouts.py /path/to/main --repeat 7 --json
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import hashlib, json, time
import numpy as np
import lib
model = lib.Model(M=1.0, s=2.0)
thermal = lib.sample("thermal", model, 2.0, 20000, np.random.default_rng(1))
frozen = lib.sample("frozen", model, 2.0, 20000, np.random.default_rng(2))
cases = {
    "lanes thermal": lambda: lib.run(model, thermal, keep_final=True),
    "lanes frozen": lambda: lib.run(model, frozen, frozen=True, keep_final=True),
    "scalar": lambda: lib.run(model, thermal[:2000], lanes=False, keep_final=True),
    "paper": lambda: lib.run(model, thermal[:500], "paper", keep_final=True),
    "ensemble": lambda: lib.transmission_probability("deflected", lib.Model(M=5.0, s=2.0), [1.0, 4.0, 16.0],
                                                     trials=5000, seed=1, use_cache=False, n_jobs=1),
}
times, digest = {}, hashlib.sha256()
for name, case in cases.items():
    result = case()  # compiled (or loaded from numba's cache) before timing
    if name == "ensemble":
        digest.update(np.asarray(result.transmitted).tobytes() + np.int64(result.evaluations).tobytes())
    else:
        for part in (result.outcome, result.evaluations, result.final_state, result.final_time):
            digest.update(np.ascontiguousarray(part).tobytes())
    best = float("inf")
    for _ in range(REPS):
        t = time.perf_counter()
        case()
        best = min(best, time.perf_counter() - t)
    times[name] = best
print(json.dumps({"times": times, "sha256": digest.hexdigest()}))
"""


def measure(root: Path, python: str, reps: int) -> dict:
    env = {**os.environ, "ACTIVATION_CACHE": "off", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "ACTIVATION_PROGRESS": "0"}
    out = subprocess.run([python, "-c", CHILD.replace("REPS", str(reps))], cwd=root, env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("other", type=Path, help="root of the other checkout")
    parser.add_argument("--python", help="the other checkout's Python (default: its .venv/bin/python)")
    parser.add_argument("--repeat", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--reps", type=int, default=3, help="timed calls per case and round (default 3)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    other = args.other.resolve()
    sides = {"this": (ROOT, sys.executable), "other": (other, args.python or str(other / ".venv/bin/python"))}
    runs = {"this": [], "other": []}
    for r in range(args.repeat):
        for side in ("this", "other") if r % 2 == 0 else ("other", "this"):
            runs[side].append(measure(*sides[side], args.reps))
    best = {side: {k: min(run["times"][k] for run in runs[side]) for k in runs[side][0]["times"]} for side in runs}
    same = {run["sha256"] for run in runs["this"] + runs["other"]}
    report = {"this": str(ROOT), "other": str(other), "rounds": args.repeat,
              "best_seconds": best, "ratio_this_over_other": {k: best["this"][k] / best["other"][k] for k in best["this"]},
              "bitwise_identical": len(same) == 1}
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"this: {ROOT}\nother: {other}\nbest of {args.repeat} alternating rounds x {args.reps} calls")
        for k in best["this"]:
            print(f"  {k:14s} this {1e3 * best['this'][k]:8.1f} ms   other {1e3 * best['other'][k]:8.1f} ms   "
                  f"ratio {report['ratio_this_over_other'][k]:.3f}")
        print("results bitwise identical" if report["bitwise_identical"] else "RESULTS DIFFER")
    return 0 if report["bitwise_identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
