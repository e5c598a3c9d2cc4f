"""Run every chapter of the book once, as Run All would, and keep only what lib caches.

``binder/postBuild`` runs this while the Binder image is built, so the image carries the results the
chapters need (the data of paper Figs. 3-5, the quadrature curves, the extensions) in the result
cache they read (``$ACTIVATION_CACHE``, by default ``~/.cache/oscillator-activation``, which is part
of the image): a reader's Run All then loads them instead of recomputing minutes of Monte Carlo.
The cache is keyed by the engine's source (:func:`lib.cache.engine_version`), so these entries serve
exactly the code in the image. The executed notebooks are discarded (nothing is written next to
them); each chapter's time is printed.

    python binder/run_chapters.py             # every chapter of _toc.yml, in order
    python binder/run_chapters.py book/model.ipynb
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def chapters(root: Path = ROOT) -> list[Path]:
    """The notebooks of ``_toc.yml``, in reading order."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    entries = [toc["root"]] + [c["file"] for c in toc.get("chapters", [])]
    entries += [c["file"] for part in toc.get("parts", []) for c in part.get("chapters", [])]
    paths = [root / (e if e.endswith(".ipynb") else e + ".ipynb") for e in entries]
    return [p for p in paths if p.exists()]


def run(path: Path) -> float:
    """Execute one notebook in its folder (outputs discarded); returns the seconds it took."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=None, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or chapters()
    total = 0.0
    for path in paths:
        seconds = run(path)
        total += seconds
        print(f"{path.relative_to(ROOT)}: {seconds:.1f} s", flush=True)
    print(f"{len(paths)} chapters in {total:.0f} s: their results are in the result cache")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
