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
def binder_environment(tmp_path_factory, built_book):
    """The repository installed as Binder installs it, shared by the Binder and JupyterLab tests.

    The repository's files (tracked and new, as a commit would hold them)
    are copied to a new folder; a fresh virtual environment gets
    ``binder/requirements.txt`` and the JupyterLab and Notebook of
    requirements-dev.txt (repo2docker's image provides its own); then
    ``binder/postBuild`` runs in the copy's root, with the result cache the
    book build filled (so postBuild's run of every chapter finds the
    results there, as it would find its own on Binder). Returns ``{"repo",
    "venv", "env", "times", "postBuild"}``; ``env`` runs commands in it.
    """
    import time

    tmp = tmp_path_factory.mktemp("binder")
    repo, venv = tmp / "repo", tmp / "venv"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    env = {k: v for k, v in _OUTER_ENV.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "NUMBA_CACHE_DIR", "PYTHONHOME")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", ACTIVATION_JOBS="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1", JUPYTER_DATA_DIR=str(tmp / "jupyter"),
               JUPYTER_CONFIG_DIR=str(tmp / "jupyter-config"), JUPYTER_RUNTIME_DIR=str(tmp / "jupyter-runtime"),
               IPYTHONDIR=str(tmp / "ipython"), MPLCONFIGDIR=str(tmp / "matplotlib"))
    front_ends = [line.split("#")[0].strip() for line in (ROOT / "requirements-dev.txt").read_text().splitlines()
                  if line.startswith(("jupyterlab", "notebook"))]
    times, out = {}, {}
    for name, args in [("venv", [sys.executable, "-m", "venv", str(venv)]),
                       ("pip install -r binder/requirements.txt",
                        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-compile", "-r",
                         "binder/requirements.txt", *front_ends]),
                       ("postBuild", ["bash", "binder/postBuild"])]:
        t0 = time.perf_counter()
        proc = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True)
        times[name] = time.perf_counter() - t0
        if proc.returncode != 0:
            pytest.fail(f"{name} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
        out[name] = proc.stdout
    return {"repo": repo, "venv": venv, "env": env, "times": times, "postBuild": out["postBuild"]}


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
