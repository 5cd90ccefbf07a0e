#!/usr/bin/env bash
# Set everything up and build the HTML book into _build/html.
# The book renders the stored notebook outputs; it executes nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/setup_env.sh
.venv/bin/jupyter-book build . --all -W -n --keep-going
echo "Open the book: $(pwd)/_build/html/index.html"
