"""Small fixes to the book's HTML, as a Sphinx extension (``_config.yml``: ``sphinx: local_extensions``).

- Each inline script once: sphinx-thebe 0.3 and sphinx-togglebutton add their configuration scripts
  (``const THEBE_JS_URL = ...``) every time Sphinx reads the sources, and Jupyter Book reads them twice,
  so every page declared the constants twice and threw "Identifier 'THEBE_JS_URL' has already been
  declared". Scripts and style sheets with the same file, body and attributes are kept once.
- The theme's colour mode defaults to "auto" (follow the reader's system): left empty, the theme's
  script logged "Got invalid theme mode" on a reader's first page.
- The bibliography page is read again whenever any page changed: sphinxcontrib-bibtex builds its list
  when that page is read, so an incremental build that adds a citation elsewhere left the new entry out
  and its link dangling.
- ``book.css``: glued numbers in the text's own weight (myst-nb sets them in bold); one search box on wide
  screens (the theme's top bar repeated the sidebar's); an author-year
  bibliography (no alpha labels, hanging indents), as the text cites author-year.
"""
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"


def _theme_defaults(app, config):
    context = dict(config.html_context or {})
    context.setdefault("default_mode", "auto")  # pydata-sphinx-theme reads it from the context
    config.html_context = context


def _static_path(app):
    if str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))


def _once(assets):
    seen, out = set(), []
    for asset in assets:
        attributes = tuple(sorted((k, str(v)) for k, v in getattr(asset, "attributes", {}).items()))
        key = (str(getattr(asset, "filename", asset) or ""), attributes)  # an inline script: None or ""
        if key in seen:
            continue
        seen.add(key)
        out.append(asset)
    return out


def _dedupe(app, pagename, templatename, context, doctree):
    for name in ("script_files", "css_files"):
        if name in context:
            context[name][:] = _once(context[name])


def _bibliography_outdated(app, env, added, changed, removed):
    if not (added or changed or removed):
        return []
    pages = []
    for docname in env.found_docs:
        path = Path(env.doc2path(docname))
        if path.suffix == ".md" and "{bibliography}" in path.read_text(encoding="utf-8"):
            pages.append(docname)
    return pages


def setup(app):
    app.connect("config-inited", _theme_defaults)
    app.connect("builder-inited", _static_path)
    app.connect("env-get-outdated", _bibliography_outdated)
    app.connect("html-page-context", _dedupe, priority=100)  # first: a handler that returns a template stops the rest
    app.add_css_file("book.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
