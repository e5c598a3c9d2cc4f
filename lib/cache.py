"""On-disk cache of expensive results (joblib.Memory).

Results are keyed by every argument that changes them (experiment, model,
temperatures, trials, seed, integrator, grid, ...) and by
:data:`ENGINE_VERSION`, and joblib also invalidates an entry when the cached
function's code changes. Arguments that cannot change a result (number of
workers, progress bars) are ignored. joblib writes an entry only after the
computation has returned, to a temporary file that is then renamed, so an
interrupted run never leaves a partial result behind.

Location: ``$ACTIVATION_CACHE`` if set (``off`` or ``0`` disables caching),
else ``$XDG_CACHE_HOME/oscillator-activation`` (``~/.cache/oscillator-activation``).
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

ENGINE_VERSION = "1"
"""Bump when a change to the engine alters any numerical result."""

ENV_VAR = "ACTIVATION_CACHE"


def cache_dir() -> Path | None:
    """The cache directory, or ``None`` when caching is disabled."""
    value = os.environ.get(ENV_VAR)
    if value is not None:
        if value.strip().lower() in ("", "0", "off", "none", "false"):
            return None
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "oscillator-activation"


@functools.lru_cache(maxsize=None)
def _memory(location: str | None):
    from joblib import Memory

    return Memory(location, verbose=0)


def memory():
    """The :class:`joblib.Memory` for the current cache location."""
    d = cache_dir()
    return _memory(None if d is None else str(d))


def cached(func, ignore=()):
    """``func`` wrapped by the current cache (looked up at call time)."""
    return memory().cache(func, ignore=list(ignore))


def clear():
    """Delete every cached result at the current location."""
    memory().clear(warn=False)
