"""Benchmark: the explorers of the built book, computing in headless Chromium, against their goals.

The explorers compute in the reader's browser (lib/js/engine.js, through
lib.widgets); so they are measured there, in Debian's Chromium driven by
Playwright, with the built book served from localhost. Wall-clock time
depends on the day's machine (the same kind of machine runs 2-3x slower on
some days), so this is a script run by hand and reported in the README, never
a timed test. Measured, as the median (and maximum) of several control moves,
each from the input event to the figure drawn (the explorer's own
``data-first-ms``, the first figure of a move, and ``data-last-ms``, the
last, converged one), with its goal beside it:

* trajectory explorer: one trajectory integrated, recorded and drawn (goal 50 ms);
* phase-space explorer: the 100 x 100 map drawn (goal 0.5 s), and the
  refined 200 x 200 one;
* transmission explorer, a new transmitting set (the impact parameter or the
  mass moved, thermal experiment, omega_T in [1, 10]): the first, coarse P
  and E_a at 30 temperatures (goal 0.5 s) and the converged ones (goal 2 s);
  and a move of the temperature range alone, which reuses the set;
* each explorer page with everything it loads, in bytes (goal 5 MB), as
  served here (uncompressed) and gzip-compressed (what a host that
  compresses sends); and the Web Workers the page used
  (``navigator.hardwareConcurrency``);
* responsiveness while a move computes: the longest task on the page's
  thread (Long Tasks API, tasks over 50 ms; 0 when there was none), the
  median over the moves of each move's longest;

and, as before, the kernel's start-up: ``import lib`` in a fresh process
(goal 2 s) and the first compiled call there, kernels loaded from numba's
on-disk cache (goal 3 s).

Run from the repository root after ``make book`` (or with BOOK_HTML=path)::

    python benchmarks/explorers.py           # about a minute
    python benchmarks/explorers.py --json
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts.browser import launch, missing, serve  # noqa: E402

BOOK_HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))

PAGES = {"landscape": "book/theory.html", "trajectory": "book/model.html",
         "phase_space": "book/phase_space.html", "transmission": "book/moving.html"}

# (what, explorer, control key, values, {which time: goal in seconds}); "first" is data-first-ms (the
# first figure of a move), "last" data-last-ms (the last, converged figure).
MOVES = [
    ("trajectory", "trajectory", "E_particle", [3.17, 5.43, 7.91, 9.37, 11.13, 6.61, 4.29], {"last": 0.050}),
    ("landscape", "landscape", "s", [0.37, 1.13, 1.71, 2.29, 0.83], {"last": None}),
    ("map", "phase_space", "M", [0.73, 1.37, 2.11, 3.47, 0.51, 2.73, 1.91],
     {"first": 0.5, "last": None, "longest_task": None}),
    ("probability_new_set_s", "transmission", "s", [1.73, 1.37, 0.91, 2.21, 0.47, 1.11, 2.63],
     {"first": 0.5, "last": 2.0, "longest_task": None}),
    ("probability_new_set_M", "transmission", "M", [0.73, 1.37, 2.11, 3.47, 0.51], {"first": 0.5, "last": 2.0}),
    ("probability_same_set", "transmission", "omega_max", [9.1, 8.3, 7.7, 9.7, 8.9], {"last": None}),
]
NAMES = {"first": {"map": "map_100x100_first_draw_s"}, "last": {"map": "map_200x200_s"},
         "longest_task": {"map": "map_longest_main_thread_task_s",
                          "probability_new_set_s": "probability_longest_main_thread_task_s"}}
PAGE_GOAL_BYTES = 5_000_000

IMPORT = "import time; t = time.perf_counter(); import lib; print(time.perf_counter() - t)"
FIRST_CALL = ("import time, numpy as np, lib; m = lib.Model(); "
              "u = lib.sample('thermal', m, 2.0, 4, np.random.default_rng(0)); "
              "t = time.perf_counter(); lib.run(m, u); print(time.perf_counter() - t)")
FRESH = [("import_lib_s", IMPORT, 2.0), ("first_compiled_call_s", FIRST_CALL, 3.0)]


def fresh_process(code: str, repeat: int) -> list[float]:
    return [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                                 check=True).stdout) for _ in range(repeat)]


def wait_updates(page, root, count, timeout=120_000):
    page.wait_for_function("([el, n]) => +el.dataset.updates > n && !el.dataset.busy",
                           arg=[root.element_handle(), count], timeout=timeout)


def measure(browser, base, name, key, values):
    """Move one control through ``values``: per move, the first and the last figure's time (s)."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(base + PAGES[name])
    root = page.locator(f".lib-explorer-{name}")
    root.wait_for(state="visible", timeout=60_000)
    wait_updates(page, root, 0)
    times = {"first": [], "last": [], "longest_task": []}
    page.evaluate("""() => { window.__longest = 0; new PerformanceObserver((list) => list.getEntries()
        .forEach((e) => { window.__longest = Math.max(window.__longest, e.duration); })).observe({ type: 'longtask' }); }""")
    for v in values:
        page.evaluate("() => { window.__longest = 0; }")
        count = int(root.get_attribute("data-updates"))
        page.locator(f"input[data-key={key}]").evaluate(
            "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); }", v)
        wait_updates(page, root, count)
        for which in ("first", "last"):
            times[which].append(float(root.get_attribute(f"data-{which}-ms")) / 1000.0)
        times["longest_task"].append(page.evaluate("window.__longest") / 1000.0)
    workers = page.evaluate("navigator.hardwareConcurrency")
    page.close()
    return times, workers


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
    reason = missing("chromium") or missing("playwright")
    if reason:
        sys.exit(reason)
    from playwright.sync_api import sync_playwright

    report = {}
    fresh_process(FIRST_CALL, 1)  # make sure numba's on-disk cache is filled
    for what, code, goal in FRESH:
        t = fresh_process(code, args.repeat)
        report[what] = {"median": statistics.median(t), "max": max(t), "goal": goal,
                        "median_over_goal": statistics.median(t) / goal, "n": len(t)}
    with serve(BOOK_HTML) as base, sync_playwright() as pw:
        browser = launch(pw)
        for what, name, key, values, goals in MOVES:
            times, workers = measure(browser, base, name, key, values)
            for which, goal in goals.items():
                t = times[which]
                label = NAMES[which].get(what, f"{what}_{which}_s" if which == "first" or what.startswith("prob")
                                         else f"{what}_update_s")
                report[label] = {"median": statistics.median(t), "max": max(t), "goal": goal,
                                 "median_over_goal": statistics.median(t) / goal if goal else None, "n": len(t)}
        report["web_workers"] = {"median": workers, "max": workers, "goal": None, "median_over_goal": None, "n": 1}
        for name in PAGES:  # as served here (uncompressed), and as a host that gzips would send it
            for what, b in zip(("page_bytes", "page_bytes_gzip"), page_bytes(browser, base, name)):
                report[f"{what}_{name}"] = {"median": b, "max": b, "goal": PAGE_GOAL_BYTES,
                                            "median_over_goal": b / PAGE_GOAL_BYTES, "n": 1}
        browser.close()
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"{'what':<30}{'median':>12}{'max':>12}{'goal':>12}{'median/goal':>13}")
    for k, r in report.items():
        unit = "B" if k.startswith("page_bytes") else "" if k == "web_workers" else "s"
        f = (lambda v: f"{v:,.0f}{unit}") if unit != "s" else (lambda v: f"{v:.3f}{unit}")
        goal = f(r["goal"]) if r["goal"] else "-"
        ratio = f"{r['median_over_goal']:.2f}" if r["median_over_goal"] is not None else "-"
        print(f"{k:<30}{f(r['median']):>12}{f(r['max']):>12}{goal:>12}{ratio:>13}")


if __name__ == "__main__":
    main()
