"""``python -m lib warmup`` (Binder's postBuild) compiles every module's kernels, the quantum solver's too."""
import importlib
import pkgutil

import pytest

import lib
from lib import warmup


def _modules_with_kernels() -> set[str]:
    """The modules of lib that define numba-compiled functions (dispatchers with ``signatures``)."""
    found = set()
    for info in pkgutil.iter_modules(lib.__path__):
        name = f"lib.{info.name}"
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(name)
        for obj in vars(module).values():
            if getattr(obj, "__module__", None) == name and hasattr(obj, "signatures") and hasattr(obj, "stats"):
                found.add(name)
                break
    return found


def test_every_module_with_kernels_is_warmed_up():
    assert "lib.scattering" in _modules_with_kernels()
    assert _modules_with_kernels() <= set(warmup.KERNEL_MODULES)


@pytest.mark.slow
def test_warmup_compiles_the_signature_the_quantum_calculation_uses():
    """After warmup the coupled-channel propagator has its signature; a quantum calculation adds none
    (so Binder's first quantum cell loads the kernel instead of compiling it for seconds)."""
    from lib import quantum, scattering

    stats = warmup.warmup()
    assert stats["lib.scattering._propagate"][0] >= 1
    before = list(scattering._propagate.signatures)
    quantum.quantum_transmission("thermal", lib.Model(M=1.0, s=2.0), [2.0], tolerance=1e-2, n_jobs=1, use_cache=False)
    quantum.threshold_scan(lib.Model(M=1.0, s=2.0), [3.0, 4.0], closed=2, sectors=16)
    assert list(scattering._propagate.signatures) == before
