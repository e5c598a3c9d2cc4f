"""The explorers in the built book, driven in headless Chromium with no kernel.

For each explorer page the built HTML is served from localhost; Debian's
Chromium (through Playwright) waits for the explorer (an anywidget rendered
from the page's saved widget state) to draw its first figure, then moves
every control to a value no earlier build could have precomputed (a slider
to an odd point of its range, a dropdown to another option) and checks that
the figure, drawn on a canvas in the browser, changes. Every request the
page makes is recorded: none may leave localhost, none may fail, and the
page with everything it loads must stay within the issue's 5 MB as served
(benchmarks/explorers.py reports the weights, compressed and not).

The book is built once per test session by the ``built_book`` fixture
(tests/conftest.py), or taken from ``BOOK_HTML=/path/to/_build/html``.

The widget itself is also tested on a page of its own, made from the
current bundle with a stand-in for anywidget's model (no book, no kernel):
keyboard steps, ``params`` set from Python, ranges from Python's table, and
the Monte Carlo points from the Python handler.

Chromium, its arguments, the localhost server and the rule for a missing
browser (skip, or fail where ``REQUIRE_BROWSER`` is set, as in CI) live in
``scripts/browser.py``; the fixtures ``base_url`` and ``browser`` here are
shared with the other browser tests (``from test_browser import base_url,
browser``).
"""
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from scripts.browser import CHROMIUM, CHROMIUM_ARGS, launch, require, serve  # noqa: F401 (re-exported)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
BOOK_HTML = Path(os.environ.get("BOOK_HTML", REPO / "_build" / "html"))
"""The built book; the same path the ``built_book`` fixture returns."""

EXPLORER_PAGES = {  # the chapters display these explorers; their widget state names the kind
    "landscape": "book/theory.html",
    "trajectory": "book/model.html",
    "phase_space": "book/phase_space.html",
    "transmission": "book/moving.html",
}
"""Page of each explorer, relative to :data:`BOOK_HTML`; the explorer's root
widget carries the CSS class ``lib-explorer-<name>``."""

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
RENDER_TIMEOUT_MS = 60_000
CHANGE_TIMEOUT_MS = 60_000  # a bound on waiting, not a speed target: it ends as soon as the figure is redrawn

# Digest of the pixels the explorer's canvas shows.
CANVAS_DIGEST_JS = """(canvas) => {
    const url = canvas.toDataURL('image/png');
    let h = 2166136261;
    for (let i = 0; i < url.length; i++) { h = Math.imul(h ^ url.charCodeAt(i), 16777619) >>> 0; }
    return url.length + ':' + h;
}"""

# An odd fraction of each slider's range: no earlier build precomputed such values.
ODD_FRACTIONS = (0.3719, 0.6183, 0.2871, 0.5407, 0.4463)


from scripts import book_pdf  # noqa: E402, F401  (re-exported for the other browser tests: page list, render wait)


@pytest.fixture(scope="module")
def base_url(built_book):
    require("chromium", "playwright")
    with serve(built_book) as url:
        yield url


try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright
except ImportError:  # reported by require() in the fixtures
    sync_playwright = None
    PlaywrightError = Exception


@pytest.fixture(scope="module")
def browser():
    require("chromium", "playwright")
    with sync_playwright() as p:
        browser = launch(p)
        try:
            yield browser
        finally:
            browser.close()


UPSTREAM_PAGE_ERRORS = ()
"""Uncaught JavaScript errors that come from the book's tool chain, not the explorers."""

PAGE_BUDGET_BYTES = 5_000_000
"""Everything an explorer page loads (HTML with the widget state, scripts, styles, fonts, images), as
served. About 4.1-4.5 MB: the theme's icon font script alone is 1.5 MB and MathJax 1.2 MB; the
explorers are rendered by book/js/anywidget-static.js (2 KB) instead of a widget manager (3.6 MB)."""


@dataclass
class Visit:
    """What happened on one explorer page."""

    path: str
    problem: str | None = None  # why the explorer could not be driven
    changes: list = field(default_factory=list)  # (action, digest before, digest after)
    requests: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    loaded_bytes: int = 0
    kernel: dict = field(default_factory=dict)  # the transmission explorer's "Monte Carlo in the kernel" control
    text: str = ""  # the explorer's text, after every control moved

    def external(self):
        """Requests that leave localhost (data: and blob: URLs stay in the page)."""
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if parts.scheme not in ("http", "https") or parts.hostname not in LOCAL_HOSTS:
                out.append(url)
        return out


def updates(root) -> int:
    """Figures the explorer has drawn so far (its root's ``data-updates``)."""
    return int(root.get_attribute("data-updates") or 0)


def wait_for_update(root, count):
    """Wait until the explorer has drawn more than ``count`` figures and is not busy."""
    root.page.wait_for_function(
        "([el, n]) => +el.dataset.updates > n && !el.dataset.busy", arg=[root.element_handle(), count],
        timeout=CHANGE_TIMEOUT_MS)
    error = root.get_attribute("data-error")
    assert not error, f"the explorer reported an error: {error}"


def digest(root):
    figure = root.locator("canvas.lib-explorer-figure")
    assert figure.count() == 1, f"{figure.count()} figures shown at once"
    return figure.evaluate(CANVAS_DIGEST_JS)


def move(control, k):
    """Move control ``k`` to a value never precomputed; return a description of what was done."""
    slider = control.locator("input[type=range]")
    if slider.count():
        value = slider.evaluate("""(el, f) => {
            const lo = +el.min, hi = +el.max;
            let v = lo + f * (hi - lo);
            if (Math.abs(v - +el.value) < 0.05 * (hi - lo)) v = lo + (1 - f) * (hi - lo);
            el.value = v;
            el.dispatchEvent(new Event('input', { bubbles: true }));
            return +el.value; }""", ODD_FRACTIONS[k % len(ODD_FRACTIONS)])
        return f"slider {slider.get_attribute('data-key')} to {value}"
    select = control.locator("select")
    n = select.locator("option").count()
    new = (select.evaluate("s => s.selectedIndex") + 1) % n
    select.select_option(index=new)
    return f"dropdown {select.get_attribute('data-key')} option {new}"


def kernel_control(root) -> dict:
    """State of the transmission explorer's kernel Monte Carlo control.

    Read after every control has moved, seconds after the explorer pinged
    for a kernel, so a kernel that existed would have answered by then.
    """
    box = root.locator(".lib-explorer-kernel")
    if box.count() != 1:
        return {"count": box.count()}
    return {"count": 1, "kernel": box.get_attribute("data-kernel"), "visible": box.is_visible(),
            "text": root.inner_text()}


def drive(browser, base_url, name) -> Visit:
    """Open the explorer's page, record its traffic, move every control once."""
    visit = Visit(EXPLORER_PAGES[name])
    if not (BOOK_HTML / visit.path).exists():
        visit.problem = f"{visit.path} is missing from {BOOK_HTML}"
        return visit
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    responses = []
    page.on("request", lambda r: visit.requests.append(r.url))
    page.on("requestfailed", lambda r: visit.failed.append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: responses.append(r))
    page.on("pageerror", lambda e: visit.errors.append(str(e)))
    try:
        page.goto(base_url + visit.path, wait_until="load")
        page.wait_for_load_state("networkidle")
        if not re.search(rf'"kind":\s*"{name}"', (BOOK_HTML / visit.path).read_text(encoding="utf-8")):
            visit.problem = (f"{visit.path} embeds no {name} explorer: its chapter must display "
                             f"lib.widgets.{name}_explorer() (and the book be rebuilt)")
            return visit
        root = page.locator(f".lib-explorer-{name}")
        try:
            root.wait_for(state="visible", timeout=RENDER_TIMEOUT_MS)
        except Exception:
            visit.problem = (f"no rendered .lib-explorer-{name} widget on {visit.path} "
                             f"(does the chapter call lib.widgets.{name}_explorer()?)")
            return visit
        if root.count() != 1:
            visit.problem = f"{root.count()} {name} explorers on {visit.path}"
            return visit
        wait_for_update(root, 0)
        controls = root.locator(".lib-explorer-control")
        for k in range(controls.count()):
            before, count = digest(root), updates(root)
            action = move(controls.nth(k), k)
            wait_for_update(root, count)
            visit.changes.append((f"control {k}: {action}", before, digest(root)))
        visit.text = root.inner_text()
        if name == "transmission":
            visit.kernel = kernel_control(root)
        return visit
    except PlaywrightError as err:  # e.g. no figure shown: record it, keep the traffic for the other tests
        visit.problem = f"{name} on {visit.path}: {str(err).splitlines()[0]}"
        return visit
    finally:
        page.wait_for_load_state("networkidle")
        visit.failed += [f"{r.url} (HTTP {r.status})" for r in responses if r.status >= 400]
        visit.failed = sorted(set(visit.failed))
        visit.loaded_bytes = sum(len(r.body()) for r in responses
                                 if r.ok and urlsplit(r.url).scheme in ("http", "https"))
        context.close()


@pytest.fixture(scope="module")
def visits(browser, base_url):
    """Each explorer page, driven once and shared by the tests below."""
    done = {}

    def get(name):
        if name not in done:
            done[name] = drive(browser, base_url, name)
        return done[name]

    return get


@pytest.mark.parametrize("name", EXPLORER_PAGES)
def test_every_control_changes_the_figure_without_a_kernel(visits, name):
    visit = visits(name)
    assert visit.problem is None, visit.problem
    assert len(visit.changes) >= 3, f"only {len(visit.changes)} controls found on {visit.path}"
    for action, before, after in visit.changes:
        assert after != before, f"{name} on {visit.path}: the figure did not change after {action}"
    shown = [visit.changes[0][1]] + [after for _, _, after in visit.changes]
    assert len(set(shown)) == len(shown), "moving a control brought back an earlier figure"


@pytest.mark.parametrize("name", EXPLORER_PAGES)
def test_no_request_leaves_localhost(visits, name):
    visit = visits(name)
    assert visit.requests, f"nothing was loaded for {visit.path}"
    assert not visit.external(), f"requests leaving localhost from {visit.path}: {visit.external()}"


@pytest.mark.parametrize("name", EXPLORER_PAGES)
def test_page_loads_every_resource_without_errors(visits, name):
    visit = visits(name)
    assert not visit.failed, f"failed requests on {visit.path}: {visit.failed}"
    errors = [e for e in visit.errors if e not in UPSTREAM_PAGE_ERRORS]
    assert not errors, f"JavaScript errors on {visit.path}: {errors}"


@pytest.mark.parametrize("name", EXPLORER_PAGES)
def test_page_stays_within_its_size_budget(visits, name):
    visit = visits(name)
    assert 0 < visit.loaded_bytes < PAGE_BUDGET_BYTES, f"{visit.path} loads {visit.loaded_bytes:,} bytes"


def test_kernel_monte_carlo_is_not_shown_without_a_kernel(visits):
    """In the static book nothing answers the ping: the Monte Carlo control never shows."""
    visit = visits("transmission")
    assert not visit.problem, visit.problem
    k = visit.kernel
    assert k["count"] == 1, f"{k['count']} 'Monte Carlo in the kernel' controls on {visit.path}"
    assert k["kernel"] == "none" and not k["visible"], k
    assert "Monte Carlo" not in k["text"] and "kernel" not in k["text"], k["text"]
    assert not visit.external(), visit.external()  # and nothing left localhost, then or before


@pytest.mark.parametrize("name", EXPLORER_PAGES)
def test_no_developer_text(visits, name):
    """What a reader sees says what the figure is, not how long it took or how it was computed."""
    visit = visits(name)
    assert visit.problem is None, visit.problem
    for pattern in (r"\bms\b", r"Updated in", r"outcome -?\d", r"levels ≤", r"gate states", r"281 × 221"):
        assert not re.search(pattern, visit.text), (pattern, visit.text)


# -- the widget on a page of its own ---------------------------------------------------------------------

WIDGET_PAGE = """<!doctype html><meta charset="utf-8"><title>explorers</title><div id="out"></div>
<script type="module">
import widget from "./bundle.js";
// anywidget's model, as far as the explorers use it: traits, change events, custom messages. send() is
// carried to Python (the widget's own message handler) when the page has kernelSend, else it fails as
// without a kernel. window.fromPython(kind, params) plays a kernel that sets params.
window.models = {};
for (const [kind, params] of %s) {
  const state = { kind, params, result: {} }, listeners = {};
  const fire = (event, ...args) => (listeners[event] || []).forEach((cb) => cb(...args));
  const model = {
    get: (k) => state[k], set(k, v) { state[k] = v; fire("change:" + k); }, save_changes() {},
    on(event, callback) { (listeners[event] ||= []).push(callback); },
    send(msg) {
      if (!window.kernelSend) throw new Error("no kernel");
      window.kernelSend(msg).then((replies) => replies.forEach((r) => fire("msg:custom", r, [])));
    },
    fromPython(params) { state.params = params; fire("change:params"); },
  };
  window.models[kind] = model;
  const el = document.createElement("div");
  document.getElementById("out").append(el);
  widget.render({ model, el });
}
</script>"""


def widget_page(browser, folder, kinds, kernel_send=None, bundle=None):
    """A page with the explorers ``kinds`` {kind: params} rendered from the bundle; returns (context, page, url)."""
    from lib import widgets as W

    (folder / "bundle.js").write_text(bundle or W.build_bundle(), encoding="utf-8")
    (folder / "index.html").write_text(WIDGET_PAGE % json.dumps(list(kinds.items())), encoding="utf-8")
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    if kernel_send:
        page.expose_function("kernelSend", kernel_send)
    return context, page


def wait_all(page, count=None):
    page.wait_for_function("""(n) => { const all = [...document.querySelectorAll('.lib-explorer')];
        return all.length === n && all.every((el) => +el.dataset.updates > 0 && !el.dataset.busy); }""",
                           arg=count, timeout=RENDER_TIMEOUT_MS)


@pytest.fixture(scope="module")
def harness(browser, tmp_path_factory):
    """Every explorer at its defaults on one page, with no kernel: (page, errors)."""
    from lib import widgets as W

    folder = tmp_path_factory.mktemp("widgets")
    kinds = {k: W.check_params(k, W.DEFAULTS[k]) for k in W.KINDS}
    context, page = widget_page(browser, folder, kinds)
    errors, requests = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    with serve(folder) as url:
        page.goto(url + "index.html")
        wait_all(page, len(kinds))
        yield page, errors
        outside = [u for u in requests if urlsplit(u).scheme in ("http", "https")
                   and urlsplit(u).hostname not in LOCAL_HOSTS]
        assert not outside, outside
    context.close()


@pytest.mark.parametrize("kind", ["landscape", "trajectory", "phase_space", "transmission"])
def test_keyboard_steps_are_one_and_ten_per_cent_of_the_range(harness, kind):
    """ArrowRight moves a focused slider by 1% of its range, Page Up by 10%, and each redraws."""
    page, errors = harness
    root = page.locator(f".lib-explorer-{kind}")
    sliders = root.locator("input[type=range]")
    assert sliders.count() >= 2
    for k in range(sliders.count()):
        slider = sliders.nth(k)
        lo, hi = float(slider.get_attribute("min")), float(slider.get_attribute("max"))
        count = updates(root)
        slider.focus()
        page.keyboard.press("Home")
        if updates(root) == count and root.get_attribute("data-busy") is None:
            page.wait_for_timeout(100)  # at the lower end already: Home changed nothing
        else:
            wait_for_update(root, count)
        assert float(slider.input_value()) == lo
        for key, fraction in (("ArrowRight", 0.01), ("PageUp", 0.1), ("ArrowLeft", -0.01), ("PageDown", -0.1)):
            before, value, count = digest(root), float(slider.input_value()), updates(root)
            slider.focus()
            page.keyboard.press(key)
            assert float(slider.input_value()) == pytest.approx(max(lo, value + fraction * (hi - lo)), rel=1e-9), key
            if float(slider.input_value()) != value:
                wait_for_update(root, count)
                assert digest(root) != before, f"{kind}: {key} on {slider.get_attribute('data-key')} drew nothing new"
    assert not errors, errors


@pytest.mark.parametrize("kind, change", [("landscape", {"s": 1.234}), ("trajectory", {"E_particle": 5.5}),
                                          ("phase_space", {"phase": 0.7, "convention": "published-script"}),
                                          ("transmission", {"experiment": "joint", "M": 2.5})])
def test_params_set_from_python_move_the_controls_and_redraw(harness, kind, change):
    """A change of ``params`` from the kernel moves the controls, redraws and reports a fresh ``result``."""
    from lib import widgets as W

    page, errors = harness
    root = page.locator(f".lib-explorer-{kind}")
    before, count = digest(root), updates(root)
    params = W.check_params(kind, change, W.check_params(kind, W.DEFAULTS[kind]))
    page.evaluate("([kind, p]) => window.models[kind].fromPython(p)", [kind, params])
    wait_for_update(root, count)
    assert digest(root) != before
    for key, value in change.items():
        control = root.locator(f"[data-key={key}]")
        shown = control.input_value()
        assert (float(shown) == pytest.approx(value)) if isinstance(value, float) else shown == value, key
    result = page.evaluate("(kind) => window.models[kind].get('result')", kind)
    assert {k: result["params"][k] for k in change} == change
    if kind == "landscape":
        assert result["frozen_barrier"] == pytest.approx(lib_frozen(1.234), rel=1e-15)
    if kind == "transmission":
        assert result["converged"] is True and len(result["probability"]) == W.CURVE_TEMPERATURES
    # and the other way: a control moved in the page is what the model (Python's params) holds
    slider = root.locator("input[type=range]").first
    count = updates(root)
    slider.focus()
    page.keyboard.press("PageUp")
    wait_for_update(root, count)
    key = slider.get_attribute("data-key")
    synced = page.evaluate("(kind) => window.models[kind].get('params')", kind)
    assert synced[key] == pytest.approx(float(slider.input_value())) and synced[key] != params[key]
    assert page.evaluate("(kind) => window.models[kind].get('result').params", kind) == synced
    assert not errors, errors


def lib_frozen(s):
    import lib

    return lib.barriers.frozen_barrier(lib.Model(s=s))


def test_a_slider_range_changed_in_python_is_the_pages(browser, tmp_path, monkeypatch):
    """The front end draws its sliders from Python's table: a range changed there is the page's."""
    from lib import widgets as W

    M = next(c for c in W.CONTROLS["trajectory"] if c.key == "M")
    monkeypatch.setitem(W.CONTROLS, "trajectory", tuple(W.Slider("M", M.label, 0.05, 20.0, M.name)
                                                        if c.key == "M" else c for c in W.CONTROLS["trajectory"]))
    context, page = widget_page(browser, tmp_path, {"trajectory": W.check_params("trajectory", W.DEFAULTS["trajectory"])})
    with serve(tmp_path) as url:
        page.goto(url + "index.html")
        wait_all(page, 1)
        slider = page.locator("input[data-key=M]")
        assert (slider.get_attribute("min"), slider.get_attribute("max")) == ("0.05", "20")
        slider.focus()
        page.keyboard.press("End")
        assert slider.input_value() == "20"
    context.close()


def test_front_end_draws_kernel_monte_carlo_points_from_the_python_handler(browser, tmp_path):
    """Front end and Python handler together: the ping shows the control, a click draws the points.

    No kernel: the page's ``model.send`` is carried to the Explorer's own
    message handler in this process (the comm's part, which
    tests/test_widgets.py checks with a real kernel), and its replies back.
    """
    from lib import widgets as W

    explorer = W.transmission_explorer(experiment="frozen", s=2.0, M=1.0, omega_min=1.0, omega_max=10.0)
    explorer.run_in_thread = False
    sent, replies = [], []
    explorer.send = lambda msg, buffers=None: replies.append(msg)

    def kernel_send(msg):
        sent.append(msg)
        replies.clear()
        explorer._handle_custom_msg(msg, [])
        return list(replies)

    context, page = widget_page(browser, tmp_path, {"transmission": explorer.params}, kernel_send)
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        with serve(tmp_path) as url:
            page.goto(url + "index.html")
            root = page.locator(".lib-explorer-transmission")
            root.wait_for(state="visible", timeout=RENDER_TIMEOUT_MS)
            wait_for_update(root, 0)
            box = root.locator(".lib-explorer-kernel")
            page.wait_for_function("(el) => el.dataset.kernel === 'connected'", arg=box.element_handle(),
                                   timeout=CHANGE_TIMEOUT_MS)
            assert sent[0] == {"type": "ping"} and box.is_visible() and not box.locator("button").is_disabled()
            box.locator("input[type=number]").fill("50")  # below the bound: refused in the page, nothing sent
            box.locator("button").click()
            assert "between 100 and 20,000" in box.locator(".lib-explorer-kernel-status").inner_text()
            assert len(sent) == 1
            before = digest(root)
            box.locator("input[type=number]").fill("100")
            box.locator("button").click()
            page.wait_for_function("(el) => el.dataset.points === '30'", arg=box.element_handle(), timeout=600_000)
            assert sent[1]["type"] == "monte_carlo" and sent[1]["trials"] == 100
            assert {k: sent[1]["params"][k] for k in ("experiment", "s", "M", "omega_min", "omega_max")} == \
                {"experiment": "frozen", "s": 2, "M": 1, "omega_min": 1, "omega_max": 10}
            status = box.locator(".lib-explorer-kernel-status").inner_text()
            assert re.search(r"100 trials at each of 30 temperatures", status), status
            assert digest(root) != before  # the points and their error bars are drawn over the curves
            page.screenshot(path=str(tmp_path / "kernel-points.png"))
    finally:
        context.close()
    outside = [u for u in requests if urlsplit(u).scheme in ("http", "https")
               and urlsplit(u).hostname not in LOCAL_HOSTS]
    assert not outside, outside
