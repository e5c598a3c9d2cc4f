"""On-disk cache of expensive results, sealed with a checksum.

Results are keyed by every argument that changes them (experiment, model,
temperatures, trials, seed, integrator, grid, ...), hashed with
:func:`joblib.hash`, by the cached function's name and source, and by
:data:`ENGINE_VERSION`. Arguments that cannot change a result (number of
workers, progress bars) are ignored.

Each entry is one file, ``<location>/results/<module>.<function>/<key>/output.pkl``:
a magic line, the SHA-256 of the payload, then the payload (the pickled
result). It is written only after the computation has returned, to a
temporary file in the same folder that is then renamed over the entry, so an
interrupted run never leaves a partial result behind and concurrent runs
never see one. On load the checksum is verified: a damaged entry (a flipped
bit, garbled bytes, a truncated or empty file) is discarded with one
:class:`CacheWarning` and the result is recomputed, so the cache never
returns a wrong result.

A cache that cannot be used (a read-only, immutable or full disk, a path
under ``/proc``, a regular file where the folder should be) never stops the
work: the result is computed without the cache, with one
:class:`CacheWarning` per location and process, and a failed write removes
its temporary file.

:data:`ENGINE_VERSION` is not bumped by hand: it is a hash of the source of
every module that computes results (:data:`ENGINE_MODULES`), read once at
import. Any edit to them, even one that leaves results unchanged, starts a
fresh set of entries; entries of other versions are never served.

Location: ``$ACTIVATION_CACHE`` if set (``off`` or ``0`` disables caching),
else ``$XDG_CACHE_HOME/oscillator-activation`` (``~/.cache/oscillator-activation``).
"""
from __future__ import annotations

import hashlib
import inspect
import os
import pickle
import shutil
import warnings
from pathlib import Path

from . import files

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

MAGIC = b"activation-cache 1\n"
"""First bytes of every entry; the SHA-256 of the payload (32 bytes) follows, then the payload."""

STORE = "results"
"""Subfolder of the location that holds the entries."""


class CacheWarning(UserWarning):
    """The cache could not be used or held a damaged entry; the result was computed afresh."""


def cache_dir() -> Path | None:
    """The cache directory, or ``None`` when caching is disabled."""
    value = os.environ.get(ENV_VAR)
    if value is not None:
        if value.strip().lower() in ("", "0", "off", "none", "false"):
            return None
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "oscillator-activation"


_unusable: set[str] = set()
"""Locations found unusable in this process (warned about once, then skipped)."""


def _warn(message: str) -> None:
    # an explicit location keeps the default display to one line (no source line),
    # also in worker processes, where the command line's formatting does not reach
    warnings.warn_explicit(message, CacheWarning, "lib.cache", 0, module="lib.cache")


def _unusable_location(location: Path, exc: BaseException) -> None:
    key = str(location)
    if key not in _unusable:
        _unusable.add(key)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        _warn(f"cache {key!r} cannot be used ({reason}); computing without it")


def _seal(payload: bytes) -> bytes:
    return MAGIC + hashlib.sha256(payload).digest() + payload


def _unseal(data: bytes):
    """``(payload, None)`` for an intact sealed entry, else ``(None, what is wrong)``."""
    head = len(MAGIC) + 32
    if len(data) < head or not data.startswith(MAGIC):
        return None, "too short" if len(data) < head else "no header"
    payload = data[head:]
    if hashlib.sha256(payload).digest() != data[len(MAGIC): head]:
        return None, "checksum mismatch"
    return payload, None


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def write_entry(path: Path, value) -> None:
    """Store ``value`` sealed at ``path``: a temporary file in the same folder, renamed into place.

    On any failure the temporary file is removed and the ``OSError`` raised.
    """
    data = _seal(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_bytes(path, data)  # a temporary file of this writer's own, fsync, os.replace


def read_entry(path: Path):
    """``(True, value)`` for an intact entry at ``path``, ``(False, None)`` if there is none.

    A damaged entry (checksum mismatch, short, or not unpicklable) is removed
    with one :class:`CacheWarning` and reported as absent. ``OSError`` other
    than a missing file propagates.
    """
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return False, None
    payload, problem = _unseal(data)
    value = None
    if payload is not None:
        try:
            value = pickle.loads(payload)
        except Exception:  # intact bytes that no longer unpickle (e.g. a class was renamed)
            payload, problem = None, "does not unpickle"
    if payload is None:
        _warn(f"cache entry {str(path)!r} was damaged ({len(data)} bytes, {problem}); discarded and recomputed")
        _remove(path)
        return False, None
    return True, value


class CachedFunction:
    """``func`` with its results kept in the cache (the location is looked up at each call).

    Calls with the same arguments (except those named in ``ignore``) return
    the stored result. Picklable, so it can run in worker processes.
    :meth:`lookup` and :meth:`store` let a dispatcher read entries in one
    process and store results computed elsewhere.
    """

    def __init__(self, func, ignore=()):
        self.func = func
        self.ignore = tuple(ignore)
        self.__wrapped__ = func
        self.__name__ = getattr(func, "__name__", "cached")
        self.__doc__ = getattr(func, "__doc__", None)

    def __repr__(self):
        return f"CachedFunction({self.func!r}, ignore={self.ignore!r})"

    @property
    def name(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"

    def _source_hash(self) -> str:
        try:
            source = inspect.getsource(self.func)
        except (OSError, TypeError):
            source = repr(getattr(self.func, "__code__", self.func))
        return hashlib.sha256(source.encode()).hexdigest()[:16]

    def key(self, *args, **kwargs) -> str:
        """Hash of the function, its source and the arguments that are not ignored."""
        from joblib import hash as joblib_hash

        bound = inspect.signature(self.func).bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = {k: v for k, v in bound.arguments.items() if k not in self.ignore}
        return joblib_hash((self.name, self._source_hash(), ENGINE_VERSION, arguments))

    def path(self, *args, **kwargs) -> Path | None:
        """Where the entry of this call lives, or ``None`` when caching is off or unusable."""
        location = cache_dir()
        if location is None or str(location) in _unusable:
            return None
        return location / STORE / self.name / self.key(*args, **kwargs) / "output.pkl"

    def lookup(self, *args, **kwargs):
        """``(True, result)`` if the call's result is cached and intact, else ``(False, None)``."""
        return self.read(self.path(*args, **kwargs))

    @staticmethod
    def read(path):
        """:meth:`lookup` at a known :meth:`path` (computing the key once for a lookup and a store)."""
        if path is None:
            return False, None
        try:
            return read_entry(path)
        except OSError as exc:
            _unusable_location(cache_dir(), exc)
            return False, None

    def check_call_in_cache(self, *args, **kwargs) -> bool:
        """Whether an intact result of this call is cached (a damaged one is discarded)."""
        return self.lookup(*args, **kwargs)[0]

    def store(self, output, *args, **kwargs) -> None:
        """Store ``output`` as the result of ``func(*args, **kwargs)``; a cache that fails is skipped with a warning."""
        self.write(self.path(*args, **kwargs), output)

    @staticmethod
    def write(path, output) -> None:
        """:meth:`store` at a known :meth:`path`."""
        if path is None:
            return
        location = cache_dir()
        try:
            if location.exists() and not location.is_dir():
                raise NotADirectoryError(20, "not a folder", str(location))
            write_entry(path, output)
        except OSError as exc:
            _unusable_location(location, exc)
            for folder in (path.parent, path.parent.parent):  # what this write created, if empty
                try:
                    folder.rmdir()
                except OSError:
                    break

    def __call__(self, *args, **kwargs):
        path = self.path(*args, **kwargs)
        found, value = self.read(path)
        if found:
            return value
        value = self.func(*args, **kwargs)
        self.write(path, value)
        return value


def cached(func, ignore=()) -> CachedFunction:
    """``func`` wrapped by the cache (the location is looked up at call time)."""
    return CachedFunction(func, ignore)


def clear():
    """Delete every cached result at the current location (also entries of the older joblib layout)."""
    location = cache_dir()
    if location is None:
        return
    for name in (STORE, "joblib"):
        shutil.rmtree(location / name, ignore_errors=True)
