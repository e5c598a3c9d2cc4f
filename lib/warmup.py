"""Compile every numba kernel ahead of time: ``python -m lib warmup``.

The kernels are compiled with ``cache=True``: numba writes the machine code
beside the sources (``lib/__pycache__``; ``$NUMBA_CACHE_DIR`` if set) and a
later process loads it from there instead of compiling. Binder's
``binder/postBuild`` runs :func:`warmup` while the image is built, so that
the first cell a reader runs loads the kernels instead of compiling them
(``tests/test_publishing.py`` executes a chapter in a fresh environment and
checks that no kernel is compiled there).

:func:`warmup` calls each entry point of :mod:`lib` that reaches a compiled
kernel once, on a tiny problem, in this process and with the result cache
off, so every kernel is compiled with the argument types the library gives
it; nothing is written to the result cache. The machine code is for the CPU
it was compiled on: a machine with another CPU compiles again on first use
(numba keys its cache by CPU).
"""
from __future__ import annotations

import time

import numpy as np

from .barriers import frozen_barrier, relaxed_barrier
from .experiments import sample
from .integrate import run, trajectory
from .model import Model
from .phase_space import phase_space_map
from .scattering import scatter
from .transmission import transmission_probability
from .transmitting import threshold_energy, transmitting_set

KERNEL_MODULES = ("lib.fastmath", "lib.model", "lib.kernels", "lib.scattering")
"""Modules that hold numba-compiled functions (``@njit(cache=True)``)."""


def kernel_stats() -> dict:
    """Every compiled function of :data:`KERNEL_MODULES` as ``{name: [signatures, cache hits, cache misses]}``.

    Read from numba's own counters for this process: a cache hit is a
    signature loaded from disk, a miss one compiled here. Functions not yet
    called have no signatures.
    """
    import importlib

    out = {}
    for module_name in KERNEL_MODULES:
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            stats = getattr(obj, "stats", None)
            if getattr(obj, "__module__", None) != module_name or stats is None or not hasattr(obj, "signatures"):
                continue
            out[f"{module_name}.{name}"] = [len(obj.signatures), sum(stats.cache_hits.values()),
                                            sum(stats.cache_misses.values())]
    return out


def warmup() -> dict:
    """Compile (or load) every kernel the library calls; return :func:`kernel_stats` afterwards."""
    model = Model(M=1.0, s=2.0)
    grid = np.linspace(-1.0, 1.0, 3)
    model.landscape(*np.meshgrid(grid, grid))  # the interaction on arrays
    frozen_barrier(model)
    relaxed_barrier(model)
    states = sample("thermal", model, 2.0, 4, np.random.default_rng(0))
    for integrator in ("adaptive", "paper"):
        for lanes in (True, False):  # the SIMD-lane driver and the scalar one
            run(model, states, integrator, lanes=lanes)
            run(model, states, integrator, lanes=lanes, frozen=True, keep_final=True)
        trajectory(model, states[0], integrator)  # the recorder
        trajectory(model, states[0], integrator, t_end=0.5)
    phase_space_map(model, 0.0, grid=4, n_jobs=1, use_cache=False)
    transmitting_set(model, "levels", n_max=0, phases=4, refine=0, scan=8, n_jobs=1, use_cache=False)
    threshold_energy(model, grid=8, use_cache=False)
    threshold_energy(model, frozen=True, grid=8, use_cache=False)
    transmission_probability("thermal", model, [2.0], trials=64, seed=0, n_jobs=1, progress=False,
                             use_cache=False)
    scatter(model, [4.5], hi=3, sectors=8)  # the coupled-channel propagator of lib.scattering and lib.quantum
    return kernel_stats()


def main() -> None:
    """``python -m lib warmup``: compile, then say how many kernels were compiled and loaded."""
    t0 = time.perf_counter()
    stats = warmup()
    used = {name: s for name, s in stats.items() if s[0]}
    compiled = sum(s[2] for s in used.values())
    loaded = sum(s[1] for s in used.values())
    print(f"{len(used)} kernels ready in {time.perf_counter() - t0:.1f} s: {compiled} signatures compiled, "
          f"{loaded} loaded from numba's cache")
