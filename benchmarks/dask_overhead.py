"""Benchmark: the same sweep on joblib's loky backend and on a 2-worker Dask LocalCluster.

On this machine, cache off, both ways with two worker processes:

* a Monte Carlo sweep (thermal, s in {0, 1, 2}, M in {0.2, 1, 5}, 12 of
  the paper's temperatures, 20,000 trials: 2.16 million trajectories in
  864 chunks of 2,500), run alternately on loky (``n_jobs=2``) and on a
  ``distributed.LocalCluster(n_workers=2, processes=True,
  threads_per_worker=1)``, after one warm-up run of each (worker start-up
  and loading the compiled kernels are not counted); medians of ``--repeat``
  runs; the results are checked to be bitwise identical;
* overhead = median(Dask) / median(loky) - 1 (goal: under 10%).

Then an estimate, printed with its inputs, of the wall time on a cluster of
``--cores`` cores (default 100) for

* the paper's full data (Figs. 4-5: 24 panels x 250 temperatures x 10,000
  trials; Fig. 3: 16 maps of 200 x 200), from the per-trajectory cost of
  every panel measured here on one core (every 25th temperature, 2,500
  trials each);
* a 50 x 50 sweep over (M, s), M in [0.2, 5] and s in [0, 2], of the
  thermal experiment at the paper's 250 temperatures x 10,000 trials per
  point, from the cost measured on a 3 x 3 subgrid;

as total core-seconds / cores, multiplied by the measured Dask overhead,
plus a term for the tail: the last round of batches (one batch per core)
cannot be shared. On a cluster ``lib.parallel`` sends chunks in batches,
about ``BATCHES_PER_THREAD`` per worker thread; the scheduler's own time
(about 1 ms per task, Dask's documented figure, not measured here) is
printed beside it. Start-up of the cluster and of its workers is
not included. On a shared machine the loky and Dask runs alternate, so that
load from elsewhere falls on both alike.

Run from the repository root (a few minutes)::

    python benchmarks/dask_overhead.py
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's lib, also for the workers

import numpy as np  # noqa: E402

import lib  # noqa: E402
from lib import parallel  # noqa: E402
from lib.ensemble import CHUNK_TRIALS  # noqa: E402
from lib.reproduce import FIGURE_EXPERIMENTS, IMPACTS, MASSES, PAPER_SEED  # noqa: E402

GOAL = 0.10


def bench_sweep(temps, trials):
    return dict(experiment="thermal", impact=[0.0, 1.0, 2.0], mass=[0.2, 1.0, 5.0], omega_T=temps,
                trials=trials, seed=PAPER_SEED, use_cache=False, progress=False)


def timed(func):
    t0 = time.perf_counter()
    out = func()
    return time.perf_counter() - t0, out


def per_trajectory_cost(points, temps, trials):
    """Seconds per trajectory on one core, for each ``(experiment, s, M)``."""
    costs = {}
    with parallel.use_scheduler(None):
        lib.transmission_probability("thermal", lib.Model(), temps[:1], trials=64, n_jobs=1, use_cache=False,
                                     progress=False)  # warm-up: this process loads the compiled kernels
        for e, s, M in points:
            dt, _ = timed(lambda: lib.transmission_probability(e, lib.Model(M=M, s=s), temps, trials=trials,
                                                                seed=PAPER_SEED, n_jobs=1, use_cache=False,
                                                                progress=False))
            costs[(e, s, M)] = dt / (temps.size * trials)
    return costs


SCHEDULER_SECONDS_PER_TASK = 1e-3
"""Scheduler time per Dask task, as Dask's documentation puts it (an assumption, not measured here)."""


def estimate(label, core_seconds, n_chunks, chunk_seconds, cores, overhead):
    from lib.parallel import BATCHES_PER_THREAD

    batches = min(n_chunks, cores * BATCHES_PER_THREAD)  # as lib.parallel._dask_run cuts them
    batch_seconds = max(chunk_seconds, core_seconds / batches)
    ideal = core_seconds / cores
    tail = batch_seconds  # the last round: one batch per core, nothing left to share
    total = ideal * (1.0 + max(overhead, 0.0)) + tail
    scheduler = batches * SCHEDULER_SECONDS_PER_TASK
    print(f"  {label}: {core_seconds:,.0f} core-s in {n_chunks:,} chunks of {CHUNK_TRIALS} trials "
          f"(longest chunk {chunk_seconds:.2f} s on one core, batches of {batch_seconds:.2f} s) -> about {total:,.0f} s "
          f"({total / 60:.1f} min) on {cores} cores; the scheduler's share: about {batches:,.0f} batched "
          f"tasks x {SCHEDULER_SECONDS_PER_TASK * 1e3:g} ms = {scheduler:,.0f} s, "
          f"{'hidden behind' if scheduler < 0.5 * total else 'NOT small against'} the compute")
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each backend (default 3)")
    ap.add_argument("--trials", type=int, default=20_000, help="trials per temperature of the sweep")
    ap.add_argument("--cores", type=int, default=100, help="cluster cores of the estimate (default 100)")
    args = ap.parse_args()
    from distributed import LocalCluster

    paper_T = lib.paper_temperatures()
    temps = paper_T[::21][:12]
    kw = bench_sweep(temps, args.trials)
    n_traj = 9 * temps.size * args.trials
    n_tasks = 9 * temps.size * math.ceil(args.trials / CHUNK_TRIALS)
    print(f"sweep: thermal, 3 x 3 (s, M), {temps.size} temperatures, {args.trials} trials: "
          f"{n_traj:,} trajectories in {n_tasks} chunks")
    times = {"loky": [], "dask": []}
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        runs = {"loky": lambda: lib.sweep(**kw, n_jobs=2, scheduler=None),
                "dask": lambda: lib.sweep(**kw, scheduler=cluster.scheduler_address)}
        with parallel.use_scheduler(cluster.scheduler_address):  # keep one client for every run
            ref = {name: run() for name, run in runs.items()}  # warm-up: workers start, kernels load
            same = all(np.array_equal(ref["loky"][v].values, ref["dask"][v].values, equal_nan=True)
                       for v in ref["loky"].data_vars)
            for _ in range(args.repeat):
                for name, run in runs.items():
                    dt, _ = timed(run)
                    times[name].append(dt)
    med = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    overhead = med["dask"] / med["loky"] - 1.0
    print(f"loky, 2 processes:     {', '.join(f'{t:.2f}' for t in times['loky'])} s; median {med['loky']:.2f} s "
          f"({n_traj / med['loky']:,.0f} traj/s)")
    print(f"Dask, 2-worker cluster: {', '.join(f'{t:.2f}' for t in times['dask'])} s; median {med['dask']:.2f} s "
          f"({n_traj / med['dask']:,.0f} traj/s)")
    print(f"results bitwise identical: {same}")
    print(f"Dask overhead: {overhead:+.1%} of the loky time (goal: under {GOAL:.0%}) -> "
          f"{'met' if overhead < GOAL else 'NOT met'}; "
          f"{(med['dask'] - med['loky']) / n_tasks * 2 * 1e3:+.1f} ms per chunk per worker")
    print(f"fastest runs (the least disturbed on a shared machine): loky {best['loky']:.2f} s, Dask "
          f"{best['dask']:.2f} s: {best['dask'] / best['loky'] - 1.0:+.1%}")

    # -- per-trajectory costs, one core ------------------------------------------------------------
    sample_T = paper_T[::25]
    panels = [(e, s, M) for fig in ("4", "5") for e in FIGURE_EXPERIMENTS[fig] for s in IMPACTS for M in MASSES]
    print(f"\nper-trajectory cost on one core ({sample_T.size} of the paper's temperatures x {CHUNK_TRIALS} "
          "trials per panel):")
    paper_costs = per_trajectory_cost(panels, sample_T, CHUNK_TRIALS)
    for e in ("frozen", "deflected", "thermal", "joint"):
        row = [f"s={s:g} M={M:g}: {paper_costs[(e, s, M)] * 1e6:.1f}" for s in IMPACTS for M in MASSES]
        print(f"  {e:>9} (us/traj) " + ", ".join(row))
    n_paper = len(panels) * paper_T.size * 10_000
    paper_core_s = sum(c * paper_T.size * 10_000 for c in paper_costs.values())
    t0 = time.perf_counter()
    with parallel.use_scheduler(None):
        lib.phase_space_map(lib.Model(M=1, s=2), 0.785, grid=200, n_jobs=1, use_cache=False)
    map_s = time.perf_counter() - t0
    paper_core_s += 16 * map_s
    n_chunks = len(panels) * paper_T.size * 4
    chunk_med = statistics.median(paper_costs.values()) * CHUNK_TRIALS
    chunk_max = max(paper_costs.values()) * CHUNK_TRIALS
    print(f"  Fig. 3 map (200 x 200, one core): {map_s:.2f} s each, 16 maps")

    grid_pts = [("thermal", s, M) for s in (0.0, 1.0, 2.0) for M in (0.2, 1.0, 5.0)]
    sweep_costs = per_trajectory_cost(grid_pts, sample_T, CHUNK_TRIALS)
    mean_cost = statistics.mean(sweep_costs.values())
    print(f"  thermal on a 3 x 3 (s, M) subgrid: mean {mean_cost * 1e6:.1f} us/traj "
          f"(from {min(sweep_costs.values()) * 1e6:.1f} to {max(sweep_costs.values()) * 1e6:.1f})")
    n_sweep = 50 * 50 * paper_T.size * 10_000

    print(f"\nestimate on {args.cores} cluster cores (measured Dask overhead {max(overhead, 0):.1%} applied; "
          "cluster start-up not included):")
    estimate(f"the paper's data ({n_paper / 1e6:.1f} M trajectories + 16 maps)", paper_core_s, n_chunks,
             chunk_max, args.cores, overhead)
    estimate(f"50 x 50 (M, s) thermal sweep, 250 temperatures x 10,000 trials ({n_sweep / 1e9:.2f} G trajectories)",
             mean_cost * n_sweep, 2500 * paper_T.size * 4, max(sweep_costs.values()) * CHUNK_TRIALS,
             args.cores, overhead)
    print(f"  (median chunk of the paper: {chunk_med:.3f} s on one core)")


if __name__ == "__main__":
    main()
