"""The book as one PDF (``make pdf``, scripts/book_pdf.py), printed from the built book.

The PDF is printed once per session from the book of the ``built_book``
fixture (tests/conftest.py; or ``BOOK_HTML``) into a temporary folder, and
checked against the HTML: one outline entry per chapter of ``_toc.yml``
with the chapter's title, on each chapter's pages as many images as the
chapter shows figures (the images of executed cells, and each explorer's
figure, drawn on a canvas), every equation typeset, no link to the local
server that printed it. Needs ``/usr/bin/chromium``, like tests/test_browser.py.
"""
import json
import re
from html import unescape
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]

from scripts import book_pdf  # noqa: E402
from scripts.browser import require  # noqa: E402  (skip without Chromium, fail where REQUIRE_BROWSER is set)


def figures(html: str) -> int:
    """Images produced by executed cells (as tests/test_book.py counts them)."""
    return len(re.findall(r'<img[^>]+src="[^"]*_images/[^"]+\.png"', html))


def explorers(html: str) -> int:
    """Explorer views saved in the page: widget views whose model is an anywidget with a ``kind``."""
    m = re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', html, re.S)
    if not m:
        return 0
    state = json.loads(m.group(1))["state"]
    kinds = {k for k, v in state.items() if v["model_module"] == "anywidget" and v["state"].get("kind")}
    views = re.findall(r'<script type="application/vnd.jupyter.widget-view\+json">(.*?)</script>', html, re.S)
    return sum(json.loads(v)["model_id"] in kinds for v in views)


@pytest.fixture(scope="module")
def printed(built_book, tmp_path_factory):
    require("chromium", "playwright")
    pytest.importorskip("pypdf")
    out = Path(built_book) / book_pdf.OUT_NAME  # where make book prints it; shared with tests/test_pages.py
    info = book_pdf.build_pdf(built_book, out)
    from pypdf import PdfReader

    return info, PdfReader(out), built_book


def test_one_outline_entry_per_chapter(printed):
    info, reader, html = printed
    pages = book_pdf.toc_pages()
    assert len(pages) == 12 and pages[0] == "book/intro.html"
    outline = reader.outline
    assert all(not isinstance(item, list) for item in outline), "chapters only, no nested entries"
    titles = [item.title for item in outline]
    expected = []
    for page in pages:
        (h1,) = [h for h in re.findall(r"<h1>(.*?)</h1>", (html / page).read_text(encoding="utf-8"), re.S)
                 if 'class="headerlink"' in h]  # the chapter's heading (the theme adds a print-only copy)
        h1 = re.sub(r'<a class="headerlink".*?</a>', "", h1, flags=re.S)
        expected.append(unescape(re.sub(r"<[^>]+>", "", h1)).strip())
    assert titles == expected
    starts = [reader.get_destination_page_number(item) for item in outline]
    assert starts == [c["first"] for c in info["chapters"]] and starts == sorted(set(starts))
    assert len(reader.pages) == info["pages"]


def test_every_figure_of_the_html_is_an_image_in_the_pdf(printed):
    info, reader, html = printed
    total_pdf = total_html = 0
    for chapter in info["chapters"]:
        page_html = (html / chapter["page"]).read_text(encoding="utf-8")
        expected = figures(page_html) + explorers(page_html)
        span = range(chapter["first"], chapter["first"] + chapter["pages"])
        found = sum(len(reader.pages[k].images) for k in span)
        assert found == expected, (f"{chapter['page']}: {found} images on PDF pages {span.start + 1}-{span.stop}, "
                                   f"{figures(page_html)} figures and {explorers(page_html)} explorers in the HTML")
        total_pdf += found
        total_html += expected
    assert total_html >= 20  # the book's figures (tests/test_book.py) and its four explorers


def test_every_equation_is_typeset(printed):
    info, reader, html = printed
    assert sum(c["equations"] for c in info["chapters"]) > 100
    for chapter in info["chapters"]:
        text = "".join(reader.pages[k].extract_text()
                       for k in range(chapter["first"], chapter["first"] + chapter["pages"]))
        raw = re.findall(r"\\(?:frac|mathcal|omega|beta)\b|\$\$", text)
        assert not raw, f"{chapter['page']}: TeX left untypeset in the PDF: {raw[:5]}"


def test_no_link_points_at_the_server_that_printed_it(printed):
    info, reader, html = printed
    links = []
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A")
            if action is not None and "/URI" in action:
                links.append(str(action["/URI"]))
    assert links, "the PDF has no links at all (the references' and footer's links should stay)"
    local = [u for u in links if re.match(r"https?://(127\.0\.0\.1|localhost)", u) or u.startswith("file:")]
    assert not local, local[:5]


def test_every_page_states_the_licences(printed):
    """The site's footer on every page of the HTML, and the foot of every page of the PDF (where it is not printed)."""
    info, reader, html = printed
    for chapter in info["chapters"]:
        page_html = (html / chapter["page"]).read_text(encoding="utf-8")
        footer = re.search(r'<div class="bd-footer-content.*?</footer>', page_html, re.S).group(0)
        assert "BSD-3-Clause" in footer and "CC BY 4.0" in footer, chapter["page"]
    for k, page in enumerate(reader.pages):
        assert "CC BY 4.0, code BSD-3-Clause" in page.extract_text(), f"PDF page {k + 1}"


def test_the_book_links_its_pdf(built_book):
    """The introduction links ``../book.pdf``, which is where ``make pdf`` writes it."""
    intro = (built_book / "book" / "intro.html").read_text(encoding="utf-8")
    assert re.search(r'<a href="\.\./book\.pdf"', intro)
    target = (built_book / "book" / "../book.pdf").resolve()
    assert target == (built_book / book_pdf.OUT_NAME).resolve()
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(rf"^pdf: .*\n(?:#.*\n)*\t.*book_pdf\.py --html _build/html --out _build/html/{book_pdf.OUT_NAME}$",
                     makefile, re.M)
