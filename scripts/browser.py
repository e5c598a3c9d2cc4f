"""The one home for running the book in a browser: Chromium's path and arguments, a localhost static
server, and what a test does when a browser tool is missing.

Used by ``scripts/book_pdf.py`` (the PDF), ``benchmarks/explorers.py`` and every test that drives
Chromium or Node (``tests/test_browser.py``, ``test_dark_mode.py``, ``test_pdf.py``,
``test_js_engine.py``, ``test_jupyterlab.py``, ...): import it as ``from scripts.browser import ...``
with the repository's root on ``sys.path`` (pytest puts it there: ``pythonpath`` in pyproject.toml;
the scripts insert it themselves).

- :data:`CHROMIUM`, :data:`CHROMIUM_ARGS` and :func:`launch`: Debian's Chromium (``make browser``),
  headless, through Playwright.
- :func:`serve`: a directory (and optionally pages held in memory) on a free localhost port.
- :func:`require`: in a test, skip when Chromium or Node is missing, or fail where
  ``REQUIRE_BROWSER`` is set (``.ci/run`` and the CI workflow set it, so there nothing skips).
"""
from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import threading
from functools import partial
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium (``make browser`` installs it as root)."""

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
"""Headless Chromium as root in a container: no sandbox, no GPU, no calls home."""

REQUIRE_ENV = "REQUIRE_BROWSER"
"""Environment variable that turns a missing Chromium or Node from a skip into a failure."""

INSTALL = {
    "chromium": f"{CHROMIUM} not found: install Debian's Chromium (make browser, or apt-get install chromium)",
    "node": "node not found: install Node.js (the README's prerequisites; make test needs it for npm)",
    "playwright": "playwright is not installed: .venv/bin/pip install -r requirements-pdf.txt (requirements-dev.txt includes it)",
}


def missing(tool: str = "chromium") -> str | None:
    """Why ``tool`` (``'chromium'``, ``'node'`` or ``'playwright'``) cannot run here, or ``None`` if it can."""
    if tool == "chromium":
        return None if Path(CHROMIUM).exists() else INSTALL[tool]
    if tool == "node":
        return None if shutil.which("node") else INSTALL[tool]
    if tool == "playwright":
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            return INSTALL[tool]
        return None
    raise ValueError(f"tool must be one of {', '.join(INSTALL)}; got {tool!r}")


def require(*tools: str) -> None:
    """In a test: skip if a tool is missing, or fail if :data:`REQUIRE_ENV` is set (as in CI)."""
    import pytest

    for tool in tools or ("chromium", "playwright"):
        reason = missing(tool)
        if reason:
            if os.environ.get(REQUIRE_ENV):
                pytest.fail(f"{reason} ({REQUIRE_ENV} is set)")
            pytest.skip(reason)


def launch(playwright, executable: str = CHROMIUM):
    """Headless Chromium (:data:`CHROMIUM` with :data:`CHROMIUM_ARGS`) from a Playwright instance."""
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


@contextlib.contextmanager
def serve(directory: Path, pages: dict[str, str] | None = None):
    """Serve ``directory`` on a free localhost port; yields the base URL (ending in ``/``).

    ``pages`` maps paths (``"/"``, ``"/index.html"``) to HTML held in memory,
    served before the directory's files. ``.js`` and ``.mjs`` files are
    served as ``text/javascript`` (module scripts and workers need it).
    """
    pages = dict(pages or {})

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path in pages:
                body = pages[self.path].encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            super().do_GET()

        def guess_type(self, path):
            return "text/javascript" if str(path).endswith((".js", ".mjs")) else super().guess_type(path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
