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
    assert (built_book / "_static" / "widgets" / "embed-amd.js").exists()
    intro = (built_book / "book" / "intro.html").read_text()
    assert "cdn.jsdelivr.net/npm/mathjax" not in intro
    # the widget bundle is not added to pages without widgets
    assert "embed-amd.js" not in intro
