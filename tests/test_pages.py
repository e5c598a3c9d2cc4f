"""Every page of the built book in Chromium at 1280 px: no console error, every link resolves (the PDF
included, printed as ``make book`` prints it), nothing wider than its column, no TeX left untypeset.

Each page of ``_toc.yml`` is served from localhost (scripts/book_pdf.py's server) and opened in Debian's
Chromium at 1280 x 1000, as a reader with a laptop sees it, and waited on until MathJax has typeset it
and every explorer has drawn (``book_pdf.open_rendered``). Then:

- the console holds no error and the page threw nothing (any message of type ``error``, any uncaught
  exception, any request that failed or answered 400 or more);
- every link to the book itself resolves: the file exists on the server and a ``#fragment`` names an
  element of the target page; the PDF the introduction links is printed first by
  ``scripts/book_pdf.py``, the second half of ``make book``;
- no element of the page's text is wider than the column it sits in: nothing sticks out of the
  article's box, and nothing scrolls or clips sideways inside it (a display equation cut at its edge, a
  table or a code line wider than the column);
- no ``$`` or ``\\(`` is left in the text outside code and typeset equations (TeX that was never typeset,
  e.g. from glued Markdown rendered without MyST).

A screenshot of each page at 1280 px, in light and in dark mode, is saved under the test's temporary
folder (``pytest --basetemp=DIR`` keeps them in DIR) and named in every failure message.
Needs ``/usr/bin/chromium`` (``make browser``); skipped without it unless ``REQUIRE_BROWSER`` is set.
"""
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from test_browser import base_url, book_pdf, browser  # noqa: F401  (fixtures and helpers shared with the explorer tests)

pytestmark = pytest.mark.browser

PAGES = book_pdf.toc_pages()
WIDTH = 1280

# Elements of the article whose content is wider than their box (scrolls or is clipped sideways), or
# whose box sticks out of the article's; MathJax's assistive copies (visually hidden) are skipped.
OVERFLOW_JS = """() => {
  const article = document.querySelector('article.bd-article') || document.querySelector('article');
  const box = article.getBoundingClientRect();
  const out = [];
  const hidden = (el) => el.closest('mjx-assistive-mml, details:not([open]), .toggle-hidden, [hidden]');
  const clips = (el) => ['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(el).overflowX);
  const label = (el) => el.tagName.toLowerCase() + (typeof el.className === 'string' && el.className.trim()
    ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  for (const el of article.querySelectorAll('*')) {
    if (!el.getClientRects().length || hidden(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const text = (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 60);
    if (clips(el) && el.clientWidth > 0) {
      // what is drawn inside the box (MathJax's hidden assistive copy is not): does it reach past the box?
      let right = r.left, left = r.right;
      for (const d of el.querySelectorAll('*')) {
        if (d.closest('mjx-assistive-mml') || !d.getClientRects().length) continue;
        const q = d.getBoundingClientRect();
        if (q.width === 0) continue;
        right = Math.max(right, q.right); left = Math.min(left, q.left);
      }
      const inner = r.left + el.clientLeft;
      if (right > inner + el.clientWidth + 2 || left < inner - 2) {
        out.push({ what: 'content wider than its box', name: label(el), text,
                   box: el.clientWidth, content: Math.round(right - left) });
        continue;
      }
    }
    if (r.right > box.right + 1 || r.left < box.left - 1) {
      let inside = false;  // inside a box that clips or scrolls sideways: reported for that box
      for (let p = el.parentElement; p && p !== article; p = p.parentElement) if (clips(p)) { inside = true; break; }
      if (!inside) out.push({ what: 'sticks out of the column', name: label(el), text,
                              left: Math.round(r.left - box.left), right: Math.round(r.right - box.right) });
    }
  }
  return { column: box.width, offenders: out.slice(0, 20) };
}"""

# Text of the article outside code, equations and scripts that still holds TeX delimiters.
UNTYPESET_JS = r"""() => {
  const article = document.querySelector('article.bd-article') || document.querySelector('article');
  const skip = 'code, pre, script, style, mjx-container, .highlight, textarea, .lib-explorer';
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  const out = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest(skip)) continue;
    const t = n.textContent;
    if (t.includes('$') || t.includes('\\(') || t.includes('\\[')) out.push(t.trim().slice(0, 80));
  }
  return out;
}"""

LINKS_JS = """() => [...document.querySelectorAll('a[href]')].map((a) => a.href)"""

# How the text looks: glued numbers in bold (myst-nb's default), bibliography labels shown.
STYLE_JS = """() => ({
  boldGlue: [...document.querySelectorAll('article span.pasted-text')]
    .filter((el) => !el.closest('strong, b, th') && +getComputedStyle(el).fontWeight >= 600)
    .map((el) => el.textContent.trim()).slice(0, 10),
  labels: [...document.querySelectorAll('article div.citation > span.label')]
    .filter((el) => el.getClientRects().length).map((el) => el.textContent.trim()).slice(0, 10),
  citations: document.querySelectorAll('article div.citation').length,
})"""


@pytest.fixture(scope="module")
def printed_pdf(built_book):
    """``<book>/book.pdf`` as ``make book`` writes it (``scripts/book_pdf.py``), printed if missing or stale."""
    pytest.importorskip("pypdf")
    return book_pdf.ensure_pdf(built_book)


@pytest.fixture(scope="module")
def visited(printed_pdf, browser, base_url, tmp_path_factory):  # noqa: F811  (the PDF first: its printer runs its own Playwright)
    """Each page opened at 1280 px: what the console said, what failed, the links, the layout and the text."""
    shots = tmp_path_factory.mktemp("pages")
    out = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": WIDTH, "height": 1000}, color_scheme=scheme)
        try:
            for path in PAGES:
                messages, failed = [], []
                page, _ = _open(context, base_url + path, messages, failed)
                shot = shots / f"{Path(path).stem}-{scheme}.png"
                page.screenshot(path=str(shot), full_page=True)
                if scheme == "light":
                    out[path] = {"messages": messages, "failed": failed, "links": page.evaluate(LINKS_JS),
                                 "overflow": page.evaluate(OVERFLOW_JS), "untypeset": page.evaluate(UNTYPESET_JS),
                                 "style": page.evaluate(STYLE_JS),
                                 "shot": shot}
                else:
                    out[path]["messages"] += [f"(dark) {m}" for m in messages]
                    out[path]["failed"] += failed
                    out[path]["dark_shot"] = shot
                page.close()
        finally:
            context.close()
    return out


def _open(context, url, messages, failed):
    """``book_pdf.open_rendered`` with the console, errors and failed requests recorded from the start."""
    listeners = []

    def on_page(page):
        page.on("console", lambda m: messages.append(f"{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: messages.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
        page.on("response", lambda r: failed.append(f"{r.url} (HTTP {r.status})") if r.status >= 400 else None)
        listeners.append(page)

    context.on("page", on_page)
    try:
        page, _ = book_pdf.open_rendered(context, url)
        page.wait_for_timeout(500)  # not networkidle, which pages that keep a worker busy never reach
        return page, listeners
    finally:
        context.remove_listener("page", on_page)


@pytest.mark.parametrize("path", PAGES)
def test_no_console_error_and_no_failed_request(visited, path):
    v = visited[path]
    assert not v["messages"], f"{path} ({v['shot']}): {v['messages']}"
    assert not v["failed"], f"{path} ({v['shot']}): failed requests {v['failed']}"


def test_every_link_to_the_book_resolves(visited, browser, base_url):  # noqa: F811
    """Internal links (the PDF among them) reach a file, and their #fragment an element of it."""
    targets = {}
    for path, v in visited.items():
        for href in v["links"]:
            url, fragment = urldefrag(href)
            if urlsplit(url).netloc != urlsplit(base_url).netloc:
                continue  # other sites: not reachable from the test machine
            targets.setdefault(url, {}).setdefault(fragment, []).append(path)
    assert any(url.endswith("/" + book_pdf.OUT_NAME) for url in targets), "no page links the PDF"
    context = browser.new_context()
    problems = []
    try:
        for url, fragments in targets.items():
            response = context.request.get(url)
            if not response.ok:
                problems.append(f"{url} (HTTP {response.status}), linked from {sorted(set(sum(fragments.values(), [])))}")
                continue
            wanted = [f for f in fragments if f]
            if wanted and "html" in response.headers.get("content-type", ""):
                body = response.text()
                for f in wanted:
                    if f'id="{f}"' not in body:
                        problems.append(f"{url}#{f}: no such element, linked from {sorted(set(fragments[f]))}")
    finally:
        context.close()
    assert not problems, "\n".join(problems)
    assert urljoin(base_url, "book/intro.html") in targets or any("intro.html" in u for u in targets)


@pytest.mark.parametrize("path", PAGES)
def test_nothing_is_wider_than_its_column(visited, path):
    v = visited[path]
    report = v["overflow"]
    assert report["column"] > 500, f"{path}: the article column is only {report['column']:.0f} px wide"
    assert not report["offenders"], f"{path} at {WIDTH} px ({v['shot']}): " + "\n".join(
        str(o) for o in report["offenders"])


@pytest.mark.parametrize("path", PAGES)
def test_no_tex_left_untypeset(visited, path):
    v = visited[path]
    assert not v["untypeset"], f"{path} ({v['shot']}): TeX delimiters left in the text: {v['untypeset']}"


@pytest.mark.parametrize("path", PAGES)
def test_glued_numbers_read_as_text(visited, path):
    """A number glued into a sentence has the sentence's weight (myst-nb sets span.pasted-text in bold)."""
    v = visited[path]
    assert not v["style"]["boldGlue"], f"{path} ({v['shot']}): bold glued numbers {v['style']['boldGlue']}"


def test_the_bibliography_is_author_year(visited):
    """The text cites (Author, year); the list shows no alpha labels such as [BMG+16]."""
    refs = next(v for p, v in visited.items() if p.endswith("references.html"))
    assert refs["style"]["citations"] >= 20
    assert not refs["style"]["labels"], refs["style"]["labels"]
