"""The cache never lies and never stops the work.

Every entry carries a SHA-256 of its payload; a damaged entry (a flipped bit,
garbled bytes, a truncated or empty file) is discarded with one warning and
recomputed. A cache that cannot be written (read-only or immutable folder, a
path under /proc, a file where the folder should be, an unreachable parent,
a full disk) is skipped with one warning. In every case the result equals
the uncached one, and no temporary file is left behind.
"""
import errno
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import lib
from lib import cache
from lib.model import Model

ARGS = ("deflected", Model(s=2.0), [2.0, 5.0])
KW = dict(trials=600, seed=3, n_jobs=1)


@pytest.fixture(autouse=True)
def _fresh_warnings():
    cache._unusable.clear()
    yield
    cache._unusable.clear()


@pytest.fixture(scope="module")
def reference():
    return lib.transmission_probability(*ARGS, use_cache=False, **KW)


def same(a, b):
    return (np.array_equal(a.transmitted, b.transmitted) and np.array_equal(a.undecided, b.undecided)
            and np.array_equal(a.energy_sums, b.energy_sums) and a.evaluations == b.evaluations)


def compute():
    """The result and the cache warnings it raised."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        r = lib.transmission_probability(*ARGS, **KW)
    return r, [w for w in seen if issubclass(w.category, cache.CacheWarning)]


def entries(root):
    return sorted(Path(root).rglob("output.pkl"))


def leftovers(root):
    return [p for p in Path(root).rglob("*") if p.is_file() and p.name != "output.pkl"]


def flip_bit(data, where):
    data = bytearray(data)
    data[where] ^= 0x10
    return bytes(data)


def garble(data, where):
    data = bytearray(data)
    data[where: where + 16] = bytes((b + 1 + i) % 256 for i, b in enumerate(data[where: where + 16]))
    return bytes(data)


DAMAGE = {
    "bit in the magic line": lambda d: flip_bit(d, 3),
    "bit in the checksum": lambda d: flip_bit(d, len(cache.MAGIC) + 5),
    "bit early in the payload": lambda d: flip_bit(d, len(cache.MAGIC) + 40),
    "bit in the middle": lambda d: flip_bit(d, len(d) // 2),
    "bit in the counts near the end": lambda d: flip_bit(d, len(d) - 40),
    "last bit": lambda d: flip_bit(d, len(d) - 1),
    "16 garbled bytes": lambda d: garble(d, len(d) // 2),
    "16 garbled bytes at the end": lambda d: garble(d, len(d) - 16),
    "truncated to half": lambda d: d[: len(d) // 2],
    "truncated by one byte": lambda d: d[:-1],
    "one byte appended": lambda d: d + b"\0",
    "empty file": lambda d: b"",
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_entry_is_discarded_with_one_warning_and_recomputed(damage, reference, monkeypatch, tmp_path):
    monkeypatch.setenv("ACTIVATION_CACHE", str(tmp_path))
    first, seen = compute()
    assert same(first, reference) and not seen
    (entry,) = entries(tmp_path)
    entry.write_bytes(DAMAGE[damage](entry.read_bytes()))
    again, seen = compute()
    assert same(again, reference)
    assert len(seen) == 1 and "damaged" in str(seen[0].message) and "\n" not in str(seen[0].message)
    # the entry was rewritten intact: served without a warning and without computing
    monkeypatch.setattr(lib.ensemble, "run_chunks", lambda *a, **k: pytest.fail("recomputed an intact entry"))
    third, seen = compute()
    assert same(third, reference) and not seen
    assert not leftovers(tmp_path)


def test_intact_entry_is_served_and_checksummed(monkeypatch, tmp_path, reference):
    monkeypatch.setenv("ACTIVATION_CACHE", str(tmp_path))
    compute()
    (entry,) = entries(tmp_path)
    data = entry.read_bytes()
    assert data.startswith(cache.MAGIC)
    import hashlib

    head = len(cache.MAGIC) + 32
    assert hashlib.sha256(data[head:]).digest() == data[len(cache.MAGIC): head]


def _immutable(folder: Path):
    """Make ``folder`` unwritable even for root (chattr +i), or by permissions; None if neither works."""
    folder.mkdir()
    if os.geteuid() == 0:
        if shutil.which("chattr") and subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0:
            return lambda: subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
        return None
    folder.chmod(0o555)
    return lambda: folder.chmod(0o755)


def test_read_only_folder_is_skipped_with_one_warning(monkeypatch, tmp_path, reference):
    folder = tmp_path / "ro"
    undo = _immutable(folder)
    if undo is None:
        pytest.skip("cannot make a folder read-only for root here (no chattr)")
    try:
        monkeypatch.setenv("ACTIVATION_CACHE", str(folder))
        r, seen = compute()
        r2, seen2 = compute()  # the same location again: no second warning
    finally:
        undo()
    assert same(r, reference) and same(r2, reference)
    assert len(seen) == 1 and "cannot be used" in str(seen[0].message) and not seen2
    assert not list(folder.iterdir())


@pytest.mark.parametrize("where", ["/proc/activation-cache", "/proc/nowhere/activation-cache", "a file"])
def test_unusable_location_is_skipped_with_one_warning(where, monkeypatch, tmp_path, reference):
    if where == "a file":
        where = tmp_path / "file"
        where.write_text("not a folder")
    monkeypatch.setenv("ACTIVATION_CACHE", str(where))
    r, seen = compute()
    assert same(r, reference)
    assert len(seen) == 1 and "cannot be used" in str(seen[0].message)
    if isinstance(where, Path):
        assert where.read_text() == "not a folder"


def test_full_disk_leaves_no_temporary_file(monkeypatch, tmp_path, reference):
    monkeypatch.setenv("ACTIVATION_CACHE", str(tmp_path))

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(cache.os, "fsync", full)
    r, seen = compute()
    assert same(r, reference)
    assert len(seen) == 1 and "No space left on device" in str(seen[0].message)
    assert not entries(tmp_path) and not leftovers(tmp_path)


def test_interrupted_write_leaves_no_temporary_file(monkeypatch, tmp_path):
    monkeypatch.setenv("ACTIVATION_CACHE", str(tmp_path))

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(cache.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        compute()
    assert not entries(tmp_path) and not leftovers(tmp_path)


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A real full disk: a 64 KiB tmpfs filled up (needs root and mount)."""
    mnt = tmp_path / "full"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        with open(mnt / "filler", "wb") as f:
            try:
                f.write(b"\0" * 2**20)
            except OSError:
                pass
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


@pytest.mark.slow
def test_real_full_disk_on_the_command_line(tiny_tmpfs, tmp_path):
    args = [sys.executable, "-m", "lib", "probability", "-e", "deflected", "-s", "2", "-T", "2", "5", "-n", "600",
            "--seed", "3", "-j", "1", "--json", "-q"]
    ref = subprocess.run(args, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, ACTIVATION_CACHE="off"))
    r = subprocess.run(args, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, ACTIVATION_CACHE=str(tiny_tmpfs / "cache")))
    assert r.returncode == 0 and r.stdout == ref.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "warning: cache" in lines[0] and "No space left on device" in lines[0], r.stderr
    assert [p.name for p in tiny_tmpfs.rglob("*") if p.is_file()] == ["filler"]


@pytest.mark.parametrize("quiet", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_damaged_entry_on_the_command_line_is_one_line(quiet, tmp_path):
    args = [sys.executable, "-m", "lib", "probability", "-e", "deflected", "-s", "2", "-T", "2", "5", "-n", "600",
            "--seed", "3", "-j", "1"] + (["-q"] if quiet else [])
    env = dict(os.environ, ACTIVATION_CACHE=str(tmp_path))
    ref = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    assert ref.returncode == 0 and ref.stderr == ""
    (entry,) = entries(tmp_path)
    entry.write_bytes(entry.read_bytes()[:100])
    r = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0 and r.stdout == ref.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m lib probability: warning: cache entry"), r.stderr


def test_unwritable_location_on_the_command_line_is_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "lib", "probability", "-e", "thermal", "-T", "2", "-n", "300",
                        "-j", "1"], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, ACTIVATION_CACHE="/proc/activation-cache"))
    assert r.returncode == 0 and "omega_T" in r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "warning: cache '/proc/activation-cache' cannot be used" in lines[0], r.stderr


def test_clear_removes_every_entry(monkeypatch, tmp_path):
    monkeypatch.setenv("ACTIVATION_CACHE", str(tmp_path))
    compute()
    assert entries(tmp_path)
    cache.clear()
    assert not entries(tmp_path)
