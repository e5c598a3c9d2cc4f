"""Where work runs: this process, local worker processes, or a Dask cluster.

Every parallel loop of :mod:`lib` (ensemble chunks, phase-map row blocks,
transmitting-set blocks, sweep points) goes through :func:`run`, which picks
one of three ways:

``dask``
    Dask's futures (:func:`_dask_run`: batches of tasks, a bounded number in
    flight) on a :class:`distributed.Client` connected to a scheduler, whenever one is
    set: by :func:`use_scheduler` / :func:`set_scheduler`, the command
    line's ``--scheduler ADDRESS``, or the environment variable
    ``ACTIVATION_SCHEDULER`` (empty or ``local``: no cluster). Every core of
    the cluster is used; ``n_jobs`` does not apply (with a scheduler set,
    even the explorers' live updates go to the cluster).
``serial``
    Without a scheduler, in the calling process for one worker
    (``n_jobs == 1``) or a single task; and always inside a Dask worker
    (work sent to a cluster never fans out again).
``loky``
    Without a scheduler, joblib's default backend: ``n_jobs`` local worker
    processes.

Results do not depend on the way: tasks carry their own seeds (see
:mod:`lib.ensemble`) and results are combined on the client in a fixed
order, so they are bitwise the same on one process, on local workers and on
a cluster. A worker that dies is replaced by the scheduler and its tasks are
run again, with the same seeds, so the result is still the same.

The cache is written only by the client (the calling process):
:func:`cached_run` looks every task up in the cache, sends only the missing
ones out, uncached, and stores each result as it comes back
(:func:`store`); workers on other machines never need the cache folder.

A scheduler that does not answer within :data:`CONNECT_TIMEOUT` seconds
(``ACTIVATION_SCHEDULER_TIMEOUT`` overrides it) raises
:class:`SchedulerUnreachable`, an :class:`OSError`; the command line prints
it in one line and exits with status 1. On connecting, the workers' engine
version (:data:`lib.cache.ENGINE_VERSION`) is compared with the client's:
workers running other sources would give other numbers, so they are refused
with the same error.
"""
from __future__ import annotations

import atexit
import contextlib
import math
import os
import sys

ENV_VAR = "ACTIVATION_SCHEDULER"
TIMEOUT_ENV_VAR = "ACTIVATION_SCHEDULER_TIMEOUT"

CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a scheduler to answer before giving up."""

_NO_SCHEDULER = ("", "local", "none", "off", "0")
_override: list = []  # stack of addresses set by use_scheduler / set_scheduler
_clients: dict = {}


class SchedulerUnreachable(OSError):
    """The scheduler did not answer, or its workers run a different engine."""


def check_scheduler(address):
    """A scheduler address (``tcp://host:port``, ``host:port`` ...), or ``None`` for local work."""
    if address is None:
        return None
    if not isinstance(address, str):
        raise ValueError(f"scheduler must be an address such as tcp://host:8786, got {address!r}")
    address = address.strip()
    if address.lower() in _NO_SCHEDULER:
        return None
    if any(c.isspace() for c in address):
        raise ValueError(f"scheduler must be an address such as tcp://host:8786, got {address!r}")
    return address


def scheduler_address():
    """The scheduler in force: the innermost :func:`use_scheduler`, else ``$ACTIVATION_SCHEDULER``, else ``None``."""
    if _override:
        return _override[-1]
    return check_scheduler(os.environ.get(ENV_VAR))


def set_scheduler(address) -> None:
    """Send all further work to the scheduler at ``address`` (``None``: work locally)."""
    address = check_scheduler(address)
    for old in _override:
        if old != address:
            close_client(old)
    _override.clear()
    _override.append(address)


@contextlib.contextmanager
def use_scheduler(address):
    """Within the block, send work to the scheduler at ``address`` (``None``: locally)."""
    address = check_scheduler(address)
    _override.append(address)
    try:
        yield
    finally:
        _override.pop()
        if address not in _override:
            close_client(address)


def close_client(address) -> None:
    """Close the client opened for ``address``, if any (clusters often end with the block that used them)."""
    client = _clients.pop(address, None)
    if client is not None:
        with contextlib.suppress(Exception):
            client.close()


def connect_timeout() -> float:
    value = os.environ.get(TIMEOUT_ENV_VAR)
    if value is None:
        return CONNECT_TIMEOUT
    try:
        t = float(value)
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV_VAR} must be a number of seconds, got {value!r}") from None
    if not t > 0:
        raise ValueError(f"{TIMEOUT_ENV_VAR} must be positive, got {value!r}")
    return t


def _worker_engine():
    from lib import cache

    return cache.ENGINE_VERSION


def _probe(address, timeout: float) -> None:
    """Ask the scheduler for its identity; raise ``TimeoutError`` or ``OSError`` if it does not answer in time.

    :class:`distributed.Client` waits for ever on a socket that accepts
    connections but never speaks; this bounds the whole exchange. It runs in
    a thread of its own, so it also works under a running event loop
    (Jupyter).
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    async def identity():
        from distributed.comm import connect

        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def bounded():
        return await asyncio.wait_for(identity(), timeout)

    with ThreadPoolExecutor(1) as pool:
        reply = pool.submit(asyncio.run, bounded()).result()
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        raise OSError(f"{address} is not a Dask scheduler")


def get_client(address):
    """A connected :class:`distributed.Client` for ``address`` (one per address, reused)."""
    client = _clients.get(address)
    if client is not None and client.status == "running":
        return client
    import logging

    from distributed import Client

    from . import cache

    timeout = connect_timeout()
    # distributed logs every failed attempt; the one-line error below says it all
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    try:
        _probe(address, timeout)
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise SchedulerUnreachable(f"scheduler {address} did not answer within {timeout:g} s "
                                   f"({type(exc).__name__})") from None
    except ValueError as exc:  # e.g. an unknown protocol
        raise ValueError(f"scheduler {address!r}: {exc}") from None
    try:
        versions = client.run(_worker_engine)
    except Exception as exc:  # noqa: BLE001 - any failure here means the workers are unusable
        client.close()
        raise SchedulerUnreachable(f"scheduler {address}: workers did not answer ({exc})") from None
    other = {v for v in versions.values() if v != cache.ENGINE_VERSION}
    if other:
        client.close()
        raise SchedulerUnreachable(f"scheduler {address}: workers run engine {', '.join(sorted(other))}, "
                                   f"this process {cache.ENGINE_VERSION}; install the same sources there")
    _clients[address] = client
    return client


@atexit.register
def close_clients() -> None:
    """Close every client opened by :func:`get_client`."""
    while _clients:
        _, client = _clients.popitem()
        with contextlib.suppress(Exception):
            client.close()


def in_worker() -> bool:
    """True when running inside a Dask worker."""
    if "distributed" not in sys.modules:
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def backend(n_jobs: int, n_tasks: int) -> str:
    """``'serial'``, ``'loky'`` or ``'dask'``, as described in the module docstring."""
    if in_worker():
        return "serial"
    if scheduler_address() is not None:
        return "dask"
    if n_jobs == 1 or n_tasks <= 1:
        return "serial"
    return "loky"


def _indexed(k, func, args):
    return k, func(*args)


def run(func, tasks, *, n_jobs: int = 1, ordered: bool = True):
    """``func(*args)`` for each ``args`` in ``tasks``; yields ``(k, result)`` for task ``k``.

    With ``ordered=False`` results come as they finish (for progress bars);
    callers that combine them do so in task order. ``n_jobs`` (already
    resolved by :func:`lib.ensemble.check_jobs`) applies to local workers.
    """
    tasks = list(tasks)
    how = backend(n_jobs, len(tasks))
    if how == "serial":
        return ((k, func(*args)) for k, args in enumerate(tasks))
    if how == "loky":
        from joblib import Parallel, delayed

        calls = (delayed(_indexed)(k, func, args) for k, args in enumerate(tasks))
        return_as = "generator" if ordered else "generator_unordered"
        return Parallel(n_jobs=min(n_jobs, len(tasks)), return_as=return_as)(calls)
    return _dask_run(get_client(scheduler_address()), func, tasks, ordered)


BATCHES_PER_THREAD = 24
"""Batches per worker thread a Dask run aims at: enough to balance the load, few enough
that the per-task cost of the scheduler stays small against the work."""

WINDOW_PER_THREAD = 4
"""Batches per worker thread in flight at once: every worker always has the next one at
hand, and the scheduler never holds more than a few per thread."""


def _run_batch(func, first, batch):
    return [(first + j, func(*args)) for j, args in enumerate(batch)]


def _dask_run(client, func, tasks, ordered):
    """:func:`run` on a Dask cluster, with the distributed futures API directly.

    Consecutive tasks go out in batches (about :data:`BATCHES_PER_THREAD` per
    worker thread, so a 50 ms task does not pay the scheduler's per-task cost
    alone), at most :data:`WINDOW_PER_THREAD` batches per thread in flight.
    A batch lost with its worker is run again by the scheduler, with the same
    seeds. Results are yielded as batches finish, or in task order.
    """
    from distributed import as_completed

    threads = max(1, sum(client.nthreads().values()))
    size = max(1, math.ceil(len(tasks) / (threads * BATCHES_PER_THREAD)))
    batches = [(first, tasks[first: first + size]) for first in range(0, len(tasks), size)]
    if not batches:
        return
    window = threads * WINDOW_PER_THREAD
    pending = iter(batches)
    futures = set()

    def submit(batch):
        future = client.submit(_run_batch, func, *batch, pure=False)
        futures.add(future)
        return future

    done, next_k = {}, 0
    try:
        running = as_completed([submit(b) for _, b in zip(range(window), pending)], loop=client.loop)
        for future in running:
            futures.discard(future)
            out = future.result()
            nxt = next(pending, None)
            if nxt is not None:
                running.add(submit(nxt))
            if not ordered:
                yield from out
                continue
            done.update(out)
            while next_k in done:
                yield next_k, done.pop(next_k)
                next_k += 1
    finally:
        if futures:  # the caller stopped early, or a task failed: nothing keeps running for nobody
            client.cancel(list(futures))


def cached_run(func, tasks, *, n_jobs: int = 1, use_cache: bool = True, ordered: bool = True,
               on_result=None):
    """Results of ``func(*args)`` for each ``args`` in ``tasks``, as a list in task order.

    Each task is one cache entry: found ones are read on the client, missing
    ones run through :func:`run` without the cache, and each result is
    stored by the client as soon as it arrives, so an interrupted call keeps
    what finished. ``on_result(k, result)`` is called for every task, found
    or computed (for progress bars).
    """
    from . import cache

    tasks = list(tasks)
    results = [None] * len(tasks)
    memorized = cache.cached(func) if use_cache and cache.cache_dir() is not None else None
    paths = [memorized.path(*args) if memorized is not None else None for args in tasks]  # each key hashed once
    missing = []
    for k in range(len(tasks)):
        found, value = memorized.read(paths[k]) if memorized is not None else (False, None)
        if found:
            results[k] = value
            if on_result is not None:
                on_result(k, value)
        else:
            missing.append(k)
    for j, out in run(func, [tasks[k] for k in missing], n_jobs=n_jobs, ordered=ordered):
        k = missing[j]
        results[k] = out
        if memorized is not None:  # a sealed entry, through a temporary file renamed into place
            memorized.write(paths[k], out)
        if on_result is not None:
            on_result(k, out)
    return results


__all__ = ["run", "cached_run", "backend", "use_scheduler", "set_scheduler", "scheduler_address",
           "get_client", "SchedulerUnreachable", "CONNECT_TIMEOUT"]
