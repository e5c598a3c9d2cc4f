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

Addresses are ``tcp://HOST:PORT`` (or ``HOST:PORT``), or ``tls://HOST:PORT``
when Dask's configuration holds TLS settings (:func:`check_scheduler`);
other schemes (``ws``, ``wss``, ``ucx``, ``inproc``) are refused in one
line, as are timeouts outside their ranges.

Every wait is bounded, and each fault is one :class:`SchedulerUnreachable`
(an :class:`OSError`; the command line prints it in one line and exits with
status 1):

* a scheduler that does not answer within :data:`CONNECT_TIMEOUT` seconds
  (``ACTIVATION_SCHEDULER_TIMEOUT``, 0.1 to 3600) on connecting;
* a scheduler without workers: the client waits :data:`WORKER_TIMEOUT`
  seconds (``ACTIVATION_WORKER_TIMEOUT``, 0 to a week) for one, on
  connecting and whenever all workers are gone during a run (on a batch
  cluster whose workers wait in a queue, raise it);
* during a run, a scheduler that went away (killed, its machine lost) or
  stopped answering (frozen, overloaded): when no result has come for
  :data:`HEARTBEAT` seconds, the client asks the scheduler who it is, with
  the same timeout, and gives up if it does not answer (:class:`ClusterFault`,
  whose message says what happened; results that came back before, such as
  a sweep's finished points, are already in the cache).

Workers' engine version (:data:`lib.cache.ENGINE_VERSION`) is compared with
the client's on connecting, and every batch checks it again on its worker
(workers that join later): workers running other sources would give other
numbers, so they are refused with the same error.
"""
from __future__ import annotations

import atexit
import contextlib
import math
import os
import sys

from . import cache

ENV_VAR = "ACTIVATION_SCHEDULER"
TIMEOUT_ENV_VAR = "ACTIVATION_SCHEDULER_TIMEOUT"

CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a scheduler to answer before giving up (``ACTIVATION_SCHEDULER_TIMEOUT``)."""

TIMEOUT_RANGE = (0.1, 3600.0)
"""Allowed values of ``ACTIVATION_SCHEDULER_TIMEOUT``, in seconds."""

WORKER_TIMEOUT_ENV_VAR = "ACTIVATION_WORKER_TIMEOUT"

WORKER_TIMEOUT = 60.0
"""Seconds to wait while the scheduler has no worker before giving up (``ACTIVATION_WORKER_TIMEOUT``)."""

WORKER_TIMEOUT_RANGE = (0.0, 7 * 86400.0)
"""Allowed values of ``ACTIVATION_WORKER_TIMEOUT``, in seconds (up to a week, for batch queues)."""

HEARTBEAT = 2.0
"""Seconds without a result after which a run checks that the scheduler still answers and has workers."""

SCHEMES = ("tcp", "tls")
"""Address schemes lib connects with (``tls`` needs Dask's TLS settings)."""

PROGRESS_ENV_VAR = "ACTIVATION_PROGRESS"

PROGRESS_MIN_TRIALS = 200_000
"""Runs with at least this many trajectories show a progress bar when
``progress`` is left to ``None`` and standard error is a terminal."""

_NO_SCHEDULER = ("", "local", "none", "off", "0")
_override: list = []  # stack of addresses set by use_scheduler / set_scheduler
_clients: dict = {}


class SchedulerUnreachable(OSError):
    """The scheduler did not answer, has no workers, or its workers run a different engine."""


class ClusterFault(SchedulerUnreachable):
    """The cluster failed during a run (the scheduler went away or stopped answering, or lost its workers)."""


class EngineMismatch(RuntimeError):
    """Raised on a worker whose engine version differs from the client's."""


def show_progress(progress, total: int) -> bool:
    """Resolve the ``progress`` option: ``None`` means ``$ACTIVATION_PROGRESS`` if set, else runs of at least
    :data:`PROGRESS_MIN_TRIALS` trajectories (``total``) on a terminal."""
    if progress is None:
        env = os.environ.get(PROGRESS_ENV_VAR)
        if env is not None:
            return env.strip().lower() not in ("0", "off", "false", "no", "")
        return total >= PROGRESS_MIN_TRIALS and sys.stderr.isatty()
    return bool(progress)


def progress_bar(progress, total: int, *, unit: str, desc: str | None = None, work: int | None = None, **options):
    """The tqdm progress bar of a run of ``total`` ``unit``s, shown as :func:`show_progress` decides for ``work``
    trajectories (default ``total``); ``options`` go to tqdm. Use it as a context manager and ``update`` it."""
    from tqdm.auto import tqdm  # on first use: tqdm.auto looks for a notebook front end

    show = show_progress(progress, total if work is None else work)
    return tqdm(total=total, unit=unit, desc=desc, disable=not show, **options)


def check_scheduler(address):
    """A scheduler address (``tcp://host:port``, ``host:port``, or ``tls://host:port`` with Dask's TLS
    settings), or ``None`` for local work; ``ValueError`` (one line) for anything else."""
    if address is None:
        return None
    example = "an address such as tcp://host:8786"
    if not isinstance(address, str):
        raise ValueError(f"scheduler must be {example}, got {address!r}")
    address = address.strip()
    if address.lower() in _NO_SCHEDULER:
        return None
    if any(c.isspace() for c in address):
        raise ValueError(f"scheduler must be {example}, got {address!r}")
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme.lower() not in SCHEMES:
        raise ValueError(f"scheduler {address!r}: lib connects with tcp:// (or tls:// with Dask's TLS settings), "
                         f"not {scheme}://")
    host, colon, port = rest.rpartition(":")
    if not colon or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"scheduler {address!r} must be {scheme.lower()}://HOST:PORT with a port from 1 to 65535")
    if scheme.lower() == "tls" and not _connection_args(address):
        raise ValueError(f"scheduler {address!r}: tls:// needs Dask's TLS settings (distributed.comm.tls.ca-file, "
                         ".client.cert and .client.key in the Dask configuration), and none are set")
    return address


def _connection_args(address) -> dict:
    """Keyword arguments of :func:`distributed.comm.connect` for ``address`` (an SSL context for tls://)."""
    if not address.lower().startswith("tls://"):
        return {}
    from distributed.security import Security

    args = Security().get_connection_args("client")
    return args if args.get("ssl_context") is not None else {}


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
        _close(client)


def _seconds(var: str, default: float, bounds) -> float:
    value = os.environ.get(var)
    if value is None or not value.strip():
        return default
    low, high = bounds
    try:
        t = float(value)
    except ValueError:
        t = math.nan
    if not low <= t <= high:  # also NaN and infinities
        raise ValueError(f"{var} must be a number of seconds from {low:g} to {high:g}, got {value!r}")
    return t


def connect_timeout() -> float:
    """Seconds a scheduler may take to answer: ``$ACTIVATION_SCHEDULER_TIMEOUT`` or :data:`CONNECT_TIMEOUT`."""
    return _seconds(TIMEOUT_ENV_VAR, CONNECT_TIMEOUT, TIMEOUT_RANGE)


def worker_timeout() -> float:
    """Seconds to wait while the scheduler has no worker: ``$ACTIVATION_WORKER_TIMEOUT`` or :data:`WORKER_TIMEOUT`."""
    return _seconds(WORKER_TIMEOUT_ENV_VAR, WORKER_TIMEOUT, WORKER_TIMEOUT_RANGE)


def _worker_engine():
    return cache.ENGINE_VERSION


def _identity(address, timeout: float) -> dict:
    """The scheduler's identity (with ``n_workers``); ``TimeoutError`` or ``OSError`` if it does not answer in time.

    :class:`distributed.Client` waits for ever on a socket that accepts
    connections but never speaks, or on a scheduler stopped with SIGSTOP;
    this bounds the whole exchange. It runs in a daemon thread of its own,
    so it also works under a running event loop (Jupyter), and neither
    Ctrl-C nor the end of the process waits for it.
    """
    import asyncio
    import threading

    # is anything listening? distributed's connect retries a refused connection until its timeout, so a
    # scheduler that is gone would look like one that does not answer
    _connectable(address, timeout)
    box = {}

    async def ask():
        from distributed.comm import connect

        comm = await connect(address, timeout=timeout, **_connection_args(address))
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    def target():
        try:
            box["reply"] = asyncio.run(asyncio.wait_for(ask(), timeout))
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=target, name="lib-scheduler-probe", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    if thread.is_alive():
        raise TimeoutError(f"no reply within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    reply = box["reply"]
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        raise OSError(f"{address} is not a Dask scheduler")
    reply.setdefault("n_workers", len(reply.get("workers", {})))
    return reply


def _connectable(address, timeout: float) -> None:
    """A plain TCP connection to ``address``: ``ConnectionRefusedError`` if nothing listens there (gone),
    ``TimeoutError`` if nothing answers in time."""
    import socket

    host, _, port = address.split("://", 1)[-1].rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except socket.timeout:
        raise TimeoutError(f"no connection within {timeout:g} s") from None


def _probe(address, timeout: float) -> None:
    """:func:`_identity`, for its answer alone."""
    _identity(address, timeout)


def _quiet_distributed() -> None:
    """distributed logs every failed attempt and reconnection; the one-line errors here say it all."""
    import logging

    for name in list(logging.root.manager.loggerDict):
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def _wait_for_workers(address, timeout: float, patience: float, *, during_run: bool = False) -> dict:
    """Poll the scheduler until it has a worker, for at most ``patience`` seconds; its identity then."""
    import time

    deadline = time.monotonic() + patience
    while True:
        try:
            reply = _identity(address, timeout)
        except (OSError, TimeoutError) as exc:
            if during_run and isinstance(exc, TimeoutError):
                try:  # a scheduler killed a moment ago may still have accepted the connection
                    _connectable(address, timeout)
                except (OSError, TimeoutError) as again:
                    exc = again if not isinstance(again, TimeoutError) else exc
            raise _unanswered(address, timeout, exc, during_run) from None
        if reply["n_workers"] > 0:
            return reply
        if time.monotonic() >= deadline:
            advice = (f"start workers, or on a batch cluster whose workers wait in a queue raise "
                      f"{WORKER_TIMEOUT_ENV_VAR}")
            if during_run:
                raise ClusterFault(f"scheduler {address} lost its workers during the run (no workers for "
                                   f"{patience:g} s, {WORKER_TIMEOUT_ENV_VAR}); {advice}")
            raise SchedulerUnreachable(f"scheduler {address} has no workers (waited {patience:g} s, "
                                       f"{WORKER_TIMEOUT_ENV_VAR}); {advice}")
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))


def _unanswered(address, timeout, exc, during_run):
    """The error for a scheduler that did not answer ``exc`` (refused: gone; timed out: not answering)."""
    if not during_run:
        return SchedulerUnreachable(f"scheduler {address} did not answer within {timeout:g} s ({type(exc).__name__})")
    if isinstance(exc, TimeoutError):
        return ClusterFault(f"scheduler {address} stopped answering during the run (no reply within {timeout:g} s, "
                            f"{TIMEOUT_ENV_VAR})")
    return ClusterFault(f"scheduler {address} went away during the run ({type(exc).__name__})")


def get_client(address):
    """A connected :class:`distributed.Client` for ``address`` (one per address, reused), with at least one worker."""
    client = _clients.get(address)
    if client is not None and client.status == "running":
        return client
    address = check_scheduler(address)
    timeout, patience = connect_timeout(), worker_timeout()
    from distributed import Client

    _quiet_distributed()
    try:
        _probe(address, timeout)
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise SchedulerUnreachable(f"scheduler {address} did not answer within {timeout:g} s "
                                   f"({type(exc).__name__})") from None
    except Exception as exc:  # noqa: BLE001 - e.g. a protocol without its package: one line, not a traceback
        raise SchedulerUnreachable(f"scheduler {address}: cannot connect ({type(exc).__name__}: "
                                   f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    _quiet_distributed()  # loggers distributed created while connecting
    try:
        _wait_for_workers(address, timeout, patience)
        versions = client.run(_worker_engine)
    except SchedulerUnreachable:
        _close(client)
        raise
    except Exception as exc:  # noqa: BLE001 - any failure here means the workers are unusable
        _close(client)
        raise SchedulerUnreachable(f"scheduler {address}: workers did not answer ({exc})") from None
    other = {v for v in versions.values() if v != cache.ENGINE_VERSION}
    if other:
        _close(client)
        raise SchedulerUnreachable(f"scheduler {address}: workers run engine {', '.join(sorted(other))}, "
                                   f"this process {cache.ENGINE_VERSION}; install the same sources there")
    _clients[address] = client
    return client


def _close(client) -> None:
    """Close a client without waiting long for a scheduler that may be gone or frozen."""
    with contextlib.suppress(Exception):
        client.close(timeout=2)


@atexit.register
def close_clients() -> None:
    """Close every client opened by :func:`get_client`."""
    while _clients:
        _, client = _clients.popitem()
        _close(client)


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
    resolved by :func:`lib.inputs.check_jobs`) applies to local workers.
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
    address = scheduler_address()
    return _dask_run(get_client(address), func, tasks, ordered, address)


BATCHES_PER_THREAD = 24
"""Batches per worker thread a Dask run aims at: enough to balance the load, few enough
that the per-task cost of the scheduler stays small against the work."""

WINDOW_PER_THREAD = 4
"""Batches per worker thread in flight at once: every worker always has the next one at
hand, and the scheduler never holds more than a few per thread."""


def _run_batch(func, first, batch, engine=None):
    if engine is not None:
        if cache.ENGINE_VERSION != engine:
            raise EngineMismatch(f"a worker runs engine {cache.ENGINE_VERSION}, the client {engine}; install the "
                                 "same sources there")
    return [(first + j, func(*args)) for j, args in enumerate(batch)]


_INFRASTRUCTURE = ("CancelledError", "FutureCancelledError", "FuturesCancelledError", "CommClosedError",
                   "StreamClosedError", "KilledWorker", "TimeoutError")
"""Exceptions that come from the cluster rather than from a task (by name: they move between modules)."""


def _is_infrastructure(exc) -> bool:
    import concurrent.futures

    return (isinstance(exc, (concurrent.futures.CancelledError, OSError, TimeoutError))
            or any(type(exc).__name__ == n for n in _INFRASTRUCTURE))


class _Watch:
    """The health checks of one Dask run: scheduler answering, workers present (see the module docstring)."""

    def __init__(self, address):
        self.address = address
        self.timeout = connect_timeout()
        self.patience = worker_timeout()

    def check(self, cause=None):
        """Raise :class:`ClusterFault` if the scheduler is gone, frozen or without workers for too long;
        if it is well and a ``cause`` (an exception from the cluster) is given, a fault naming it."""
        reply = _wait_for_workers(self.address, self.timeout, self.patience, during_run=True)
        if cause is not None:
            raise ClusterFault(f"lost the connection to scheduler {self.address} during the run "
                               f"({type(cause).__name__}; the scheduler answers, with {reply['n_workers']} workers)")


def _dask_run(client, func, tasks, ordered, address=None):
    """:func:`run` on a Dask cluster, with the distributed futures API directly.

    Consecutive tasks go out in batches (about :data:`BATCHES_PER_THREAD` per
    worker thread, so a 50 ms task does not pay the scheduler's per-task cost
    alone), at most :data:`WINDOW_PER_THREAD` batches per thread in flight.
    A batch lost with its worker is run again by the scheduler, with the same
    seeds. Results are yielded as batches finish, or in task order. Every
    wait is bounded: after :data:`HEARTBEAT` seconds without a result the
    scheduler is asked whether it still answers and has workers
    (:class:`_Watch`), and a fault of the cluster is one :class:`ClusterFault`.
    """
    import time

    from distributed import as_completed

    watch = _Watch(address or client.scheduler.address)
    threads = max(1, sum(client.nthreads().values()))
    size = max(1, math.ceil(len(tasks) / (threads * BATCHES_PER_THREAD)))
    batches = [(first, tasks[first: first + size]) for first in range(0, len(tasks), size)]
    if not batches:
        return
    window = threads * WINDOW_PER_THREAD
    pending = iter(batches)
    futures = set()
    faulted = False

    def submit(batch):
        future = client.submit(_run_batch, func, *batch, cache.ENGINE_VERSION, pure=False)
        futures.add(future)
        return future

    done, next_k = {}, 0
    try:
        running = as_completed([submit(b) for _, b in zip(range(window), pending)], loop=client.loop)
        heard = time.monotonic()
        while not running.is_empty():
            if not running.has_ready():  # a bounded wait: poll, and check on the cluster now and then
                if time.monotonic() - heard >= HEARTBEAT:
                    watch.check()
                    heard = time.monotonic()
                time.sleep(POLL)
                continue
            future = next(running)
            heard = time.monotonic()
            futures.discard(future)
            try:
                out = future.result()
            except EngineMismatch as exc:
                raise SchedulerUnreachable(f"scheduler {watch.address}: {exc}") from None
            except Exception as exc:  # noqa: BLE001
                if _is_infrastructure(exc):
                    watch.check(exc)  # raises a ClusterFault saying what happened
                raise  # the task's own error
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
    except ClusterFault:  # the scheduler is gone, frozen or without workers: nothing to cancel there
        faulted = True
        close_client(watch.address)
        raise
    finally:
        if futures and not faulted:  # the caller stopped early, or a task failed: nothing keeps running for nobody
            with contextlib.suppress(Exception):
                client.cancel(list(futures))


POLL = 0.01
"""Seconds between looks at a Dask run's finished batches while none is ready."""


def cached_run(func, tasks, *, n_jobs: int = 1, use_cache: bool = True, ordered: bool = True,
               on_result=None):
    """Results of ``func(*args)`` for each ``args`` in ``tasks``, as a list in task order.

    Each task is one cache entry: found ones are read on the client, missing
    ones run through :func:`run` without the cache, and each result is
    stored by the client as soon as it arrives, so an interrupted call keeps
    what finished. ``on_result(k, result)`` is called for every task, found
    or computed (for progress bars).
    """
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
           "get_client", "SchedulerUnreachable", "ClusterFault", "CONNECT_TIMEOUT", "WORKER_TIMEOUT"]
