#!/usr/bin/env bash
# Set everything up and re-execute the notebooks in place (all of those in
# _toc.yml, or the paths given), storing their outputs normalized.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/setup_env.sh
.venv/bin/python tools/refresh_notebooks.py "$@"
