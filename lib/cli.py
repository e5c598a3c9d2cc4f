"""Command line: ``python -m lib {probability,transmitting-set,barrier,phase-space,scattering,sweep,reproduce,warmup} --help``.

Bad input gives a one-line message naming the parameter and exit status 2;
a refusal by the system (a file that cannot be written) exit status 1; a
closed pipe a quiet exit with status 141. Warnings (a damaged or unusable
cache entry, undecided trajectories) are one line each on standard error.
Ctrl-C (SIGINT) and SIGTERM stop the work alike: finished blocks stay in the
cache, worker processes are shut down, the process exits normally (so its
shared-memory files are removed by joblib's exit handlers), one line is
printed, and the exit status is 130 or 143.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import sys
import warnings
from pathlib import Path

from . import files, parallel
from .barriers import frozen_barrier, relaxed_barrier, vibrationally_adiabatic_barrier
from .cache import cache_dir
from .experiments import DESCRIPTIONS, EXPERIMENT_REGISTRY, figure_experiments
from .inputs import (IMPACT_RANGE, LAMBDA_RANGE, MASS_RANGE, MAX_CHANNELS, MAX_CLOSED, MAX_SECTORS,
                     SCATTERING_ENERGY_RANGE, TEMPERATURE_RANGE, U0_RANGE, check_energies, check_integer, check_seed,
                     check_trials)
from .model import Model
from .phase_space import OSCILLATOR_RANGE, PARTICLE_RANGE, phase_space_map
from .quadrature import quasi_classical_threshold
from .quantum import ground_state_threshold
from .reproduce import FIGURES, reproduce
from .scattering import scatter
from .sweeps import check_output, sweep, write_dataset
from .transmission import transmission_probability
from .transmitting import transmitting_set
from .warmup import main as warmup

EXIT_USAGE = 2
EXIT_FAILURE = 1  # the request was sound, the system refused it (a file could not be written)
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a pipeline cut short
EXIT_SIGNAL = 128  # plus the signal's number: 130 for SIGINT, 143 for SIGTERM


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when SIGTERM arrives, so that it unwinds like Ctrl-C."""

    signum = signal.SIGTERM


def _raise_terminated(signum, frame):
    raise Terminated()


def shutdown_workers() -> None:
    """Stop the worker processes of joblib's reusable loky executor, if one was started.

    Called when a command is interrupted. The process then exits normally, so
    joblib's and loky's exit handlers remove their memory-mapping folders and
    semaphores from ``/dev/shm`` and unregister them from the resource tracker,
    which then exits quietly. (Removing those files here instead would make
    the tracker warn about them.)
    """
    try:
        from joblib.externals.loky import reusable_executor

        executor = reusable_executor._executor
        if executor is not None:
            executor.shutdown(wait=True, kill_workers=True)
    except Exception:  # best effort: never mask the interruption itself
        pass


def _integer(text: str) -> int:
    """argparse type: an integer, exactly (``9007199254740993`` stays itself; ``1e4`` is 10000)."""
    text = text.strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if not math.isfinite(value) or not value.is_integer() or abs(value) >= 2.0**53:
        raise argparse.ArgumentTypeError(f"must be an integer (exactly representable), got {text!r}")
    return int(value)


def _writable_file(path, suffixes) -> Path:
    """Check before any work that ``path`` can be written as a file; raise OSError otherwise."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise ValueError(f"--out must end in {', '.join(suffixes[:-1])} or {suffixes[-1]}, got {str(path)!r}")
    if path.is_dir():
        raise IsADirectoryError(f"--out {str(path)!r} is a folder, not a file")
    parent = path.parent if str(path.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise NotADirectoryError(f"--out {str(path)!r}: {str(parent)!r} is a file, not a folder")
    if not parent.is_dir():
        raise NotADirectoryError(f"--out {str(path)!r}: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"--out {str(path)!r}: folder {str(parent)!r} is not writable")
    return path


def _writable_folder(path) -> Path:
    """Check before any work that ``path`` is, or can be made, a writable folder; raise OSError otherwise."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"--out {str(path)!r} is a file, not a folder")
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK):
        raise PermissionError(f"--out {str(path)!r}: {str(probe)!r} is not a writable folder")
    return path


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block) and exit status 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _number(v: float) -> str:
    """A bound as the help shows it: powers of ten from 1e3 up and 1e-3 down as ``1e3``, others as ``%g``."""
    if v != 0 and abs(math.log10(abs(v)) % 1.0) < 1e-12 and abs(math.log10(abs(v))) >= 3:
        return f"{'-' if v < 0 else ''}1e{round(math.log10(abs(v)))}"
    return f"{v:g}"


def _interval(bounds, *, open_low: bool = False) -> str:
    """``[low, high]`` of a range of :mod:`lib.inputs` (``(0, high]`` with ``open_low``), for the help."""
    low, high = bounds
    return f"{'(0' if open_low else '[' + _number(low)}, {_number(high)}]"


def _add_model_args(p, *, mass: bool = True):
    p.add_argument("--impact", "-s", type=float, default=0.0, metavar="S",
                   help=f"impact parameter s in {_interval(IMPACT_RANGE)} (default 0; the paper uses 0 and 2)")
    if mass:
        p.add_argument("--mass", "-M", type=float, default=1.0, metavar="M",
                       help=f"particle mass in oscillator masses, in {_interval(MASS_RANGE)} (default 1; the paper "
                            "uses 0.2, 1, 5)")
    p.add_argument("--u0", type=float, default=10.0, metavar="U0",
                   help=f"height of the Gaussian repulsion, in {_interval(U0_RANGE)} (default 10)")
    p.add_argument("--lam", type=float, default=2.0, metavar="L",
                   help=f"width lambda of the Gaussian, in {_interval(LAMBDA_RANGE)} (default 2)")


def _add_run_args(p):
    p.add_argument("--jobs", "-j", type=_integer, default=None, metavar="J",
                   help="worker processes (default: $ACTIVATION_JOBS or all cores)")
    p.add_argument("--integrator", choices=("adaptive", "paper"), default="adaptive",
                   help="adaptive Dormand-Prince 5(4) (default) or the paper's fixed-step RK5")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the on-disk cache")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run on the Dask cluster of this scheduler, e.g. tcp://host:8786 (default: "
                        "$ACTIVATION_SCHEDULER, else local processes); results are the same")


def _values(text: str) -> list[float]:
    """argparse type: a number, or ``LOW:HIGH:N`` for N evenly spaced values from LOW to HIGH."""
    parts = text.split(":")
    try:
        if len(parts) == 1:
            return [float(text)]
        if len(parts) == 3:
            try:
                n = _integer(parts[2])
            except argparse.ArgumentTypeError:
                raise ValueError from None
            low, high = float(parts[0]), float(parts[1])
            if n < 1 or n > 100_000:
                raise argparse.ArgumentTypeError(f"N in LOW:HIGH:N must be between 1 and 100000, got {text!r}")
            if n == 1:
                return [low]
            return [low + (high - low) * k / (n - 1) for k in range(n)]
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"must be a number or LOW:HIGH:N, got {text!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m lib",
                     description="Simulations for 'On activation in solid ionic electrolytes' "
                                 "(Noori, Olsen, Rodin).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("probability", help="transmission probability against temperature",
                       description="Transmission probability P(omega_T) of one experiment, with binomial "
                                   "standard errors and Wilson 95% intervals.")
    p.add_argument("--experiment", "-e", required=True, choices=tuple(EXPERIMENT_REGISTRY),
                   metavar="{" + ",".join(EXPERIMENT_REGISTRY) + "}",
                   help="; ".join(f"{name}: {description}" for name, description in DESCRIPTIONS.items())
                   .replace("%", "%%"))
    _add_model_args(p)
    p.add_argument("--temperature", "-T", type=float, nargs="+", required=True, metavar="T",
                   help=f"temperatures omega_T = k_B T / (hbar Omega), each in {_interval(TEMPERATURE_RANGE)}")
    p.add_argument("--trials", "-n", type=_integer, default=10_000, metavar="N",
                   help="trials per temperature (default 10000)")
    p.add_argument("--seed", type=_integer, default=0, metavar="K", help="random seed (default 0)")
    p.add_argument("--method", "-m", choices=("montecarlo", "quadrature", "quantum"), default="montecarlo",
                   help="sample trials (default), integrate over the transmitting set, or the exact quantum "
                        "model by coupled-channel scattering (deflected: the gate in its ground state)")
    p.add_argument("--tolerance", type=float, default=None, metavar="TOL",
                   help="relative accuracy of P for --method quadrature or quantum (default 1e-3)")
    _add_run_args(p)
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (with activation_energy and, for quadrature and quantum, error)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    p = sub.add_parser("transmitting-set", help="the transmitting particle energies for each gate state",
                       description="Intervals of particle energy that transmit, for the gate at rest "
                                   "(--gate rest or frozen), in levels 0..N with phases at x_ref "
                                   "(--gate levels) or with gate energies 0..N (--gate energies).")
    _add_model_args(p)
    p.add_argument("--gate", choices=("rest", "frozen", "levels", "energies"), default="rest",
                   help="gate at rest and free (deflected, default), held (frozen), in levels, or a classical "
                        "gate of continuous energy (energies)")
    p.add_argument("--levels", type=float, default=0, metavar="N",
                   help="highest level (--gate levels, an integer) or gate energy (--gate energies)")
    p.add_argument("--phases", type=_integer, default=64, metavar="P",
                   help="phases of the initial periodic grid (--gate levels; default 64)")
    p.add_argument("--refine", type=_integer, default=4, metavar="R",
                   help="passes of phase refinement where the intervals jump (--gate levels; default 4)")
    p.add_argument("--scan", type=_integer, default=32, metavar="K",
                   help="energies scanned in (0, U0) before bisection (default 32)")
    p.add_argument("--energy-tol", type=float, default=1e-6, metavar="DE",
                   help="bisection width of each boundary (default 1e-6)")
    _add_run_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", "-o", metavar="FILE", help="write the set: .json or .npz")

    p = sub.add_parser("barrier", help="frozen and relaxed barriers",
                       description="Frozen barrier U(s) and relaxed (NEB-like) barrier E*.")
    _add_model_args(p, mass=False)
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("phase-space", help="transmission map over particle and oscillator energies",
                       description=f"Outcome over a grid of particle energies {_interval(PARTICLE_RANGE)} and "
                                   f"oscillator energies {_interval(OSCILLATOR_RANGE)} at one oscillator phase "
                                   "(Fig. 3).")
    _add_model_args(p)
    p.add_argument("--phase", "-p", type=float, default=0.0, metavar="PHI",
                   help="oscillator phase in radians (default 0)")
    p.add_argument("--grid", "-g", type=_integer, default=200, metavar="N",
                   help="points per axis (default 200, as in the paper)")
    p.add_argument("--convention", choices=("paper-text", "published-script"), default="paper-text",
                   help="how energy and phase set the oscillator (default: as the paper's text says)")
    p.add_argument("--out", "-o", metavar="FILE",
                   help="write the map: .png/.pdf/.svg (a figure), .json or .npz (the data)")
    _add_run_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object with the grid")

    p = sub.add_parser("scattering", help="exact quantum transmission of the particle past the gate",
                       description="Coupled-channel scattering of the particle by the quantum gate (lib.scattering): "
                                   "at each total energy E (the gate's zero point included), the transmission "
                                   "T_n and reflection R_n from every open level n and, with --json, the "
                                   "state-to-state probabilities. --threshold instead prints the lowest particle "
                                   "energy at which the ground-state gate transmits half, against the static, "
                                   "adiabatic and quasi-classical thresholds.")
    _add_model_args(p)
    p.add_argument("--energy", "-E", type=float, nargs="+", default=None, metavar="E",
                   help=f"total energies E in hbar Omega, each in {_interval(SCATTERING_ENERGY_RANGE, open_low=True)} "
                        "(a particle in level n has E - n - 1/2)")
    p.add_argument("--threshold", action="store_true",
                   help="print the quantum threshold of the ground-state gate (T_0 = 1/2) and its references")
    p.add_argument("--closed", type=_integer, default=None, metavar="C",
                   help=f"closed levels above the open ones (default 8, with --threshold 16; 0 to {MAX_CLOSED})")
    p.add_argument("--sectors", type=_integer, default=None, metavar="S",
                   help="sectors of the log-derivative propagation over [0, X] (default 96, with --threshold 192; "
                        f"2 to {MAX_SECTORS})")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("sweep", help="P and E_a over a grid of parameters, written as a labelled dataset",
                       description="Transmission probability and activation energy over the product grid "
                                   "of experiments, impact parameters, masses, U0 and lambda, at the given "
                                   "temperatures, by Monte Carlo or quadrature. Each grid point is one "
                                   "cache entry, so an interrupted sweep resumes. Writes an xarray "
                                   "Dataset (.nc, NetCDF, or .zarr). Values: numbers, or LOW:HIGH:N.")
    p.add_argument("--experiment", "-e", nargs="+", default=["thermal"], choices=tuple(EXPERIMENT_REGISTRY),
                   metavar="E", help="experiments (default thermal): " + ", ".join(EXPERIMENT_REGISTRY))
    for flags, dest, default, text in ((("--impact", "-s"), "impact", [0.0], "impact parameters s (default 0)"),
                                       (("--mass", "-M"), "mass", [1.0], "masses M (default 1)"),
                                       (("--u0",), "u0", [10.0], "heights U0 (default 10)"),
                                       (("--lam",), "lam", [2.0], "widths lambda (default 2)")):
        p.add_argument(*flags, dest=dest, type=_values, nargs="+", default=[default], metavar="V", help=text)
    p.add_argument("--temperature", "-T", type=_values, nargs="+", required=True, metavar="T",
                   help="temperatures omega_T (numbers or LOW:HIGH:N)")
    p.add_argument("--method", "-m", choices=("montecarlo", "quadrature", "quantum"), default="montecarlo",
                   help="sample trials (default), integrate over the transmitting set, or the exact quantum model")
    p.add_argument("--trials", "-n", type=_integer, default=None, metavar="N",
                   help="trials per temperature (montecarlo; default 10000)")
    p.add_argument("--seed", type=_integer, default=None, metavar="K", help="random seed (montecarlo; default 0)")
    p.add_argument("--tolerance", type=float, default=None, metavar="TOL",
                   help="relative accuracy of P (quadrature, quantum; default 1e-3)")
    p.add_argument("--out", "-o", metavar="FILE", help="write the dataset: .nc (NetCDF, h5netcdf) or .zarr")
    _add_run_args(p)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    p = sub.add_parser("reproduce", help="compute the data of the paper's figures",
                       description="Compute the data of Figs. 3-5 at the paper's resolution and write "
                                   "them with their parameters (JSON and NPZ).")
    p.add_argument("--figure", "-f", choices=("3", *figure_experiments(), "all"), default="all",
                   help="which figure (default all)")
    p.add_argument("--out", "-o", default="results", metavar="DIR", help="output directory (default results/)")
    p.add_argument("--trials", "-n", type=_integer, default=10_000, metavar="N",
                   help="trials per temperature (default 10000, as in the paper)")
    _add_run_args(p)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    sub.add_parser("warmup", help="compile every numba kernel now (Binder's postBuild runs it)",
                   description="Compile every numba kernel on a tiny problem, so that later processes "
                               "load the machine code from numba's on-disk cache instead of compiling. "
                               "Nothing is written to the result cache.")
    return parser


def _model(args):
    return Model(M=getattr(args, "mass", 1.0), s=args.impact, U0=args.u0, lam=args.lam)


def _cmd_probability(args):
    trials = check_trials(args.trials)
    seed = check_seed(args.seed)
    result = transmission_probability(args.experiment, _model(args), args.temperature, trials=trials,
                                      seed=seed, integrator=args.integrator, n_jobs=args.jobs,
                                      progress=False if args.quiet or args.json else None,
                                      use_cache=not args.no_cache, method=args.method,
                                      tolerance=args.tolerance)
    if args.json:
        print(json.dumps(result.to_dict()))
        return
    if args.method == "quantum":
        print(f"# {args.experiment}{' (the gate in its ground state)' if args.experiment == 'deflected' else ''}: "
              f"s = {result.model.s:g}, M = {result.model.M:g}, exact quantum model ({result.intervals} unit "
              f"intervals of energy up to {result.top + 1}, at most {result.channels} channels at once), "
              f"tolerance {result.tolerance:g}"
              f"{'' if result.tolerance_met else ' (NOT met: see error)'}")
        print(f"{'omega_T':>10} {'P':>12} {'error':>10} {'E_a':>10} {'E_a error':>10}")
        for row in zip(result.omega_T, result.probability, result.error, result.activation_energy,
                       result.activation_error):
            print(f"{row[0]:>10.5g} {row[1]:>12.6g} {row[2]:>10.3g} {row[3]:>10.6g} {row[4]:>10.3g}")
        return
    if args.method == "quadrature":
        print(f"# {args.experiment}: s = {result.model.s:g}, M = {result.model.M:g}, quadrature over the "
              f"transmitting set ({'gate energies' if isinstance(result.n_max, float) else 'levels'} to {result.n_max:g}, "
              f"{result.phases} phases), tolerance {result.tolerance:g}")
        print(f"{'omega_T':>10} {'P':>12} {'error':>10} {'E_a':>10} {'E_a error':>10}")
        for row in zip(result.omega_T, result.probability, result.error, result.activation_energy,
                       result.activation_error):
            print(f"{row[0]:>10.5g} {row[1]:>12.6g} {row[2]:>10.3g} {row[3]:>10.6g} {row[4]:>10.3g}")
        return
    low, high = result.ci95
    print(f"# {args.experiment}: s = {result.model.s:g}, M = {result.model.M:g}, "
          f"{trials} trials per temperature, seed {seed}, integrator {result.integrator}")
    print(f"{'omega_T':>10} {'P':>10} {'stderr':>10} {'95% low':>10} {'95% high':>10}")
    for row in zip(result.omega_T, result.probability, result.stderr, low, high):
        print("".join(f"{v:>10.5g} " for v in row).rstrip())


def _cmd_transmitting_set(args):
    out = _writable_file(args.out, (".json", ".npz")) if args.out else None
    ts = transmitting_set(_model(args), args.gate, n_max=args.levels,
                          phases=args.phases, refine=args.refine, scan=args.scan,
                          energy_tol=args.energy_tol, integrator=args.integrator, n_jobs=args.jobs,
                          use_cache=not args.no_cache)
    if out is not None and out.suffix.lower() == ".json":
        files.write_text(out, json.dumps(ts.to_dict()))
    elif out is not None:
        _write_npz(out, lower=ts.lower, upper=ts.upper, level=ts.level_of_state, phase=ts.phases,
                   x_ref=ts.x_ref, energy_tol=ts.energy_tol, impact=ts.model.s, mass=ts.model.M,
                   U0=ts.model.U0, lam=ts.model.lam)
    if args.json:
        print(json.dumps(ts.to_dict()))
        return
    print(f"# s = {ts.model.s:g}, M = {ts.model.M:g}, gate {ts.gate}: transmitting particle energies "
          f"(boundaries to {ts.energy_tol:g}; everything above U0 = {ts.upper_energy:g} transmits)")
    for k in range(ts.n_states):
        label = (f"{'n' if ts.gate == 'levels' else 'energy'} = {ts.level_of_state[k]:g}, psi = {ts.phases[k]:.4f}: "
                 if ts.phased else "")
        print(label + " U ".join(f"[{a:.6g}, {b:.6g})" for a, b in ts.intervals(k)))


def _write_npz(path, **arrays):
    """``numpy.savez_compressed`` through :mod:`lib.files` (whole or not at all)."""
    import numpy as np

    with files.replacing(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)


def _cmd_barrier(args):
    model = _model(args)
    rb = relaxed_barrier(model)
    data = {"impact": model.s, "U0": model.U0, "lam": model.lam, "frozen": frozen_barrier(model),
            "relaxed": rb.energy, "relaxed_y": rb.y,
            "minima": [{"y": y, "energy": e} for y, e in rb.minima]}
    if args.json:
        print(json.dumps(data))
        return
    print(f"frozen barrier  U(s)  = {data['frozen']:.6f}")
    print(f"relaxed barrier E*    = {data['relaxed']:.6f}  (oscillator at y* = {rb.y:.6f})")


def _cmd_scattering(args):
    model = _model(args)
    closed = check_integer("closed", (16 if args.threshold else 8) if args.closed is None else args.closed,
                           minimum=0, maximum=MAX_CLOSED)
    sectors = check_integer("sectors", (192 if args.threshold else 96) if args.sectors is None else args.sectors,
                            minimum=2, maximum=MAX_SECTORS)
    if args.threshold == (args.energy is not None):
        raise ValueError("give either --energy E... or --threshold")
    if args.threshold:
        q = ground_state_threshold(model, closed=max(closed, 1), sectors=sectors)
        data = {**model.to_dict(),
                "quantum_threshold": q["energy"], "quantum_threshold_error": q["error"], "width": q["width"],
                "relaxed": relaxed_barrier(model).energy, "vibrationally_adiabatic": vibrationally_adiabatic_barrier(model),
                "quasi_classical": quasi_classical_threshold(model, 0), "frozen": frozen_barrier(model)}
        data["above_relaxed"] = bool(data["quantum_threshold"] > data["relaxed"])
        if args.json:
            print(json.dumps(data))
            return
        print(f"# s = {model.s:g}, M = {model.M:g}: the gate in its ground state; particle energies in hbar Omega")
        for label, key in (("quantum threshold (T_0 = 1/2)", "quantum_threshold"),
                           ("quasi-classical gate, level 0", "quasi_classical"), ("relaxed barrier E*", "relaxed"),
                           ("vibrationally adiabatic barrier", "vibrationally_adiabatic"),
                           ("frozen barrier U(s)", "frozen")):
            extra = f"  (+- {q['error']:.1e})" if key == "quantum_threshold" else ""
            print(f"{label:<34} {data[key]:.6f}{extra}")
        print(f"the quantum threshold lies {'above' if data['above_relaxed'] else 'below'} E* by "
              f"{abs(data['quantum_threshold'] - data['relaxed']):.4f}")
        return
    energy = check_energies(args.energy)
    hi = int(math.floor(float(energy.max()) - 0.5)) + 1 + closed
    if hi > MAX_CHANNELS:
        raise ValueError(f"energy {energy.max():g} with {closed} closed levels needs {hi} channels, more than "
                         f"{MAX_CHANNELS}")
    result = scatter(model, energy, lo=0, hi=max(hi, 1), sectors=sectors)
    rows = []
    for e, E in enumerate(result.energy):
        idx = result.open[e]
        probs = result.state_to_state(e)
        rows.append({"energy": float(E), "levels": result.levels[idx].tolist(),
                     "particle_energy": result.particle_energy[e, idx].tolist(),
                     "transmission": result.transmission[e, idx].tolist(),
                     "reflection": result.reflection[e, idx].tolist(),
                     "transmitted": probs["transmitted"].tolist(), "reflected": probs["reflected"].tolist()})
    if args.json:
        print(json.dumps({**model.to_dict(),
                          "channels": int(result.levels.size), "sectors": result.sectors, "energies": rows}))
        return
    print(f"# s = {model.s:g}, M = {model.M:g}: {result.levels.size} channels, {result.sectors} sectors; "
          f"T_n, R_n from level n (state-to-state with --json)")
    for row in rows:
        print(f"E = {row['energy']:g}")
        print(f"{'n':>6} {'particle E':>12} {'T_n':>14} {'R_n':>14}")
        for n, ep, t, r in zip(row["levels"], row["particle_energy"], row["transmission"], row["reflection"]):
            print(f"{n:>6d} {ep:>12.6g} {t:>14.8g} {r:>14.8g}")


def _cmd_phase_space(args):
    grid = args.grid
    path = _writable_file(args.out, (".png", ".pdf", ".svg", ".json", ".npz")) if args.out else None
    pmap = phase_space_map(_model(args), args.phase, grid=grid, convention=args.convention,
                           integrator=args.integrator, n_jobs=args.jobs, use_cache=not args.no_cache)
    if path is not None:
        suffix = path.suffix.lower()
        if suffix == ".json":
            files.write_text(path, json.dumps(pmap.to_dict()))
        elif suffix == ".npz":
            _write_npz(path, transmitted=pmap.transmitted, particle_energy=pmap.particle_energy,
                       oscillator_energy=pmap.oscillator_energy, phase=pmap.phase,
                       impact=pmap.model.s, mass=pmap.model.M)
        else:  # .png, .pdf or .svg, checked by _writable_file
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            from .plotting import plot_phase_map, use_book_style

            use_book_style()
            fig, ax = plt.subplots(figsize=(4.5, 4))
            plot_phase_map(ax, pmap, legend=True)
            with files.replacing(path) as tmp:
                fig.savefig(tmp, format=suffix[1:])
    if args.json:
        print(json.dumps(pmap.to_dict()))
    else:
        print(f"s = {pmap.model.s:g}, M = {pmap.model.M:g}, phase = {pmap.phase:.6g}, "
              f"{grid} x {grid} grid ({args.convention}): transmitted fraction {pmap.transmitted_fraction:.4f}")


def _cmd_reproduce(args):
    import time

    trials = check_trials(args.trials)
    _writable_folder(args.out)
    figures = FIGURES if args.figure == "all" else (args.figure,)
    t0 = time.perf_counter()
    paths = reproduce(figures, args.out, trials=trials, integrator=args.integrator, n_jobs=args.jobs,
                      progress=False if args.quiet else True, use_cache=not args.no_cache)
    for p in paths:
        print(p)
    print(f"done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)


def _cmd_sweep(args):
    def flat(groups):
        return [v for group in groups for v in group]

    out = None
    if args.method != "montecarlo" and (args.trials is not None or args.seed is not None):
        raise ValueError("--trials and --seed apply to --method montecarlo only")
    if args.out:  # everything writing needs, checked before any work
        check_output(args.out, "--out")
        out = (_writable_file(args.out, (".nc",)) if args.out.lower().endswith(".nc")
               else _writable_folder(args.out))
        before = files.snapshot(out)  # to tell whether another process writes it meanwhile
    method_options = ({"tolerance": args.tolerance} if args.method != "montecarlo"
                      else {"trials": 10_000 if args.trials is None else args.trials,
                            "seed": 0 if args.seed is None else args.seed, "tolerance": args.tolerance})
    ds = sweep(args.experiment, flat(args.impact), flat(args.mass), flat(args.u0), flat(args.lam),
               omega_T=flat(args.temperature), method=args.method, integrator=args.integrator,
               n_jobs=args.jobs, progress=False if args.quiet else None, use_cache=not args.no_cache,
               **method_options)
    if out is not None:
        write_dataset(ds, out, since=before)
        print(out)
    else:
        print(ds)


def _cmd_warmup(args):
    warmup()


def _use_scheduler(args):
    """Connect at once to the scheduler of ``--scheduler`` or ``$ACTIVATION_SCHEDULER`` (fail fast)."""
    if getattr(args, "scheduler", None) is not None:
        parallel.set_scheduler(args.scheduler)
    address = parallel.scheduler_address()
    if address is not None and hasattr(args, "scheduler"):
        parallel.connect_timeout(), parallel.worker_timeout()  # their ranges, before connecting
        parallel.get_client(address)


COMMANDS = {"probability": _cmd_probability, "sweep": _cmd_sweep, "transmitting-set": _cmd_transmitting_set,
            "barrier": _cmd_barrier, "scattering": _cmd_scattering,
            "phase-space": _cmd_phase_space, "reproduce": _cmd_reproduce, "warmup": _cmd_warmup}


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"{parser.prog} {args.command}"

    def one_line(message, category, filename, lineno, file=None, line=None):
        print(f"{prog}: warning: {message}", file=sys.stderr)

    # loky's resource tracker (a child process, so configured through its environment) warns when an
    # interrupt removes a worker's semaphore before the tracker does: noise after our one line. Leaks
    # are still caught: tests/test_signals.py checks /dev/shm and the worker processes directly.
    tracker = "ignore::UserWarning:joblib.externals.loky.backend.resource_tracker"
    if tracker not in os.environ.get("PYTHONWARNINGS", ""):
        os.environ["PYTHONWARNINGS"] = ",".join(filter(None, (os.environ.get("PYTHONWARNINGS"), tracker)))
    # from here on, SIGINT and SIGTERM unwind as KeyboardInterrupt, so that workers are shut down
    # (before, while `python -m lib` imports, lib's start-up handler ends the process in one line)
    handlers = {}
    if threading_is_main():
        for signum, handler in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, _raise_terminated)):
            if signal.getsignal(signum) is not signal.SIG_IGN:
                handlers[signum] = signal.signal(signum, handler)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = one_line
            return _run(prog, args)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def threading_is_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _run(prog, args) -> int:
    try:
        _use_scheduler(args)
        COMMANDS[args.command](args)
    except ValueError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): stop quietly, and keep Python from
        # complaining again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        detail = exc.strerror if exc.filename and exc.strerror else str(exc)
        where = f" {exc.filename!r}" if exc.filename else ""
        if isinstance(exc, parallel.ClusterFault):  # a cluster that failed during the run: what finished is kept
            detail += _kept(args)
        print(f"{prog}: error:{where} {detail}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        # a second signal while cleaning up must not print a traceback
        held = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)} \
            if threading_is_main() else {}
        try:
            shutdown_workers()
        finally:
            for s, handler in held.items():
                signal.signal(s, handler)
        print(f"{prog}: interrupted ({signal.Signals(signum).name}){_kept(args)}", file=sys.stderr)
        return EXIT_SIGNAL + int(signum)
    return 0


def _kept(args) -> str:
    """What an interrupted command keeps: its finished blocks, in the cache (if one is in use)."""
    return "" if getattr(args, "no_cache", False) or cache_dir() is None else "; finished blocks are kept in the cache"
