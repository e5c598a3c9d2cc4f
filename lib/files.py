"""The library's files: written whole or not at all, safe with concurrent writers, read back with checks.

Writing
    Every file :mod:`lib` writes (NetCDF and Zarr datasets, a figure's JSON,
    NPZ and NetCDF files, images and data from the command line, cache
    entries) goes through :func:`replacing`: the writer fills a temporary
    file (or folder, for Zarr) with a name of its own,
    ``.<name>.<pid>-<random>.tmp`` in the target's folder; it is flushed to
    disk (``fsync``) and renamed over the target (``os.replace``; a folder
    is exchanged atomically where Linux offers it). A reader sees the old
    file or the new one, never a part of either; two writers of one path
    never share a temporary file, and the last rename wins. A failure
    (a full disk, an exception, Ctrl-C) removes the temporary file and
    leaves the target as it was.

Sets
    :func:`replace_set` writes several files of one folder that belong
    together (a figure's ``.npz``, ``.nc`` and ``.json``) to temporary
    files first, and only when all are complete renames them into place,
    one after the other, holding an exclusive lock on the folder
    (``flock``) and with SIGINT and SIGTERM held back until the last
    rename: a failure while writing replaces none of them, two writers
    never interleave their renames, and an interruption does not cut a set
    in half. The last file is a manifest that records the SHA-256 of the
    others, so a reader can tell a mixed set (:func:`read_set` reads under
    a shared lock and checks it).

A writer that lost a race
    :func:`snapshot` takes the identity of a target before a long
    computation; given it as ``since``, the writer checks just before its
    rename whether another process wrote the target meanwhile, and if that
    file differs from its own it says so (one :class:`OutputWarning`)
    before replacing it. Identical files replace each other silently.

Reading
    :func:`open_dataset` opens a dataset from a path (NetCDF, or Zarr by its
    suffix) or passes an :class:`xarray.Dataset` through, and
    :func:`attribute`, :func:`variable` and :func:`counts` check what it
    holds as strictly as the library checks what it computes: a missing,
    edited or damaged value is a one-line ``ValueError`` naming the
    variable and the file.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import shutil
import signal
import threading
import uuid
import warnings
from pathlib import Path

MISSING = object()


class OutputWarning(UserWarning):
    """Another process wrote an output while this one was computing it, with other content."""


def temporary_path(path) -> Path:
    """A name of this writer's own beside ``path``: ``.<name>.<pid>-<random>.tmp`` (hidden, same folder)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp")


def snapshot(path):
    """The identity of ``path`` (device, inode, size, modification time), or ``None`` if it does not exist."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()
    except OSError:
        pass


def _fsync(path: Path) -> None:
    """Flush a file, or every file and folder of a tree, to disk."""
    if path.is_dir():
        for root, _, names in os.walk(path):
            for name in names:
                _fsync(Path(root) / name)
            _fsync_folder(Path(root))
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make renames in ``folder`` durable (best effort: some file systems cannot sync a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _same_content(a: Path, b: Path) -> bool:
    """Whether two files, or two folder trees, hold the same bytes."""
    try:
        if a.is_dir() != b.is_dir():
            return False
        if not a.is_dir():
            return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
        names_a = sorted(p.relative_to(a) for p in a.rglob("*"))
        names_b = sorted(p.relative_to(b) for p in b.rglob("*"))
        return names_a == names_b and all(_same_content(a / n, b / n) for n in names_a if not (a / n).is_dir())
    except OSError:
        return False


def _check_since(target: Path, since, tmp: Path) -> None:
    if since is MISSING:
        return
    now = snapshot(target)
    if now is not None and now != since and not _same_content(target, tmp):
        warnings.warn_explicit(f"{str(target)!r} was written by another process while this one was computing; "
                               "replaced it with this run's result", OutputWarning, "lib.files", 0,
                               module="lib.files")


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); ``False`` where it is not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _replace_folder(tmp: Path, target: Path) -> None:
    """Put the folder ``tmp`` in place of ``target`` (absent, or a folder) without a moment of a mixed tree."""
    try:
        os.rename(tmp, target)  # target absent (or an empty folder): atomic
        return
    except OSError as exc:
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not target.is_dir():
            raise
    if _exchange(tmp, target):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old tree
        return
    aside = temporary_path(target)  # no exchange: the old tree moves aside, the new one in (never mixed)
    os.rename(target, aside)
    os.rename(tmp, target)
    shutil.rmtree(aside, ignore_errors=True)


def _install(tmp: Path, target: Path) -> None:
    if tmp.is_dir():
        _replace_folder(tmp, target)
    else:
        os.replace(tmp, target)


@contextlib.contextmanager
def replacing(path, *, since=MISSING):
    """Write ``path`` whole or not at all: yields a temporary path to fill (a file, or a folder the
    writer creates); on success it is flushed to disk and renamed over ``path``.

    ``since`` (from :func:`snapshot`): warn if another process wrote ``path``
    after that snapshot with other content. On any failure the temporary
    file is removed, ``path`` is left as it was, and the exception propagates.
    """
    target = Path(path)
    tmp = temporary_path(target)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(errno.ENOENT, "the writer wrote nothing", str(target))
        _fsync(tmp)
        _check_since(target, since, tmp)
        _install(tmp, target)
        _fsync_folder(target.parent if str(target.parent) else Path("."))
    except BaseException:
        _remove(tmp)
        raise


def write_bytes(path, data: bytes, *, since=MISSING) -> Path:
    """Write ``data`` to ``path`` through :func:`replacing`; returns the path."""
    with replacing(path, since=since) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return Path(path)


def write_text(path, text: str, *, since=MISSING) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through :func:`replacing`; returns the path."""
    return write_bytes(path, text.encode(), since=since)


@contextlib.contextmanager
def _signals_held():
    """SIGINT and SIGTERM wait until the block has ended (in the main thread, where Python handles them)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        if handler is not signal.SIG_IGN and handler is not None:
            previous[signum] = signal.signal(signum, lambda s, f: caught.append(s))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:  # now deliver it, as it would have been
            handler = previous[caught[0]]
            if callable(handler):
                handler(caught[0], None)
            else:
                os.kill(os.getpid(), caught[0])


@contextlib.contextmanager
def _locked(folder: Path, shared: bool = False):
    """An advisory ``flock`` on ``folder`` itself (no lock file is left); where locks are not
    available, nothing (each rename is still atomic)."""
    try:
        import fcntl

        fd = os.open(folder, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        except OSError:
            pass
        yield
    finally:
        os.close(fd)  # releases the lock


def sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def replace_set(folder, members: dict, manifest: tuple, *, since: dict | None = None) -> list[Path]:
    """Write the files of one set in ``folder`` whole, all or none (see the module docstring).

    ``members`` maps file names to their content: bytes, or a function
    that writes the file at the path it is given. ``manifest = (name,
    make)``: ``make(hashes)`` returns the bytes of the last file, given the
    SHA-256 of every member (``{name: hex digest}``). ``since`` maps file
    names to :func:`snapshot` identities (see :func:`replacing`). Returns
    the paths, members first, the manifest last.
    """
    folder = Path(folder)
    since = since or {}
    temps: dict[str, Path] = {}
    try:
        for name, content in members.items():
            tmp = temps[name] = temporary_path(folder / name)
            if isinstance(content, (bytes, bytearray)):
                tmp.write_bytes(content)
            else:
                content(tmp)
            _fsync(tmp)
        name, make = manifest
        tmp = temps[name] = temporary_path(folder / name)
        tmp.write_bytes(make({n: sha256(temps[n]) for n in members}))
        _fsync(tmp)
        with _locked(folder), _signals_held():
            for n, tmp in temps.items():
                _check_since(folder / n, since.get(n, MISSING), tmp)
            for n, tmp in temps.items():
                _install(tmp, folder / n)
        _fsync_folder(folder)
    except BaseException:
        for tmp in temps.values():
            _remove(tmp)
        raise
    return [folder / n for n in temps]


def read_set(folder, manifest: str, hashes) -> dict[str, bytes]:
    """The bytes of a set written by :func:`replace_set`, read under a shared lock and checked.

    ``hashes(manifest bytes)`` returns the ``{name: SHA-256}`` the manifest
    records. Returns ``{name: bytes}`` with the manifest included; a member
    that is missing or does not match is a ``ValueError``.
    """
    folder = Path(folder)
    with _locked(folder, shared=True):
        data = {manifest: (folder / manifest).read_bytes()}
        recorded = hashes(data[manifest])
        for name in recorded:
            data[name] = (folder / name).read_bytes()
    for name, digest in recorded.items():
        if hashlib.sha256(data[name]).hexdigest() != digest:
            raise ValueError(f"{name} does not belong to {manifest} in {str(folder)!r} (written by another run, "
                             "or damaged): write the set again")
    return data


# -- reading datasets back ---------------------------------------------------------------------------

def open_dataset(source):
    """``(dataset, label)``: ``source`` itself if it is an :class:`xarray.Dataset` (label ``'dataset'``),
    else the file at that path, loaded into memory and closed (label: the file's name).

    NetCDF is opened with h5netcdf, a ``.zarr`` folder with zarr. A path
    that does not exist is an ``OSError``; a file that is not a dataset a
    ``ValueError``.
    """
    import xarray as xr

    if isinstance(source, xr.Dataset):
        return source, "dataset"
    if not isinstance(source, (str, os.PathLike)):
        raise ValueError(f"expected an xarray.Dataset or the path of one, got {type(source).__name__}")
    path = Path(source)
    label = path.name or str(path)
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "no such file", str(path))
    engine = "zarr" if path.suffix.lower() == ".zarr" else "h5netcdf"
    try:
        with xr.open_dataset(path, engine=engine) as ds:
            return ds.load(), label
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, PermissionError):
            raise
        raise ValueError(f"{label}: not a dataset lib can read ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else 'unreadable'})") from None


def attribute(ds, name: str, check, label: str):
    """Attribute ``name`` of ``ds`` through ``check(name, value)`` (a check of :mod:`lib.inputs`);
    a missing or refused value is a ``ValueError`` naming the attribute and ``label``."""
    if name not in ds.attrs:
        raise ValueError(f"{label}: attribute {name!r} is missing")
    try:
        return check(name, ds.attrs[name])
    except ValueError as exc:
        raise ValueError(f"{label}: attribute {name!r}: {exc}") from None


def variable(ds, name: str, label: str):
    """The values of variable or coordinate ``name`` of ``ds``; missing, a ``ValueError`` naming it."""
    if name not in ds.variables:
        raise ValueError(f"{label}: variable {name!r} is missing")
    return ds[name].values


def counts(values, name: str, label: str, *, minimum: int = 0):
    """``values`` as int64 if every one is a whole number of at least ``minimum``; else a ``ValueError``."""
    import numpy as np

    values = np.asarray(values)
    if values.dtype.kind in "iub":
        ints = values.astype(np.int64)
    elif values.dtype.kind == "f":
        finite = np.isfinite(values)
        if not finite.all():
            raise ValueError(f"{label}: variable {name!r} must hold whole numbers, got {values[~finite][0]!r}")
        ints = values.astype(np.int64)
        fractional = ints != values
        if fractional.any():
            raise ValueError(f"{label}: variable {name!r} must hold whole numbers, got {values[fractional][0]!r}")
    else:
        raise ValueError(f"{label}: variable {name!r} must hold whole numbers, got values of type {values.dtype}")
    if ints.size and ints.min() < minimum:
        raise ValueError(f"{label}: variable {name!r} must be at least {minimum}, got {int(ints.min())}")
    return ints


__all__ = ["replacing", "write_bytes", "write_text", "replace_set", "read_set", "snapshot", "OutputWarning",
           "open_dataset", "attribute", "variable", "counts"]
