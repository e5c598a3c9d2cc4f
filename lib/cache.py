"""On-disk cache of expensive results (joblib.Memory).

Results are keyed by every argument that changes them (experiment, model,
temperatures, trials, seed, integrator, grid, ...) and by
:data:`ENGINE_VERSION`, and joblib also invalidates an entry when the cached
function's code changes. Arguments that cannot change a result (number of
workers, progress bars) are ignored. joblib writes an entry only after the
computation has returned, to a temporary file that is then renamed, so an
interrupted run never leaves a partial result behind.

:data:`ENGINE_VERSION` is not bumped by hand: it is a hash of the source of
every module that computes results (:data:`ENGINE_MODULES`), read once at
import. Any edit to them, even one that leaves results unchanged, starts a
fresh set of entries; entries of other versions are never served.

Location: ``$ACTIVATION_CACHE`` if set (``off`` or ``0`` disables caching),
else ``$XDG_CACHE_HOME/oscillator-activation`` (``~/.cache/oscillator-activation``).
"""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

ENGINE_MODULES = ("model", "tableaus", "fastmath", "kernels", "integrate", "experiments", "ensemble",
                  "phase_space", "barriers", "stats", "transmitting", "quadrature")
"""Modules of :mod:`lib` whose source determines numerical results (missing ones are skipped)."""

_PACKAGE_DIR = Path(__file__).resolve().parent


def engine_version(package_dir: str | os.PathLike | None = None, modules=ENGINE_MODULES) -> str:
    """First 16 hex digits of the SHA-256 of the engine's source files.

    Hashes ``<package_dir>/<name>.py`` for each name in ``modules`` (default:
    this package and :data:`ENGINE_MODULES`), with its name, skipping files
    that do not exist. Line endings are normalised, so a checkout with CRLF
    gives the same key.
    """
    directory = _PACKAGE_DIR if package_dir is None else Path(package_dir)
    digest = hashlib.sha256()
    for name in modules:
        path = directory / f"{name}.py"
        if not path.is_file():
            continue
        digest.update(f"{name}\n".encode())
        digest.update(path.read_bytes().replace(b"\r\n", b"\n"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


ENGINE_VERSION = engine_version()
"""Key of the engine's results: :func:`engine_version` of the installed sources."""

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
