"""The explorers' JavaScript engine (lib/js/engine.js) computes what lib computes, bit for bit, under Node.

The engine is lib's arithmetic written in JavaScript, operation for operation, with every constant
generated from lib's Python objects (lib.widgets.engine_constants), so its results are compared with
lib's for exact equality: a tolerance could only hide drift. Node runs the engine (it needs no DOM) in
one process per module, fed JSON; the engine's folder is copied next to a constants.js generated from
the current Python objects, as lib.widgets.bundle() writes them into the module the explorers ship.

* outcomes, derivative evaluations, final states and times of 10,000 shared initial conditions (the
  four experiments, several masses, impact parameters, temperatures), with the adaptive integrator;
  the same for a few hundred with the paper's fixed-step integrator;
* recorded trajectories (every step), to the outcome and to a time, also with a step limit;
* 40 x 40 phase-space maps in both conventions;
* transmitting sets at the explorer's resolution (every gate state's phase and intervals), for a
  gate held, at rest and in levels; a bisection continued from a coarser one ends where a direct one does;
* the level cutoff, the frozen and relaxed barriers;
* P and E_a by quadrature: to 1e-13 (the sums use Math.exp and another order of summation than
  numpy), and the explorer's resolution against lib's converged quadrature (5%).

sin and cos of the gate's initial phase are the one place where the browser's library and C's differ
(in the last bit, for a few per cent of phases); the engine takes them from ``E.trig``, which these
tests set to numpy's values for the phases lib uses. lib/js/constants.js must be fresh (the engine
in Node reads it), and changing a controller constant in Python changes what the engine does.

Needs ``node`` (skipped without it unless REQUIRE_BROWSER is set, as in CI). Quick: part of make test-quick.
"""
import json
import shutil
import subprocess

import numpy as np
import pytest

import lib
from lib import kernels
from lib import widgets as W
from lib.integrate import ADAPTIVE, run
from lib.phase_space import oscillator_initial, phase_space_map
from lib.quadrature import level_cutoff, quadrature, transmission_quadrature
from lib.transmitting import transmitting_set
from scripts.browser import require

DRIVER = r"""
import { createInterface } from "node:readline";
const E = await import(process.argv[2]);
const AsyncFunction = (async () => {}).constructor;
const revive = (k, v) => (v && typeof v === "object" && "$float" in v ? Number(v.$float) : v);
const encode = (k, v) => (typeof v === "number" && !Number.isFinite(v) ? { $float: String(v) }
  : ArrayBuffer.isView(v) ? Array.from(v) : v);
const H = {
  // sin and cos of the phases lib used, as numpy computed them: [[phase, sin, cos], ...]
  setTrig(rows) {
    const table = new Map(rows.map(([p, s, c]) => [p, [s, c]]));
    const get = (k) => (p) => {
      if (!table.has(p)) throw new Error(`phase ${p} is not one lib used`);
      return table.get(p)[k];
    };
    E.trig.sin = get(0); E.trig.cos = get(1);
  },
  resetTrig() { E.trig.sin = Math.sin; E.trig.cos = Math.cos; },
};
for await (const line of createInterface({ input: process.stdin })) {
  const { code, arg } = JSON.parse(line, revive);
  let reply;
  try {
    reply = { ok: await new AsyncFunction("E", "H", "arg", code)(E, H, arg) };
  } catch (error) {
    reply = { error: String(error && error.stack || error) };
  }
  process.stdout.write(JSON.stringify(reply, encode) + "\n");
}
"""


def _encode(value):
    """Python values as the driver reads them (non-finite floats spelled out)."""
    if isinstance(value, float) and not np.isfinite(value):
        return {"$float": "Infinity" if value > 0 else "-Infinity" if value < 0 else "NaN"}
    if isinstance(value, np.ndarray):
        return _encode(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode(obj):
    return float(obj["$float"]) if set(obj) == {"$float"} else obj


class Node:
    """One Node process running engine.js from ``folder``: ``node(code, arg)`` runs
    ``async (E, H, arg) => { code }`` there and returns its result."""

    def __init__(self, folder):
        (folder / "driver.mjs").write_text(DRIVER)
        self.proc = subprocess.Popen(["node", str(folder / "driver.mjs"), str(folder / "engine.js")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def __call__(self, code, arg=None):
        self.proc.stdin.write(json.dumps({"code": code, "arg": _encode(arg)}, allow_nan=False) + "\n")
        line = self.proc.stdout.readline()
        if not line:
            pytest.fail(f"node ended (exit {self.proc.wait()})")
        reply = json.loads(line, object_hook=_decode)
        if "error" in reply:
            pytest.fail(f"in node: {reply['error']}")
        return reply.get("ok")  # undefined in JavaScript

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def engine_folder(path, constants: dict | None = None):
    """``lib/js`` copied to ``path`` with constants.js generated now (or from ``constants``)."""
    path.mkdir(parents=True, exist_ok=True)
    for f in W.JS_DIR.glob("*.js"):
        shutil.copy(f, path / f.name)
    constants = W.engine_constants() if constants is None else constants
    (path / "constants.js").write_text(f"export const CONSTANTS = {json.dumps(constants)};\n")
    return path


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    require("node")
    n = Node(engine_folder(tmp_path_factory.mktemp("engine")))
    yield n
    n.close()


def with_numpy_trig(node, phases):
    """Make the engine use numpy's sin and cos of ``phases`` (the ones lib used)."""
    phases = np.unique(np.asarray(phases, dtype=float))
    node("H.setTrig(arg)", np.stack([phases, np.sin(phases), np.cos(phases)], axis=1))


MODEL = "E.model({ M: arg.M, s: arg.s, U0: arg.U0, lam: arg.lam })"


def m_arg(model):
    return {"M": model.M, "s": model.s, "U0": model.U0, "lam": model.lam}


def test_constants_file_is_fresh():
    """lib/js/constants.js (the engine's constants for Node) is what lib's objects give now."""
    assert W.CONSTANTS_FILE.read_text(encoding="utf-8") == W.constants_module(), \
        "lib/js/constants.js is stale: run `python -m lib.widgets` and commit it"
    assert W.main(["--check"]) == 0


def test_every_constant_comes_from_lib():
    c = W.engine_constants()
    assert c["kernels"]["SAFETY"] == kernels.SAFETY and c["kernels"]["MAX_FACTOR"] == kernels.MAX_FACTOR
    adaptive = c["integrators"]["adaptive"]
    assert adaptive["rtol"] == ADAPTIVE.rtol and adaptive["free_flight_tol"] == ADAPTIVE.free_flight_tol
    assert adaptive["tableau"]["e"] == ADAPTIVE.tableau.e.tolist()
    assert c["integrators"]["paper"]["h"] == lib.integrate.PAPER.h
    assert c["transmitting"]["NEGLIGIBLE"] == lib.transmitting.NEGLIGIBLE
    assert c["experiments"]["joint"] == {"gate": "levels", "density": "split", "frozen": False}
    assert list(c["experiments"]) == list(W.BROWSER_EXPERIMENTS) == ["frozen", "deflected", "thermal", "joint"]
    # the engine's source holds no tableau, tolerance or controller literal of its own
    source = (W.JS_DIR / "engine.js").read_text()
    for literal in ("35 / 384", "1e-8", "= 0.9", "1e-12", "0.25,", "= 16;", "= 4.0;", "1e8"):
        assert literal not in source, literal


def shared_states():
    """10,000 initial conditions from lib's samplers: (model, states, frozen) blocks."""
    rng = np.random.default_rng(2026)
    blocks = []
    for M, s in [(1.0, 2.0), (0.2, 0.0), (5.0, 2.0), (1.0, 0.0), (2.0, 1.0)]:
        model = lib.Model(M=M, s=s)
        for experiment in W.BROWSER_EXPERIMENTS:
            for omega in (1.0, 4.0):
                blocks.append((model, lib.sample(experiment, model, omega, 250, rng),
                               lib.experiments.is_frozen(experiment)))
    assert sum(len(b[1]) for b in blocks) == 10_000
    return blocks


RUN = f"const r = E.run({MODEL}, arg.states, {{ frozen: arg.frozen, integrator: arg.integrator }}); return r;"


def _compare_runs(node, blocks, integrator):
    transmitted = total = 0
    for model, states, frozen in blocks:
        ref = run(model, states, integrator, frozen=frozen, keep_final=True)
        got = node(RUN, {**m_arg(model), "states": states.ravel(), "frozen": frozen, "integrator": integrator})
        np.testing.assert_array_equal(got["outcome"], ref.outcome)
        np.testing.assert_array_equal(got["evaluations"], ref.evaluations)  # the step counts
        np.testing.assert_array_equal(got["accepted"], ref.steps)
        np.testing.assert_array_equal(got["rejected"], ref.rejected)
        np.testing.assert_array_equal(got["reason"], ref.reason)
        np.testing.assert_array_equal(np.reshape(got["finalState"], (-1, 4)), ref.final_state)
        np.testing.assert_array_equal(got["finalTime"], ref.final_time)
        transmitted += int(np.count_nonzero(ref.outcome == 1))
        total += ref.outcome.size
    return transmitted, total


def test_ten_thousand_shared_initial_conditions_bitwise(node):
    transmitted, total = _compare_runs(node, shared_states(), "adaptive")
    assert total == 10_000
    assert 0.05 < transmitted / total < 0.95  # both outcomes are well represented


def test_undecided_reasons_and_the_minimum_step_as_lib(node):
    """The minimum step comes from lib (Integrator.h_min, through the constants); each reason as lib reports it."""
    model = lib.Model(M=1.0, s=2.0)
    states = lib.sample("thermal", model, 3.0, 40, np.random.default_rng(1))
    assert W.engine_constants()["integrators"]["adaptive"]["h_min"] == ADAPTIVE.h_min
    code = (f"const r = E.run({MODEL}, arg.states, {{ options: arg.options }}); "
            f"const t = E.trajectory({MODEL}, arg.states.slice(0, 4), {{ options: arg.options }}); "
            "return [r, [t.outcome, t.accepted, t.rejected, t.reason]];")
    for options, reason in [({"h": 0.25, "h_min": 0.2497}, kernels.MINIMUM_STEP),
                            ({"h": 0.25, "max_rejected": 0}, kernels.REJECTION_BUDGET),
                            ({"max_steps": 3}, kernels.STEP_BUDGET)]:
        integ = ADAPTIVE.with_options(**options)
        ref = run(model, states, integ)
        got, traj = node(code, {**m_arg(model), "states": states.ravel(), "options": options})
        assert np.any(ref.reason == reason)
        for field, mine in (("outcome", "outcome"), ("evaluations", "evaluations"), ("steps", "accepted"),
                            ("rejected", "rejected"), ("reason", "reason")):
            np.testing.assert_array_equal(got[mine], getattr(ref, field), err_msg=f"{options} {field}")
        path = lib.trajectory(model, states[0], integ)
        assert traj == [path.outcome, path.steps, path.rejected, path.reason]


def test_paper_integrator_bitwise(node):
    """The paper's fixed-step tableau (Butcher RK5) runs through the same generic driver."""
    rng = np.random.default_rng(3)
    model = lib.Model(M=1.0, s=2.0)
    blocks = [(model, lib.sample(e, model, 3.0, 25, rng), lib.experiments.is_frozen(e)) for e in ("deflected", "thermal")]
    transmitted, total = _compare_runs(node, blocks, "paper")
    assert 0 < transmitted < total


@pytest.mark.parametrize("t_end, options", [(None, {}), (2.5, {}), (None, {"h_max": 0.005})])
def test_recorded_trajectory_bitwise(node, t_end, options):
    model = lib.Model(M=1.0, s=2.0)
    y0, vy0 = oscillator_initial(4.0, 1.3)
    with_numpy_trig(node, [])
    state = [model.x0, float(model.speed(7.0)), float(y0), float(vy0)]
    ref = lib.trajectory(model, state, ADAPTIVE.with_options(**options), t_end=t_end)
    got = node(f"return E.trajectory({MODEL}, arg.state, {{ tEnd: arg.tEnd, options: arg.options }});",
               {**m_arg(model), "state": state, "tEnd": t_end, "options": options})
    assert got["outcome"] == ref.outcome
    np.testing.assert_array_equal(got["t"], ref.t)
    np.testing.assert_array_equal(np.stack([got[k] for k in ("x", "vx", "y", "vy")], axis=1), ref.states)


@pytest.mark.parametrize("convention", ["paper-text", "published-script"])
@pytest.mark.parametrize("phase", [0.9, 2.0])
def test_forty_by_forty_map_bitwise(node, convention, phase):
    model = lib.Model(M=1.0, s=2.0)
    ref = phase_space_map(model, phase, grid=40, convention=convention, use_cache=False, n_jobs=1)
    with_numpy_trig(node, [phase])
    got = node(f"return E.phaseMap({MODEL}, arg.phase, {{ grid: 40, convention: arg.convention }});",
               {**m_arg(model), "phase": phase, "convention": convention})
    node("H.resetTrig()")
    got = np.asarray(got, dtype=bool).reshape(40, 40)
    np.testing.assert_array_equal(got, ref.transmitted)
    assert 0.1 < ref.transmitted_fraction < 0.9


RESOLUTION = {"phases": 16, "refine": 2, "scan": 16}
"""The transmission explorer's converged stage (lib.widgets.QUADRATURE_STAGES[-1])."""

TEMPERATURES = [1.0, 2.0, 5.0]


def _sets(node, experiment, model, n_max, energy_tol):
    gate = lib.experiments.get_experiment(experiment).gate
    kwargs = RESOLUTION if gate == "levels" else {"scan": RESOLUTION["scan"]}
    ref = transmitting_set(model, gate, n_max=n_max, energy_tol=energy_tol, use_cache=False, n_jobs=1, **kwargs)
    with_numpy_trig(node, ref.phases)
    got = node(f"""return E.transmittingSet({MODEL}, arg.gate, {{ nMax: arg.nMax, energyTol: arg.tol,
                                                                  ...arg.kwargs }});""",
               {**m_arg(model), "gate": gate, "nMax": n_max, "tol": energy_tol, "kwargs": kwargs})
    node("H.resetTrig()")
    return ref, got


def test_explorer_resolution_matches_lib():
    assert {k: W.QUADRATURE_STAGES[-1][k] for k in RESOLUTION} == RESOLUTION


@pytest.mark.parametrize("experiment", ["frozen", "deflected", "thermal"])
def test_transmitting_set_bitwise(node, experiment):
    model = lib.Model(M=1.0, s=2.0)
    n_max = level_cutoff(experiment, model, 4.0, 1e-2) if experiment == "thermal" else 0
    ref, got = _sets(node, experiment, model, n_max, 2.5e-3)
    assert got["levels"] == ref.levels.tolist()
    for i, level in enumerate(got["states"]):
        sel = np.nonzero(ref.level_of_state == ref.levels[i])[0]
        assert [st["phase"] for st in level] == ref.phases[sel].tolist()
        for st, k in zip(level, sel):
            assert [tuple(iv) for iv in st["intervals"]] == [tuple(iv) for iv in ref.intervals(k)], (i, st["phase"])
        np.testing.assert_array_equal([st["weight"] for st in level], ref.phase_weights()[sel])
    assert sum(len(level) for level in got["states"]) == ref.n_states


def test_bisection_continued_from_a_coarser_one_ends_where_a_direct_one_does(node):
    got = node(f"""const m = {MODEL};
        const coarse = E.scanState(m, 1.1, -3.0, {{ scan: 16 }});
        E.bisect(m, 1.1, -3.0, coarse.brackets, {{ energyTol: 0.05 }});
        const first = E.intervalsOf(coarse.brackets);
        E.bisect(m, 1.1, -3.0, coarse.brackets, {{ energyTol: 1e-4 }});
        return [first, E.intervalsOf(coarse.brackets), E.findIntervals(m, 1.1, -3.0, {{ scan: 16, energyTol: 1e-4 }})];""",
               m_arg(lib.Model(M=1.0, s=2.0)))
    coarse, continued, direct = got
    assert continued == direct and len(direct) >= 1
    assert coarse != direct and len(coarse) == len(direct)
    ref = lib.transmitting.find_intervals(lib.Model(M=1.0, s=2.0), 1.1, -3.0, scan=16, energy_tol=1e-4)
    assert [list(iv) for iv in zip(ref[0][0], ref[1][0]) if np.isfinite(iv[0])] == [list(iv) for iv in direct]


@pytest.mark.parametrize("experiment", W.BROWSER_EXPERIMENTS)
def test_probability_and_activation_energy_by_quadrature(node, experiment):
    model = lib.Model(M=1.0, s=2.0)
    gate = lib.experiments.get_experiment(experiment).gate
    tolerance = W.QUADRATURE_TOLERANCE
    n_max = node(f"return E.levelCutoff(arg.e, {MODEL}, arg.hi, arg.tol);",
                 {**m_arg(model), "e": experiment, "hi": max(TEMPERATURES), "tol": tolerance})
    assert n_max == level_cutoff(experiment, model, max(TEMPERATURES), tolerance)
    n_max = n_max if gate == "levels" else 0
    ref_ts, _ = _sets(node, experiment, model, n_max, 1e-6)
    ref = quadrature(experiment, ref_ts, TEMPERATURES)
    with_numpy_trig(node, ref_ts.phases)
    got = node(f"""const ts = E.transmittingSet({MODEL}, arg.gate, {{ nMax: arg.nMax, energyTol: 1e-6, ...arg.kw }});
                   return E.quadrature(arg.e, ts, arg.omegas);""",
               {**m_arg(model), "gate": gate, "nMax": n_max, "e": experiment, "omegas": TEMPERATURES,
                "kw": RESOLUTION if gate == "levels" else {"scan": RESOLUTION["scan"]}})
    node("H.resetTrig()")
    P, Ea = np.asarray(got["probability"]), np.asarray(got["activation"])
    np.testing.assert_allclose(P, ref.probability, rtol=1e-13)
    np.testing.assert_allclose(Ea, ref.activation_energy, rtol=1e-13)


@pytest.mark.slow
@pytest.mark.parametrize("experiment", W.BROWSER_EXPERIMENTS)
def test_explorer_resolution_against_converged_quadrature(node, experiment):
    """The explorer's converged stage, bisected as it does for omega_min = 1, against lib at tolerance 1e-3."""
    model = lib.Model(M=1.0, s=2.0)
    gate = lib.experiments.get_experiment(experiment).gate
    n_max = level_cutoff(experiment, model, max(TEMPERATURES), W.QUADRATURE_TOLERANCE) if gate == "levels" else 0
    width = W.QUADRATURE_TOLERANCE * min(TEMPERATURES) / 4
    got = node(f"""const ts = E.transmittingSet({MODEL}, arg.gate, {{ nMax: arg.nMax, energyTol: arg.width, ...arg.kw }});
                   return E.quadrature(arg.e, ts, arg.omegas);""",
               {**m_arg(model), "gate": gate, "nMax": n_max, "e": experiment, "omegas": TEMPERATURES,
                "width": width, "kw": RESOLUTION if gate == "levels" else {"scan": RESOLUTION["scan"]}})
    best = transmission_quadrature(experiment, model, TEMPERATURES, tolerance=1e-3, use_cache=False, n_jobs=1)
    np.testing.assert_allclose(got["probability"], best.probability, rtol=0.05)
    np.testing.assert_allclose(got["activation"], best.activation_energy, rtol=0.05)


@pytest.mark.parametrize("s, U0, lam", [(0.0, 10.0, 2.0), (1.0, 10.0, 2.0), (2.0, 10.0, 2.0), (2.7, 17.3, 0.8),
                                        (-1.4, 3.0, 3.5), (0.3, 0.0, 2.0)])
def test_barriers_bitwise(node, s, U0, lam):
    model = lib.Model(s=s, U0=U0, lam=lam)
    got = node(f"const m = {MODEL}; return [E.frozenBarrier(m), E.relaxedBarrier(m)];", m_arg(model))
    assert got[0] == lib.barriers.frozen_barrier(model)
    ref = lib.barriers.relaxed_barrier(model)
    assert (got[1]["energy"], got[1]["y"]) == (ref.energy, ref.y)
    assert [tuple(m) for m in got[1]["minima"]] == list(ref.minima)


def test_a_controller_constant_changed_in_python_changes_the_engine(tmp_path, monkeypatch):
    """No JavaScript edit: the constant travels from lib.kernels to the engine (and into the bundle)."""
    require("node")
    model = lib.Model(M=1.0, s=2.0)
    states = lib.sample("thermal", model, 2.0, 200, np.random.default_rng(5))
    ref = run(model, states).evaluations
    code = f"return E.run({MODEL}, arg.states).evaluations;"
    arg = {**m_arg(model), "states": states.ravel()}
    monkeypatch.setattr(kernels, "SAFETY", 0.7)
    changed = W.engine_constants()
    assert changed["kernels"]["SAFETY"] == 0.7
    assert '\\"SAFETY\\": 0.7' in W.build_bundle()  # inside the engine's source, a JSON string
    node = Node(engine_folder(tmp_path / "changed", changed))
    try:
        evaluations = np.asarray(node(code, arg))
    finally:
        node.close()
    assert np.count_nonzero(evaluations != ref) > 100  # another controller: other step sequences
    monkeypatch.undo()
    node = Node(engine_folder(tmp_path / "lib"))
    try:
        np.testing.assert_array_equal(node(code, arg), ref)  # lib's constant: lib's step counts
    finally:
        node.close()


def test_the_minimum_step_changed_in_python_changes_the_engine(tmp_path):
    """Integrator.h_min reaches the engine through the generated constants, with no JavaScript edit."""
    require("node")
    model = lib.Model(M=1.0, s=2.0)
    states = lib.sample("thermal", model, 3.0, 40, np.random.default_rng(1))
    changed = W.engine_constants()
    changed["integrators"]["adaptive"].update(h=0.25, h_min=0.2497)
    ref = run(model, states, ADAPTIVE.with_options(h=0.25, h_min=0.2497))
    assert np.all(ref.reason == kernels.MINIMUM_STEP)
    node = Node(engine_folder(tmp_path / "changed", changed))
    try:
        got = node(f"return E.run({MODEL}, arg.states);", {**m_arg(model), "states": states.ravel()})
    finally:
        node.close()
    np.testing.assert_array_equal(got["reason"], ref.reason)
    np.testing.assert_array_equal(got["evaluations"], ref.evaluations)


def test_the_bundles_engine_is_this_engine(tmp_path):
    """The engine inside the shipped bundle (constants written in) computes what constants.js's does."""
    require("node")
    source = W.build_bundle()
    engine = json.loads(source[len("const ENGINE_SOURCE = "):source.index(";\nconst WORKER_SOURCE")])
    assert "import " not in engine.split("\n", 40)[-1] and W.CONSTANTS_IMPORT not in engine
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "engine.js").write_text(engine)
    model = lib.Model(M=0.2, s=0.0)
    states = lib.sample("joint", model, 3.0, 300, np.random.default_rng(8))
    node = Node(folder)
    try:
        got = node(RUN, {**m_arg(model), "states": states.ravel(), "frozen": False, "integrator": "adaptive"})
    finally:
        node.close()
    ref = run(model, states, keep_final=True)
    np.testing.assert_array_equal(got["outcome"], ref.outcome)
    np.testing.assert_array_equal(got["evaluations"], ref.evaluations)
