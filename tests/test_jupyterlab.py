"""The chapters as a Binder reader runs them: JupyterLab (and Notebook 7) driven in Chromium.

The repository is installed as Binder installs it (``binder_environment``,
tests/conftest.py: a fresh virtual environment with ``binder/requirements.txt``,
the JupyterLab and Notebook of requirements-dev.txt, and ``binder/postBuild``,
which compiles the kernels and runs every chapter into the result cache).
JupyterLab is started from that environment on 127.0.0.1 (a free port) and
each chapter of ``_toc.yml`` is opened and run with Run > Run All Cells, in
Chromium at 1280 px. Then, in each chapter:

- every figure the book numbers (each ``{glue:figure}``) appears as an image
  under the cell that glues it;
- every explorer the chapter creates renders and draws;
- ArrowRight on each of its sliders moves it by 1% of its range (JupyterLab's
  own shortcuts must not take the key) and changes the figure;
- Python sees the moves (``explorer.params``), and setting ``params`` from a
  new cell moves the explorer and redraws it, and ``result`` then describes
  the figure drawn for them;
- the transmission explorer's "Monte Carlo in the kernel" draws its points;
- no console error comes from the project's code (the explorers run from
  ``blob:`` URLs; anywidget reports a module that fails).

Run All's time per chapter is printed (the README's table; not asserted).
In Notebook 7 one chapter is run and the arrow keys checked the same way.
Slow (a Binder-like environment and every chapter): marked ``slow`` and
``browser``; ``make test`` runs it.
"""
from __future__ import annotations

import glob
import json
import re
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scripts.browser import launch, require

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT_MS = 1_800_000  # a bound on waiting for Run All, not a speed target
DRAW_TIMEOUT_MS = 120_000

EXPLORER_CALL = re.compile(r"\b(landscape|trajectory|phase_space|transmission)_explorer\(")

PARAMS_FROM_PYTHON = {"landscape": {"s": 1.234}, "trajectory": {"E_particle": 5.5},
                      "phase_space": {"phase": 0.7}, "transmission": {"M": 2.5}}
"""What a cell sets on each kind of explorer (a value no slider move above produces)."""


def chapters() -> list[str]:
    from binder.run_chapters import chapters as toc

    return [str(p.relative_to(ROOT)) for p in toc(ROOT)]


def figure_cells(nb: dict) -> dict[str, int | None]:
    """Each ``{glue:figure}`` name of a notebook and the index (among code cells) of the cell gluing it."""
    names = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            names += re.findall(r"\{glue:figure\}`?\s+([\w-]+)", "".join(cell["source"]))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    patterns = []  # (code cell index, regex of the names its glue(...) or Glue.figure(...) calls produce)
    for k, cell in enumerate(code):
        for f, _, name in re.findall(r"(?:\bglue|\.figure)\(\s*(f?)([\"'])(.+?)\2", "".join(cell["source"])):
            regex = re.sub(r"\\\{[^}]*\\\}", ".+?", re.escape(name)) if f else re.escape(name)
            patterns.append((k, re.compile(rf"^{regex}$")))
    return {n: next((k for k, rx in patterns if rx.match(n)), None) for n in names}


@dataclass
class Chapter:
    """What happened to one chapter in JupyterLab."""

    path: str
    seconds: float = 0.0
    problem: str | None = None
    figures: dict = field(default_factory=dict)  # name -> images under the cell that glues it (None: no such cell)
    explorers_expected: int = 0
    explorers: list = field(default_factory=list)  # per explorer: {kind, drawn, arrows: [...], params, result, ...}
    monte_carlo: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)
    screenshot: str = ""


# -- JupyterLab ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lab(binder_environment, tmp_path_factory):
    """JupyterLab from the Binder environment on 127.0.0.1, a free port: ``(base URL, token, tmp)``."""
    require("chromium", "playwright")
    tmp = tmp_path_factory.mktemp("jupyterlab")
    settings = tmp / "settings"
    for plugin, values in {"@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},  # every cell in the DOM
                           "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"}}.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env, repo, venv = binder_environment["env"], binder_environment["repo"], binder_environment["venv"]
    token = "t" + str(time.time_ns())
    runtime = Path(env["JUPYTER_RUNTIME_DIR"])
    log = open(tmp / "jupyterlab.log", "w")
    proc = subprocess.Popen([str(venv / "bin" / "jupyter"), "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
                             "--port=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={repo}",
                             f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={tmp / 'workspaces'}"],
                            cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(600):
            found = glob.glob(str(runtime / f"jpserver-{proc.pid}.json"))
            if found or proc.poll() is not None:
                break
            time.sleep(0.1)
        if not found:
            pytest.fail(f"JupyterLab did not start: {(tmp / 'jupyterlab.log').read_text()[-3000:]}")
        info = json.loads(Path(found[0]).read_text())
        assert info["hostname"] == "127.0.0.1" and info["root_dir"] == str(repo)
        yield info["url"], token, tmp
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


def shut_down_kernels(base, token):
    req = urllib.request.Request(f"{base}api/kernels?token={token}")
    for kernel in json.loads(urllib.request.urlopen(req).read()):
        urllib.request.urlopen(urllib.request.Request(f"{base}api/kernels/{kernel['id']}?token={token}",
                                                      method="DELETE"))


PROMPTS_JS = "() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map((e) => e.textContent.trim())"

CANVAS_DIGEST_JS = """(root) => {
    const url = root.querySelector('canvas.lib-explorer-figure').toDataURL('image/png');
    let h = 2166136261;
    for (let i = 0; i < url.length; i++) { h = Math.imul(h ^ url.charCodeAt(i), 16777619) >>> 0; }
    return url.length + ':' + h;
}"""


DONE_JS = f"""() => {{
    const prompts = ({PROMPTS_JS})();
    const status = document.querySelector('.jp-Notebook-ExecutionIndicator');
    return prompts.every((p) => /^\\[\\d+\\]:$/.test(p))
      || (!prompts.includes('[*]:') && status && status.dataset.status === 'idle');
}}"""
"""Every code cell has run, or nothing is running or scheduled any more (a cell failed)."""


def open_notebook(page, url):
    """Open a notebook and wait until its kernel is connected and idle (before, cells are still being set up)."""
    page.goto(url)
    page.wait_for_function("""() => {
        const name = document.querySelector('.jp-KernelName');
        const status = document.querySelector('.jp-Notebook-ExecutionIndicator');
        return name && !/No Kernel/.test(name.textContent) && status && status.dataset.status === 'idle'
          && document.querySelectorAll('.jp-Notebook .jp-Cell').length > 0;
    }""", timeout=DRAW_TIMEOUT_MS, polling=100)


def run_all(page, menu_item="runmenu:run-all") -> float:
    """Run > Run All Cells; returns the seconds until every code cell has run (or one failed)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.wait_for_function("() => document.querySelectorAll('.jp-Notebook .jp-Cell').length > 0",
                           timeout=DRAW_TIMEOUT_MS)
    for attempt in range(3):  # the notebook must be the current widget when the command runs
        page.keyboard.press("Escape")  # a notification or menu left open
        page.locator(".jp-Notebook .jp-Cell").first.click(position={"x": 3, "y": 3}, timeout=DRAW_TIMEOUT_MS,
                                                          force=attempt > 0)
        page.click('.lm-MenuBar-itemLabel:text-is("Run")')
        t0 = time.perf_counter()
        page.click(f'.lm-Menu-item[data-command="{menu_item}"]')
        try:
            page.wait_for_function(f"() => ({PROMPTS_JS})().some((p) => p !== '[ ]:')", timeout=15_000, polling=100)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    while True:  # done twice, a second apart: between two cells JupyterLab may show none running
        page.wait_for_function(DONE_JS, timeout=RUN_TIMEOUT_MS, polling=100)
        seconds = time.perf_counter() - t0
        page.wait_for_timeout(1000)
        if page.evaluate(DONE_JS):
            return seconds


def run_cell(page, code: str) -> str:
    """Add a cell at the end, run ``code`` (one line) in it and return its text output."""
    cells = page.locator(".jp-Notebook .jp-Cell")
    n = cells.count()
    cells.nth(n - 1).locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.type(code)
    page.keyboard.press("Shift+Enter")
    cell = page.locator(".jp-Notebook .jp-Cell").nth(n)
    page.wait_for_function("(el) => /^\\[\\d+\\]:$/.test(el.querySelector('.jp-InputPrompt').textContent.trim())",
                           arg=cell.element_handle(), timeout=DRAW_TIMEOUT_MS, polling=100)
    return cell.locator(".jp-OutputArea").inner_text()


def wait_drawn(root, count=0):
    root.page.wait_for_function("([el, n]) => +el.dataset.updates > n && !el.dataset.busy",
                                arg=[root.element_handle(), count], timeout=DRAW_TIMEOUT_MS, polling=100)


def project_errors(messages) -> list[str]:
    """Console errors from the project's code: the explorers (blob: modules) or anywidget loading them."""
    return [text for kind, text, url in messages
            if kind in ("error", "pageerror") and (url.startswith("blob:") or "blob:" in text
                                                 or re.search(r"anywidget|lib-explorer|explorers?\.js|engine", text))]


def drive_explorers(page, chapter: Chapter):
    """ArrowRight on every slider, params both ways, and the kernel's Monte Carlo, for each explorer."""
    if chapter.explorers_expected:
        page.wait_for_function("(n) => document.querySelectorAll('.lib-explorer').length >= n",
                               arg=chapter.explorers_expected, timeout=DRAW_TIMEOUT_MS, polling=100)
    roots = page.locator(".lib-explorer")
    kinds = []
    for k in range(roots.count()):
        root = roots.nth(k)
        kind = re.search(r"lib-explorer-(\w+)", root.get_attribute("class")).group(1)
        kinds.append(kind)
        info = {"kind": kind, "drawn": False, "arrows": []}
        chapter.explorers.append(info)
        wait_drawn(root)
        info["drawn"] = True
        sliders = root.locator("input[type=range]")
        for i in range(sliders.count()):
            s = sliders.nth(i)
            lo, hi, before = float(s.get_attribute("min")), float(s.get_attribute("max")), float(s.input_value())
            key = "ArrowRight" if before < hi - 0.01 * (hi - lo) else "ArrowLeft"
            digest, count = root.evaluate(CANVAS_DIGEST_JS), int(root.get_attribute("data-updates"))
            s.focus()
            page.keyboard.press(key)
            after = float(s.input_value())
            moved = abs(abs(after - before) - 0.01 * (hi - lo)) <= 1e-9 * (hi - lo)
            if moved:
                wait_drawn(root, count)
            info["arrows"].append({"slider": s.get_attribute("data-key"), "key": key, "moved": moved,
                                   "redrawn": moved and root.evaluate(CANVAS_DIGEST_JS) != digest,
                                   "value": after})
    if not kinds:
        return
    # Python sees the page's moves, then moves the explorers itself
    pick = "import gc, json, lib.widgets as W; ex = [o for o in gc.get_objects() if isinstance(o, W.Explorer)]; "
    seen = json.loads(run_cell(page, pick + "print(json.dumps({e.kind: e.params for e in ex}))").strip())
    for info in chapter.explorers:
        info["python_sees_moves"] = all(seen.get(info["kind"], {}).get(a["slider"]) == pytest.approx(a["value"])
                                        for a in info["arrows"])
    counts = [int(roots.nth(k).get_attribute("data-updates")) for k in range(roots.count())]
    digests = [roots.nth(k).evaluate(CANVAS_DIGEST_JS) for k in range(roots.count())]
    change = {kind: PARAMS_FROM_PYTHON[kind] for kind in kinds}
    run_cell(page, pick + f"changes = {json.dumps(change)}; [setattr(e, 'params', changes[e.kind]) for e in ex]")
    for k, info in enumerate(chapter.explorers):
        root = roots.nth(k)
        wait_drawn(root, counts[k])
        shown = {key: root.locator(f"[data-key={key}]").input_value() for key in change[info["kind"]]}
        info["from_python"] = {"redrawn": root.evaluate(CANVAS_DIGEST_JS) != digests[k],
                               "controls": {key: float(v) for key, v in shown.items()}}
    results = json.loads(run_cell(page, pick + "print(json.dumps({e.kind: e.result for e in ex}))").strip())
    for info in chapter.explorers:
        info["result"] = results.get(info["kind"], {})
    for k, info in enumerate(chapter.explorers):
        if info["kind"] != "transmission":
            continue
        root = roots.nth(k)
        box = root.locator(".lib-explorer-kernel")
        page.wait_for_function("(el) => el.dataset.kernel === 'connected'", arg=box.element_handle(),
                               timeout=DRAW_TIMEOUT_MS)
        digest = root.evaluate(CANVAS_DIGEST_JS)
        box.locator("input[type=number]").fill("100")
        t0 = time.perf_counter()
        box.locator("button").click()
        page.wait_for_function("(el) => el.dataset.points === '30'", arg=box.element_handle(), timeout=600_000)
        chapter.monte_carlo = {"seconds": time.perf_counter() - t0, "visible": box.is_visible(),
                               "redrawn": root.evaluate(CANVAS_DIGEST_JS) != digest}


@pytest.fixture(scope="module")
def lab_chapters(lab, pytestconfig):
    """Every chapter opened, run and driven once in JupyterLab: ``{path: Chapter}``."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    base, token, tmp = lab
    done = {}
    with sync_playwright() as pw:
        browser = launch(pw)
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        try:
            for path in chapters():
                chapter = done[path] = Chapter(path)
                nb = json.loads((ROOT / path).read_text(encoding="utf-8"))
                chapter.explorers_expected = sum(len(EXPLORER_CALL.findall("".join(c["source"])))
                                                 for c in nb["cells"] if c["cell_type"] == "code")
                messages = []
                page = context.new_page()
                page.on("console", lambda m, out=messages: out.append((m.type, m.text, m.location.get("url", ""))))
                page.on("pageerror", lambda e, out=messages: out.append(("pageerror", f"{e}\n{e.stack}", "")))
                try:
                    open_notebook(page, f"{base}lab/tree/{path}?reset&token={token}")
                    chapter.seconds = run_all(page)
                    prompts = page.evaluate(PROMPTS_JS)
                    unrun = [k for k, p in enumerate(prompts) if not re.fullmatch(r"\[\d+\]:", p)]
                    if unrun:
                        chapter.problem = f"code cells {unrun} did not run (a cell before them failed?)"
                    images = page.evaluate("""() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]
                        .map((c) => c.querySelectorAll('.jp-OutputArea-output img').length)""")
                    chapter.figures = {name: None if k is None else images[k]
                                       for name, k in figure_cells(nb).items()}
                    drive_explorers(page, chapter)
                    page.screenshot(path=str(tmp / (Path(path).stem + ".png")), full_page=False)
                    chapter.screenshot = str(tmp / (Path(path).stem + ".png"))
                except PlaywrightError as err:
                    chapter.problem = f"{path}: {str(err).splitlines()[0]}"
                    page.screenshot(path=str(tmp / f"failed-{Path(path).stem}.png"))
                    chapter.problem += f" (screenshot {tmp / f'failed-{Path(path).stem}.png'})"
                finally:
                    chapter.errors = project_errors(messages)
                    page.close()
                    shut_down_kernels(base, token)
        finally:
            context.close()
            browser.close()
    (tmp / "run_all.json").write_text(json.dumps({p: c.seconds for p, c in done.items()}, indent=1))
    with pytestconfig.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print(f"\nRun All in JupyterLab (Binder environment, results from the image's cache; {tmp}):")
        for path, c in done.items():
            mc = f", Monte Carlo 30 x 100 trials {c.monte_carlo['seconds']:.1f} s" if c.monte_carlo else ""
            print(f"  {path}: {c.seconds:.1f} s{mc}" + (f" ({c.problem})" if c.problem else ""))
    return done


CHAPTERS = chapters()


@pytest.mark.parametrize("path", CHAPTERS)
def test_chapter_runs_all_cells(lab_chapters, path):
    c = lab_chapters[path]
    assert c.problem is None, c.problem
    assert c.seconds > 0


@pytest.mark.parametrize("path", CHAPTERS)
def test_every_figure_appears_as_an_image(lab_chapters, path):
    c = lab_chapters[path]
    assert c.problem is None, c.problem
    missing = {name: n for name, n in c.figures.items() if not n}
    assert not missing, f"{path}: figures with no image under the cell that glues them: {missing}"


@pytest.mark.parametrize("path", CHAPTERS)
def test_every_explorer_renders_and_follows_the_keyboard(lab_chapters, path):
    c = lab_chapters[path]
    assert c.problem is None, c.problem
    assert len(c.explorers) == c.explorers_expected, (c.explorers, c.screenshot)
    for info in c.explorers:
        assert info["drawn"], info
        assert len(info["arrows"]) >= 2, info
        for arrow in info["arrows"]:
            assert arrow["moved"] and arrow["redrawn"], (info["kind"], arrow, c.screenshot)


@pytest.mark.parametrize("path", CHAPTERS)
def test_params_link_python_and_the_page_both_ways(lab_chapters, path):
    import lib

    c = lab_chapters[path]
    assert c.problem is None, c.problem
    for info in c.explorers:
        assert info["python_sees_moves"], info
        change = PARAMS_FROM_PYTHON[info["kind"]]
        assert info["from_python"]["redrawn"], info
        assert info["from_python"]["controls"] == pytest.approx(change), info
        result = info["result"]
        assert {k: result["params"][k] for k in change} == pytest.approx(change), result
        if info["kind"] == "landscape":
            model = lib.Model(U0=result["params"]["U0"], lam=result["params"]["lam"], s=change["s"])
            # bitwise in tests/test_js_engine.py; here 1/lambda^2 is 1/(lam*lam) against Python's lam**2
            assert result["frozen_barrier"] == pytest.approx(lib.barriers.frozen_barrier(model), rel=1e-14)
            assert result["relaxed_barrier"] == pytest.approx(lib.barriers.relaxed_barrier(model).energy, rel=1e-12)
        if info["kind"] == "transmission":
            assert result["converged"] and len(result["probability"]) == 30


def test_monte_carlo_button_draws_points(lab_chapters):
    runs = [c for c in lab_chapters.values() if any(e["kind"] == "transmission" for e in c.explorers)]
    assert runs, "no chapter shows the transmission explorer"
    for c in runs:
        assert c.monte_carlo.get("visible") and c.monte_carlo.get("redrawn"), (c.path, c.monte_carlo)


@pytest.mark.parametrize("path", CHAPTERS)
def test_no_console_error_from_the_project(lab_chapters, path):
    assert not lab_chapters[path].errors, lab_chapters[path].errors


def test_arrow_keys_in_notebook_7(lab):
    """Notebook 7 (the same server): a chapter with an explorer, Run All, ArrowRight moves the slider by 1%."""
    from playwright.sync_api import sync_playwright

    base, token, tmp = lab
    path = next((p for p in CHAPTERS if EXPLORER_CALL.search((ROOT / p).read_text())), None)
    assert path, "no chapter shows an explorer"
    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        try:
            open_notebook(page, f"{base}notebooks/{path}?token={token}")
            run_all(page)
            root = page.locator(".lib-explorer").first
            wait_drawn(root)
            for i in range(root.locator("input[type=range]").count()):
                s = root.locator("input[type=range]").nth(i)
                lo, hi, before = float(s.get_attribute("min")), float(s.get_attribute("max")), float(s.input_value())
                key, sign = ("ArrowRight", 1) if before < hi - 0.01 * (hi - lo) else ("ArrowLeft", -1)
                count, digest = int(root.get_attribute("data-updates")), root.evaluate(CANVAS_DIGEST_JS)
                s.focus()
                page.keyboard.press(key)
                assert float(s.input_value()) == pytest.approx(before + sign * 0.01 * (hi - lo)), s.get_attribute("data-key")
                wait_drawn(root, count)
                assert root.evaluate(CANVAS_DIGEST_JS) != digest
            page.screenshot(path=str(tmp / "notebook7.png"))
        finally:
            browser.close()
            shut_down_kernels(base, token)
