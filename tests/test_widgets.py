"""The book's explorers (lib.widgets): anywidgets whose front end computes in the browser.

What happens in the browser is tested in tests/test_js_engine.py (the engine
against lib) and tests/test_browser.py (the built book); here: the Python
side, the bundle it ships, and that each chapter creates its explorer's
widget model when executed as a notebook (nbclient, as Binder and the book
build do).
"""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import anywidget
import numpy as np
import pytest

from lib import widgets as W

ROOT = Path(__file__).resolve().parents[1]

FUNCTIONS = {"landscape": W.landscape_explorer, "trajectory": W.trajectory_explorer,
             "phase_space": W.phase_space_explorer, "transmission": W.transmission_explorer}

CHAPTERS = {"landscape": "book/theory.ipynb", "trajectory": "book/model.ipynb",
            "phase_space": "book/phase_space.ipynb", "transmission": "book/moving.ipynb"}
"""The chapter that shows each explorer (tests/test_browser.py drives the built pages)."""


@pytest.mark.parametrize("kind", FUNCTIONS)
def test_explorer_is_an_anywidget_with_its_kind_and_controls(kind):
    explorer = FUNCTIONS[kind]()
    assert isinstance(explorer, anywidget.AnyWidget)
    assert explorer.kind == kind
    assert explorer._esm == W.bundle()
    # every control the front end draws (from the Python table) starts from a value given by Python
    keys = [c["key"] for c in W.explorer_config()["kinds"][kind]["controls"]]
    assert keys == [c.key for c in W.CONTROLS[kind]] and set(keys) <= set(explorer.params)
    assert explorer.params == W.check_params(kind, W.DEFAULTS[kind])
    state = explorer.get_state()
    assert state["_model_module"] == "anywidget" and state["kind"] == kind
    json.dumps(state["params"])  # the state embedded in the page is plain JSON


def test_initial_values_are_passed_to_the_front_end():
    e = W.trajectory_explorer(E_particle=3.5, E_oscillator=0.0, phase=1.0, M=5.0, s=0.0)
    assert e.params == {"E_particle": 3.5, "E_oscillator": 0.0, "phase": 1.0, "M": 5.0, "s": 0.0}
    e = W.phase_space_explorer(convention="published-script")
    assert e.params["convention"] == "published-script"
    e = W.transmission_explorer(experiment="joint", omega_min=2.0, omega_max=8.0)
    assert (e.params["experiment"], e.params["omega_min"], e.params["omega_max"]) == ("joint", 2.0, 8.0)
    assert e.params["temperatures"] == W.CURVE_TEMPERATURES


@pytest.mark.parametrize("func, kwargs, message", [
    (W.landscape_explorer, {"U0": -1.0}, "U0"),
    (W.landscape_explorer, {"lam": float("nan")}, "lambda"),
    (W.trajectory_explorer, {"M": 0.0}, "mass M"),
    (W.trajectory_explorer, {"E_particle": "a"}, "particle energy"),
    (W.phase_space_explorer, {"convention": "other"}, "convention"),
    (W.phase_space_explorer, {"s": 7.0}, "impact parameter s"),
    (W.transmission_explorer, {"experiment": "hot"}, "experiment"),
    (W.transmission_explorer, {"experiment": "classical"}, "experiment"),
    (W.transmission_explorer, {"omega_min": 4.0, "omega_max": 3.0}, "highest temperature"),
])
def test_bad_arguments_raise_one_line_value_errors(func, kwargs, message):
    with pytest.raises(ValueError, match=message) as info:
        func(**kwargs)
    assert "\n" not in str(info.value)


def test_params_set_from_python_are_checked_and_completed():
    """Setting ``params`` (all controls or some) keeps the others; a bad value raises, naming it."""
    e = W.transmission_explorer()
    e.params = {"s": 1.25}
    assert e.params == {**W.check_params("transmission", W.DEFAULTS["transmission"]), "s": 1.25}
    e.params = {**e.params, "experiment": "joint", "M": 0.2}
    assert (e.params["experiment"], e.params["M"], e.params["s"]) == ("joint", 0.2, 1.25)
    for bad, message in [({"s": 9.0}, "impact parameter s must be between -3 and 3"),
                         ({"omega_min": 6.0}, "lowest temperature"), ({"spin": 1}, "unknown control 'spin'"),
                         ({"omega_max": 2.5, "omega_min": 3.0}, "highest temperature must exceed")]:
        with pytest.raises(ValueError, match=message):
            e.params = bad
    assert e.params["s"] == 1.25  # unchanged by the refused assignments


def test_slider_ranges_come_from_one_table(monkeypatch):
    """A range changed in Python is the front end's range and Python's check, with no JavaScript edit."""
    table = dict(W.CONTROLS)
    M = next(c for c in table["trajectory"] if c.key == "M")
    wider = W.Slider(M.key, M.label, 0.05, 20.0, M.name)
    monkeypatch.setitem(W.CONTROLS, "trajectory", tuple(wider if c.key == "M" else c for c in table["trajectory"]))
    control = next(c for c in W.explorer_config()["kinds"]["trajectory"]["controls"] if c["key"] == "M")
    assert (control["min"], control["max"]) == (0.05, 20.0)
    assert W.trajectory_explorer(M=15.0).params["M"] == 15.0
    source = (W.JS_DIR / "explorers.js").read_text()
    assert not re.search(r"min: ?[\d.]+, ?max: ?[\d.]+", source)  # no range written in the front end


def test_bundle_holds_engine_worker_and_table_and_loads_nothing_from_elsewhere():
    source = W.bundle()
    for name in ("engine.js", "worker.js", "explorers.js", "constants.js"):
        assert (W.JS_DIR / name).exists()
    engine = (W.JS_DIR / "engine.js").read_text()
    inlined = engine.replace(W.CONSTANTS_IMPORT, f"const CONSTANTS = {json.dumps(W.engine_constants())};")
    assert json.dumps(inlined) in source  # the engine, its import of constants.js replaced by the constants
    assert json.dumps((W.JS_DIR / "worker.js").read_text()) in source
    assert f"const CONFIG = {json.dumps(W.explorer_config())};" in source
    assert "export default { render }" in source
    # no URL to fetch: every import is of a blob made from the sources in the bundle
    assert not re.search(r"https?://", source.replace("https://anywidget.dev", ""))
    assert not re.search(r"^\s*import .* from", source, re.M)


def test_palette_and_line_styles_are_the_books():
    from lib import plotting

    config = W.explorer_config()
    assert config["palette"] == plotting.WONG and config["roles"] == plotting.ROLE_COLORS
    assert config["outcomes"] == list(plotting.OUTCOME_COLORS)
    assert config["roles"]["particle"] == plotting.WONG["vermillion"] and config["roles"]["gate"] == plotting.WONG["blue"]
    assert config["barrier_dash"] == {"frozen": [], "relaxed": [6, 4]}
    assert [m for m, _ in config["masses"]] == list(plotting.MASS_STYLE)
    front = (W.JS_DIR / "explorers.js").read_text()
    assert not re.findall(r"#(?:E69F00|56B4E9|009E73|F0E442|0072B2|D55E00|CC79A7)", front, re.I)  # no colour of its own


def test_labels_are_typeset_mathematics():
    """Labels are TeX-like ($...$), never pseudo-TeX with a literal underscore outside mathematics."""
    config = W.explorer_config()
    labels = [c["label"] for k in config["kinds"].values() for c in k["controls"]]
    for label in labels:
        outside = re.sub(r"\$[^$]*\$", "", label)
        assert "_" not in outside and "^" not in outside, label
    front = (W.JS_DIR / "explorers.js").read_text()
    drawn = re.findall(r'(?:xlabel|ylabel|label): [`"]([^`"]*)[`"]', front)
    assert drawn
    for label in drawn:
        assert "_" not in re.sub(r"\$[^$]*\$", "", label), label
    assert "toExponential" not in front and "1e${" not in front  # ticks as powers of ten, typeset


def test_browser_experiments_are_the_engines():
    assert list(W.engine_constants()["experiments"]) == list(W.BROWSER_EXPERIMENTS)
    assert W.BROWSER_EXPERIMENTS == ("frozen", "deflected", "thermal", "joint")
    for name in W.BROWSER_EXPERIMENTS:
        assert W.transmission_explorer(experiment=name).params["experiment"] == name


def test_engine_header_names_the_lib_functions_it_mirrors():
    header = (W.JS_DIR / "engine.js").read_text().split("\nimport ")[0]
    for name in ("lib.model.interaction", "kernel_method", "has_ended", "initial_states", "relaxed_barrier",
                 "oscillator_state", "phase_space_map", "find_intervals", "level_cutoff", "lib.quadrature", "brentq"):
        assert name in header, name


def test_the_interaction_is_written_once_in_the_engine():
    engine = (W.JS_DIR / "engine.js").read_text()
    assert len(re.findall(r"U0 \* expNeg\(", engine)) == 1


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_bundle_parses_as_an_es_module(tmp_path):
    path = tmp_path / "bundle.mjs"
    path.write_text(W.bundle())
    subprocess.run(["node", "--check", str(path)], check=True, capture_output=True)


def test_js_sources_are_package_data():
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "lib.js" in setuptools["packages"]  # a package of data files: setuptools ships it without a warning
    assert setuptools["package-data"]["lib.js"] == ["*.js"]
    assert {p.name for p in W.JS_DIR.glob("*.js")} == {"engine.js", "explorers.js", "worker.js", "constants.js"}


def test_importing_lib_does_not_import_widgets():
    code = ("import sys, lib; bad = [m for m in ('lib.widgets', 'ipywidgets', 'anywidget', 'matplotlib') "
            "if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
@pytest.mark.parametrize("kind", CHAPTERS)
def test_chapter_executes_and_creates_its_explorer_model(kind, book_environment):
    """Execute the chapter with nbclient (as Binder/JupyterLab would) and find the explorer's widget model.

    The kernel sees the book build's result cache (``book_environment``), as a
    reader's kernel sees the results the book left behind.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / CHAPTERS[kind], as_version=4)
    NotebookClient(nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "book")}},
                   store_widget_state=True).execute()
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    models = [m for m in state.values() if m["model_module"] == "anywidget" and m["state"].get("kind") == kind]
    assert len(models) == 1, f"{CHAPTERS[kind]} creates {len(models)} {kind} explorer models"
    assert models[0]["state"]["_esm"] == W.bundle()
    views = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert views, f"{CHAPTERS[kind]} displays no widget"


def _drive(explorer, content):
    """Deliver one custom message from the front end to the widget, as the comm does; return the replies."""
    replies = []
    explorer.send = lambda msg, buffers=None: replies.append(msg)
    explorer._handle_custom_msg(content, [])
    if explorer.mc_thread is not None:
        explorer.mc_thread.join(timeout=600)
        assert not explorer.mc_thread.is_alive()
    return replies


def test_kernel_answers_the_ping_that_enables_monte_carlo():
    assert _drive(W.transmission_explorer(), {"type": "ping"}) == [{"type": "pong"}]
    assert _drive(W.transmission_explorer(), {"type": "something else"}) == []


def test_curve_temperatures_match_the_engines_inverse_spacing():
    t = W.curve_temperatures(1.0, 10.0)
    assert len(t) == W.CURVE_TEMPERATURES and t[0] == pytest.approx(1.0) and t[-1] == pytest.approx(10.0)
    inv = 1 / np.array(t)
    assert np.allclose(np.diff(inv), inv[1] - inv[0])  # evenly spaced in 1/omega_T, increasing temperature
    assert "1.0 / (1.0 / hi + (i / Math.max(1, n - 1)) * (1.0 / lo - 1.0 / hi))" in (W.JS_DIR / "engine.js").read_text()


@pytest.mark.parametrize("threaded", [True, False])
def test_monte_carlo_message_returns_lib_transmission_probability_bitwise(threaded):
    """The kernel's points are lib.transmission_probability's with the same arguments, bit for bit."""
    import lib

    explorer = W.transmission_explorer()
    explorer.run_in_thread = threaded
    params = {"experiment": "frozen", "s": 1.5, "M": 2.0, "omega_min": 2.0, "omega_max": 6.0}
    replies = _drive(explorer, {"type": "monte_carlo", "id": 7, "trials": 200, "seed": 3, "params": params})
    assert len(replies) == 1 and replies[0]["type"] == "monte_carlo_result" and replies[0]["id"] == 7
    got = json.loads(json.dumps(replies[0]))  # as the comm carries it
    temperatures = W.curve_temperatures(2.0, 6.0)
    ref = lib.transmission_probability("frozen", lib.Model(M=2.0, s=1.5), temperatures, trials=200, seed=3,
                                       use_cache=False, progress=False)
    assert got["temperature"] == temperatures and got["trials"] == 200 and got["seed"] == 3
    low, high = ref.ci95
    for key, want in [("probability", ref.probability), ("stderr", ref.stderr), ("ci95_low", low),
                      ("ci95_high", high), ("activation_energy", ref.activation_energy),
                      ("activation_stderr", ref.activation_stderr)]:
        want = [None if np.isnan(v) else float(v) for v in want]
        assert got[key] == want, key  # exact equality of floats: bitwise
    assert 0.0 < max(got["probability"]) < 1.0  # points with something to show
    assert got["params"]["experiment"] == "frozen" and got["elapsed"] >= 0.0


def test_monte_carlo_uses_the_explorers_current_params_by_default():
    explorer = W.transmission_explorer(experiment="deflected", s=0.5, M=3.0, omega_min=1.5, omega_max=4.0)
    out = explorer.monte_carlo(trials=100, seed=1)
    assert (out["experiment"], out["impact"], out["mass"], out["trials"]) == ("deflected", 0.5, 3.0, 100)
    assert out["temperature"] == W.curve_temperatures(1.5, 4.0)


@pytest.mark.parametrize("trials", [0, 99, 20_001, 2.5, "2000", None, True, float("nan")])
def test_bad_trials_are_rejected_with_a_clear_error(trials):
    explorer = W.transmission_explorer()
    with pytest.raises(ValueError, match=r"trials must be an integer between 100 and 20,000"):
        explorer.monte_carlo(trials=trials)
    replies = _drive(explorer, {"type": "monte_carlo", "id": 1, "trials": trials})
    assert [r["type"] for r in replies] == ["monte_carlo_error"] and replies[0]["id"] == 1
    assert "trials must be an integer between 100 and 20,000" in replies[0]["message"]


@pytest.mark.parametrize("content, message", [
    ({"seed": -1}, "seed must be a non-negative integer"),
    ({"params": {"experiment": "thermal", "s": 9.0}}, "impact parameter s must be between -3 and 3"),
    ({"params": {"experiment": "classical"}}, "experiment"),
    ({"params": {"omega_min": 4.0, "omega_max": 3.0}}, "highest temperature must exceed the lowest"),
])
def test_bad_monte_carlo_requests_are_answered_with_the_error(content, message):
    replies = _drive(W.transmission_explorer(), {"type": "monte_carlo", "id": 2, "trials": 100, **content})
    assert replies[0]["type"] == "monte_carlo_error" and message in replies[0]["message"]


def test_trials_field_of_the_front_end_has_pythons_default_and_bounds():
    lo, hi = W.MC_TRIALS_RANGE
    assert W.explorer_config()["monte_carlo"] == {"trials": W.MC_TRIALS, "min": lo, "max": hi}
    source = (W.JS_DIR / "explorers.js").read_text()
    assert str(W.MC_TRIALS) not in source and str(hi) not in source  # read from the table, not written here


def test_only_the_transmission_explorer_runs_monte_carlo():
    explorer = W.landscape_explorer()
    with pytest.raises(ValueError, match="transmission explorer"):
        explorer.monte_carlo()
    assert _drive(explorer, {"type": "ping"}) == []  # no kernel control there, nothing answers


@pytest.mark.slow
def test_monte_carlo_round_trip_through_a_real_kernel():
    """A kernel (as JupyterLab or Binder runs) answers the front end's comm messages: ping, then Monte Carlo.

    The test plays the front end: it sends the widget's custom messages on
    the comm (``{"method": "custom", "content": ...}``, as anywidget's
    ``model.send`` does) and reads the replies from IOPub. While the Monte
    Carlo runs in its thread, the kernel still executes a cell.
    """
    import os
    import queue

    import lib
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(ROOT))
    try:
        out = []
        kc.execute_interactive("import lib.widgets as W; e = W.transmission_explorer(); "
                               "print(e.comm.comm_id, W.__file__)", timeout=120, output_hook=out.append)
        text = "".join(m["content"].get("text", "") for m in out if m["msg_type"] == "stream")
        comm_id, module = text.split()
        assert Path(module).resolve() == (ROOT / "lib" / "widgets.py").resolve()

        def send(content):
            kc.shell_channel.send(kc.session.msg("comm_msg", {"comm_id": comm_id,
                                                              "data": {"method": "custom", "content": content}}))

        def reply_of(kind, timeout=600):
            while True:
                try:
                    msg = kc.get_iopub_msg(timeout=timeout)
                except queue.Empty:
                    pytest.fail(f"no {kind} from the kernel")
                data = msg["content"].get("data", {})
                if (msg["msg_type"] == "comm_msg" and msg["content"].get("comm_id") == comm_id
                        and data.get("method") == "custom" and data["content"].get("type") == kind):
                    return data["content"]

        send({"type": "ping"})
        assert reply_of("pong") == {"type": "pong"}
        params = {"experiment": "deflected", "s": 2.0, "M": 1.0, "omega_min": 1.0, "omega_max": 10.0}
        send({"type": "monte_carlo", "id": 5, "trials": 300, "seed": 0, "params": params})
        assert kc.execute_interactive("answer = 6 * 7", timeout=600)["content"]["status"] == "ok"  # not blocked
        got = reply_of("monte_carlo_result")
        ref = lib.transmission_probability("deflected", lib.Model(M=1.0, s=2.0), W.curve_temperatures(1.0, 10.0),
                                           trials=300, seed=0, use_cache=False, progress=False)
        assert got["id"] == 5 and got["temperature"] == W.curve_temperatures(1.0, 10.0)
        assert got["probability"] == [float(v) for v in ref.probability]
        assert got["activation_energy"] == [None if np.isnan(v) else float(v) for v in ref.activation_energy]
        send({"type": "monte_carlo", "id": 6, "trials": 50})
        assert "trials must be an integer" in reply_of("monte_carlo_error")["message"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
