"""The explorers' JavaScript engine (lib/js/engine.js) agrees with lib, checked in headless Chromium.

The folder ``lib/js`` (the files the explorers bundle) is served from
localhost next to an empty page; Debian's Chromium (through Playwright)
imports ``engine.js`` there and runs it on inputs made by lib, and the
results are compared with lib's:

* outcomes of 10,000 shared initial conditions (the four experiments at
  several temperatures, masses and impact parameters): equal on at least
  99.9% (in practice all, since the engine ports lib's arithmetic);
* a 40 x 40 phase-space map, both conventions: transmitted fraction within
  0.25% (4 grid points) of lib's;
* P(omega_T) and E_a(omega_T) at a few temperatures, for a gate at rest and
  for gate levels, against lib.quadrature on a transmitting set of the same
  resolution: relative difference below 1e-3 (boundaries are bisected to
  1e-6, so the two differ only where a bisection ends differently); and the
  explorer's resolution against lib's converged quadrature: within 5%.

Marked ``browser``; skipped without /usr/bin/chromium unless REQUIRE_BROWSER is set.
"""
import http.server
import os
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

import lib
from lib.integrate import run
from lib.phase_space import phase_space_map
from lib.quadrature import quadrature, transmission_quadrature
from lib.transmitting import transmitting_set
from lib.widgets import BROWSER_EXPERIMENTS

pytestmark = pytest.mark.browser

JS = Path(lib.__file__).with_name("js")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PAGE = "<!doctype html><meta charset=utf-8><title>engine</title>"


@pytest.fixture(scope="module")
def page():
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} not found")
        pytest.skip(f"{CHROMIUM} not found: install Debian's Chromium (make browser)")
    playwright = pytest.importorskip("playwright.sync_api")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # the empty page at /, the engine's files beside it
            if self.path in ("/", "/index.html"):
                body = PAGE.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            super().do_GET()

        def guess_type(self, path):
            return "text/javascript" if str(path).endswith(".js") else super().guess_type(path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(JS)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    requests = []
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pg = browser.new_page()
            pg.on("request", lambda r: requests.append(r.url))
            pg.goto(f"http://127.0.0.1:{server.server_address[1]}/")
            pg.evaluate("async () => { window.E = await import('/engine.js'); }")
            yield pg
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    outside = [u for u in requests if not u.startswith("http://127.0.0.1:")]
    assert not outside, outside


def js(page, code, arg=None):
    return page.evaluate(code, arg)


def shared_states():
    """10,000 initial conditions from lib's samplers: (model, states, frozen) blocks."""
    rng = np.random.default_rng(2026)
    blocks = []
    for M, s in [(1.0, 2.0), (0.2, 0.0), (5.0, 2.0), (1.0, 0.0), (2.0, 1.0)]:
        model = lib.Model(M=M, s=s)
        for experiment in BROWSER_EXPERIMENTS:  # the paper's four
            for omega in (1.0, 4.0):
                blocks.append((model, lib.sample(experiment, model, omega, 250, rng),
                               lib.experiments.is_frozen(experiment)))
    assert sum(len(b[1]) for b in blocks) == 10_000
    return blocks


def test_outcomes_of_ten_thousand_shared_initial_conditions(page):
    same = total = 0
    transmitted = 0
    for model, states, frozen in shared_states():
        ref = run(model, states, frozen=frozen).outcome
        got = js(page, """([m, states, frozen]) => Array.from(E.run(E.model(m), Float64Array.from(states),
                           { frozen }))""", [{"M": model.M, "s": model.s}, states.ravel().tolist(), frozen])
        same += int(np.count_nonzero(np.asarray(got) == ref))
        total += ref.size
        transmitted += int(np.count_nonzero(ref == 1))
    assert total == 10_000
    assert 0.05 < transmitted / total < 0.95  # both outcomes are well represented
    assert same / total >= 0.999, f"{total - same} of {total} outcomes differ"


@pytest.mark.parametrize("convention", ["paper-text", "published-script"])
def test_forty_by_forty_map(page, convention):
    model = lib.Model(M=1.0, s=2.0)
    phase = 0.9
    ref = phase_space_map(model, phase, grid=40, convention=convention, use_cache=False, n_jobs=1)
    got = js(page, """([phase, convention]) => Array.from(E.phaseMap(E.model({ M: 1, s: 2 }), phase,
                      { grid: 40, convention }))""", [phase, convention])
    got = np.asarray(got, dtype=bool).reshape(40, 40)
    assert abs(got.mean() - ref.transmitted_fraction) <= 4 / 1600
    assert np.count_nonzero(got != ref.transmitted) <= 4


def test_trajectory_outcome_and_stop_time(page):
    model = lib.Model(M=1.0, s=2.0)
    y0, vy0 = lib.phase_space.oscillator_initial(4.0, 1.3)
    state = [model.x0, float(model.speed(7.0)), float(y0), float(vy0)]
    ref = lib.trajectory(model, state)
    got = js(page, """(state) => { const t = E.trajectory(E.model({ M: 1, s: 2 }), state);
                      return [t.outcome, t.t[t.t.length - 1], t.t.length]; }""", state)
    assert got[0] == ref.outcome
    assert got[1] == pytest.approx(ref.t[-1], rel=1e-9)
    assert got[2] == ref.t.size


RESOLUTION = dict(phases=16, refine=2, scan=16)
TEMPERATURES = [1.0, 2.0, 5.0]


@pytest.mark.parametrize("experiment", ["frozen", "deflected", "thermal", "joint"])
def test_probability_and_activation_energy_by_quadrature(page, experiment):
    model = lib.Model(M=1.0, s=2.0)
    gate = lib.experiments.get_experiment(experiment).gate
    tolerance = 1e-2
    n_max = (js(page, "([e, hi, tol]) => E.levelCutoff(e, E.model({ M: 1, s: 2 }), hi, tol)",
                [experiment, max(TEMPERATURES), tolerance]) if gate == "levels" else 0)
    assert n_max == (lib.quadrature.level_cutoff(experiment, model, max(TEMPERATURES), tolerance)
                     if gate == "levels" else 0)
    energy_tol = 1e-6
    ts = transmitting_set(model, gate, n_max=n_max, energy_tol=energy_tol, use_cache=False, n_jobs=1,
                          **(RESOLUTION if gate == "levels" else {"scan": RESOLUTION["scan"]}))
    ref = quadrature(experiment, ts, TEMPERATURES)
    got = js(page, """([e, gate, nMax, opts, omegas]) => {
                         const ts = E.transmittingSet(E.model({ M: 1, s: 2 }), gate, { nMax, ...opts });
                         return E.quadrature(e, ts, omegas); }""",
             [experiment, gate, n_max, {**RESOLUTION, "energyTol": energy_tol}, TEMPERATURES])
    P, Ea = np.asarray(got["probability"]), np.asarray(got["activation"])
    np.testing.assert_allclose(P, ref.probability, rtol=1e-3)
    np.testing.assert_allclose(Ea, ref.activation_energy, rtol=1e-3)
    # the explorer's resolution against lib's converged quadrature
    best = transmission_quadrature(experiment, model, TEMPERATURES, tolerance=1e-3, use_cache=False, n_jobs=1)
    np.testing.assert_allclose(P, best.probability, rtol=0.05)
    np.testing.assert_allclose(Ea, best.activation_energy, rtol=0.05)


def test_barriers(page):
    for s in (0.0, 1.0, 2.0):
        model = lib.Model(s=s)
        got = js(page, "(s) => { const m = E.model({ s }); return [E.frozenBarrier(m), E.relaxedBarrier(m)[0]]; }", s)
        assert got[0] == pytest.approx(lib.barriers.frozen_barrier(model), rel=1e-14)
        relaxed = lib.barriers.relaxed_barrier(model)
        assert got[1][1] == pytest.approx(relaxed.energy, rel=1e-10)
        # head-on (s = 0) the two minima at +-y are equally low: compare |y|
        assert abs(got[1][0]) == pytest.approx(abs(relaxed.y), abs=1e-8)
