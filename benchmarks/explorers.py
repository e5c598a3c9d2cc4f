"""Benchmark: the explorers of the built book, computing in headless Chromium, against their goals.

The explorers compute in the reader's browser (lib/js/engine.js, through
lib.widgets); so they are measured there, in Debian's Chromium driven by
Playwright, with the built book served from localhost. Wall-clock time
depends on the day's machine (the same kind of machine runs 2-3x slower on
some days), so this is a script run by hand and reported in the README, never
a timed test. Measured, as the median (and maximum) of several control moves,
each from the input event to the figure drawn (the explorer's own
``data-last-ms``), with its goal beside it:

* trajectory explorer: one trajectory integrated, recorded and drawn (goal 50 ms);
* phase-space explorer: a 100 x 100 map in two Web Workers and drawn (goal 1 s);
* transmission explorer: a new transmitting set (the impact parameter moved,
  thermal experiment) and P, E_a at 30 temperatures (goal 2 s); and a move of
  the temperature range alone, which reuses the set;
* each explorer page with everything it loads, in bytes (goal 5 MB), as
  served here (uncompressed) and gzip-compressed (what a host that
  compresses sends);

and, as before, the kernel's start-up: ``import lib`` in a fresh process
(goal 2 s) and the first compiled call there, kernels loaded from numba's
on-disk cache (goal 3 s).

Run from the repository root after ``make book`` (or with BOOK_HTML=path)::

    python benchmarks/explorers.py           # about a minute
    python benchmarks/explorers.py --json
"""
from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
BOOK_HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

PAGES = {"landscape": "book/theory.html", "trajectory": "book/model.html",
         "phase_space": "book/phase_space.html", "transmission": "book/moving.html"}

# (what, explorer, control key, values, goal in seconds)
MOVES = [
    ("trajectory_update_s", "trajectory", "E_particle", [3.17, 5.43, 7.91, 9.37, 11.13, 6.61, 4.29], 0.050),
    ("landscape_update_s", "landscape", "s", [0.37, 1.13, 1.71, 2.29, 0.83], None),
    ("map_100x100_s", "phase_space", "M", [0.73, 1.37, 2.11, 3.47, 0.51], 1.0),
    ("probability_30T_new_set_s", "transmission", "s", [1.73, 1.37, 0.91, 2.21, 0.47], 2.0),
    ("probability_30T_same_set_s", "transmission", "omega_max", [9.1, 8.3, 7.7, 9.7, 8.9], None),
]
PAGE_GOAL_BYTES = 5_000_000

IMPORT = "import time; t = time.perf_counter(); import lib; print(time.perf_counter() - t)"
FIRST_CALL = ("import time, numpy as np, lib; m = lib.Model(); "
              "u = lib.sample('thermal', m, 2.0, 4, np.random.default_rng(0)); "
              "t = time.perf_counter(); lib.run(m, u); print(time.perf_counter() - t)")
FRESH = [("import_lib_s", IMPORT, 2.0), ("first_compiled_call_s", FIRST_CALL, 3.0)]


def fresh_process(code: str, repeat: int) -> list[float]:
    return [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                                 check=True).stdout) for _ in range(repeat)]


def serve(directory: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def wait_updates(page, root, count, timeout=120_000):
    page.wait_for_function("([el, n]) => +el.dataset.updates > n && !el.dataset.busy",
                           arg=[root.element_handle(), count], timeout=timeout)


def measure(browser, base, name, key, values):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(base + PAGES[name])
    root = page.locator(f".lib-explorer-{name}")
    root.wait_for(state="visible", timeout=60_000)
    wait_updates(page, root, 0)
    times = []
    for v in values:
        count = int(root.get_attribute("data-updates"))
        page.locator(f"input[data-key={key}]").evaluate(
            "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); }", v)
        wait_updates(page, root, count)
        times.append(float(root.get_attribute("data-last-ms")) / 1000.0)
    page.close()
    return times


def page_bytes(browser, base, name):
    page = browser.new_page()
    responses = []
    page.on("response", lambda r: responses.append(r))
    page.goto(base + PAGES[name])
    root = page.locator(f".lib-explorer-{name}")
    root.wait_for(state="visible", timeout=60_000)
    wait_updates(page, root, 0)
    page.wait_for_load_state("networkidle")
    bodies = [r.body() for r in responses if r.ok and urlsplit(r.url).scheme in ("http", "https")]
    page.close()
    return sum(map(len, bodies)), sum(len(gzip.compress(b, 6)) for b in bodies)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--repeat", type=int, default=5, help="fresh processes per start-up measurement (default 5)")
    args = p.parse_args(argv)
    if not (BOOK_HTML / PAGES["trajectory"]).exists():
        sys.exit(f"no built book at {BOOK_HTML}: run `make book` first (or set BOOK_HTML)")
    from playwright.sync_api import sync_playwright

    server = serve(BOOK_HTML)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    report = {}
    fresh_process(FIRST_CALL, 1)  # make sure numba's on-disk cache is filled
    for what, code, goal in FRESH:
        t = fresh_process(code, args.repeat)
        report[what] = {"median": statistics.median(t), "max": max(t), "goal": goal,
                        "median_over_goal": statistics.median(t) / goal, "n": len(t)}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for what, name, key, values, goal in MOVES:
                t = measure(browser, base, name, key, values)
                report[what] = {"median": statistics.median(t), "max": max(t), "goal": goal,
                                "median_over_goal": statistics.median(t) / goal if goal else None, "n": len(t)}
            for name in PAGES:  # as served here (uncompressed), and as a host that gzips would send it
                for what, b in zip(("page_bytes", "page_bytes_gzip"), page_bytes(browser, base, name)):
                    report[f"{what}_{name}"] = {"median": b, "max": b, "goal": PAGE_GOAL_BYTES,
                                                "median_over_goal": b / PAGE_GOAL_BYTES, "n": 1}
            browser.close()
    finally:
        server.shutdown()
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"{'what':<30}{'median':>12}{'max':>12}{'goal':>12}{'median/goal':>13}")
    for k, r in report.items():
        unit = "B" if k.startswith("page_bytes") else "s"
        f = (lambda v: f"{v:,.0f}{unit}") if unit == "B" else (lambda v: f"{v:.3f}{unit}")
        goal = f(r["goal"]) if r["goal"] else "-"
        ratio = f"{r['median_over_goal']:.2f}" if r["median_over_goal"] is not None else "-"
        print(f"{k:<30}{f(r['median']):>12}{f(r['max']):>12}{goal:>12}{ratio:>13}")


if __name__ == "__main__":
    main()
