"""The book builds from the repository with warnings as errors, and every
chapter page exists with its figures (marked ``book``; ``make test`` runs it)."""
import re

import pytest

CHAPTERS = {
    # page: (title fragment, minimum number of figures)
    "book/intro.html": ("Introduction", 1),
    "book/theory.html": ("Theory", 1),
    "book/model.html": ("Model and numerics", 4),
    "book/phase_space.html": ("Phase space", 3),
    "book/stationary.html": ("Stationary oscillator", 2),
    "book/moving.html": ("Moving oscillator", 2),
    "book/beyond.html": ("Beyond the paper", 3),
    "book/conclusions.html": ("Conclusions", 0),
    "book/cluster.html": ("sweeps on a cluster", 1),
    "book/reproducibility.html": ("reproducibility", 0),
    "book/references.html": ("References", 0),
}

pytestmark = pytest.mark.book


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
