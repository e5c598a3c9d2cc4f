#!/usr/bin/env bash
# Fetch the JavaScript the book serves itself, from npm:
#   RequireJS and the @jupyter-widgets/html-manager embed bundle (widgets in
#   static pages), and MathJax 3 (equations). They are copied under
#   book/_assets/_static/, which _config.yml lists in html_extra_path (not
#   html_static_path), so Jupyter Book does not add them to every page.
# Also anywidget's AMD front end (the explorers' widget module), copied from
# the anywidget Python package installed in the environment, so that its
# version is the one the notebooks' widget state names.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
anywidget_js=$("$PYTHON" -c 'import anywidget, pathlib; print(pathlib.Path(anywidget.__file__).parent / "nbextension" / "index.js")')
HTML_MANAGER=1.0.15
REQUIREJS=2.3.7
MATHJAX=3.2.2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm install --silent --no-audit --no-fund --prefix "$work" \
    "@jupyter-widgets/html-manager@$HTML_MANAGER" "requirejs@$REQUIREJS" "mathjax@$MATHJAX" >/dev/null
dest=book/_assets/_static
rm -rf book/_assets
mkdir -p "$dest/widgets" "$dest/mathjax"
cp -r "$work/node_modules/@jupyter-widgets/html-manager/dist/." "$dest/widgets/"
cp "$work/node_modules/requirejs/require.js" "$dest/widgets/require.js"
cp -r "$work/node_modules/mathjax/es5/." "$dest/mathjax/"
# Our own small scripts for widget pages (see the comments in each).
cp book/js/require-paths.js book/js/mathjax-hub-shim.js "$dest/widgets/"
cp "$anywidget_js" "$dest/widgets/anywidget.js"
anywidget_version=$("$PYTHON" -c 'import anywidget; print(anywidget.__version__)')
echo "html-manager $HTML_MANAGER, requirejs $REQUIREJS, mathjax $MATHJAX, anywidget $anywidget_version" > book/_assets/.installed
