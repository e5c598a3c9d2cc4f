"""SIGINT and SIGTERM to ``python -m lib reproduce``: stop cleanly, resume exactly.

After the signal: one line on stderr, exit status 128 + the signal, only
complete cache entries, no worker process or resource tracker left, nothing
of this run left in /dev/shm. The rerun resumes from the cache and writes
output files bitwise identical to an uninterrupted run.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from lib import cache

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TRIALS = 1000  # 12 blocks of 250 temperatures: long enough to interrupt mid-run, short enough to test
ARGS = ["reproduce", "--figure", "4", "--trials", str(TRIALS), "-j", "2", "-q"]


def reproduce(out, cache_dir, **kw):
    env = dict(os.environ, ACTIVATION_CACHE=str(cache_dir), ACTIVATION_PROGRESS="0")
    env.pop("ACTIVATION_JOBS", None)
    return subprocess.Popen([sys.executable, "-m", "lib", *ARGS, "--out", str(out)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_signals, **kw)


def _default_signals():
    # a test run in the background inherits an ignored SIGINT; the command under test should not
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    root = tmp_path_factory.mktemp("uninterrupted")
    proc = reproduce(root / "out", root / "cache")
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err
    return {p.name: p.read_bytes() for p in (root / "out").iterdir()}


def entries(cache_dir):
    return sorted(Path(cache_dir).rglob("output.pkl"))


def _ours(name, pids):
    return any(f"_{pid}_" in name or f"-{pid}-" in name for pid in pids)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_cleanly_and_the_rerun_resumes_bitwise(signum, uninterrupted, tmp_path):
    cache_dir = tmp_path / "cache"
    proc = reproduce(tmp_path / "out", cache_dir)
    parent = psutil.Process(proc.pid)
    pids = {proc.pid}
    deadline = time.monotonic() + 600
    # wait until a block is finished and workers are busy with the next
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            pids |= {c.pid for c in parent.children(recursive=True)}
        except psutil.Error:
            pass
        if entries(cache_dir) and len(pids) > 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    finished_before = len(entries(cache_dir))
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)  # also: no orphan holds our pipes open

    assert proc.returncode == 128 + signum
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0] and signal.Signals(signum).name in lines[0], err
    # no worker process or resource tracker survives
    time.sleep(1.0)
    alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert not alive, [psutil.Process(p).cmdline() for p in alive]
    # nothing of this run in /dev/shm (memmap folders and semaphores carry the creating pid)
    if Path("/dev/shm").is_dir():
        assert not [n for n in os.listdir("/dev/shm") if _ours(n, pids)]
    # only complete entries: each verifies, and no temporary file is left
    kept = entries(cache_dir)
    assert len(kept) >= finished_before >= 1
    for entry in kept:
        assert cache.read_entry(entry)[0]
    assert not [p for p in cache_dir.rglob("*") if p.is_file() and p.name != "output.pkl"]
    assert not (tmp_path / "out" / "figure4.json").exists()
    stamps = {e: e.stat().st_mtime_ns for e in kept}

    # the rerun resumes from the kept blocks and writes bitwise the same files
    rerun = reproduce(tmp_path / "out", cache_dir)
    out, err = rerun.communicate(timeout=900)
    assert rerun.returncode == 0, err
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == uninterrupted
    assert all(e.stat().st_mtime_ns == t for e, t in stamps.items()), "kept blocks were recomputed"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("delay", [1.5, 6.0])
def test_early_signal_is_one_line(signum, delay):
    """While `python -m lib` imports (about the first 2 s) or early in the work: one line, 128 + signal.

    (Only the interpreter's own start-up, before any of lib runs, about 0.2 s, keeps Python's default.)
    """
    env = dict(os.environ, ACTIVATION_CACHE="off", ACTIVATION_PROGRESS="0")
    proc = subprocess.Popen([sys.executable, "-m", "lib", "probability", "-e", "thermal", "-T", "2", "-n", "4000000",
                             "-j", "2"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_signals)
    time.sleep(delay)
    assert proc.poll() is None
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"interrupted ({signal.Signals(signum).name})" in lines[0], err
