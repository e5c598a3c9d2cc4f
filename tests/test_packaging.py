"""Start-up and the on-disk compilation cache, checked without a clock.

How fast ``import lib`` and the first compiled call are is measured by
``benchmarks/explorers.py`` (run by hand, reported in the README); the tests
check what makes them fast: importing compiles and loads nothing heavy, and
a fresh process loads the compiled kernels from numba's on-disk cache.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

import lib
from lib import kernels

HEAVY = ("lib.widgets", "ipywidgets", "matplotlib", "joblib", "scipy.optimize")


def _python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_import_compiles_nothing_and_loads_nothing_heavy():
    code = ("import sys, json, lib, lib.kernels as k; "
            f"print(json.dumps([len(k.run_lanes.signatures), [m for m in {HEAVY!r} if m in sys.modules]]))")
    signatures, heavy = json.loads(_python(code))
    assert signatures == 0  # kernels compile (or load from disk) on first use, not on import
    assert heavy == []


def test_compiled_kernels_are_loaded_from_disk_in_a_fresh_process():
    model = lib.Model()
    states = lib.sample("thermal", model, 2.0, 4, np.random.default_rng(0))
    lib.run(model, states)  # compiles or loads the lane driver,
    lib.run(model, states, lanes=False)  # the scalar one
    lib.trajectory(model, states[0])  # and the recorder
    cache_dir = Path(kernels.__file__).parent / "__pycache__"
    for name in ("run_lanes", "run_batch", "integrate"):
        assert list(cache_dir.glob(f"kernels.{name}-*.nbi")), name
        assert list(cache_dir.glob(f"kernels.{name}-*.nbc")), name
    # numba's own statistics: in a new process the call is a cache hit, not a compilation
    code = ("import json, numpy as np, lib, lib.kernels as k; m = lib.Model(); "
            "lib.run(m, lib.sample('thermal', m, 2.0, 4, np.random.default_rng(0))); "
            "st = k.run_lanes.stats; "
            "print(json.dumps([st.cache_path, sum(st.cache_hits.values()), sum(st.cache_misses.values())]))")
    path, hits, misses = json.loads(_python(code))
    assert Path(path) == cache_dir
    assert hits == 1 and misses == 0


def test_chapters_are_committed_without_outputs():
    notebooks = sorted((Path(__file__).resolve().parents[1] / "book").glob("*.ipynb"))
    assert len(notebooks) >= 8
    for path in notebooks:
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell.get("outputs") == [] and cell.get("execution_count") is None, path.name
