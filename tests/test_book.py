"""The book builds from the repository with warnings as errors, and every
chapter page exists with its figures (marked ``book``; ``make test`` runs it).

The executed chapters (``_build/jupyter_execute``) are read too: each figure a
chapter draws with ``lib.plotting.Glue.figure`` is shown under its cell in a
notebook front end, carrying :func:`lib.plotting.figure_metadata` (its axes'
ranges, how many data points its legends cover), and the book shows it once."""
import json
import re
from pathlib import Path

import pytest

CHAPTERS = {
    # page: (title fragment, minimum number of figures)
    "book/intro.html": ("Introduction", 1),
    "book/theory.html": ("Theory", 1),
    "book/model.html": ("Model and numerics", 2),
    "book/phase_space.html": ("Phase space", 4),
    "book/stationary.html": ("Stationary oscillator", 2),
    "book/moving.html": ("Moving oscillator", 3),
    "book/beyond.html": ("Beyond the paper", 2),
    "book/quantum.html": ("quantum oscillator", 4),
    "book/conclusions.html": ("Conclusions", 0),
    "book/numerics.html": ("numerical methods", 1),
    "book/reproducibility.html": ("reproducibility", 1),
    "book/references.html": ("References", 0),
}

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]


def figures(html: str) -> int:
    """Images produced by executed cells (myst-nb copies them to _images/)."""
    return len(re.findall(r'<img[^>]+src="[^"]*_images/[^"]+\.png"', html))


@pytest.mark.parametrize("page", sorted(CHAPTERS))
def test_chapter_page_exists_with_its_figures(built_book, page):
    path = built_book / page
    assert path.exists(), f"{page} was not built"
    html = path.read_text()
    title, n_figures = CHAPTERS[page]
    assert title in html
    assert figures(html) >= n_figures
    assert "Traceback" not in html and "CellExecutionError" not in html
    assert path.stat().st_size < 10 * 2**20  # pages stay under 10 MB


def test_numbers_in_the_text_are_filled_in(built_book):
    # glue roles that failed would leave their raw key or an error in the page
    for page in CHAPTERS:
        html = (built_book / page).read_text()
        assert "glue:" not in html and "np.float64" not in html, page


def test_book_serves_its_own_javascript(built_book):
    assert (built_book / "_static" / "mathjax" / "tex-chtml.js").exists()
    assert (built_book / "_static" / "widgets" / "anywidget-static.js").exists()  # renders the explorers
    intro = (built_book / "book" / "intro.html").read_text()
    assert "cdn.jsdelivr.net/npm/mathjax" not in intro
    # the widget renderer is not added to pages without widgets, and no widget manager to any page
    assert "anywidget-static.js" not in intro
    theory = (built_book / "book" / "theory.html").read_text()
    assert 'type="module" src="../_static/widgets/anywidget-static.js' in theory
    assert "embed-amd.js" not in theory and "require.js" not in theory


def test_every_figure_has_a_number_and_a_caption(built_book):
    """Each image a cell produced sits in a numbered <figure> with a caption (glue:figure / figure)."""
    for page in CHAPTERS:
        html = (built_book / page).read_text()
        figs = re.findall(r"<figure\b.*?</figure>", html, flags=re.S)
        numbered = [f for f in figs if re.search(r'class="caption-number">Fig\. \d+', f)
                    and re.search(r"<figcaption>.*?\w.*?</figcaption>", f, flags=re.S)]
        in_figures = sum(figures(f) for f in numbered)
        assert in_figures == figures(html), (page, in_figures, figures(html))


def test_figures_are_referred_to_by_number(built_book):
    """The text cites figures by their number (numref), not by "the figure below"."""
    for page in CHAPTERS:
        html = (built_book / page).read_text()
        text = re.sub(r"<[^>]+>", " ", html)
        assert "figure below" not in text and "plot above" not in text, page
    beyond = (built_book / "book" / "beyond.html").read_text()
    assert re.search(r'<span class="std std-numref">Fig\. \d+', beyond)


def executed_figures(built_book):
    """Every figure output the chapters displayed with its metadata: ``{(chapter, name): metadata}``.

    Read from the execution cache the build used (``_build/.jupyter_cache``): myst-nb copies a notebook
    it took from the cache to ``_build/jupyter_execute`` without its outputs.
    """
    import nbformat
    from jupyter_cache import get_cache

    cache = get_cache(str(Path(built_book).parent / ".jupyter_cache"))
    found = {}
    for source in sorted((ROOT / "book").glob("*.ipynb")):
        try:
            _, notebook = cache.merge_match_into_notebook(nbformat.read(source, as_version=4))
        except KeyError:  # not executed by this build (not in the table of contents)
            continue
        for cell in notebook.cells:
            for out in cell.get("outputs", []):
                meta = out.get("metadata", {}).get("lib")
                if meta and "image/png" in out.get("data", {}):
                    found[(source.stem, meta["name"])] = meta
    return found


def test_figures_show_under_their_cells_and_once_in_the_book(built_book):
    """In Jupyter each figure appears as an image output of its cell; in the book that output is removed
    (``remove-output``) and the numbered {glue:figure} shows the figure once."""
    shown = executed_figures(built_book)
    assert len(shown) >= 15, sorted(shown)
    for chapter in ("intro", "model", "stationary", "moving", "beyond", "quantum", "numerics"):
        assert any(c == chapter for c, _ in shown), chapter
    glued = set()
    for path in (Path(built_book).parent / "jupyter_execute" / "book").glob("*.glue.json"):
        if not (ROOT / "book" / path.name.replace(".glue.json", ".ipynb")).exists():
            continue  # left from an earlier build of a chapter that is gone
        for name, out in json.loads(path.read_text()).items():
            if any(k.endswith("image/png") for k in out.get("data", {})):
                glued.add((path.name[: -len(".glue.json")], name))
    not_shown = glued - set(shown)
    assert not not_shown, f"glued figures that a notebook reader does not see under their cells: {sorted(not_shown)}"
    for page in CHAPTERS:  # the book never shows a figure twice: every image sits in a numbered figure
        html = (built_book / page).read_text()
        images = re.findall(r'<img[^>]+src="([^"]*_images/[^"]+\.png)"', html)
        assert len(images) == len(set(images)), page


def test_the_papers_figures_4_and_5_stay_on_the_papers_range(built_book):
    """The main panels of the reproductions of paper Figs. 4 and 5 span 1/omega_T from 0 to the paper's lowest
    temperature (omega_T = 1) and no further, the residual panels under them too; their data beyond that
    range are a figure of their own."""
    from lib.experiments import paper_temperatures

    x_paper = 1.0 / paper_temperatures().min()
    shown = executed_figures(built_book)
    for key in (("stationary", "fig_stationary"), ("moving", "fig_moving")):
        axes = [a for a in shown[key]["axes"] if "inset" not in a["title"] and a["title"] != "linear axis"]
        assert len(axes) == 8, (key, [a["title"] for a in axes])
        for a in axes:
            assert 0.0 <= a["xlim"][0] and a["xlim"][1] <= x_paper * (1 + 1e-9), (key, a)
            assert a["xlim"][1] >= 0.99 * x_paper, (key, a)
    for key in (("stationary", "fig_stationary_low"), ("moving", "fig_moving_low")):
        assert all(a["xlim"][1] > 2 * x_paper for a in shown[key]["axes"]), key


def test_no_legend_covers_data(built_book):
    shown = executed_figures(built_book)
    covered = {key: meta["legend_overlaps"] for key, meta in shown.items() if meta["legend_overlaps"]}
    assert not covered, f"legends over data points: {covered}"


PROGRAMMER_NOTATION = re.compile(r"(?<![\w.])\d+(?:\.\d+)?e[-+]?\d+\b")
"""A number printed as 1e-03 or 7.3e-15 instead of a typeset power of ten."""

TEMPLATE_PHRASES = ("no more than 0.0%", "at least 100%", "at least 100 %", "np.float64", "The appendix on Appendix")

def prose_text(html: str) -> str:
    """The article's text outside code, scripts and equations."""
    body = re.search(r"<article.*?</article>", html, flags=re.S)
    text = body.group(0) if body else html
    text = re.sub(r"<(script|style|pre|code|mjx-container)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r'<span class="math[^"]*">.*?</span>', " ", text, flags=re.S)
    text = re.sub(r'<div class="math[^"]*">.*?</div>', " ", text, flags=re.S)
    return re.sub(r"<[^>]+>", " ", text)


def test_numbers_read_as_a_physicist_writes_them(built_book):
    """No number in the text as 1e-03, no template phrase from a formatted glue."""
    for page in CHAPTERS:
        text = prose_text((built_book / page).read_text())
        for phrase in TEMPLATE_PHRASES:
            assert phrase not in text, (page, phrase)
        assert not PROGRAMMER_NOTATION.findall(text), (page, PROGRAMMER_NOTATION.findall(text)[:5])


def test_the_sidebar_lists_the_introduction(built_book):
    nav = re.search(r"<nav class=\"bd-links bd-docs-nav.*?</nav>", (built_book / "book" / "theory.html").read_text(), re.S)
    assert nav and re.search(r'href="intro.html"[^>]*>\s*Introduction', nav.group(0))


def _notebook(stem: str) -> dict:
    return json.loads((ROOT / "book" / f"{stem}.ipynb").read_text(encoding="utf-8"))


def _toc_chapters() -> list[str]:
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [Path(f).name for f in [toc["root"]] + [c["file"] for c in toc["chapters"]]
            if (ROOT / (f + ".ipynb")).exists()]


def test_every_chapter_glues_its_numbers_through_lib_plotting():
    """Numbers reach the text as {glue:md}`name:myst` (lib.plotting.Glue, formatted by lib.plotting.number),
    never through a format spec in the text ({glue:text}`x:.3f`) or a bare myst_nb.glue call."""
    for stem in _toc_chapters():
        for cell in _notebook(stem)["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "markdown":
                for role, body in re.findall(r"\{glue(:\w+)?\}`([^`]*)`", source):
                    assert role == ":figure" or (role == ":md" and body.endswith(":myst")), (stem, role, body)
            else:
                assert not re.search(r"from myst_nb import glue|\bglue\(", source), (stem, source[:200])


def test_chapters_end_with_a_summary():
    """Every chapter of the main line between the introduction and the conclusions closes with a summary."""
    chapters = _toc_chapters()
    for stem in chapters[1: chapters.index("conclusions")]:
        markdown = [("".join(c["source"])) for c in _notebook(stem)["cells"] if c["cell_type"] == "markdown"]
        assert re.search(r"^## Summary\s*$", markdown[-1], re.M), stem
