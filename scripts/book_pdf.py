"""Print the built book to one PDF: ``make pdf`` (``python scripts/book_pdf.py``).

Every page of ``_toc.yml`` (the root, then each chapter) is served from
localhost and opened in Debian's Chromium through Playwright, as the
browser tests do. Once MathJax has typeset every equation and every widget
has rendered (each explorer has drawn its first figure), Chromium prints
the page (print media: the theme's print style sheet drops the sidebars
and buttons); pypdf joins the pages into one file with one outline entry
per chapter. Links between the book's pages are removed (in the PDF they
would point at the local server); links to other sites stay.

Why printing the HTML and not Jupyter Book's LaTeX builder: the pages are
printed as readers see them (figures, numbered equations, tables and the
explorers' first figures), offline, with the Chromium the browser tests
already use; the LaTeX route needs a TeX installation of a few hundred MB,
has no rendering for the explorers (widgets) and typesets the glued numbers
and figures of myst-nb differently from the HTML.

The default output, ``_build/html/book.pdf``, lies inside the built site,
so the book links it (the introduction's "Download the book as a PDF") and
the Pages workflow publishes it with the HTML.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from html import escape as html_escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: scripts.browser is found from the repository's root
    sys.path.insert(0, str(ROOT))

from scripts.browser import CHROMIUM, launch, missing, serve  # noqa: E402

HTML = ROOT / "_build" / "html"
OUT_NAME = "book.pdf"
"""The PDF's name inside the built site (the introduction links ``../book.pdf``)."""

RENDER_TIMEOUT_MS = 120_000  # a bound on waiting for MathJax and the explorers, not a speed target

FOOTER = ('<div style="font-size:7pt;color:#555;width:100%;margin:0 14mm;display:flex;'
          'justify-content:space-between"><span>{title}</span>'
          '<span>Text and figures CC BY 4.0, code BSD-3-Clause</span>'
          '<span><span class="pageNumber"></span> / <span class="totalPages"></span></span></div>')
"""Each printed page's foot: the chapter, the licences (the site's footer is not printed), the page in the chapter."""

PRINT_CSS = """
@media print {
  figure, img, canvas, table, .lib-explorer, mjx-container[display="true"] { break-inside: avoid; }
  h1, h2, h3 { break-after: avoid; }
}
"""
"""Keeps a figure, an explorer or a displayed equation on one page (each image is drawn once)."""

# Resolves when MathJax has typeset the page (at once on pages without equations); returns the
# number of typeset expressions.
MATHJAX_DONE_JS = """async () => {
  if (!document.querySelector('script[src*="mathjax"]')) return 0;
  for (let i = 0; i < 1200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await MathJax.startup.promise;
  return document.querySelectorAll('mjx-container').length;
}"""

# True when every saved widget view has rendered, and every explorer (an anywidget view) is on the
# page, has drawn its first figure and is idle.
WIDGETS_DONE_JS = """() => {
  const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
  const saved = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
  const state = saved ? JSON.parse(saved.textContent).state : {};
  const expected = views.filter((v) => (state[JSON.parse(v.textContent).model_id] || {}).model_module === 'anywidget');
  const areas = [...document.querySelectorAll('.widget-subarea')];
  const explorers = [...document.querySelectorAll('.lib-explorer')];
  return areas.length >= views.length && areas.every((a) => a.childElementCount > 0)
    && explorers.length >= expected.length
    && explorers.every((el) => +el.dataset.updates > 0 && !el.dataset.busy);
}"""

UNLINK_INTERNAL_JS = """() => {
  let n = 0;
  for (const a of document.querySelectorAll('a[href]')) {
    if (new URL(a.href, location.href).origin === location.origin) { a.removeAttribute('href'); n++; }
  }
  return n;
}"""

TITLE_JS = """() => {
  const h = document.querySelector('article h1') || document.querySelector('h1');
  const clone = h.cloneNode(true);
  clone.querySelectorAll('.headerlink').forEach((a) => a.remove());
  return clone.textContent.trim();
}"""


def toc_pages(root: Path = ROOT) -> list[str]:
    """The book's pages in reading order, as paths of the built HTML (``book/intro.html``, ...)."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for entry in toc.get("chapters", []) + [c for part in toc.get("parts", []) for c in part.get("chapters", [])]:
        files.append(entry["file"])
    return [re.sub(r"\.(ipynb|md)$", "", f) + ".html" for f in files]


def open_rendered(context, url: str):
    """Open ``url`` in a new page of ``context`` and wait until equations and widgets have rendered.

    Returns the page and the number of typeset equations.
    """
    page = context.new_page()
    page.goto(url, wait_until="load")  # the page's own images, scripts and styles
    equations = page.evaluate(MATHJAX_DONE_JS)
    page.wait_for_function(WIDGETS_DONE_JS, timeout=RENDER_TIMEOUT_MS)
    page.wait_for_function("[...document.images].every((img) => img.complete)", timeout=RENDER_TIMEOUT_MS)
    page.evaluate("document.fonts.ready.then(() => true)")  # the equations' fonts, among others
    return page, equations


def build_pdf(html: Path = HTML, out: Path | None = None, *, root: Path = ROOT, chromium: str = CHROMIUM) -> dict:
    """Print every page of the built book ``html`` and join them into ``out``.

    Returns what was printed: for each chapter its page, title, first page
    in the PDF (counting from 0), number of PDF pages and of typeset
    equations, and the total number of pages.
    """
    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader, PdfWriter

    html = Path(html)
    out = Path(out) if out is not None else html / OUT_NAME
    pages = toc_pages(root)
    missing = [p for p in pages if not (html / p).exists()]
    if missing:
        raise FileNotFoundError(f"not in {html}: {', '.join(missing)} (build the book first: make book)")
    chapters = []
    writer = PdfWriter()
    with tempfile.TemporaryDirectory() as tmp, serve(html) as base, sync_playwright() as p:
        browser = launch(p, chromium)
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 1400})
            for k, path in enumerate(pages):
                page, equations = open_rendered(context, base + path)
                title = page.evaluate(TITLE_JS)
                page.add_style_tag(content=PRINT_CSS)
                page.evaluate(UNLINK_INTERNAL_JS)
                pdf = Path(tmp) / f"{k:02d}.pdf"
                page.pdf(path=str(pdf), format="A4", print_background=True, display_header_footer=True,
                         header_template="<div></div>", footer_template=FOOTER.format(title=html_escape(title)),
                         margin={"top": "14mm", "bottom": "18mm", "left": "14mm", "right": "14mm"})
                page.close()
                n = len(PdfReader(pdf).pages)
                chapters.append({"page": path, "title": title, "first": len(writer.pages), "pages": n,
                                 "equations": equations})
                writer.append(str(pdf), outline_item=title)
            context.close()
        finally:
            browser.close()
        writer.add_metadata({"/Title": _config(root).get("title", ""), "/Author": _config(root).get("author", "")})
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "wb") as f:
            writer.write(f)
    return {"out": str(out), "chapters": chapters, "pages": sum(c["pages"] for c in chapters)}


def ensure_pdf(html: Path = HTML) -> Path:
    """``<html>/book.pdf`` as ``make book`` prints it: printed now if it is missing or older than a page of
    ``html`` (for the tests, which share one printing)."""
    html = Path(html)
    out = html / OUT_NAME
    newest = max((p.stat().st_mtime for p in html.rglob("*.html")), default=0.0)
    if not out.exists() or out.stat().st_mtime < newest:
        build_pdf(html, out)
    return out


def _config(root: Path) -> dict:
    import yaml

    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Print the built book (make book) to one PDF.")
    parser.add_argument("--html", type=Path, default=HTML, help="the built book (default _build/html)")
    parser.add_argument("--out", type=Path, default=None, help=f"the PDF (default <html>/{OUT_NAME})")
    args = parser.parse_args(argv)
    reason = missing("chromium") or missing("playwright")
    if reason:
        print(f"book_pdf: {reason}; or build the HTML alone (make html)", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    info = build_pdf(args.html, args.out)
    print(f"{info['out']}: {len(info['chapters'])} chapters, {info['pages']} pages "
          f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
