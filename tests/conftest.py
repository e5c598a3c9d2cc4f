"""Test configuration.

Library tests run with a private, empty result cache, serially and without
progress bars. The book is built once per session (``built_book``), with the
environment the tests were started in, so it shares the user's result cache.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
_OUTER_ENV = dict(os.environ)  # before the overrides below


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    old = {k: os.environ.get(k) for k in ("ACTIVATION_CACHE", "ACTIVATION_JOBS", "ACTIVATION_PROGRESS")}
    os.environ["ACTIVATION_CACHE"] = str(tmp_path_factory.mktemp("activation-cache"))
    os.environ["ACTIVATION_JOBS"] = "1"
    os.environ["ACTIVATION_PROGRESS"] = "0"
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def book_environment(built_book, monkeypatch):
    """Run the rest of the test in the environment the book was built in.

    For tests that execute chapters: they then reuse the results the book
    build computed (the cache is keyed by the engine's source and checked on
    every read, so a reused result is the one a fresh run would give) instead
    of recomputing every figure in the private cache.
    """
    for key in ("ACTIVATION_CACHE", "ACTIVATION_JOBS", "ACTIVATION_PROGRESS"):
        if key in _OUTER_ENV:
            monkeypatch.setenv(key, _OUTER_ENV[key])
        else:
            monkeypatch.delenv(key, raising=False)
    return built_book


@pytest.fixture(scope="session")
def built_book():
    """Build the book with warnings as errors and return ``_build/html``.

    Set ``BOOK_HTML`` to test an already built book instead.
    """
    given = os.environ.get("BOOK_HTML")
    if given:
        return Path(given)
    exe = Path(sys.executable).with_name("jupyter-book")
    exe = str(exe) if exe.exists() else shutil.which("jupyter-book")
    if exe is None:
        pytest.fail("jupyter-book is not installed (pip install -r requirements.txt)")
    if not (ROOT / "book" / "_assets" / ".installed").exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "fetch_js.sh")], check=True)
    proc = subprocess.run([exe, "build", str(ROOT), "-W", "-n", "--keep-going"], cwd=ROOT, env=_OUTER_ENV,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail("jupyter-book build failed:\n" + proc.stdout[-6000:] + proc.stderr[-3000:])
    return ROOT / "_build" / "html"
