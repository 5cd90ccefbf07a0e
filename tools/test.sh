#!/usr/bin/env bash
# Set everything up and run every test: dropoutlib's unit tests, strict nbval
# over every notebook in _toc.yml, the stored-notebook checks and the
# zero-warning book build. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/setup_env.sh
.venv/bin/python -m pytest "$@"
