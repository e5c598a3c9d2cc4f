#!/usr/bin/env bash
# Fetch the JavaScript the book serves itself: MathJax 3 (equations), from npm,
# under book/_assets/_static/, which _config.yml lists in html_extra_path (not
# html_static_path), so Jupyter Book does not add it to every page. Also the
# book's own module that renders the explorers in static pages
# (book/js/anywidget-static.js): the explorers are anywidgets whose code
# travels in each page's widget state, so no widget manager is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
MATHJAX=3.2.2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm install --silent --no-audit --no-fund --prefix "$work" "mathjax@$MATHJAX" >/dev/null
dest=book/_assets/_static
rm -rf book/_assets
mkdir -p "$dest/widgets" "$dest/mathjax"
cp -r "$work/node_modules/mathjax/es5/." "$dest/mathjax/"
cp book/js/anywidget-static.js "$dest/widgets/"
echo "mathjax $MATHJAX" > book/_assets/.installed
