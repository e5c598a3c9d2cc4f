# `make book` and `make test` set everything up on a fresh machine (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
PDF_STAMP := $(VENV)/.installed-pdf
JS_STAMP := book/_assets/.installed

.PHONY: book html pdf test test-quick lint setup setup-dev js browser clean

# The HTML needs requirements.txt, the PDF also requirements-pdf.txt and Chromium, the tests requirements-dev.txt.
setup: $(STAMP) $(JS_STAMP)

setup-dev: $(DEV_STAMP) $(JS_STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

$(PDF_STAMP): $(STAMP) requirements-pdf.txt
	$(BIN)/python -m pip install --quiet -r requirements-pdf.txt
	touch $(PDF_STAMP)

$(DEV_STAMP): $(STAMP) $(PDF_STAMP) requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(DEV_STAMP)

# MathJax and the explorers' static renderer, served by the book itself (nothing from CDNs).
$(JS_STAMP): $(STAMP) scripts/fetch_js.sh book/js/anywidget-static.js
	PYTHON=$(BIN)/python bash scripts/fetch_js.sh

js: $(JS_STAMP)

# The book: the HTML and, printed from it, the PDF the introduction links (so no link is dead).
book: html pdf

html: setup
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is at _build/html/index.html"

# One PDF of the whole book, printed from the built HTML by Debian's Chromium
# (scripts/book_pdf.py says why); it lands in the site, which links it.
pdf: html browser $(PDF_STAMP)
	$(BIN)/python scripts/book_pdf.py --html _build/html --out _build/html/book.pdf

# Debian's Chromium for the browser test (needs root; skipped with a message otherwise).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || echo "chromium not installed: browser tests will be skipped"

# ruff first (a second; the rules are in pyproject.toml), then the tests
lint: setup-dev
	$(BIN)/ruff check .

test: lint browser
	$(BIN)/python -m pytest -m "" -ra --durations=15

test-quick: lint
	$(BIN)/python -m pytest

clean:
	rm -rf _build
