"""Every chapter in the theme's dark mode: figures and explorers stay legible.

The pydata theme follows the reader's system setting (its default mode is
"auto", read from ``prefers-color-scheme``), so each chapter is opened in
Chromium with the dark colour scheme emulated, as a reader with a dark
system sees it, and the page must really be dark. A full-page screenshot of
each chapter is saved (its path is in every failure message). Then:

- every figure image carries its own opaque background (no transparent
  pixel in the PNG) and, as drawn on the dark page, that background is light
  enough for black text and lines (WCAG contrast with black of at least
  4.5, measured along the image's border in a screenshot of it);
- every explorer's canvas is opaque and light (its own white background),
  and every text of the explorer (labels, values, notes, inputs) has a WCAG
  contrast of at least 4.5 against the background it is drawn on (computed
  colours, backgrounds composited up the page).

Reuses the server and browser fixtures of tests/test_browser.py; needs
``/usr/bin/chromium`` (skipped without it unless ``REQUIRE_BROWSER`` is set).
"""
import base64
import io
from pathlib import Path

import numpy as np
import pytest
from test_browser import BOOK_HTML, EXPLORER_PAGES, base_url, browser  # noqa: F401  (fixtures shared with the explorer tests)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
MIN_CONTRAST = 4.5  # WCAG 2 AA for normal text


from scripts import book_pdf  # noqa: E402
PAGES = book_pdf.toc_pages()


def luminance(rgb) -> float:
    """WCAG relative luminance of an sRGB colour given as 0-255 values."""
    c = np.asarray(rgb, dtype=float)[..., :3] / 255.0
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return c @ np.array([0.2126, 0.7152, 0.0722])


def contrast(a, b) -> float:
    """WCAG contrast ratio of two colours."""
    la, lb = float(luminance(a)), float(luminance(b))
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


# Figure images in the chapter's text: their box in page coordinates and where they come from.
FIGURES_JS = """() => [...document.querySelectorAll('article img')]
  .filter((img) => img.getAttribute('src').includes('_images/'))
  .map((img) => { const r = img.getBoundingClientRect();
    return { src: img.getAttribute('src'), x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height,
             loaded: img.complete && img.naturalWidth > 0 }; })"""

# Every visible text of each explorer with its colour and the colour behind it (composited up the page).
EXPLORER_TEXT_JS = """() => {
  const parse = (s) => { const m = s.match(/rgba?\\(([^)]+)\\)/); if (!m) return [0, 0, 0, 0];
    const v = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number); return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1]; };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat([1]);
  const behind = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let color = layers.length && layers[layers.length - 1][3] >= 1 ? layers.pop() : [255, 255, 255, 1];
    while (layers.length) color = over(layers.pop(), color);
    return color;
  };
  const out = [];
  for (const root of document.querySelectorAll('.lib-explorer')) {
    const kind = [...root.classList].find((c) => c.startsWith('lib-explorer-') && c !== 'lib-explorer');
    for (const el of root.querySelectorAll('*')) {
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      const field = el.matches('input[type=number], input[type=text], select, button, output');
      if (!(own || field) || !el.getClientRects().length || el.disabled) continue;
      const bg = behind(el);
      out.push({ kind, tag: el.tagName.toLowerCase(), text: (el.value || el.textContent).trim().slice(0, 40),
                 color: over(parse(getComputedStyle(el).color), bg), background: bg });
    }
  }
  return out;
}"""

CANVAS_JS = """() => [...document.querySelectorAll('.lib-explorer canvas.lib-explorer-figure')]
  .map((c) => c.toDataURL('image/png'))"""


@pytest.fixture(scope="module")
def dark_pages(browser, base_url, tmp_path_factory):  # noqa: F811
    """Each chapter rendered in dark mode: ``{page: {screenshot, figures, texts, canvases, theme, body}}``."""
    shots = tmp_path_factory.mktemp("dark-mode")
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, color_scheme="dark")
    seen = {}
    try:
        for path in PAGES:
            page, _ = book_pdf.open_rendered(context, base_url + path)
            shot = shots / (Path(path).stem + ".png")
            page.screenshot(path=str(shot), full_page=True)
            figures = page.evaluate(FIGURES_JS)
            images = page.locator("article img[src*='_images/']")
            assert images.count() == len(figures)
            for k, fig in enumerate(figures):  # each image as drawn on the page, in a screenshot of its own
                if fig["loaded"] and fig["w"] >= 20 and fig["h"] >= 20:
                    fig["edge"] = _edge(images.nth(k).screenshot(animations="disabled"))
            seen[path] = {
                "screenshot": shot,
                "theme": page.evaluate("document.documentElement.dataset.theme"),
                "body": page.evaluate("getComputedStyle(document.body).backgroundColor"),
                "figures": figures,
                "texts": page.evaluate(EXPLORER_TEXT_JS),
                "canvases": page.evaluate(CANVAS_JS),
            }
            page.close()
    finally:
        context.close()
    return seen


def _edge(png: bytes):
    """Median colour of a ring 3 px wide just inside the border of a screenshot of an image."""
    from PIL import Image

    box = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))[2:-2, 2:-2]
    ring = np.concatenate([box[:3].reshape(-1, 3), box[-3:].reshape(-1, 3),
                           box[:, :3].reshape(-1, 3), box[:, -3:].reshape(-1, 3)])
    return np.median(ring, axis=0).tolist()


def _rgb(css: str):
    return [float(v) for v in css[css.index("(") + 1:css.index(")")].split(",")[:3]]


@pytest.mark.parametrize("path", PAGES)
def test_chapter_is_dark(dark_pages, path):
    seen = dark_pages[path]
    assert seen["theme"] == "dark", f"data-theme is {seen['theme']!r}: {seen['screenshot']}"
    assert luminance(_rgb(seen["body"])) < 0.05, f"page background {seen['body']}: {seen['screenshot']}"


@pytest.mark.parametrize("path", PAGES)
def test_figures_carry_their_own_light_background(dark_pages, path):
    from PIL import Image

    seen = dark_pages[path]
    problems = []
    for fig in seen["figures"]:
        name = fig["src"].rsplit("/", 1)[-1]
        if not fig["loaded"] or fig["w"] < 20 or fig["h"] < 20:
            problems.append(f"{name}: not shown ({fig})")
            continue
        source = np.asarray(Image.open(BOOK_HTML / "_images" / name).convert("RGBA"))
        if source[..., 3].min() < 255:
            problems.append(f"{name}: {np.mean(source[..., 3] < 255):.0%} of its pixels are transparent")
        edge = fig["edge"]  # the image as drawn on the page, along its border
        if contrast(edge, (0, 0, 0)) < MIN_CONTRAST:
            problems.append(f"{name}: drawn on {[round(v) for v in edge]}, contrast with black text "
                            f"{contrast(edge, (0, 0, 0)):.1f}")
    assert not problems, f"{path} in dark mode ({seen['screenshot']}):\n" + "\n".join(problems)


@pytest.mark.parametrize("path", PAGES)
def test_explorers_stay_legible(dark_pages, path):
    from PIL import Image

    seen = dark_pages[path]
    problems = []
    for url in seen["canvases"]:
        pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGBA"))
        corners = np.array([pixels[0, 0], pixels[0, -1], pixels[-1, 0], pixels[-1, -1]])
        if pixels[..., 3].min() < 255 or contrast(np.median(corners, axis=0), (0, 0, 0)) < MIN_CONTRAST:
            problems.append(f"canvas: not its own opaque light background (corners {corners.tolist()})")
    for t in seen["texts"]:
        ratio = contrast(t["color"], t["background"])
        if ratio < MIN_CONTRAST:
            problems.append(f"{t['kind']} <{t['tag']}> {t['text']!r}: colour {[round(v) for v in t['color'][:3]]} "
                            f"on {[round(v) for v in t['background'][:3]]}, contrast {ratio:.1f}")
    if path in EXPLORER_PAGES.values():
        assert seen["canvases"] and seen["texts"], f"no explorer found on {path} ({seen['screenshot']})"
    assert not problems, f"{path} in dark mode ({seen['screenshot']}):\n" + "\n".join(problems)
