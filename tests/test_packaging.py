"""Start-up cost and on-disk compilation cache."""
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import lib
from lib import kernels


def test_import_is_fast_and_compiles_nothing():
    code = "import time; t = time.perf_counter(); import lib; print(time.perf_counter() - t)"
    seconds = min(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                       check=True).stdout) for _ in range(3))
    assert seconds < 2.0
    out = subprocess.run([sys.executable, "-c", "import lib.kernels as k; print(len(k.run_lanes.signatures))"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0"  # kernels compile (or load from disk) on first use, not on import


def test_compiled_kernels_are_cached_on_disk():
    model = lib.Model()
    lib.run(model, lib.sample("thermal", model, 2.0, 4, np.random.default_rng(0)))
    cache_dir = Path(kernels.__file__).parent / "__pycache__"
    for name in ("run_lanes", "run_batch", "integrate"):
        assert list(cache_dir.glob(f"kernels.{name}-*.nbi")), name
    # a fresh process loads them instead of compiling: far below compile time
    code = ("import time, numpy as np, lib; m = lib.Model(); u = lib.sample('thermal', m, 2.0, 4, "
            "np.random.default_rng(0)); t = time.perf_counter(); lib.run(m, u); print(time.perf_counter() - t)")
    first_call = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                      check=True).stdout)
    assert first_call < 3.0


def test_chapters_are_committed_without_outputs():
    import json

    notebooks = sorted((Path(__file__).resolve().parents[1] / "book").glob("*.ipynb"))
    assert len(notebooks) >= 8
    for path in notebooks:
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell.get("outputs") == [] and cell.get("execution_count") is None, path.name
